// Snapshot bar kernels for the five multi-timeframe tables.
//
// One row per available day per bar: the state of the bar as of that day. Each build is one forward pass
// over the asset's daily typed arrays with output arrays allocated at their exact final size. A row only
// ever looks at the days before it, so building on a prefix of a history yields exactly the first rows of
// the full build; the incremental refresh relies on that.
//
// A build can also CONTINUE a previous one: `carryOut` receives the complete running state after the last
// folded day (a BAR_CARRY_LEN Float64Array, layout below), and passing it back as `carry` together with only
// the later daily rows yields exactly the rows the full build would produce for those days, bit for bit.
// A full build is the continuation of the empty carry.

import type { Timeframe } from '../../catalog/timeframes.js';
import { SNAPSHOT_BAR_COLUMNS } from '../../schema/tables.js';
import type { RowBatch } from '../../columnar/columns.js';
import { constText, type RowSink, type SinkColumn } from '../../columnar/columns.js';
import { DAY_MS, dayCloseMs, type DailySeries } from '../daily.js';
import { firstWindowStartingOnOrAfter, windowByIndex, windowIndexOf } from './calendar.js';

/** Output column names of the snapshot builders: SNAPSHOT_BAR_COLUMNS without ingested_at (set by the store). */
export const SNAPSHOT_OUTPUT_COLUMNS: readonly string[] = SNAPSHOT_BAR_COLUMNS
  .map((c) => c.name)
  .filter((n) => n !== 'ingested_at');

const WHERE_START = 'start';
const WHERE_INTERIOR = 'interior';
const WHERE_BOTH = 'start,interior';

/** Column kinds of a snapshot bar table's rows (a RowSink), in SNAPSHOT_OUTPUT_COLUMNS order. */
export const BAR_SINK_COLUMNS: Readonly<Record<string, SinkColumn>> = {
  id: 'i32', tf: 'text', bar_seq: 'i32', time_close: 'f64', tf_days: 'i32', time_open: 'f64', time_high: 'f64',
  time_low: 'f64', open: 'f64', high: 'f64', low: 'f64', close: 'f64', volume: 'f64', market_cap: 'f64',
  timestamp: 'f64', last_ts_half_open: 'f64', pos_in_bar: 'i32', is_partial_start: 'u8', is_partial_end: 'u8',
  is_missing_days: 'u8', count_days: 'i32', count_days_remaining: 'i32', count_missing_days: 'i32',
  count_missing_days_start: 'i32', count_missing_days_end: 'i32', count_missing_days_interior: 'i32',
  missing_days_where: 'text', first_missing_day: 'f64', last_missing_day: 'f64',
};

/**
 * Output columns; the builders fill row base + r in place. Allocated at their exact final size (base = 0), or
 * rows claimed from a RowSink (the many one-row calls of a daily run then allocate nothing per call).
 */
class SnapshotOut {
  readonly base: number;
  readonly barSeq: Int32Array;
  readonly timeClose: Float64Array;
  readonly tfDays: Int32Array;
  readonly timeOpen: Float64Array;
  readonly timeHigh: Float64Array;
  readonly timeLow: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
  readonly marketCap: Float64Array;
  readonly lastTsHalfOpen: Float64Array;
  readonly posInBar: Int32Array;
  readonly partialStart: Uint8Array;
  readonly partialEnd: Uint8Array;
  readonly missingFlag: Uint8Array;
  readonly countDays: Int32Array;
  readonly countRemaining: Int32Array;
  readonly countMissing: Int32Array;
  readonly missingStart: Int32Array;
  readonly missingEnd: Int32Array;
  readonly missingInterior: Int32Array;
  readonly missingWhere: (string | null)[];
  readonly firstMissing: Float64Array;
  readonly lastMissing: Float64Array;

  constructor(readonly length: number, private readonly sink?: RowSink) {
    if (sink !== undefined) {
      const at = sink.claim(length);
      const c = sink.cols as Record<string, never>;
      this.base = at;
      this.barSeq = c.bar_seq;
      this.timeClose = c.time_close;
      this.tfDays = c.tf_days;
      this.timeOpen = c.time_open;
      this.timeHigh = c.time_high;
      this.timeLow = c.time_low;
      this.open = c.open;
      this.high = c.high;
      this.low = c.low;
      this.close = c.close;
      this.volume = c.volume;
      this.marketCap = c.market_cap;
      this.lastTsHalfOpen = c.last_ts_half_open;
      this.posInBar = c.pos_in_bar;
      this.partialStart = c.is_partial_start;
      this.partialEnd = c.is_partial_end;
      this.missingFlag = c.is_missing_days;
      this.countDays = c.count_days;
      this.countRemaining = c.count_days_remaining;
      this.countMissing = c.count_missing_days;
      this.missingStart = c.count_missing_days_start;
      this.missingEnd = c.count_missing_days_end;
      this.missingInterior = c.count_missing_days_interior;
      this.missingWhere = sink.cols.missing_days_where as (string | null)[];
      this.firstMissing = (c.first_missing_day as Float64Array).fill(NaN, at, at + length);
      this.lastMissing = (c.last_missing_day as Float64Array).fill(NaN, at, at + length);
      return;
    }
    this.base = 0;
    this.barSeq = new Int32Array(length);
    this.timeClose = new Float64Array(length);
    this.tfDays = new Int32Array(length);
    this.timeOpen = new Float64Array(length);
    this.timeHigh = new Float64Array(length);
    this.timeLow = new Float64Array(length);
    this.open = new Float64Array(length);
    this.high = new Float64Array(length);
    this.low = new Float64Array(length);
    this.close = new Float64Array(length);
    this.volume = new Float64Array(length);
    this.marketCap = new Float64Array(length);
    this.lastTsHalfOpen = new Float64Array(length);
    this.posInBar = new Int32Array(length);
    this.partialStart = new Uint8Array(length);
    this.partialEnd = new Uint8Array(length);
    this.missingFlag = new Uint8Array(length);
    this.countDays = new Int32Array(length);
    this.countRemaining = new Int32Array(length);
    this.countMissing = new Int32Array(length);
    this.missingStart = new Int32Array(length);
    this.missingEnd = new Int32Array(length); // always 0: a row exists only when its own day has data
    this.missingInterior = new Int32Array(length);
    this.missingWhere = new Array<string | null>(length).fill(null);
    this.firstMissing = new Float64Array(length).fill(NaN);
    this.lastMissing = new Float64Array(length).fill(NaN);
  }

  toBatch(id: number, tf: string): RowBatch {
    const n = this.length;
    if (this.sink !== undefined) {
      const at = this.base;
      const c = this.sink.cols;
      (c.id as Int32Array).fill(id, at, at + n);
      const tfCol = c.tf as string[];
      for (let i = at; i < at + n; i++) tfCol[i] = tf;
      (c.timestamp as Float64Array).set(this.timeClose.subarray(at, at + n), at);
      return this.sink.lazyView(at, at + n);
    }
    return {
      length: n,
      // Insertion order = SNAPSHOT_BAR_COLUMNS order, so writers can take Object.keys as the column list.
      cols: {
        id: new Int32Array(n).fill(id), tf: constText(tf, n), bar_seq: this.barSeq, time_close: this.timeClose,
        tf_days: this.tfDays, time_open: this.timeOpen, time_high: this.timeHigh, time_low: this.timeLow,
        open: this.open, high: this.high, low: this.low, close: this.close, volume: this.volume,
        market_cap: this.marketCap, timestamp: this.timeClose.slice(), last_ts_half_open: this.lastTsHalfOpen,
        pos_in_bar: this.posInBar, is_partial_start: this.partialStart, is_partial_end: this.partialEnd,
        is_missing_days: this.missingFlag, count_days: this.countDays, count_days_remaining: this.countRemaining,
        count_missing_days: this.countMissing, count_missing_days_start: this.missingStart,
        count_missing_days_end: this.missingEnd, count_missing_days_interior: this.missingInterior,
        missing_days_where: this.missingWhere, first_missing_day: this.firstMissing, last_missing_day: this.lastMissing,
      },
    };
  }
}

/**
 * Running OHLCV state of the current bar plus its missing-day runs.
 * Fields are plain numbers so the per-day update stays monomorphic.
 */
class BarState {
  timeOpen = NaN;
  open = NaN;
  high = NaN;
  timeHigh = NaN;
  low = NaN;
  timeLow = NaN;
  volume = 0;
  marketCap = NaN;
  prevDay = 0;
  missStart = 0;
  missInterior = 0;
  firstMissingDay = NaN;
  lastMissingDay = NaN;

  /** Start a bar at row i; the days in [effStart, day i) have no data and form the "start" missing run. */
  reset(s: DailySeries, i: number, timeOpen: number, effStart: number): void {
    this.timeOpen = timeOpen;
    this.open = s.open[i];
    this.high = NaN;
    this.timeHigh = NaN;
    this.low = NaN;
    this.timeLow = NaN;
    this.volume = 0;
    this.marketCap = NaN;
    const d = s.day[i];
    const gap = d - effStart;
    this.missStart = gap;
    this.missInterior = 0;
    if (gap > 0) {
      this.firstMissingDay = effStart;
      this.lastMissingDay = d - 1;
    } else {
      this.firstMissingDay = NaN;
      this.lastMissingDay = NaN;
    }
    this.prevDay = d;
    this.add(s, i);
  }

  /** Fold row i (a later day of the same bar) into the state, counting the days skipped since the last row. */
  next(s: DailySeries, i: number): void {
    const d = s.day[i];
    const gap = d - this.prevDay - 1;
    if (gap > 0) {
      // A run between two observed days of the bar is interior by definition.
      this.missInterior += gap;
      if (this.firstMissingDay !== this.firstMissingDay) this.firstMissingDay = this.prevDay + 1;
      this.lastMissingDay = d - 1;
    }
    this.prevDay = d;
    this.add(s, i);
  }

  private add(s: DailySeries, i: number): void {
    // Strict comparisons keep the earliest day on ties (B7); NaN highs/lows are ignored; a NaN
    // time_high/time_low falls back to the day's close instant (the original pipeline's rule).
    const h = s.high[i];
    if (h > this.high || (this.high !== this.high && h === h)) {
      this.high = h;
      const t = s.timeHigh[i];
      this.timeHigh = t === t ? t : s.ts[i];
    }
    const l = s.low[i];
    if (l < this.low || (this.low !== this.low && l === l)) {
      this.low = l;
      const t = s.timeLow[i];
      this.timeLow = t === t ? t : s.ts[i];
    }
    const v = s.volume[i];
    if (v === v) this.volume += v;
    const mc = s.marketCap[i];
    if (mc === mc) this.marketCap = mc;
  }

  /** Restore the running state from carry slots [o, o + BAR_STATE_SLOTS). */
  load(c: Float64Array, o: number): void {
    this.timeOpen = c[o];
    this.open = c[o + 1];
    this.high = c[o + 2];
    this.timeHigh = c[o + 3];
    this.low = c[o + 4];
    this.timeLow = c[o + 5];
    this.volume = c[o + 6];
    this.marketCap = c[o + 7];
    this.prevDay = c[o + 8];
    this.missStart = c[o + 9];
    this.missInterior = c[o + 10];
    this.firstMissingDay = c[o + 11];
    this.lastMissingDay = c[o + 12];
  }

  /** Save the running state (never the sanity-repaired output values) to carry slots [o, o + BAR_STATE_SLOTS). */
  save(c: Float64Array, o: number): void {
    c[o] = this.timeOpen;
    c[o + 1] = this.open;
    c[o + 2] = this.high;
    c[o + 3] = this.timeHigh;
    c[o + 4] = this.low;
    c[o + 5] = this.timeLow;
    c[o + 6] = this.volume;
    c[o + 7] = this.marketCap;
    c[o + 8] = this.prevDay;
    c[o + 9] = this.missStart;
    c[o + 10] = this.missInterior;
    c[o + 11] = this.firstMissingDay;
    c[o + 12] = this.lastMissingDay;
  }

  /** Write the OHLCV / time / missing-day columns of output row r (base included) for daily row i, with the sanity pass. */
  write(out: SnapshotOut, r: number, s: DailySeries, i: number): void {
    const tc = s.ts[i];
    const o = this.open;
    const c = s.close[i];
    let h = this.high;
    let l = this.low;
    let tl = this.timeLow;
    // Sanity pass. With validated 1D input none of these fire; they guard against inconsistent
    // daily rows so that every written row satisfies high >= max(o, c) >= min(o, c) >= low.
    const ocMax = o >= c ? o : c;
    const ocMin = o <= c ? o : c;
    if (tl > tc) {
      l = ocMin;
      tl = o <= c ? this.timeOpen : tc;
    }
    if (h !== h || h < ocMax) h = ocMax;
    if (l !== l || l > ocMin) {
      l = ocMin;
      tl = o <= c ? this.timeOpen : tc;
    }
    out.timeClose[r] = tc;
    out.lastTsHalfOpen[r] = tc + 1;
    out.timeOpen[r] = this.timeOpen;
    out.timeHigh[r] = this.timeHigh;
    out.timeLow[r] = tl;
    out.open[r] = o;
    out.high[r] = h;
    out.low[r] = l;
    out.close[r] = c;
    out.volume[r] = this.volume;
    out.marketCap[r] = this.marketCap;
    const ms = this.missStart;
    const mi = this.missInterior;
    const missing = ms + mi;
    out.countMissing[r] = missing;
    out.missingStart[r] = ms;
    out.missingInterior[r] = mi;
    if (missing > 0) {
      out.missingFlag[r] = 1;
      out.missingWhere[r] = ms > 0 ? (mi > 0 ? WHERE_BOTH : WHERE_START) : WHERE_INTERIOR;
      out.firstMissing[r] = dayCloseMs(this.firstMissingDay);
      out.lastMissing[r] = dayCloseMs(this.lastMissingDay);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Carry: the complete running state of one (asset, timeframe, family) build after its last folded day.
//
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

const C_SIG = 0;
const C_FOLDED = 1;
const C_EMITTED = 2;
const C_FIRST_DAY = 3;
const C_LAST_DAY = 4;
const C_LAST_TS = 5;
const C_SEQ = 6;
const C_POS = 7;
const C_BASE = 8;
const C_WIN_END = 9;
const C_EFF_START = 10;
const C_TF_DAYS = 11;
const C_PARTIAL_START = 12;
const C_STATE = 13;
const BAR_STATE_SLOTS = 13;

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
function tfSignature(tf: Timeframe, anchored: boolean): number {
  if (tf.alignment === 'tf_day') return tf.daysNominal;
  const unit = tf.baseUnit === 'W' ? 1 : tf.baseUnit === 'M' ? 2 : 3;
  return -(unit * 1e7 + tf.qty * 10 + (tf.baseUnit === 'W' && tf.scheme === 'US' ? 2 : 0) + (anchored ? 1 : 0));
}

/** The number of rows `carry` has folded (0 = none), after checking it fits this build and `series`. */
function checkCarry(fn: string, series: DailySeries, tf: Timeframe, sig: number, opts: SnapshotBuildOptions): number {
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
interface CarryHeader {
  sig: number; folded: number; emitted: number; firstDay: number; lastDay: number; lastTs: number; seq: number;
  pos: number; base: number; winEnd: number; effStart: number; tfDays: number; partialStart: number;
}

/** Write a build's final state: the header, the last folded day of `series` (if any), the running bar. */
function saveCarry(c: Float64Array, series: DailySeries, st: BarState, h: CarryHeader): void {
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

function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The kernels assume one row per UTC day, ascending; fail loudly instead of emitting wrong bars. */
function checkSeries(s: DailySeries): void {
  for (let i = 1; i < s.n; i++) {
    if (s.day[i] <= s.day[i - 1]) {
      const what = s.day[i] === s.day[i - 1] ? 'two rows on day' : 'rows out of order at day';
      throw new Error(`daily series id ${s.id}: ${what} ${isoDay(s.day[i])}`);
    }
  }
}

/**
 * Rolling N-day bars (multi_tf): row k (1-based) of the asset's daily rows belongs to
 * bar ⌊(k−1)/N⌋+1 at position ((k−1) mod N)+1. Bars count rows, not calendar days, so a gap lengthens a
 * bar instead of shifting membership. pos_in_bar is the row position; count_days, as in every family, the
 * calendar days from the bar's first day to the snapshot day, so count_days = pos_in_bar + count_missing_days.
 * Missing days are the calendar days skipped between the bar's own rows (the gap before a bar's first row
 * belongs to no bar), so they are always "interior", and count_days can exceed tf_days when a bar has a gap.
 */
export function buildRolling(series: DailySeries, tf: Timeframe, opts: SnapshotBuildOptions = {}): RowBatch {
  if (tf.alignment !== 'tf_day') throw new Error(`buildRolling: ${tf.tf} is not a day-horizon timeframe`);
  const N = tf.daysNominal;
  if (!(N >= 1) || !Number.isInteger(N)) throw new Error(`buildRolling: ${tf.tf} has invalid length ${N}`);
  checkSeries(series);
  const sig = tfSignature(tf, false);
  const folded = checkCarry('buildRolling', series, tf, sig, opts);
  const n = series.n;
  const out = new SnapshotOut(n, opts.sink);
  const st = new BarState();
  // Running state; a bar starts on the first row and whenever the previous one is full.
  let pos = 0;
  let seq = 0;
  let firstDay = NaN;
  let lastDay = NaN;
  let lastTs = NaN;
  if (folded > 0) {
    const c = opts.carry!;
    pos = c[C_POS];
    seq = c[C_SEQ];
    firstDay = c[C_FIRST_DAY];
    lastDay = c[C_LAST_DAY];
    lastTs = c[C_LAST_TS];
    st.load(c, C_STATE);
  }
  for (let i = 0; i < n; i++) {
    if (pos === N || pos === 0) {
      pos = 1;
      seq++;
      // time_open: 1 ms after the previous folded row's close; the asset's first row gets a synthetic open.
      // effStart = the row's own day: no "start" run for row-count bars.
      const timeOpen = i > 0 ? series.ts[i - 1] + 1 : folded > 0 ? lastTs + 1 : series.ts[0] - DAY_MS + 1;
      st.reset(series, i, timeOpen, series.day[i]);
    } else {
      pos++;
      st.next(series, i);
    }
    const w = out.base + i;
    st.write(out, w, series, i);
    out.barSeq[w] = seq;
    out.tfDays[w] = N;
    out.posInBar[w] = pos;
    out.countDays[w] = pos + out.countMissing[w];
    out.countRemaining[w] = N - pos;
    out.partialEnd[w] = pos < N ? 1 : 0;
  }
  if (opts.carryOut !== undefined) {
    if (n > 0 && folded === 0) firstDay = series.day[0];
    saveCarry(opts.carryOut, series, st, {
      sig, folded: folded + n, emitted: folded + n, firstDay, lastDay, lastTs, seq, pos,
      base: NaN, winEnd: NaN, effStart: NaN, tfDays: NaN, partialStart: NaN,
    });
  }
  return out.toBatch(series.id, tf.tf);
}

export interface CalendarBuildOptions extends SnapshotBuildOptions {
  /** true = cal_anchor family (keep the partial first window), false = cal family. Default: tf.calendarAnchor. */
  anchored?: boolean;
}

/**
 * Calendar bars on the global window grid.
 *
 * - cal (anchored = false): only complete windows. Rows before the first window that starts on or after the
 *   asset's first day are dropped, and that first kept row gets the synthetic time_open, as if the history
 *   began there. bar_seq 1 = that first complete window.
 * - anchor (anchored = true): the window holding the first day is kept with is_partial_start = true and its
 *   effective start = the first data day. bar_seq 1 = that window.
 * bar_seq = global window index − index of bar 1 + 1, so windows without data leave holes.
 *
 * Counters (B6): count_days = pos_in_bar = calendar days from the effective start to the snapshot day;
 * tf_days = the full window length, also for the partial first window; count_days_remaining = window end −
 * snapshot day (see the note in the body); the row is canonical (is_partial_end = false) only on the window's
 * last day.
 *
 * With a carry, "the asset's first day" is the carry's first folded day, not series.day[0].
 */
export function buildCalendar(series: DailySeries, tf: Timeframe, opts: CalendarBuildOptions = {}): RowBatch {
  if (tf.alignment !== 'calendar') throw new Error(`buildCalendar: ${tf.tf} is not a calendar timeframe`);
  const anchored = opts.anchored ?? tf.calendarAnchor === true;
  if (tf.calendarAnchor !== null && anchored !== tf.calendarAnchor) {
    throw new Error(`buildCalendar: ${tf.tf} belongs to the ${tf.calendarAnchor ? 'anchored' : 'calendar'} family`);
  }
  checkSeries(series);
  const sig = tfSignature(tf, anchored);
  const folded = checkCarry('buildCalendar', series, tf, sig, opts);
  const n = series.n;
  const st = new BarState();
  // Running state (the carry's slots); see the layout above.
  let emitted = 0;
  let firstDay = NaN;
  let lastDay = NaN;
  let lastTs = NaN;
  let baseIndex = NaN;
  let winEnd = -Infinity;
  let effStart = 0;
  let seq = 0;
  let tfDays = 0;
  let partialStart = 0;
  if (folded > 0) {
    const c = opts.carry!;
    emitted = c[C_EMITTED];
    firstDay = c[C_FIRST_DAY];
    lastDay = c[C_LAST_DAY];
    lastTs = c[C_LAST_TS];
    baseIndex = c[C_BASE];
    winEnd = c[C_WIN_END];
    effStart = c[C_EFF_START];
    seq = c[C_SEQ];
    tfDays = c[C_TF_DAYS];
    partialStart = c[C_PARTIAL_START];
    st.load(c, C_STATE);
  } else if (n > 0) {
    firstDay = series.day[0];
    baseIndex = anchored ? windowIndexOf(tf, firstDay) : firstWindowStartingOnOrAfter(tf, firstDay).index;
  }

  // cal family: rows before bar 1's window are folded (they fix the first day) but never emitted.
  let first = 0;
  if (!anchored && emitted === 0 && n > 0) {
    const baseStart = windowByIndex(tf, baseIndex).start;
    while (first < n && series.day[first] < baseStart) first++;
  }

  const out = new SnapshotOut(n - first, opts.sink);
  for (let i = first, r = 0; i < n; i++, r++) {
    const d = series.day[i];
    if (d > winEnd) {
      // Window bounds are computed once per bar, not per row.
      const idx = windowIndexOf(tf, d);
      const w = windowByIndex(tf, idx);
      winEnd = w.end;
      tfDays = w.end - w.start + 1;
      seq = idx - baseIndex + 1;
      // Only the anchored family can see a window that began before the first data day.
      partialStart = w.start < firstDay ? 1 : 0;
      effStart = partialStart ? firstDay : w.start;
      // time_open: 1 ms after the previous folded row's close (once rows are emitted, every row is); the first
      // emitted row gets a synthetic open.
      const timeOpen = r > 0 ? series.ts[i - 1] + 1 : emitted > 0 ? lastTs + 1 : series.ts[i] - DAY_MS + 1;
      st.reset(series, i, timeOpen, effStart);
    } else {
      st.next(series, i);
    }
    const w = out.base + r;
    st.write(out, w, series, i);
    const countDays = d - effStart + 1;
    out.barSeq[w] = seq;
    out.tfDays[w] = tfDays;
    out.posInBar[w] = countDays;
    out.countDays[w] = countDays;
    // Days left until the window's scheduled end. Equal to tf_days − count_days except in the anchored
    // partial first window, where count_days starts at the first data day; there the rule keeps
    // window_end − day, which is what makes "remaining = 0" coincide with the
    // canonical row in every window.
    out.countRemaining[w] = winEnd - d;
    out.partialStart[w] = partialStart;
    out.partialEnd[w] = d < winEnd ? 1 : 0;
  }
  if (opts.carryOut !== undefined) {
    saveCarry(opts.carryOut, series, st, {
      sig, folded: folded + n, emitted: emitted + n - first, firstDay, lastDay, lastTs, seq, pos: 0,
      base: baseIndex, winEnd, effStart, tfDays, partialStart,
    });
  }
  return out.toBatch(series.id, tf.tf);
}
