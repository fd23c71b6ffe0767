// `features build`: market_data, pivots and golden_zone for every asset and day, from our own daily bars
// (price_bars_1d), and technicals from the EMA and calendar bar tables, as flat rows that the ingest pipeline
// accepts (written to a file or ingested directly).
// policy and the regime extras have no producer here and stay NULL.
import { DAY_MS } from '../compute/daily.js';
import { computeGoldenZone, computePivots } from '../compute/levels/index.js';
import { loadDailySeries } from '../refresh/load.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { isoDate } from './dates.js';
import { GROUPS, INPUT_COLUMNS, TECHNICAL_EMAS, type EmaPair } from './fields.js';
import { rowFingerprints } from './fingerprint.js';
import { readInputTokens } from './inputs.js';
import type { FlatInput, RawValue } from './flatfile.js';
import { computeTechnicals } from './technicals.js';

/** Rolling window of the daily VWAP proxy Σ(close·volume)/Σ(volume); our choice of 20 bars. */
export const VWAP_BARS = 20;

export function rollingVwap(close: Float64Array, volume: Float64Array, bars = VWAP_BARS): Float64Array {
  const n = close.length;
  const out = new Float64Array(n).fill(NaN);
  for (let t = bars - 1; t < n; t++) {
    let pv = 0;
    let v = 0;
    for (let i = t - bars + 1; i <= t; i++) {
      pv += close[i] * volume[i];
      v += volume[i];
    }
    if (v > 0 && Number.isFinite(pv)) out[t] = pv / v;
  }
  return out;
}

const TECHNICAL_FIELDS = GROUPS.find((g) => g.name === 'technicals')!.fields;

export interface BuildOptions {
  ids?: number[];
  /** The EMA pairs the technicals group computes (default TECHNICAL_EMAS); the other pairs' fields stay NULL. */
  technicals?: readonly EmaPair[];
}

export interface BuildResult {
  input: FlatInput;
  assets: {
    id: number; symbol: string; rows: number; from: string | null; to: string | null; missing_technicals: string[];
    /** The days built and each row's fingerprint: what the incremental refresh compares against. */
    day: Int32Array; fp: Uint32Array;
    /** readInputTokens before the build. */
    inputs: string;
  }[];
  pairs: readonly EmaPair[];
}

async function selectBuilt(store: Store, ids?: number[]): Promise<{ id: number; symbol: string }[]> {
  const all = await store.query<{ id: number; symbol: string }>(
    `SELECT a.id, a.symbol FROM dim_assets a WHERE EXISTS (SELECT 1 FROM price_bars_1d b WHERE b.id = a.id) ORDER BY a.id`,
  );
  let chosen = all;
  if (ids) {
    const have = new Map(all.map((a) => [a.id, a]));
    const missing = ids.filter((id) => !have.has(id));
    if (missing.length) {
      throw new UserError(`asset id(s) ${missing.join(', ')} have no daily bars: import them and run \`talab refresh --bars\` first`);
    }
    chosen = ids.map((id) => have.get(id)!);
  } else if (all.length === 0) {
    throw new UserError('no daily bars in the database: import data and run `talab refresh --bars` first');
  }
  const bySymbol = new Map<string, number>();
  for (const a of chosen) {
    const prev = bySymbol.get(a.symbol);
    // The matrix is keyed by symbol: two assets sharing one would overwrite each other's rows.
    if (prev !== undefined) throw new UserError(`assets ${prev} and ${a.id} share the symbol ${a.symbol}; build them separately with --ids`);
    bySymbol.set(a.symbol, a.id);
  }
  return chosen;
}

/** One asset's built rows (INPUT_COLUMNS order, one per daily bar) and the technicals sources it found empty. */
export interface AssetRows {
  day: Int32Array;
  rows: RawValue[][];
  missing: string[];
}

/**
 * Every row of one asset, computed from its whole inputs. `features build` and the incremental refresh both
 * come here, so a refreshed tail is the same rows a full build would write.
 */
export async function buildAssetRows(
  store: Store, a: { id: number; symbol: string }, pairs: readonly EmaPair[] = TECHNICAL_EMAS,
): Promise<AssetRows> {
  const colIdx = COL_IDX;
  const rows: RawValue[][] = [];
  const s = await loadDailySeries(store, a.id);
  const piv = computePivots(s);
  const gz = computeGoldenZone(s);
  const vwap = rollingVwap(s.close, s.volume);
  const tech = await computeTechnicals(store, s, pairs);
  const num = (v: number): number | null => (Number.isNaN(v) ? null : v);
  const bool = (v: number): boolean | null => (Number.isNaN(v) ? null : v === 1);
  for (let t = 0; t < s.n; t++) {
    const r: RawValue[] = new Array(INPUT_COLUMNS.length).fill(null);
    const set = (c: string, v: RawValue) => {
      r[colIdx.get(c)!] = v;
    };
    set('symbol', a.symbol);
    set('data_date', isoDate(s.day[t]));
    set('timestamp', new Date((s.day[t] + 1) * DAY_MS - 1).toISOString());
    set('open', num(s.open[t]));
    set('high', num(s.high[t]));
    set('low', num(s.low[t]));
    set('close', num(s.close[t]));
    set('volume', num(s.volume[t]));
    set('vwap', num(vwap[t]));
    for (const k of ['P', 'R1', 'R2', 'S1', 'S2', 'distance_to_P', 'distance_to_nearest_pivot', 'weekly_pivot_distance'] as const) {
      set(k, num(piv[k][t]));
    }
    set('price_above_P', bool(piv.price_above_P[t]));
    set('golden_zone_state', num(gz.state[t]));
    for (const k of ['swing_high', 'swing_low', 'fib_50', 'fib_618', 'vol_decay_slope'] as const) set(k, num(gz[k][t]));
    set('qualified_trigger', bool(gz.qualified_trigger[t]));
    // A pair left out of the selection keeps its fields NULL (computeTechnicals made no column for it).
    for (const x of TECHNICAL_FIELDS) {
      const v = tech.values.get(x.name);
      set(x.input!, v ? num(v[t]) : null);
    }
    rows.push(r);
  }
  return { day: s.day, rows, missing: tech.missing };
}

const COL_IDX = new Map(INPUT_COLUMNS.map((c, i) => [c, i]));

export async function buildFeatures(store: Store, opts: BuildOptions = {}): Promise<BuildResult> {
  const assets = await selectBuilt(store, opts.ids);
  const pairs = opts.technicals ?? TECHNICAL_EMAS;
  const rows: RawValue[][] = [];
  const summary: BuildResult['assets'] = [];
  // Read before the inputs: a refresh writing meanwhile leaves a token that no longer matches (recomputed later).
  const tokens = await readInputTokens(store, assets.map((a) => a.id));
  for (const a of assets) {
    const built = await buildAssetRows(store, a, pairs);
    for (const r of built.rows) rows.push(r);
    const n = built.day.length;
    summary.push({
      id: a.id, symbol: a.symbol, rows: n, from: n ? isoDate(built.day[0]) : null, to: n ? isoDate(built.day[n - 1]) : null,
      missing_technicals: built.missing, day: built.day, fp: rowFingerprints(built.rows), inputs: tokens.get(a.id) ?? '',
    });
  }
  return { input: { source: 'features build', columns: [...INPUT_COLUMNS], rows }, assets: summary, pairs };
}
