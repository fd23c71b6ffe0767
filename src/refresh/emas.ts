// The EMA component for one asset: daily closes from price_bars_1d, canonical closes from the bar tables,
// into the six families of compute/ema. Like the bars, an EMA row depends only on inputs dated up to
// its own day, so rows ≥ D are replaced, where D is the earliest input change since the last EMA run
// (the bars record it in their own state as changed_from) or the first new daily row.
//
// One exception to prefix stability: v2's guard floor(N/d) ≥ 3p depends on the total row count N, so a
// (tf, period) pair whose guard flips is rewritten whole.
//
// When only new daily rows arrived (the daily run), every (tf, period) continues from its carry — the kernel
// state after its last stored row, kept in refresh_state — with just the new daily rows and canonical closes.
// Everything else (a changed day, no carry, a v2 guard flip) recomputes the asset from its daily history.
import { type Timeframe } from '../catalog/timeframes.js';
import { emaBarSource, EMA_FAMILIES, emaTimeframes, type EmaFamily } from '../catalog/ema-families.js';
import {
  EMA_CARRY_LEN, emaAnchor, emaCal, emaV1, emaV2, v2Guard, type DailyCloses, type EmaOptions,
} from '../compute/ema/index.js';
import { BAR_TABLES, EMA_TABLES, type Table } from '../schema/tables.js';
import { concatBatches, emptyBatch, type RowBatch } from '../columnar/columns.js';
import type { Store } from '../store/store.js';
import { deleteFrom } from './bars.js';
import { plannedBarReads, storeBarReads } from './bar-reads.js';
import type { PlannedWrites } from './planned.js';
import { lowerBound } from '../util/search.js';
import { prefetchDailyCloses, prefetchEmas, type Canon, type EmasFacts } from './prefetch.js';
import { FLUSH_ROWS, TableWriter } from './writer.js';
import type { Sinks } from './sinks.js';
import {
  BARS_STATE_TABLES, type Carry, carryKey, commonState, decodeCarry, EMAS_STATE_TABLES, upstreamChange, writeStates,
} from './state.js';
import type { Writes } from './writes.js';
import type { AssetPlan } from './families/types.js';

export { EMA_FAMILIES, emaTimeframes, type EmaFamily };

export interface EmasOptions {
  tfs: readonly Timeframe[];
  periods: readonly number[];
  /** Explicit (tf, period) pairs from --tf-period-combos; replaces tfs × periods when given. */
  combos?: { tf: Timeframe; period: number }[];
  narrowed: boolean;
  fullRebuild: boolean;
  runId: string;
  /** Where the daily path writes its new rows (a group commit's sinks; see sinks.ts). */
  sinks?: Sinks;
  /** Recompute from this day (epoch ms) at the latest, whatever the state says (`refresh --from`). */
  recomputeFrom?: number;
}

export interface AssetEmasResult {
  status: 'built' | 'current';
  from: number;
  reason: string;
  rows: Record<string, number>;
  /** Continued from the carry (new days only) rather than recomputed from the history. */
  continued?: boolean;
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

type CarryMap = Record<string, Carry>;

/** Carry layout of one EMA table: its (tf, periods) items in order, EMA_CARRY_LEN doubles per period. */
function emaCarryKey(family: EmaFamily, items: { tf: Timeframe; periods: number[] }[]): { key: string; length: number } {
  const periods = items[0]?.periods ?? [];
  return {
    key: carryKey(`ema-${family}`, EMA_CARRY_LEN, items.map((i) => i.tf.tf), periods),
    length: items.reduce((s, i) => s + i.periods.length, 0) * EMA_CARRY_LEN,
  };
}

interface FamilyLayout {
  family: EmaFamily;
  items: { tf: Timeframe; periods: number[] }[];
  key: string;
  length: number;
}

const layouts = new WeakMap<EmasOptions, FamilyLayout[]>();

/** Every family's work items and carry layout under `opts` (worked out once per run's options). */
function familyLayouts(opts: EmasOptions): FamilyLayout[] {
  let l = layouts.get(opts);
  if (!l) {
    l = EMA_FAMILIES.map((family) => {
      const items = workItems(family, opts);
      return { family, items, ...emaCarryKey(family, items) };
    });
    layouts.set(opts, l);
  }
  return l;
}

const NO_CLOSES = { ts: new Float64Array(0), close: new Float64Array(0) };

/** One (family, tf) call of the kernels: rows from `fromTs` (or continuing `carry`), state into `carryOut`. */
function computeItem(
  family: EmaFamily, daily: DailyCloses, canon: { ts: Float64Array; close: Float64Array }, tf: Timeframe,
  periods: number[], o: EmaOptions,
): RowBatch {
  if (family === 'v1') return emaV1(daily, tf.tf === '1D' ? daily : canon, tf, periods, o);
  if (family === 'v2') return emaV2(daily, tf, periods, o);
  if (family === 'cal_us' || family === 'cal_iso') return emaCal(daily, canon.ts, tf, periods, o);
  return emaAnchor(daily, canon, tf, periods, o);
}

/** What the EMAs of one asset need (planEmas), and what carrying it out takes from the decision. */
export interface EmasDecision {
  plan: AssetPlan;
  /** Daily rows at the last run (v2's guard compares them with the rows now). */
  oldRows: number;
  /** The EMAs' watermark (+∞ when none, or when a narrowed run wrote past it). */
  watermark: number;
  ahead: boolean;
  /** Every family's carry, in familyLayouts order, when the plan continues. */
  carries?: Float64Array[];
}

/** Pure: what the asset's EMAs need, from their prefetched facts (their state and the bars'). */
export function planEmas(f: EmasFacts, opts: EmasOptions): EmasDecision {
  const none = { oldRows: 0, watermark: Infinity, ahead: false };
  if (f.srcHi === null) {
    // Every source day is gone: so are the EMA rows.
    if (opts.narrowed || f.states.size === 0) return { plan: { action: 'current', reason: 'no source rows' }, ...none };
    return { plan: { action: 'purge', reason: 'history deleted' }, ...none };
  }
  const bars = commonState(f.states, BARS_STATE_TABLES);
  let from = -Infinity;
  let reason = 'full rebuild';
  let oldRows = 0;
  // EMA rows are dated at most the last daily row built, so a change strictly after it deletes nothing.
  let watermark = Infinity;
  let ahead = false;
  if (opts.narrowed) reason = 'selected timeframes/periods';
  else if (!opts.fullRebuild) {
    const st = commonState(f.states, EMAS_STATE_TABLES);
    if (!st || st.last_src_ts === null || !f.tail) reason = 'first build';
    else if (!bars || bars.daily_min_seen !== st.daily_min_seen) reason = 'bars rebuilt from scratch';
    else if (upstreamChange(bars, st) === -Infinity) reason = 'bars rebuilt whole';
    else {
      // The bars' rewrite since this family's last run (recorded in the bars' own state), and a recompute an
      // operator asked for on this family's rows (dirty_from).
      const changed = Math.min(upstreamChange(bars, st) ?? Infinity, st.dirty_from ?? Infinity);
      from = changed;
      const reasons = changed !== Infinity ? ['bars changed'] : [];
      const next = f.tail.daily.ts[0];
      if (next !== undefined && next < from) {
        from = next;
        reasons.push('new days');
      }
      if (opts.recomputeFrom !== undefined && opts.recomputeFrom < from) {
        from = opts.recomputeFrom;
        reasons.push(`recompute requested from ${new Date(from).toISOString().slice(0, 10)}`);
      }
      if (from === Infinity) return { plan: { action: 'current', reason: 'already current' }, ...none };
      reason = reasons.join(', ');
      oldRows = st.source_rows;
      watermark = Number(st.last_src_ts);
      ahead = !!st.rows_ahead;
    }
  }
  if (f.tail && from > watermark) {
    const carries = familyLayouts(opts).map((l) => decodeCarry(f.states.get(EMA_TABLES[l.family].name), l.key, l.length));
    if (carries.every((c) => c !== undefined)) {
      return { plan: { action: 'continue', from, reason }, oldRows, watermark, ahead, carries: carries as Float64Array[] };
    }
  }
  return { plan: { action: 'recompute', from, reason }, oldRows, watermark, ahead };
}

export async function refreshAssetEmas(
  store: Store, out: Writes, id: number, opts: EmasOptions, facts?: EmasFacts,
): Promise<AssetEmasResult> {
  const f = facts ?? (await prefetchEmas(store, [id], opts.tfs)).get(id)!;
  const d = planEmas(f, opts);
  const { plan } = d;
  const result: AssetEmasResult = { status: 'built', from: -Infinity, reason: plan.reason, rows: {} };
  if (plan.action === 'current') return { ...result, status: 'current', from: Infinity };
  if (plan.action === 'purge') {
    for (const t of Object.values(EMA_TABLES)) await deleteFrom(out, t, id, 'ts', -Infinity);
    await out.write({ kind: 'forget-state', id, tables: EMAS_STATE_TABLES });
    return result;
  }
  result.from = plan.from;
  if (plan.action === 'continue') return continueEmas(store, out, id, opts, f, plan.from, d.oldRows, d.ahead, d.carries!, result);
  return rebuildEmas(store, out, id, opts, f, plan.from, d.oldRows, d.ahead ? Infinity : d.watermark, result);
}

/**
 * Only new daily rows since the last run: every (tf, period) continues from its carry with the new daily rows
 * and the new canonical closes. A v2 pair whose minimum-history guard starts to hold with these rows (it only
 * ever turns on: the row count only grows here) is written whole from the daily history instead. `carries`:
 * each family's stored carry (planEmas found them all).
 */
async function continueEmas(
  store: Store, out: Writes, id: number, opts: EmasOptions, f: EmasFacts, from: number, oldRows: number, ahead: boolean,
  carries: Float64Array[], result: AssetEmasResult,
): Promise<AssetEmasResult> {
  const tail = f.tail!;
  const daily: DailyCloses = { id, ts: tail.daily.ts, close: tail.daily.close };
  const newRows = oldRows + daily.ts.length;
  const plan = familyLayouts(opts).map((l, k) => ({ ...l, carry: carries[k] }));
  let whole: DailyCloses | undefined; // the asset's daily closes, read only on a day a v2 guard flips
  const carry: CarryMap = {};
  result.continued = true;
  for (const { family, items, key, carry: carryIn, length } of plan) {
    const table = EMA_TABLES[family];
    const source = emaBarSource(family);
    const canon = source ? tail.canon.get(BAR_TABLES[source].name)! : new Map();
    const next = new Float64Array(length);
    // Steady pairs write into the group's sink when there is one (else into parts); whole-series rewrites into wholes.
    const sink = opts.sinks?.of(table);
    const start = sink?.length ?? 0;
    const parts: RowBatch[] = [];
    const wholes: RowBatch[] = [];
    let off = 0;
    for (const { tf, periods } of items) {
      const flips = guardFlips(family, tf, periods, oldRows, newRows);
      if (flips.length === 0) {
        // No flip (nearly always): the item's slots in and out are contiguous, no gathering needed.
        const span = periods.length * EMA_CARRY_LEN;
        const o = { carry: carryIn!.subarray(off, off + span), carryOut: next.subarray(off, off + span), sink };
        const b = computeItem(family, daily, canon.get(tf.tf) ?? NO_CLOSES, tf, periods, o);
        if (!sink) parts.push(b);
        off += span;
        continue;
      }
      const steady = periods.filter((p) => !flips.includes(p));
      if (steady.length) {
        const cout = new Float64Array(steady.length * EMA_CARRY_LEN);
        const cin = gatherCarry(carryIn!, off, periods, steady);
        const b = computeItem(family, daily, canon.get(tf.tf) ?? NO_CLOSES, tf, steady, { carry: cin, carryOut: cout, sink });
        if (!sink) parts.push(b);
        scatterCarry(next, off, periods, steady, cout);
      }
      const all: DailyCloses = (whole ??= f.daily ?? (await (f.reads ?? storeBarReads(store)).dailyCloses(id)));
      const cout = new Float64Array(flips.length * EMA_CARRY_LEN);
      wholes.push(emaV2(all, tf, flips, { carryOut: cout }));
      scatterCarry(next, off, periods, flips, cout);
      // The row count only grows here, so the guard has just turned on and the pair had no rows — unless a
      // narrowed run past the watermark (rows_ahead) wrote it whole already: then replace it whole.
      if (ahead) await deleteSeries(out, table, id, tf, flips);
      off += periods.length * EMA_CARRY_LEN;
    }
    carry[table.name] = { key, data: next, stride: EMA_CARRY_LEN, group: items[0]?.periods.length ?? 1 };
    if (ahead) await deleteFrom(out, table, id, 'ts', from);
    // With a sink, the steady rows are the sink's rows since `start`.
    result.rows[table.name] = await out.write({
      kind: 'append', table, batch: concatBatches([sink ? sink.lazyView(start) : concatBatches(parts), ...wholes]),
    });
  }
  const last = daily.ts.length ? daily.ts[daily.ts.length - 1] : Number(commonState(f.states, EMAS_STATE_TABLES)!.last_src_ts);
  await finishEmas(out, id, opts, f, last, newRows, result, carry);
  return result;
}

/**
 * Recompute the asset's EMAs from its whole daily history and replace the rows dated ≥ from (all for a first
 * build or --full-rebuild; from the earliest changed day otherwise). Leaves a fresh carry behind.
 */
async function rebuildEmas(
  store: Store, out: Writes, id: number, opts: EmasOptions, f: EmasFacts, from: number, oldRows: number, watermark: number,
  result: AssetEmasResult,
): Promise<AssetEmasResult> {
  const reads = f.reads ?? storeBarReads(store);
  const daily = await reads.dailySeries(id);
  const fromTs = from === -Infinity ? undefined : from;
  const carry: CarryMap = {};
  // Committed in parts where the engine asks for it (writer.ts): until the last, no EMA state (a rerun rebuilds
  // the asset's EMAs whole).
  const writer = new TableWriter(out, { id, tables: EMAS_STATE_TABLES });
  // Periods per kernel call: a call's rows (up to one per daily row and period) stay within the write buffer's
  // bound, so a long history is computed a few periods at a time; an ordinary one still in one call per item.
  const perCall = Math.max(1, Math.floor(FLUSH_ROWS / Math.max(1, daily.n)));
  for (const { family, items, key, length } of familyLayouts(opts)) {
    const table = EMA_TABLES[family];
    const source = emaBarSource(family);
    const canon = source ? await reads.canonicalCloses(BAR_TABLES[source].name, id) : new Map();
    const next = new Float64Array(length);
    // Deleted before the table's first append: the writer may append part of the rows before the end.
    if (!(from > watermark)) await deleteEmaRows(out, table, id, from, opts, items);
    await writer.add(table, emptyBatch());
    let off = 0;
    for (const { tf, periods } of items) {
      const c = canon.get(tf.tf) ?? NO_CLOSES;
      // v2 pairs whose guard changed since the last run are written whole (or removed).
      const flips = fromTs !== undefined ? guardFlips(family, tf, periods, oldRows, daily.n) : [];
      if (flips.length) await deleteSeries(out, table, id, tf, flips);
      const steady = periods.filter((p) => !flips.includes(p));
      const compute = async (subset: number[], from?: number) => {
        for (let i = 0; i < subset.length; i += perCall) {
          const part = subset.slice(i, i + perCall);
          const cout = new Float64Array(part.length * EMA_CARRY_LEN);
          await writer.add(table, computeItem(family, daily, c, tf, part, { fromTs: from, carryOut: cout }));
          scatterCarry(next, off, periods, part, cout);
        }
      };
      await compute(steady, fromTs);
      await compute(flips);
      off += periods.length * EMA_CARRY_LEN;
    }
    carry[table.name] = { key, data: next, stride: EMA_CARRY_LEN, group: items[0]?.periods.length ?? 1 };
  }
  Object.assign(result.rows, await writer.flush());
  const last = daily.n ? daily.ts[daily.n - 1] : NaN;
  if (!opts.narrowed) await finishEmas(out, id, opts, f, last, daily.n, result, carry);
  else await out.write({ kind: 'rows-ahead', id, tables: EMAS_STATE_TABLES, lastTs: last });
  return result;
}

async function finishEmas(
  out: Writes, id: number, opts: EmasOptions, f: EmasFacts, lastSrcTs: number, rows: number, result: AssetEmasResult,
  carry: CarryMap,
): Promise<void> {
  const bars = commonState(f.states, BARS_STATE_TABLES);
  if (!bars) return;
  await writeStates(out, id, EMAS_STATE_TABLES, {
    lastSrcTs, dailyMinSeen: bars.daily_min_seen ?? NaN, sourceRows: rows, runId: opts.runId, rowsWritten: result.rows, carry,
  });
}

async function deleteEmaRows(
  out: Writes, table: Table, id: number, from: number, opts: EmasOptions, items: { tf: Timeframe; periods: number[] }[],
): Promise<void> {
  if (!opts.narrowed) return deleteFrom(out, table, id, 'ts', from);
  for (const { tf, periods } of items) await deleteSeries(out, table, id, tf, periods);
}

/** Delete whole (tf, period) series of one asset. */
async function deleteSeries(out: Writes, table: Table, id: number, tf: Timeframe, periods: readonly number[]): Promise<void> {
  if (!periods.length) return;
  await out.write({ kind: 'delete', table, id, timeCol: 'ts', from: -Infinity, tfs: [tf.tf], periods });
}

/**
 * The daily run of an asset whose v2 guard turns on for some pair reads the asset's whole daily closes. Read
 * those of a chunk's assets in one query instead (a universe of young assets has many: 156–279 single reads
 * a day at 1,000 × 300). Only a prediction: an asset that does not continue after all just ignores them, one
 * that was missed reads its own.
 */
export async function prefetchFlipDaily(store: Store, facts: Map<number, EmasFacts>, opts: EmasOptions): Promise<void> {
  if (opts.narrowed || opts.fullRebuild) return;
  const items = workItems('v2', opts);
  const need: number[] = [];
  for (const [id, f] of facts) {
    const st = commonState(f.states, EMAS_STATE_TABLES);
    if (!st || !f.tail) continue;
    const after = st.source_rows + f.tail.daily.ts.length;
    if (items.some(({ tf, periods }) => guardFlips('v2', tf, periods, st.source_rows, after).length)) need.push(id);
  }
  if (!need.length) return;
  for (const [id, daily] of await prefetchDailyCloses(store, need)) facts.get(id)!.daily = daily;
}

/** v2 periods of an item whose minimum-history guard differs between two daily row counts (written whole). */
function guardFlips(family: EmaFamily, tf: Timeframe, periods: readonly number[], before: number, after: number): number[] {
  if (family !== 'v2') return [];
  return periods.filter((p) => v2Guard(before, tf.daysNominal, p) !== v2Guard(after, tf.daysNominal, p));
}

/**
 * An item's carry slots in a table's layout start at `off`, one EMA_CARRY_LEN run per period of `periods`.
 * gather: the runs of `subset` (in its order) out of the layout; scatter: back into it.
 */
function gatherCarry(layout: Float64Array, off: number, periods: readonly number[], subset: readonly number[]): Float64Array {
  const out = new Float64Array(subset.length * EMA_CARRY_LEN);
  subset.forEach((p, i) => {
    const at = off + periods.indexOf(p) * EMA_CARRY_LEN;
    out.set(layout.subarray(at, at + EMA_CARRY_LEN), i * EMA_CARRY_LEN);
  });
  return out;
}

function scatterCarry(layout: Float64Array, off: number, periods: readonly number[], subset: readonly number[], carry: Float64Array): void {
  subset.forEach((p, i) => layout.set(carry.subarray(i * EMA_CARRY_LEN, (i + 1) * EMA_CARRY_LEN), off + periods.indexOf(p) * EMA_CARRY_LEN));
}

/**
 * The EMA facts of one asset as they will be once the bars have made their planned writes: the bars' state
 * rows as planned, and the daily rows and canonical closes after the EMA watermark read through the overlay.
 */
export async function plannedEmaFacts(store: Store, planned: PlannedWrites, id: number, tfs: readonly Timeframe[]): Promise<EmasFacts> {
  const f = (await prefetchEmas(store, [id], tfs)).get(id)!;
  const reads = plannedBarReads(store, planned);
  const out: EmasFacts = { ...f, states: planned.statesAfter(f.states), reads };
  if (f.tail) {
    const after = f.tail.after;
    const daily = await reads.dailySeries(id);
    const k = lowerBound(daily.ts, after + 1, daily.n);
    const canon = new Map<string, Map<string, Canon>>();
    for (const t of Object.values(BAR_TABLES)) {
      const closes = new Map<string, Canon>();
      for (const [tf, c] of await reads.canonicalCloses(t.name, id)) {
        const j = lowerBound(c.ts, after + 1);
        if (j < c.ts.length) closes.set(tf, { ts: c.ts.subarray(j), close: c.close.subarray(j) });
      }
      canon.set(t.name, closes);
    }
    out.tail = { after, daily: { ts: daily.ts.subarray(k), close: daily.close.subarray(k) }, canon };
  }
  return out;
}
