// Carry of the snapshot bar kernels: the complete running state of one (asset, timeframe, family) build after
// its last folded day, so that a later build can continue it with only the new daily rows.

import type { Timeframe } from '../../catalog/timeframes.js';
import type { RowSink } from '../../columnar/columns.js';
import type { DailySeries } from '../daily.js';
import { BAR_STATE_SLOTS, type BarState } from './bar-state.js';
import { isoDay } from './input.js';

// Layout (Float64Array, slot = meaning; every slot is always written, NaN = "none"):
//   0  C_SIG            timeframe signature (tfSignature): a carry is only accepted by the timeframe and family
//                       that produced it
//   1  C_FOLDED         daily rows folded so far; 0 = nothing folded yet. A carry with 0 here is the empty
//                       carry whatever the other slots hold (so an all-zero array is also "empty")
//   2  C_EMITTED        snapshot rows emitted so far (cal: rows before the first complete window are folded but
//                       not emitted; the first emitted row gets the synthetic time_open)
//   3  C_FIRST_DAY      day number of the first folded row (NaN if none)
//   4  C_LAST_DAY       day number of the last folded row (NaN if none); a tail must start after it
//   5  C_LAST_TS        close instant of the last folded row (NaN if none): time_open of a bar starting on
//                       the tail's first row is this + 1
//   6  C_SEQ            bar_seq of the current bar (0 before the first)
//   7  C_POS            rolling: row position of the last folded row in its bar (0 before the first); cal: 0
//   8  C_BASE           cal: global window index of bar_seq 1 (NaN before the first fold); rolling: NaN
//   9  C_WIN_END        cal: last day of the current bar's window (-Infinity before the first bar); rolling: NaN
//  10  C_EFF_START      cal: effective start day of the current bar (0 before the first bar); rolling: NaN
//  11  C_TF_DAYS        cal: window length of the current bar (0 before the first bar); rolling: NaN
//  12  C_PARTIAL_START  cal: 1 if the current bar is the anchored partial first window, else 0; rolling: NaN
//  13..25               BarState of the current bar: time_open, open, high, time_high, low, time_low, volume,
//                       market_cap, prev_day, missing_start, missing_interior, first_missing_day,
//                       last_missing_day (running values, before the sanity pass)
// The carry is a pure function of the timeframe and the rows folded so far: a chain of continuations ends
// with the same carry, bit for bit, as the full build over the same rows.


export const C_SIG = 0;
export const C_FOLDED = 1;
export const C_EMITTED = 2;
export const C_FIRST_DAY = 3;
export const C_LAST_DAY = 4;
export const C_LAST_TS = 5;
export const C_SEQ = 6;
export const C_POS = 7;
export const C_BASE = 8;
export const C_WIN_END = 9;
export const C_EFF_START = 10;
export const C_TF_DAYS = 11;
export const C_PARTIAL_START = 12;
export const C_STATE = 13;


/** Length of a bar carry (Float64Array), the same for every timeframe and family. */
export const BAR_CARRY_LEN: number = C_STATE + BAR_STATE_SLOTS;

export interface SnapshotBuildOptions {
  /**
   * State after the rows already folded (a previous build's carryOut). `series` must then hold only the
   * daily rows after the carry's last folded day; the result is the full build's rows for those days.
   */
  carry?: Float64Array;
  /** Receives (length >= BAR_CARRY_LEN) the state after folding the carry's rows and `series`. May be `carry`. */
  carryOut?: Float64Array;
  /** Write the rows into this sink (BAR_SINK_COLUMNS) instead of columns of the call's own. */
  sink?: RowSink;
}

/** Identifies the (timeframe, family) semantics a carry belongs to; positive for rolling, negative for calendar. */
export function tfSignature(tf: Timeframe, anchored: boolean): number {
  if (tf.alignment === 'tf_day') return tf.daysNominal;
  const unit = tf.baseUnit === 'W' ? 1 : tf.baseUnit === 'M' ? 2 : 3;
  return -(unit * 1e7 + tf.qty * 10 + (tf.baseUnit === 'W' && tf.scheme === 'US' ? 2 : 0) + (anchored ? 1 : 0));
}

/** The number of rows `carry` has folded (0 = none), after checking it fits this build and `series`. */
export function checkCarry(fn: string, series: DailySeries, tf: Timeframe, sig: number, opts: SnapshotBuildOptions): number {
  const { carry, carryOut } = opts;
  if (carryOut !== undefined && carryOut.length < BAR_CARRY_LEN) {
    throw new Error(`${fn}: carryOut has length ${carryOut.length}, need ${BAR_CARRY_LEN}`);
  }
  if (carry === undefined) return 0;
  if (carry.length < BAR_CARRY_LEN) throw new Error(`${fn}: carry has length ${carry.length}, need ${BAR_CARRY_LEN}`);
  const folded = carry[C_FOLDED];
  if (folded === 0) return 0;
  if (!(folded > 0) || !Number.isInteger(folded)) throw new Error(`${fn}: carry is corrupt (folded rows ${folded})`);
  if (carry[C_SIG] !== sig) throw new Error(`${fn}: carry was built for another timeframe or family than ${tf.tf}`);
  const lastDay = carry[C_LAST_DAY];
  if (series.n > 0 && series.day[0] <= lastDay) {
    throw new Error(`${fn}: daily series id ${series.id} continues a carry ending ${isoDay(lastDay)} but starts ` +
      `${isoDay(series.day[0])}; the tail must hold only the days after the carry's last day`);
  }
  return folded;
}

/** The header slots of a carry (see the layout above); lastDay / lastTs are those before `series`. */
export interface CarryHeader {
  sig: number; folded: number; emitted: number; firstDay: number; lastDay: number; lastTs: number; seq: number;
  pos: number; base: number; winEnd: number; effStart: number; tfDays: number; partialStart: number;
}

/** Write a build's final state: the header, the last folded day of `series` (if any), the running bar. */
export function saveCarry(c: Float64Array, series: DailySeries, st: BarState, h: CarryHeader): void {
  const n = series.n;
  c[C_SIG] = h.sig;
  c[C_FOLDED] = h.folded;
  c[C_EMITTED] = h.emitted;
  c[C_FIRST_DAY] = h.firstDay;
  c[C_LAST_DAY] = n > 0 ? series.day[n - 1] : h.lastDay;
  c[C_LAST_TS] = n > 0 ? series.ts[n - 1] : h.lastTs;
  c[C_SEQ] = h.seq;
  c[C_POS] = h.pos;
  c[C_BASE] = h.base;
  c[C_WIN_END] = h.winEnd;
  c[C_EFF_START] = h.effStart;
  c[C_TF_DAYS] = h.tfDays;
  c[C_PARTIAL_START] = h.partialStart;
  st.save(c, C_STATE);
}
