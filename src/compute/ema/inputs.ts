// Inputs of the EMA families and the shared plumbing: validation, aligning canonical closes with daily rows,
// and the RowBatch layout of the six EMA tables (schema/tables.ts EMA_TABLES, minus ingested_at which the
// engines set).

import type { RowBatch } from '../../columnar/columns.js';
import { constText, type RowSink, type SinkColumn } from '../../columnar/columns.js';
import type { Timeframe } from '../../catalog/timeframes.js';
import { lowerBound } from '../../util/search.js';

/**
 * One asset's daily closes, ascending by ts, one row per available day: the rows of price_bars_1d.
 * A DailySeries (compute/daily.ts) satisfies this as is. `n` defaults to ts.length, so oversized reusable
 * buffers can be passed.
 */
export interface DailyCloses {
  id: number;
  /** Close instant of each day, epoch ms. */
  ts: Float64Array;
  close: Float64Array;
  n?: number;
}

/**
 * Canonical bar closes of one (asset, tf), ascending: the bar table's is_partial_end = false rows
 * (time_close → ts, close). For 1D, price_bars_1d itself (pass the daily series).
 */
export interface CanonicalCloses {
  ts: Float64Array;
  close: Float64Array;
  n?: number;
}

/**
 * What a family needs of a timeframe: its label (the `tf` column) and d = `daysNominal` (always the
 * nominal days — 7 per week, 30 per month, 365 per year — also stored as `tf_days`). A catalog Timeframe fits.
 */
export type TfSpec = Pick<Timeframe, 'tf' | 'daysNominal'>;

export interface EmaOptions {
  /**
   * Emit only rows with ts ≥ fromTs. Values (derivatives included) are those of the full computation, so an
   * incremental refresh can recompute an asset and write just the tail it has not written yet. (It also works
   * together with `carry`, applied to the rows of the call's tail.)
   */
  fromTs?: number;
  /**
   * Continue from a saved state instead of starting from nothing: the `carryOut` of an earlier call of the same
   * family, timeframe and periods (same order). `daily` then holds only the daily rows after the carry's last
   * folded daily ts, and the canonical input only the closes after that same ts; the batch is exactly the
   * rows the full computation over the whole history emits for this call's daily rows. Length
   * periods.length × EMA_CARRY_LEN; layout see EMA_CARRY_SLOT. Not modified (it may be the same array as
   * carryOut).
   */
  carry?: Float64Array;
  /**
   * Filled (always, every period, also those not seeded yet) with the state after every input folded so far —
   * the carry plus this call, i.e. all daily rows up to the last one and the canonical closes up to its ts
   * (canonical closes after the last daily row affect no row and are left for the next call). Length
   * periods.length × EMA_CARRY_LEN. Written only when the call succeeds.
   */
  carryOut?: Float64Array;
  /**
   * Write the rows into this sink (an emaSinkColumns layout of the family's table) instead of columns of the
   * call's own: the many one-row calls of a daily run then allocate nothing per call.
   */
  sink?: RowSink;
}

// ---- carry (EmaOptions.carry / carryOut) ---------------------------------------------------------------------------

/**
 * Slots of one period's state in a carry (a carry = these EMA_CARRY_LEN doubles per period, in the order of
 * the periods asked). "The bar EMA" is the EMA over the family's canonical closes (α = 2/(p+1)); for v2 it is
 * the daily EMA of span d·p itself.
 */
export const EMA_CARRY_SLOT = {
  /** family code (EMA_CARRY_FAMILY); 0 only in a blank carry (emaCarryInit) */
  KIND: 0,
  /** the period */
  PERIOD: 1,
  /** tf daysNominal */
  TF_DAYS: 2,
  /** ts of the last daily row folded; −Infinity when none */
  LAST_TS: 3,
  /** daily rows folded (v2's row index origin and guard count) */
  ROWS: 4,
  /** canonical closes folded: v1/anchor the canonical closes with ts ≤ LAST_TS, cal the on-grid canonical days, v2 = ROWS */
  BARS: 5,
  /** bar EMA EmaState.run: current run of non-NaN inputs while unseeded, = window (p, v2 d·p) once seeded */
  RUN: 6,
  /** bar EMA EmaState.acc: running partial seed sum Σ x/window while unseeded, then the bar EMA value */
  ACC: 7,
  /** 1 once the output series has begun (its seed row folded), else 0 */
  STARTED: 8,
  /** last row's ema (also the running ema state of cal/anchor), and its d1_roll; NaN before the first row */
  EMA: 9,
  D1_ROLL: 10,
  /** last canonical (roll = false) row's ema and its d1; NaN before the first */
  EMA_CANON: 11,
  D1: 12,
  /** the _bar twins (cal, anchor; NaN for v1/v2): last row's ema_bar and d1_roll_bar, last roll_bar = false row's ema_bar and d1_bar */
  EMA_BAR: 13,
  D1_ROLL_BAR: 14,
  EMA_BAR_CANON: 15,
  D1_BAR: 16,
} as const;

/** Doubles per period in a carry. */
export const EMA_CARRY_LEN = 17;

/** EMA_CARRY_SLOT.KIND values. */
export const EMA_CARRY_FAMILY = { v1: 1, v2: 2, cal: 3, anchor: 4 } as const;

const S = EMA_CARRY_SLOT;
const FAMILY_NAME = ['blank', 'v1', 'v2', 'cal', 'cal_anchor'];

function blankSlot(c: Float64Array, o: number): void {
  c.fill(0, o, o + S.EMA);
  c[o + S.LAST_TS] = -Infinity;
  c.fill(NaN, o + S.EMA, o + EMA_CARRY_LEN);
}

/**
 * A carry for `nPeriods` periods holding nothing folded: continuing from it is a fresh full computation, for
 * any family, timeframe and periods. (The carryOut of a call over empty inputs means the same, tagged.)
 */
export function emaCarryInit(nPeriods: number): Float64Array {
  const c = new Float64Array(nPeriods * EMA_CARRY_LEN);
  for (let q = 0; q < nPeriods; q++) blankSlot(c, q * EMA_CARRY_LEN);
  return c;
}

/** Daily rows folded into period `periodIndex`'s state (the same for every period of a carry). */
export function emaCarryRows(carry: Float64Array, periodIndex = 0): number {
  return carry[periodIndex * EMA_CARRY_LEN + S.ROWS];
}

/** ts of the last daily row folded into the carry, −Infinity when none (the same for every period). */
export function emaCarryLastTs(carry: Float64Array, periodIndex = 0): number {
  return carry[periodIndex * EMA_CARRY_LEN + S.LAST_TS];
}

/** Whether period `periodIndex`'s output series has begun (its seed row has been folded). */
export function emaCarryStarted(carry: Float64Array, periodIndex: number): boolean {
  return carry[periodIndex * EMA_CARRY_LEN + S.STARTED] === 1;
}

const iso = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString() : String(t));

/** Backing store of openCarry's working copy of a given carry (see there). */
let work = new Float64Array(0);

/**
 * The working state of one call: a copy of opts.carry (validated against the family, timeframe and periods)
 * or a blank one, tagged. Also refuses inputs that overlap what the carry has folded.
 */
export function openCarry(
  kind: number,
  what: string,
  periods: readonly number[],
  d: number,
  opts: EmaOptions | undefined,
  dailyTs: Float64Array,
  n: number,
  canonTs: Float64Array,
  k: number,
): Float64Array {
  const L = EMA_CARRY_LEN;
  const len = periods.length * L;
  const out = opts?.carryOut;
  if (out !== undefined && out.length !== len) {
    throw new RangeError(`${what}: carryOut has ${out.length} doubles, want ${periods.length} periods × ${L} = ${len}`);
  }
  const c = opts?.carry;
  let w: Float64Array;
  if (c === undefined) {
    w = emaCarryInit(periods.length);
  } else {
    if (c.length !== len) throw new RangeError(`${what}: carry has ${c.length} doubles, want ${periods.length} periods × ${L} = ${len}`);
    // The working copy lives in a buffer reused from call to call (kernels are synchronous and never nest):
    // a daily run makes ~100 calls per asset, and a fresh copy each was most of a call's allocation.
    if (work.length < len) work = new Float64Array(Math.max(len, 2 * work.length));
    w = work.subarray(0, len);
    w.set(c);
    const lastTs = w[S.LAST_TS];
    const rows = w[S.ROWS];
    for (let q = 0; q < periods.length; q++) {
      const o = q * L;
      const tag = w[o + S.KIND];
      const run = w[o + S.RUN];
      if (tag === 0) {
        if (w[o + S.ROWS] !== 0 || w[o + S.STARTED] !== 0 || run !== 0) throw new RangeError(`${what}: carry period #${q} is untagged but not blank`);
      } else if (tag !== kind || w[o + S.PERIOD] !== periods[q] || w[o + S.TF_DAYS] !== d) {
        throw new RangeError(
          `${what}: carry period #${q} is a ${FAMILY_NAME[tag] ?? `kind ${tag}`} state of period ${w[o + S.PERIOD]} with `
          + `daysNominal ${w[o + S.TF_DAYS]}, not ${FAMILY_NAME[kind]} period ${periods[q]} with daysNominal ${d}`,
        );
      }
      if (w[o + S.LAST_TS] !== lastTs || w[o + S.ROWS] !== rows) {
        throw new RangeError(`${what}: carry periods disagree on what was folded (period #${q} ${w[o + S.ROWS]} rows vs ${rows})`);
      }
      if (!(Number.isInteger(run) && run >= 0) || !(w[o + S.STARTED] === 0 || w[o + S.STARTED] === 1)) {
        throw new RangeError(`${what}: carry period #${q} is malformed (run ${run}, started ${w[o + S.STARTED]})`);
      }
    }
    if (!(rows >= 0 && Number.isInteger(rows)) || (rows === 0) !== (lastTs === -Infinity)) {
      throw new RangeError(`${what}: carry is malformed (${rows} rows, last ts ${lastTs})`);
    }
    if (n > 0 && !(dailyTs[0] > lastTs)) {
      throw new Error(
        `${what}: daily tail starts at ${iso(dailyTs[0])}, not after the carry's last folded day ${iso(lastTs)}: `
        + 'pass only the daily rows after it',
      );
    }
    if (k > 0 && !(canonTs[0] > lastTs)) {
      throw new Error(
        `${what}: canonical tail starts at ${iso(canonTs[0])}, not after the carry's last folded day ${iso(lastTs)}: `
        + 'pass only the canonical closes after it',
      );
    }
  }
  for (let q = 0; q < periods.length; q++) {
    const o = q * L;
    w[o + S.KIND] = kind;
    w[o + S.PERIOD] = periods[q];
    w[o + S.TF_DAYS] = d;
  }
  return w;
}

/** Account for the call's inputs (n daily rows up to dailyTs[n−1], `bars` canonical closes) and write carryOut. */
export function closeCarry(w: Float64Array, opts: EmaOptions | undefined, dailyTs: Float64Array, n: number, bars: number): void {
  const out = opts?.carryOut;
  if (out === undefined) return;
  for (let o = 0; o < w.length; o += EMA_CARRY_LEN) {
    if (n > 0) w[o + S.LAST_TS] = dailyTs[n - 1];
    w[o + S.ROWS] += n;
    w[o + S.BARS] += bars;
  }
  out.set(w);
}

export function lengthOf(s: { ts: Float64Array; close?: Float64Array; n?: number }, what: string): number {
  const n = s.n ?? s.ts.length;
  if (!Number.isInteger(n) || n < 0 || n > s.ts.length || (s.close !== undefined && n > s.close.length)) {
    throw new RangeError(`${what}: length ${n} does not fit its arrays (ts ${s.ts.length}, close ${s.close?.length})`);
  }
  return n;
}

/** Strictly ascending and finite: everything below relies on merge walks and binary searches over ts. */
export function checkAscending(ts: Float64Array, n: number, what: string): void {
  for (let i = 0; i < n; i++) {
    const t = ts[i];
    if (!Number.isFinite(t)) throw new RangeError(`${what}: ts[${i}] is not a finite instant (${t})`);
    if (i > 0 && !(t > ts[i - 1])) {
      throw new RangeError(
        `${what}: ts must be strictly ascending, but ts[${i}] = ${new Date(t).toISOString()} follows `
        + `ts[${i - 1}] = ${new Date(ts[i - 1]).toISOString()}`,
      );
    }
  }
}

export function checkTf(tf: TfSpec): void {
  if (!Number.isInteger(tf.daysNominal) || tf.daysNominal < 1) {
    throw new RangeError(`timeframe ${tf.tf}: daysNominal must be a positive integer, got ${tf.daysNominal}`);
  }
}

export function normPeriods(periods: number | readonly number[], tf: TfSpec): readonly number[] {
  const list = typeof periods === 'number' ? [periods] : periods;
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    if (!Number.isInteger(p) || p < 1) throw new RangeError(`timeframe ${tf.tf}: EMA period must be a positive integer, got ${p}`);
    // Two equal periods would give duplicate primary keys in one batch; that is a caller bug, not data. (A
    // pairwise scan: lists are a few dozen periods, and a Set per call cost more than the rest of a daily call.)
    for (let j = 0; j < i; j++) if (list[j] === p) throw new RangeError(`timeframe ${tf.tf}: period ${p} requested twice`);
  }
  return list;
}

/**
 * Align canonical timestamps with daily rows by exact ts equality (both are day-close instants from the same
 * price_bars_1d days). `canonAt[i]` = index of the canonical close on daily row i, or −1; `dailyAt[j]` = the
 * daily row of canonical j, or −1 when that day is not on the daily grid.
 */
export function alignCanonical(
  dailyTs: Float64Array,
  n: number,
  canonTs: Float64Array,
  k: number,
): { canonAt: Int32Array; dailyAt: Int32Array } {
  const canonAt = new Int32Array(n).fill(-1);
  const dailyAt = new Int32Array(k).fill(-1);
  let i = 0;
  for (let j = 0; j < k; j++) {
    const t = canonTs[j];
    while (i < n && dailyTs[i] < t) i++;
    if (i < n && dailyTs[i] === t) {
      canonAt[i] = j;
      dailyAt[j] = i;
    }
  }
  return { canonAt, dailyAt };
}

/** Full-length working arrays for one (asset, tf); reused across periods. */
export interface Scratch {
  ema: Float64Array;
  roll: Uint8Array;
  d1: Float64Array;
  d2: Float64Array;
  d1r: Float64Array;
  d2r: Float64Array;
  emaBar: Float64Array;
  rollBar: Uint8Array;
  d1b: Float64Array;
  d2b: Float64Array;
  d1rb: Float64Array;
  d2rb: Float64Array;
}

const EMPTY_F = new Float64Array(0);
const EMPTY_U = new Uint8Array(0);

export function scratch(n: number, dual: boolean): Scratch {
  const f = () => new Float64Array(n);
  return {
    ema: f(), roll: new Uint8Array(n), d1: f(), d2: f(), d1r: f(), d2r: f(),
    emaBar: dual ? f() : EMPTY_F, rollBar: dual ? new Uint8Array(n) : EMPTY_U,
    d1b: dual ? f() : EMPTY_F, d2b: dual ? f() : EMPTY_F, d1rb: dual ? f() : EMPTY_F, d2rb: dual ? f() : EMPTY_F,
  };
}

/**
 * Rows of one period's output: the series is computed over daily rows [start, n) (start = the seed row), and
 * rows [lo, n) are emitted (lo > start only with fromTs).
 */
export interface PeriodPlan {
  period: number;
  start: number;
  lo: number;
}

export function emitFrom(dailyTs: Float64Array, n: number, start: number, opts: EmaOptions | undefined): number {
  if (opts?.fromTs === undefined) return start;
  return Math.max(start, lowerBound(dailyTs, opts.fromTs, n));
}

/** Column kinds of an EMA table's rows (a RowSink for the single or the dual layout), in the table's order. */
export function emaSinkColumns(dual: boolean): Record<string, SinkColumn> {
  const base: Record<string, SinkColumn> = {
    id: 'i32', tf: 'text', period: 'i32', ts: 'f64', tf_days: 'i32', roll: 'u8', ema: 'f64', d1: 'f64', d2: 'f64',
    d1_roll: 'f64', d2_roll: 'f64',
  };
  return dual
    ? { ...base, ema_bar: 'f64', roll_bar: 'u8', d1_bar: 'f64', d2_bar: 'f64', d1_roll_bar: 'f64', d2_roll_bar: 'f64' }
    : base;
}

type OutCols = Record<string, Float64Array | Int32Array | Uint8Array>;

// Rows [lo, lo + len) of src into dst from row o. A daily run emits one or two rows per period: a plain loop
// then beats making a subarray view to copy from.
function put(dst: Float64Array, src: Float64Array, o: number, lo: number, len: number): void {
  if (len <= 8) for (let i = 0; i < len; i++) dst[o + i] = src[lo + i];
  else dst.set(src.subarray(lo, lo + len), o);
}

function putFlags(dst: Uint8Array, src: Uint8Array, o: number, lo: number, len: number): void {
  if (len <= 8) for (let i = 0; i < len; i++) dst[o + i] = src[lo + i];
  else dst.set(src.subarray(lo, lo + len), o);
}

/**
 * Batch writer for a whole (asset, tf) call, filled period by period: into its own columns allocated at the
 * final size, or into rows claimed from `opts.sink` (then the returned batch is a view of them).
 */
export class EmaBatchBuilder {
  private off: number;
  private readonly base: number;
  private readonly c: OutCols;
  private readonly own?: RowBatch;

  constructor(
    private readonly id: number,
    private readonly tf: TfSpec,
    private readonly dual: boolean,
    private readonly length: number,
    private readonly sink?: RowSink,
  ) {
    if (sink !== undefined) {
      const at = sink.claim(length);
      const c = sink.cols as OutCols;
      c.id.fill(id, at, at + length);
      c.tf_days.fill(tf.daysNominal, at, at + length);
      const tfCol = sink.cols.tf as string[];
      for (let i = at; i < at + length; i++) tfCol[i] = tf.tf;
      this.c = c;
      this.base = at;
      this.off = at;
      return;
    }
    const f = () => new Float64Array(length);
    const c: OutCols = {
      id: new Int32Array(length).fill(id), period: new Int32Array(length), ts: f(),
      tf_days: new Int32Array(length).fill(tf.daysNominal), roll: new Uint8Array(length), ema: f(),
      d1: f(), d2: f(), d1_roll: f(), d2_roll: f(),
    };
    if (dual) {
      Object.assign(c, {
        ema_bar: f(), roll_bar: new Uint8Array(length), d1_bar: f(), d2_bar: f(), d1_roll_bar: f(), d2_roll_bar: f(),
      });
    }
    this.c = c;
    this.base = 0;
    this.off = 0;
    // Column order follows the table definition so a reader of the batch sees the schema's layout.
    const cols: RowBatch['cols'] = {
      id: c.id, tf: constText(tf.tf, length), period: c.period, ts: c.ts, tf_days: c.tf_days, roll: c.roll,
      ema: c.ema, d1: c.d1, d2: c.d2, d1_roll: c.d1_roll, d2_roll: c.d2_roll,
    };
    if (dual) {
      Object.assign(cols, {
        ema_bar: c.ema_bar, roll_bar: c.roll_bar, d1_bar: c.d1_bar, d2_bar: c.d2_bar,
        d1_roll_bar: c.d1_roll_bar, d2_roll_bar: c.d2_roll_bar,
      });
    }
    this.own = { length, cols };
  }

  /** Copy rows [lo, n) of a computed period from scratch into the batch. */
  emit(period: number, dailyTs: Float64Array, s: Scratch, lo: number, n: number): void {
    const len = n - lo;
    if (len <= 0) return;
    const o = this.off;
    const c = this.c;
    (c.period as Int32Array).fill(period, o, o + len);
    put(c.ts as Float64Array, dailyTs, o, lo, len);
    putFlags(c.roll as Uint8Array, s.roll, o, lo, len);
    put(c.ema as Float64Array, s.ema, o, lo, len);
    put(c.d1 as Float64Array, s.d1, o, lo, len);
    put(c.d2 as Float64Array, s.d2, o, lo, len);
    put(c.d1_roll as Float64Array, s.d1r, o, lo, len);
    put(c.d2_roll as Float64Array, s.d2r, o, lo, len);
    if (this.dual) {
      put(c.ema_bar as Float64Array, s.emaBar, o, lo, len);
      putFlags(c.roll_bar as Uint8Array, s.rollBar, o, lo, len);
      put(c.d1_bar as Float64Array, s.d1b, o, lo, len);
      put(c.d2_bar as Float64Array, s.d2b, o, lo, len);
      put(c.d1_roll_bar as Float64Array, s.d1rb, o, lo, len);
      put(c.d2_roll_bar as Float64Array, s.d2rb, o, lo, len);
    }
    this.off = o + len;
  }

  done(): RowBatch {
    if (this.off - this.base !== this.length) {
      throw new Error(`internal: EMA batch for ${this.tf.tf} (id ${this.id}) filled ${this.off - this.base} of ${this.length} rows`);
    }
    return this.own ?? this.sink!.lazyView(this.base, this.base + this.length);
  }
}
