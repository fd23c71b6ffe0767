// Inputs of the EMA families and their checks: one asset's daily closes, one timeframe's canonical closes,
// the timeframe, the periods, and the options of a call.

import type { RowSink } from '../../columnar/columns.js';
import type { Timeframe } from '../../catalog/timeframes.js';


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
