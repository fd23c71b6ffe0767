// Inputs of the EMA families and the shared plumbing: validation, aligning canonical closes with daily rows,
// and the RowBatch layout of the six EMA tables (schema/tables.ts EMA_TABLES, minus ingested_at which the
// engines set).

import type { RowBatch } from '../../store/columns.js';
import { constText } from '../../store/columns.js';
import type { Timeframe } from '../../catalog/timeframes.js';
import { lowerBound } from '../../util/search.js';

/**
 * One asset's daily closes, ascending by ts, one row per available day: the rows of price_bars_1d (SPEC E2).
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
 * What a family needs of a timeframe: its label (the `tf` column) and d = `daysNominal` (SPEC E3: always the
 * nominal days — 7 per week, 30 per month, 365 per year — also stored as `tf_days`). A catalog Timeframe fits.
 */
export type TfSpec = Pick<Timeframe, 'tf' | 'daysNominal'>;

export interface EmaOptions {
  /**
   * Emit only rows with ts ≥ fromTs. Values (derivatives included) are those of the full computation, so an
   * incremental refresh can recompute an asset and write just the tail it has not written yet.
   */
  fromTs?: number;
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
  const seen = new Set<number>();
  for (const p of list) {
    if (!Number.isInteger(p) || p < 1) throw new RangeError(`timeframe ${tf.tf}: EMA period must be a positive integer, got ${p}`);
    // Two equal periods would give duplicate primary keys in one batch; that is a caller bug, not data.
    if (seen.has(p)) throw new RangeError(`timeframe ${tf.tf}: period ${p} requested twice`);
    seen.add(p);
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

/** Batch writer for a whole (asset, tf) call: allocated once at the final size, filled period by period. */
export class EmaBatchBuilder {
  readonly batch: RowBatch;
  private off = 0;
  private readonly c: Record<string, Float64Array | Int32Array | Uint8Array>;

  constructor(
    private readonly id: number,
    private readonly tf: TfSpec,
    private readonly dual: boolean,
    length: number,
  ) {
    const f = () => new Float64Array(length);
    const c: Record<string, Float64Array | Int32Array | Uint8Array> = {
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
    this.batch = { length, cols };
  }

  /** Copy rows [lo, n) of a computed period from scratch into the batch. */
  emit(period: number, dailyTs: Float64Array, s: Scratch, lo: number, n: number): void {
    const len = n - lo;
    if (len <= 0) return;
    const o = this.off;
    const c = this.c;
    (c.period as Int32Array).fill(period, o, o + len);
    const put = (dst: Float64Array | Int32Array | Uint8Array, src: Float64Array | Uint8Array) => {
      (dst as Float64Array).set(src.subarray(lo, n) as Float64Array, o);
    };
    put(c.ts, dailyTs);
    put(c.roll, s.roll);
    put(c.ema, s.ema);
    put(c.d1, s.d1);
    put(c.d2, s.d2);
    put(c.d1_roll, s.d1r);
    put(c.d2_roll, s.d2r);
    if (this.dual) {
      put(c.ema_bar, s.emaBar);
      put(c.roll_bar, s.rollBar);
      put(c.d1_bar, s.d1b);
      put(c.d2_bar, s.d2b);
      put(c.d1_roll_bar, s.d1rb);
      put(c.d2_roll_bar, s.d2rb);
    }
    this.off = o + len;
  }

  done(): RowBatch {
    if (this.off !== this.batch.length) {
      throw new Error(`internal: EMA batch for ${this.tf.tf} (id ${this.id}) filled ${this.off} of ${this.batch.length} rows`);
    }
    return this.batch;
  }
}
