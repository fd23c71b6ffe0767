// The technicals group: features read from talab's own derived tables (EMAs, calendar bars, daily bar gaps),
// aligned on an asset's daily bars. Every value is as of the day's close: nothing from a later day is used.
import { dayOf, type DailySeries } from '../compute/daily.js';
import { DEFAULT_PERIODS, getTimeframe } from '../catalog/timeframes.js';
import { BAR_TABLES, EMA_TABLES } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { emaStem, TECHNICAL_EMAS, type EmaPair } from './fields.js';

/** The calendar bars the week/month fields read (the ISO table also holds the month bars). */
export const WEEK_TF = '1W_CAL_ISO';
export const MONTH_TF = '1M_CAL';

const num = (v: unknown) => (v === null || v === undefined ? NaN : Number(v));

/**
 * Where a pair's EMA at finished bar closes lives. Daily and rolling timeframes: `ema` of ema_multi_tf where
 * roll = false. Calendar timeframes: `ema_bar` (the EMA on bar closes) of the family's table where roll_bar = false.
 */
export function emaSource(p: EmaPair): { table: string; ema: string; d1: string; finished: string } {
  const t = getTimeframe(p.tf);
  if (!t) throw new UserError(`technicals: unknown timeframe '${p.tf}' (npx talab timeframes lists them)`);
  const tf = t.tf;
  if (/^\d+D$/.test(tf)) return { table: EMA_TABLES.v1.name, ema: 'ema', d1: 'd1', finished: 'roll = false' };
  const dual = (table: string) => ({ table, ema: 'ema_bar', d1: 'd1_bar', finished: 'roll_bar = false' });
  if (tf.endsWith('_CAL_ANCHOR_ISO')) return dual(EMA_TABLES.cal_anchor_iso.name);
  if (tf.endsWith('_CAL_ANCHOR_US') || /^\d+[MY]_CAL_ANCHOR$/.test(tf)) return dual(EMA_TABLES.cal_anchor_us.name);
  if (tf.endsWith('_CAL_ISO')) return dual(EMA_TABLES.cal_iso.name);
  if (tf.endsWith('_CAL_US') || /^\d+[MY]_CAL$/.test(tf)) return dual(EMA_TABLES.cal_us.name);
  throw new UserError(`technicals: timeframe '${p.tf}' has no EMA table`);
}

const pct = (close: number, ref: number) => (Number.isFinite(ref) && ref !== 0 ? ((close - ref) / ref) * 100 : NaN);

export interface Technicals {
  /** Field name → one value per day (NaN = NULL). */
  values: Map<string, Float64Array>;
  /** Sources with no rows for the asset (`7D:20`, `1M_CAL`): their fields are all NULL, usually for want of a refresh. */
  missing: string[];
}

export async function computeTechnicals(store: Store, s: DailySeries, pairs: readonly EmaPair[] = TECHNICAL_EMAS): Promise<Technicals> {
  const out = new Map<string, Float64Array>();
  const missing: string[] = [];
  const col = (name: string) => {
    const a = new Float64Array(s.n).fill(NaN);
    out.set(name, a);
    return a;
  };

  // Days since the last calendar day without a daily bar, counting from the asset's first bar.
  const since = col('days_since_missing');
  let lastMissing = NaN;
  for (let t = 0; t < s.n; t++) {
    if (t > 0 && s.day[t] - s.day[t - 1] > 1) lastMissing = s.day[t] - 1;
    since[t] = s.day[t] - lastMissing;
  }

  const bars = await store.query<Record<string, unknown>>(
    `SELECT tf, time_close, pos_in_bar, tf_days, high, low, is_partial_end FROM ${BAR_TABLES.cal_iso.name}
     WHERE id = $1 AND tf IN ($2, $3) ORDER BY tf, time_close`,
    [s.id, WEEK_TF, MONTH_TF],
  );
  for (const [tf, name] of [[WEEK_TF, 'week'], [MONTH_TF, 'month']] as const) {
    const rows = bars.filter((r) => r.tf === tf);
    if (s.n > 0 && rows.length === 0) missing.push(tf);
    const pos = col(`${name}_pos`);
    const hi = col(`prev_${name}_high_dist_pct`);
    const lo = col(`prev_${name}_low_dist_pct`);
    // Bars end on different days than they start, so both walks advance with the daily series.
    let i = 0;
    let lastDone = -1;
    for (let t = 0; t < s.n; t++) {
      while (i < rows.length && dayOf(num(rows[i].time_close)) < s.day[t]) {
        if (rows[i].is_partial_end === false) lastDone = i;
        i++;
      }
      if (i < rows.length && dayOf(num(rows[i].time_close)) === s.day[t]) pos[t] = num(rows[i].pos_in_bar) / num(rows[i].tf_days);
      // The last bar finished strictly before day t: today's close is compared with a range it is not part of.
      if (lastDone >= 0) {
        hi[t] = pct(s.close[t], num(rows[lastDone].high));
        lo[t] = pct(s.close[t], num(rows[lastDone].low));
      }
    }
  }

  for (const p of pairs) {
    const src = emaSource(p);
    const rows = await store.query<Record<string, unknown>>(
      `SELECT ts, ${src.ema} AS ema, ${src.d1} AS d1 FROM ${src.table}
       WHERE id = $1 AND tf = $2 AND period = $3 AND ${src.finished} ORDER BY ts`,
      [s.id, p.tf, p.period],
    );
    if (s.n > 0 && rows.length === 0) missing.push(`${p.tf}:${p.period}`);
    const dist = col(`${emaStem(p)}_dist_pct`);
    const d1 = col(`${emaStem(p)}_d1`);
    // The latest finished EMA at or before the day.
    let i = -1;
    for (let t = 0; t < s.n; t++) {
      while (i + 1 < rows.length && dayOf(num(rows[i + 1].ts)) <= s.day[t]) i++;
      if (i < 0) continue;
      dist[t] = pct(s.close[t], num(rows[i].ema));
      d1[t] = num(rows[i].d1);
    }
  }
  return { values: out, missing };
}

/** `1D:10,7D:20`: the form --technicals takes and ml_feature_state.technicals keeps. */
export function pairsKey(pairs: readonly EmaPair[]): string {
  return pairs.map((p) => `${p.tf}:${p.period}`).join(',');
}

/**
 * Parse and check a pair list (`--technicals 1D:10,1D:50,7D:20`): each timeframe must be in the catalog, each
 * period one the EMA refresh builds, and each pair one the technicals group has fields for (TECHNICAL_EMAS);
 * pairs come back in the group's field order. The message names the offending pair and `where` it came from.
 */
export function parseTechnicals(v: string, where = '--technicals'): EmaPair[] {
  const items = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (items.length === 0) throw new UserError(`${where}: needs a comma-separated list of TF:PERIOD pairs such as 1D:10,7D:20`);
  const carried = new Map(TECHNICAL_EMAS.map((p, i) => [`${p.tf}:${p.period}`, i]));
  const chosen = new Set<number>();
  for (const item of items) {
    const m = /^([^:]+):(\d+)$/.exec(item);
    if (!m) throw new UserError(`${where}: '${item}' is not TF:PERIOD (e.g. 1D:10)`);
    const tf = getTimeframe(m[1]) ?? getTimeframe(m[1].toUpperCase());
    if (!tf) throw new UserError(`${where}: '${item}': unknown timeframe '${m[1]}' (npx talab timeframes lists them)`);
    const period = Number(m[2]);
    if (!DEFAULT_PERIODS.includes(period)) {
      throw new UserError(`${where}: '${item}': period ${period} is not one the EMA refresh builds (${DEFAULT_PERIODS.join(', ')})`);
    }
    const at = carried.get(`${tf.tf}:${period}`);
    if (at === undefined) {
      throw new UserError(`${where}: '${item}' has no fields in the technicals group; it carries ${pairsKey(TECHNICAL_EMAS)}`);
    }
    if (chosen.has(at)) throw new UserError(`${where}: '${item}' is given twice`);
    chosen.add(at);
  }
  return [...chosen].sort((a, b) => a - b).map((i) => TECHNICAL_EMAS[i]);
}
