// The bars component for one asset: price_histories → price_bars_1d (+ rejects) → five snapshot tables.
//
// Every bar row is a function of the days up to its own day (the kernels are prefix-stable, which the
// property tests pin down), so a change at day D can only alter rows dated ≥ D. The component finds the
// earliest changed day D from its state. When D is a new day (after the watermark), each timeframe continues
// from its carry — the kernel state after its last stored row, kept in refresh_state — reading only the
// lookback window and the new rows. Otherwise (a revision, a backfill, a changed lookback day, no carry) it
// recomputes the asset in memory and replaces only rows ≥ D. A full rebuild is that path with D = −∞.
import { BAR_FAMILIES, belongsTo, type BarFamily, type Timeframe } from '../catalog/timeframes.js';
import { build1d, dailyFrom1d, type Build1dCounters, type Build1dResult } from '../compute/bars/daily1d.js';
import { BAR_CARRY_LEN, buildBarsForTimeframe } from '../compute/bars/index.js';
import { DAY_MS, type DailySeries } from '../compute/daily.js';
import { BAR_TABLES, priceBars1d, priceBars1dRejects, type Table } from '../schema/tables.js';
import { concatBatches, emptyBatch, rowsFrom, sliceBatch, type RowBatch } from '../columnar/columns.js';
import type { Row, Store } from '../store/store.js';
import { lowerBound } from '../util/search.js';
import { decodeBlocks, encodeBlocks, firstChangedDay } from './fingerprint.js';
import { loadRawDaily } from './load.js';
import type { Writes } from './writes.js';
import type { AssetPlan } from './families/types.js';
import { prefetchBars, type BarsFacts } from './prefetch.js';
import { TableWriter } from './writer.js';
import type { Sinks } from './sinks.js';
import {
  BARS_STATE_TABLES, type Carry, carryKey, commonState, decodeCarry, pendingChange, writeStates,
} from './state.js';

export interface BarsOptions {
  /** The timeframe selection; `narrowed` = not the configured default (then no state is read or moved). */
  tfs: readonly Timeframe[];
  narrowed: boolean;
  fullRebuild: boolean;
  lookbackDays: number;
  runId: string;
  /** Where the daily path writes its new rows (a group commit's sinks; see sinks.ts). */
  sinks?: Sinks;
  /** Recompute from this day (epoch ms) at the latest, whatever the state says (`refresh --from`). */
  recomputeFrom?: number;
  /** State tables of the families that read the bars: a rewrite is kept in `changed_from` until they ran since. */
  readers: readonly string[];
}

export interface AssetBarsResult {
  status: 'built' | 'current';
  /** Earliest day recomputed (epoch ms), −∞ for a whole rebuild, +∞ when current. */
  from: number;
  reason: string;
  rows: Record<string, number>;
  counters: Build1dCounters;
  lastSrcTs: number;
  gaps: number;
  /** Continued from the carry (new days only) rather than recomputed from the history. */
  continued?: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Delete one asset's rows of `table` dated ≥ from (all when from = −∞), optionally only some tfs. */
export async function deleteFrom(out: Writes, table: Table, id: number, timeCol: string, from: number, tfs?: string[]): Promise<void> {
  await out.write({ kind: 'delete', table, id, timeCol, from, tfs });
}

/** Earliest day whose 1D row differs between `stored` (rows dated ≥ from, ascending) and `built`, within [from, ∞). */
function firstDifference(stored: Row[], built: RowBatch, from: number): number {
  const cols = priceBars1d.columns.filter((c) => c.name !== 'ingested_at');
  const mine = rowsFrom(built, 'ts', from);
  const n = Math.max(stored.length, mine.length);
  for (let i = 0; i < n; i++) {
    const s = stored[i];
    if (!s || i >= mine.length) return Math.min(s ? Number(s.ts) : Infinity, i < mine.length ? (mine.cols.ts as Float64Array)[i] : Infinity);
    for (const c of cols) {
      const v = mine.cols[c.name][i];
      const a = s[c.name];
      const same = c.type === 'bool' ? Boolean(a) === (v !== 0)
        : typeof v === 'number' ? (Number.isNaN(v) ? a === null : Number(a) === v) : (a ?? null) === (v ?? null);
      if (!same) return Math.min(Number(s.ts), (mine.cols.ts as Float64Array)[i]);
    }
  }
  return Infinity;
}

/** Rows with time ≥ from of a batch sorted ascending by that time column. */
function tailFrom(batch: RowBatch, timeCol: string, from: number): RowBatch {
  if (from === -Infinity || batch.length === 0) return batch;
  return sliceBatch(batch, lowerBound(batch.cols[timeCol] as Float64Array, from, batch.length));
}

/** Carry layout of one bar table under a timeframe selection. */
function barsCarryKey(tfs: readonly Timeframe[]): string {
  return carryKey('bars', BAR_CARRY_LEN, tfs.map((t) => t.tf));
}

const layouts = new WeakMap<readonly Timeframe[], Map<BarFamily, { sel: Timeframe[]; key: string }>>();

/** The timeframes of a selection that a bar family builds, and their carry key (worked out once per selection). */
function familyLayout(tfs: readonly Timeframe[], family: BarFamily): { sel: Timeframe[]; key: string } {
  let m = layouts.get(tfs);
  if (!m) layouts.set(tfs, (m = new Map()));
  let l = m.get(family);
  if (!l) {
    const sel = tfs.filter((t) => belongsTo(t, family));
    m.set(family, (l = { sel, key: barsCarryKey(sel) }));
  }
  return l;
}

/** Missing calendar days before each 1D row dated ≥ from whose previous row is known. */
function gapsFrom(ts: Float64Array, n: number, from: number): number {
  let gaps = 0;
  for (let i = 1; i < n; i++) if (ts[i] >= from) gaps += Math.round((ts[i] - ts[i - 1]) / DAY_MS) - 1;
  return gaps;
}

/** What the bars of one asset need (planBars): the plan, and what carrying it out takes from the decision. */
export interface BarsDecision {
  plan: AssetPlan;
  /** The bars' watermark (+∞ when none, or when a narrowed run wrote past it: then everything ≥ from is deleted). */
  watermark: number;
  ahead: boolean;
  /** The lookback window and new days built as 1D rows (when there is a watermark). */
  tail?: Build1dResult;
  /** Every bar family's carry, in BAR_FAMILIES order, when the plan continues. */
  carries?: Float64Array[];
  /** A fingerprint to record on an asset found current (a state from before fingerprints were kept). */
  fingerprint?: string;
}

/** Pure: what the asset's bars need, from its prefetched facts. */
export function planBars(f: BarsFacts, opts: Omit<BarsOptions, 'sinks' | 'readers' | 'runId'>): BarsDecision {
  if (!f.raw) {
    // Every source day is gone (deleted since the last build): so are the asset's bar rows.
    if (opts.narrowed || f.states.size === 0) return { plan: { action: 'current', reason: 'no source rows' }, watermark: Infinity, ahead: false };
    return { plan: { action: 'purge', reason: 'history deleted' }, watermark: Infinity, ahead: false };
  }
  let from = -Infinity;
  let reason = 'full rebuild';
  // Rows are dated at most the watermark, so a change strictly after it (new days only) deletes nothing.
  let watermark = Infinity;
  let tail: Build1dResult | undefined;
  let ahead = false;
  if (opts.narrowed) reason = 'selected timeframes';
  else if (!opts.fullRebuild) {
    const st = commonState(f.states, BARS_STATE_TABLES);
    if (!st || st.last_src_ts === null || st.daily_min_seen === null || !f.tail) reason = 'first build';
    else if (f.raw.lo !== Number(st.daily_min_seen)) reason = f.raw.lo < Number(st.daily_min_seen) ? 'backfill' : 'history shrank';
    else {
      watermark = Number(st.last_src_ts);
      ahead = !!st.rows_ahead;
      // The 1D builder is row-local except for bar_seq, a rank over the whole history: the rows before the
      // tail only count.
      tail = build1d(f.tail.raw, { seqBase: f.raw.n - f.tail.raw.n });
      from = Infinity;
      const reasons: string[] = [];
      if (f.changeLo !== null) {
        from = Math.min(from, f.changeLo);
        reasons.push('revised history');
      }
      const firstNew = f.tail.raw.ts.find((t) => t > watermark);
      if (firstNew !== undefined) {
        from = Math.min(from, firstNew);
        reasons.push('new days');
      }
      // Lookback: re-read the last days before the watermark and compare with what is stored, which catches
      // source edits that did not come through `talab import`.
      const diff = firstDifference(f.tail.stored, tail.bars, f.tail.from);
      if (diff < from) {
        from = diff;
        reasons.push('changed within lookback');
      }
      // Fingerprints: rows changed, added or removed before the watermark by anything but `talab import`.
      const recorded = decodeBlocks(st.src_fp);
      if (recorded && f.fp) {
        const changed = firstChangedDay(recorded, f.fp.old);
        if (changed < from) {
          from = changed;
          reasons.push('source changed outside import');
        }
      }
      if (opts.recomputeFrom !== undefined && opts.recomputeFrom < from) {
        from = opts.recomputeFrom;
        reasons.push(`recompute requested from ${iso(from).slice(0, 10)}`);
      }
      if (from === Infinity) {
        // A state from before fingerprints were kept gets its first one without recomputing anything.
        const now = f.fp ? encodeBlocks(f.fp.now) : null;
        const fingerprint = now !== null && st.src_fp !== now ? now : undefined;
        return { plan: { action: 'current', reason: 'already current' }, watermark, ahead, tail, fingerprint };
      }
      reason = reasons.join(', ');
    }
  }
  if (tail && from > watermark) {
    const carries = BAR_FAMILIES.map((family) => {
      const { sel, key } = familyLayout(opts.tfs, family);
      return decodeCarry(f.states.get(BAR_TABLES[family].name), key, sel.length * BAR_CARRY_LEN);
    });
    if (carries.every((c) => c !== undefined)) {
      return { plan: { action: 'continue', from, reason }, watermark, ahead, tail, carries: carries as Float64Array[] };
    }
  }
  return { plan: { action: 'recompute', from, reason }, watermark, ahead, tail };
}

export async function refreshAssetBars(
  store: Store, out: Writes, id: number, opts: BarsOptions, facts?: BarsFacts,
): Promise<AssetBarsResult> {
  const f = facts ?? (await prefetchBars(store, [id], opts.lookbackDays)).get(id)!;
  const d = planBars(f, opts);
  const { plan } = d;
  const empty: Build1dCounters = { upserted: 0, rejected: 0, repairedTimehigh: 0, repairedTimelow: 0 };
  const result: AssetBarsResult = {
    status: 'built', from: -Infinity, reason: plan.reason, rows: {}, counters: empty, lastSrcTs: f.raw?.hi ?? NaN, gaps: 0,
  };
  if (plan.action === 'purge') {
    await purgeAsset(out, id, f);
    return { ...result, lastSrcTs: NaN };
  }
  if (plan.action === 'current') {
    if (d.fingerprint) await out.write({ kind: 'fingerprint', id, table: priceBars1d.name, fp: d.fingerprint });
    return { ...result, status: 'current', from: Infinity };
  }
  result.from = plan.from;
  if (plan.action === 'continue') return continueBars(out, id, opts, f, d.tail!, plan.from, d.carries!, d.ahead, result);
  return rebuildBars(store, out, id, opts, f, plan.from, d.ahead ? Infinity : d.watermark, result);
}

/**
 * Only new days: fold them into each timeframe's carry (the state after its last stored row) instead of
 * recomputing the history — the bar kernels continue exactly where the last run stopped.
 */
async function continueBars(
  out: Writes, id: number, opts: BarsOptions, f: BarsFacts, tail: Build1dResult, from: number, carries: Float64Array[],
  ahead: boolean, result: AssetBarsResult,
): Promise<AssetBarsResult> {
  const bars1d = rowsFrom(tail.bars, 'ts', from);
  const rejects = rowsFrom(tail.rejects, 'ts', from);
  result.continued = true;
  if (ahead) for (const [t, col] of BARS_TABLE_TIME) await deleteFrom(out, t, id, col, from);
  result.counters = counters(bars1d, rejects);
  result.rows[priceBars1d.name] = await out.write({ kind: 'append', table: priceBars1d, batch: bars1d });
  result.rows[priceBars1dRejects.name] = await out.write({ kind: 'append', table: priceBars1dRejects, batch: rejects });
  const series = dailyFrom1d(bars1d, id);
  const carry: Record<string, Carry> = {};
  for (const [k, family] of BAR_FAMILIES.entries()) {
    const table = BAR_TABLES[family];
    const { sel, key } = familyLayout(opts.tfs, family);
    const next = new Float64Array(sel.length * BAR_CARRY_LEN);
    const sink = opts.sinks?.of(table);
    const start = sink?.length ?? 0;
    const parts = sel.map((tf, i) => buildBarsForTimeframe(series, family, tf, {
      carry: carries[k].subarray(i * BAR_CARRY_LEN, (i + 1) * BAR_CARRY_LEN),
      carryOut: next.subarray(i * BAR_CARRY_LEN, (i + 1) * BAR_CARRY_LEN),
      sink,
    }));
    carry[table.name] = { key, data: next, stride: BAR_CARRY_LEN, group: 1 };
    result.rows[table.name] = await out.write({ kind: 'append', table, batch: sink ? sink.lazyView(start) : concatBatches(parts) });
  }
  result.gaps = gapsFrom(tail.bars.cols.ts as Float64Array, tail.bars.length, from);
  await finishBars(out, id, opts, f, from, result, carry);
  return result;
}

/** Write counters: what this run wrote, not the whole history. */
function counters(bars1d: RowBatch, rejects: RowBatch): Build1dCounters {
  const count = (col: string) => (bars1d.cols[col] as Uint8Array | undefined)?.reduce((s, v) => s + v, 0) ?? 0;
  return {
    upserted: bars1d.length, rejected: rejects.length,
    repairedTimehigh: count('repaired_timehigh'), repairedTimelow: count('repaired_timelow'),
  };
}

/** Days of the daily series one kernel call folds when a history is recomputed. */
const WINDOW_DAYS = 16_384;

/** The days [lo, hi) of a daily series, as views of its arrays. */
function seriesWindow(series: DailySeries, lo: number, hi: number): DailySeries {
  const w = { ...series, n: hi - lo } as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(series)) if (ArrayBuffer.isView(v)) w[k] = (v as Float64Array).subarray(lo, hi);
  return w as unknown as DailySeries;
}

/**
 * One timeframe's rows over a whole history, in windows of WINDOW_DAYS days chained by the kernel's carry (a
 * continued build yields exactly the rows of the full one, bit for bit): each window's rows go to `emit` and
 * can be let go, so a long history never has more than one window of rows in hand. `carryOut` gets the state
 * after the last day.
 */
async function buildWindows(
  series: DailySeries, family: BarFamily, tf: Timeframe, carryOut: Float64Array, emit: (rows: RowBatch) => Promise<void>,
): Promise<void> {
  let carry: Float64Array | undefined;
  for (let lo = 0; lo < series.n || lo === 0; lo += WINDOW_DAYS) {
    const hi = Math.min(series.n, lo + WINDOW_DAYS);
    const next = hi === series.n ? carryOut : new Float64Array(BAR_CARRY_LEN);
    await emit(buildBarsForTimeframe(seriesWindow(series, lo, hi), family, tf, { carry, carryOut: next }));
    carry = next;
    if (hi === series.n) break;
  }
}

/**
 * Recompute the asset's whole history and replace the rows dated ≥ from (all of them for a first
 * build, a backfill or --full-rebuild; from a revised day on otherwise). Leaves a fresh carry behind.
 */
async function rebuildBars(
  store: Store, out: Writes, id: number, opts: BarsOptions, f: BarsFacts, from: number, watermark: number, result: AssetBarsResult,
): Promise<AssetBarsResult> {
  const raw = await loadRawDaily(store, id);
  const built = build1d(raw);
  const needDelete = !(from > watermark);
  const whole = !opts.narrowed;
  const bars1d = rowsFrom(built.bars, 'ts', from);
  const rejects = rowsFrom(built.rejects, 'ts', from);
  result.counters = counters(bars1d, rejects);
  if (needDelete) {
    await deleteFrom(out, priceBars1d, id, 'ts', from);
    await deleteFrom(out, priceBars1dRejects, id, 'ts', from);
  }
  // Committed in parts where the engine asks for it (writer.ts): until the last part there is no bar state, so a
  // rerun rebuilds the asset whole and the families reading the bars see a rewrite from the first day.
  const writer = new TableWriter(out, { id, tables: BARS_STATE_TABLES });
  await writer.add(priceBars1d, bars1d);
  await writer.add(priceBars1dRejects, rejects);
  const series = dailyFrom1d(built.bars, id);
  const carry: Record<string, Carry> = {};
  for (const family of BAR_FAMILIES) {
    const table = BAR_TABLES[family];
    const { sel, key } = familyLayout(opts.tfs, family);
    if (needDelete) await deleteFrom(out, table, id, 'time_close', from, whole ? undefined : sel.map((t) => t.tf));
    const carryOut = new Float64Array(sel.length * BAR_CARRY_LEN);
    for (const [i, tf] of sel.entries()) {
      await buildWindows(series, family, tf, carryOut.subarray(i * BAR_CARRY_LEN, (i + 1) * BAR_CARRY_LEN), (rows) =>
        writer.add(table, tailFrom(rows, 'time_close', from)));
    }
    carry[table.name] = { key, data: carryOut, stride: BAR_CARRY_LEN, group: 1 };
    await writer.add(table, emptyBatch()); // a family with no timeframe selected still reports 0 rows
  }
  Object.assign(result.rows, await writer.flush());
  result.gaps = gapsFrom(series.ts, series.n, from);
  if (!opts.narrowed) await finishBars(out, id, opts, f, from, result, carry);
  else await out.write({ kind: 'rows-ahead', id, tables: BARS_STATE_TABLES, lastTs: series.n ? series.ts[series.n - 1] : NaN });
  return result;
}

/** The bars component's tables and the time column their rows are dated by. */
const BARS_TABLE_TIME: [Table, string][] = [
  [priceBars1d, 'ts'], [priceBars1dRejects, 'ts'], ...Object.values(BAR_TABLES).map((t): [Table, string] => [t, 'time_close']),
];

/**
 * Delete the bar rows and bar state of an asset that has no source rows left. Its EMA rows are the EMA family's
 * business: that family finds the source gone on its own and deletes them.
 */
async function purgeAsset(out: Writes, id: number, f: BarsFacts): Promise<void> {
  for (const [t, col] of BARS_TABLE_TIME) await deleteFrom(out, t, id, col, -Infinity);
  await out.write({ kind: 'forget-state', id, tables: BARS_STATE_TABLES });
  if (f.changeSeen !== null) await out.write({ kind: 'consume-changes', id, seen: f.changeSeen });
}

/**
 * State and carry in the asset's transaction, with the earliest day this run rewrote (`changed_from`, −∞ for a
 * whole build) for the families that read the bars; pending import changes are consumed.
 */
async function finishBars(
  out: Writes, id: number, opts: BarsOptions, f: BarsFacts, from: number, result: AssetBarsResult,
  carry: Record<string, Carry>,
): Promise<void> {
  const raw = f.raw!;
  // New days only (from after the watermark) rewrite nothing: the EMA family finds the new 1D rows itself
  // (dated after its own watermark, never ahead of this one).
  const prev = commonState(f.states, BARS_STATE_TABLES);
  const watermark = prev?.last_src_ts ?? null;
  const rewrote = opts.fullRebuild || watermark === null || !(from > Number(watermark)) ? from : Infinity;
  await writeStates(out, id, BARS_STATE_TABLES, {
    lastSrcTs: raw.hi, dailyMinSeen: raw.lo, sourceRows: raw.n, runId: opts.runId, rowsWritten: result.rows,
    repairedHigh: result.counters.repairedTimehigh, repairedLow: result.counters.repairedTimelow,
    rejected: result.counters.rejected, carry, srcFp: f.fp ? encodeBlocks(f.fp.now) : undefined,
    changedFrom: pendingChange(prev, f.states, opts.readers, rewrote),
  });
  // Only the changes this run read: one imported since then is newer and stays pending for the next run.
  if (f.changeSeen !== null) await out.write({ kind: 'consume-changes', id, seen: f.changeSeen });
}
