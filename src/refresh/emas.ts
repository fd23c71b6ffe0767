// The EMA component for one asset: daily closes from price_bars_1d, canonical closes from the bar tables
// (SPEC E2), the six families of compute/ema. Like the bars, an EMA row depends only on inputs dated up to
// its own day, so rows ≥ D are replaced, where D is the earliest input change since the last EMA run
// (the bars component records it as dirty_from) or the first new daily row.
//
// One exception to prefix stability: v2's guard floor(N/d) ≥ 3p depends on the total row count N, so a
// (tf, period) pair whose guard flips is rewritten whole.
import { belongsTo, type BarFamily, type Timeframe } from '../catalog/timeframes.js';
import { emaAnchor, emaCal, emaV1, emaV2, v2Guard } from '../compute/ema/index.js';
import { q } from '../schema/ddl.js';
import { BAR_TABLES, EMA_TABLES, type Table } from '../schema/tables.js';
import { concatBatches, type RowBatch } from '../store/columns.js';
import type { Store } from '../store/store.js';
import { deleteFrom } from './bars.js';
import { loadCanonicalCloses, loadDailySeries } from './load.js';
import { BARS_STATE_TABLES, commonState, EMAS_STATE_TABLES, readStates, writeStates } from './state.js';

export type EmaFamily = keyof typeof EMA_TABLES;

/** Which bar family feeds each EMA family (v2 needs none: it counts daily rows). */
const SOURCE: Record<EmaFamily, BarFamily | null> = {
  v1: 'multi_tf', v2: null, cal_us: 'cal_us', cal_iso: 'cal_iso', cal_anchor_us: 'cal_anchor_us',
  cal_anchor_iso: 'cal_anchor_iso',
};

export const EMA_FAMILIES = Object.keys(EMA_TABLES) as EmaFamily[];

/** Timeframes of an EMA family: the bar family's, plus 1D for the two day-horizon families. */
export function emaTimeframes(family: EmaFamily, tfs: readonly Timeframe[]): Timeframe[] {
  const bars = SOURCE[family] ?? 'multi_tf';
  return tfs.filter((t) => (bars === 'multi_tf' && t.tf === '1D') || belongsTo(t, bars));
}

export interface EmasOptions {
  tfs: readonly Timeframe[];
  periods: readonly number[];
  /** Explicit (tf, period) pairs from --tf-period-combos; replaces tfs × periods when given. */
  combos?: { tf: Timeframe; period: number }[];
  narrowed: boolean;
  fullRebuild: boolean;
  runId: string;
  dryRun?: boolean;
}

export interface AssetEmasResult {
  status: 'built' | 'current';
  from: number;
  reason: string;
  rows: Record<string, number>;
}

/** (tf, periods) work items of one family. */
function workItems(family: EmaFamily, opts: EmasOptions): { tf: Timeframe; periods: number[] }[] {
  if (opts.combos) {
    const byTf = new Map<string, { tf: Timeframe; periods: number[] }>();
    for (const c of opts.combos) {
      if (!emaTimeframes(family, [c.tf]).length) continue;
      const item = byTf.get(c.tf.tf) ?? { tf: c.tf, periods: [] };
      item.periods.push(c.period);
      byTf.set(c.tf.tf, item);
    }
    return [...byTf.values()];
  }
  return emaTimeframes(family, opts.tfs).map((tf) => ({ tf, periods: [...opts.periods] }));
}

export async function refreshAssetEmas(store: Store, id: number, opts: EmasOptions): Promise<AssetEmasResult> {
  const result: AssetEmasResult = { status: 'built', from: -Infinity, reason: 'full rebuild', rows: {} };
  const states = await readStates(store, id, [...BARS_STATE_TABLES, ...EMAS_STATE_TABLES]);
  const bars = commonState(states, BARS_STATE_TABLES);
  let from = -Infinity;
  let oldRows = 0;
  // EMA rows are dated at most the last daily row built, so a change strictly after it deletes nothing.
  let watermark = Infinity;
  if (opts.narrowed) result.reason = 'selected timeframes/periods';
  else if (!opts.fullRebuild) {
    const st = commonState(states, EMAS_STATE_TABLES);
    if (!st || st.last_src_ts === null) result.reason = 'first build';
    else if (!bars || bars.daily_min_seen !== st.daily_min_seen) result.reason = 'bars rebuilt from scratch';
    else {
      from = st.dirty_from ?? Infinity;
      const reasons = st.dirty_from !== null ? ['bars changed'] : [];
      if (bars.last_src_ts !== null && bars.last_src_ts > st.last_src_ts) {
        const next = await store.query<{ t: number | null }>(
          'SELECT min(ts) AS t FROM price_bars_1d WHERE id = $1 AND ts > $2::timestamptz',
          [id, new Date(st.last_src_ts).toISOString()],
        );
        if (next[0].t !== null && next[0].t < from) {
          from = next[0].t;
          reasons.push('new days');
        }
      }
      if (from === Infinity) return { ...result, status: 'current', from, reason: 'already current' };
      result.reason = reasons.join(', ');
      oldRows = st.source_rows;
      watermark = st.last_src_ts;
    }
  }
  result.from = from;
  if (opts.dryRun) return result;

  const daily = await loadDailySeries(store, id);
  for (const family of EMA_FAMILIES) {
    const table = EMA_TABLES[family];
    const items = workItems(family, opts);
    const source = SOURCE[family];
    const canon = source ? await loadCanonicalCloses(store, BAR_TABLES[source].name, id) : new Map();
    const parts: RowBatch[] = [];
    const rewriteWhole: { tf: string; period: number }[] = [];
    const fromTs = from === -Infinity ? undefined : from;
    for (const { tf, periods } of items) {
      if (daily.n === 0) break;
      const c = tf.tf === '1D' ? { ts: daily.ts, close: daily.close } : canon.get(tf.tf);
      if (source && !c) continue; // no canonical bar yet: nothing can seed
      if (family === 'v2') {
        // Pairs whose guard changed since the last run are written whole (or removed).
        const flips = periods.filter((p) => fromTs !== undefined && v2Guard(oldRows, tf.daysNominal, p) !== v2Guard(daily.n, tf.daysNominal, p));
        const steady = periods.filter((p) => !flips.includes(p));
        if (steady.length) parts.push(emaV2(daily, tf, steady, { fromTs }));
        if (flips.length) parts.push(emaV2(daily, tf, flips));
        for (const p of flips) rewriteWhole.push({ tf: tf.tf, period: p });
        continue;
      }
      const o = { fromTs };
      if (family === 'v1') parts.push(emaV1(daily, c!, tf, periods, o));
      else if (family === 'cal_us' || family === 'cal_iso') parts.push(emaCal(daily, c!.ts, tf, periods, o));
      else parts.push(emaAnchor(daily, c!, tf, periods, o));
    }
    if (!(from > watermark)) await deleteEmaRows(store, table, id, from, opts, items);
    for (const w of rewriteWhole) {
      await store.exec(`DELETE FROM ${q(table.name)} WHERE id = $1 AND tf = $2 AND period = $3`, [id, w.tf, w.period]);
    }
    result.rows[table.name] = await store.append(table, concatBatches(parts));
  }
  if (!opts.narrowed && bars) {
    await writeStates(store, id, EMAS_STATE_TABLES, {
      lastSrcTs: daily.n ? daily.ts[daily.n - 1] : NaN, dailyMinSeen: bars.daily_min_seen ?? NaN,
      sourceRows: daily.n, runId: opts.runId, rowsWritten: result.rows,
    });
  }
  return result;
}

async function deleteEmaRows(
  store: Store, table: Table, id: number, from: number, opts: EmasOptions, items: { tf: Timeframe; periods: number[] }[],
): Promise<void> {
  if (!opts.narrowed) return deleteFrom(store, table, id, 'ts', from);
  for (const { tf, periods } of items) {
    if (!periods.length) continue;
    await store.exec(
      `DELETE FROM ${q(table.name)} WHERE id = $1 AND tf = $2 AND period IN (${periods.map((_, i) => `$${i + 3}`).join(', ')})`,
      [id, tf.tf, ...periods],
    );
  }
}
