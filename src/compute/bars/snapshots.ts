// Snapshot bar kernels for the five multi-timeframe tables (SPEC B3–B7, reference/bars.md §3–4).
//
// One row per available day per bar: the state of the bar as of that day. Each build is one forward pass
// over the asset's daily typed arrays with output arrays allocated at their exact final size. A row only
// ever looks at the days before it, so building on a prefix of a history yields exactly the first rows of
// the full build; the incremental refresh relies on that.

import type { Timeframe } from '../../catalog/timeframes.js';
import { SNAPSHOT_BAR_COLUMNS } from '../../schema/tables.js';
import type { RowBatch } from '../../store/columns.js';
import { constText } from '../../store/columns.js';
import { DAY_MS, dayCloseMs, type DailySeries } from '../daily.js';
import { firstWindowStartingOnOrAfter, windowByIndex, windowIndexOf } from './calendar.js';

/** Output column names of the snapshot builders: SNAPSHOT_BAR_COLUMNS without ingested_at (set by the store). */
export const SNAPSHOT_OUTPUT_COLUMNS: readonly string[] = SNAPSHOT_BAR_COLUMNS
  .map((c) => c.name)
  .filter((n) => n !== 'ingested_at');

const WHERE_START = 'start';
const WHERE_INTERIOR = 'interior';
const WHERE_BOTH = 'start,interior';

/** Preallocated output columns; the builders fill row r in place. */
class SnapshotOut {
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

  constructor(readonly length: number) {
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
    this.missingEnd = new Int32Array(length); // always 0: a row exists only when its own day has data (§3.6)
    this.missingInterior = new Int32Array(length);
    this.missingWhere = new Array<string | null>(length).fill(null);
    this.firstMissing = new Float64Array(length).fill(NaN);
    this.lastMissing = new Float64Array(length).fill(NaN);
  }

  toBatch(id: number, tf: string): RowBatch {
    const n = this.length;
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
 * Running OHLCV state of the current bar (bars.md §3.4) plus its missing-day runs (§3.6).
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
    // time_high/time_low falls back to the day's close instant (R rule, bars.md §3.4).
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

  /** Write the OHLCV / time / missing-day columns of row r for snapshot row i, with the §3.5 sanity pass. */
  write(out: SnapshotOut, r: number, s: DailySeries, i: number): void {
    const tc = s.ts[i];
    const o = this.open;
    const c = s.close[i];
    let h = this.high;
    let l = this.low;
    let tl = this.timeLow;
    // §3.5 sanity pass. With validated 1D input none of these fire; they guard against inconsistent
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

/** §3.3: a day's open instant is 1 ms after the previous loaded row's close; the first row gets a synthetic one. */
function dayTimeOpen(s: DailySeries, i: number, first: number): number {
  return i > first ? s.ts[i - 1] + 1 : s.ts[i] - DAY_MS + 1;
}

/** The kernels assume one row per UTC day, ascending (bars.md §1); fail loudly instead of emitting wrong bars. */
function checkSeries(s: DailySeries): void {
  for (let i = 1; i < s.n; i++) {
    if (s.day[i] <= s.day[i - 1]) {
      const what = s.day[i] === s.day[i - 1] ? 'two rows on day' : 'rows out of order at day';
      throw new Error(`daily series id ${s.id}: ${what} ${new Date(s.day[i] * DAY_MS).toISOString().slice(0, 10)}`);
    }
  }
}

/**
 * Rolling N-day bars (multi_tf, SPEC B4, bars.md §4.2): row k (1-based) of the asset's daily rows belongs to
 * bar ⌊(k−1)/N⌋+1 at position ((k−1) mod N)+1. Bars count rows, not calendar days, so a gap lengthens a
 * bar instead of shifting membership. count_days = pos_in_bar = the row position (B6); missing days are the
 * calendar days skipped between the bar's own rows (the gap before a bar's first row belongs to no bar),
 * so they are always "interior".
 */
export function buildRolling(series: DailySeries, tf: Timeframe): RowBatch {
  if (tf.alignment !== 'tf_day') throw new Error(`buildRolling: ${tf.tf} is not a day-horizon timeframe`);
  const N = tf.daysNominal;
  if (!(N >= 1) || !Number.isInteger(N)) throw new Error(`buildRolling: ${tf.tf} has invalid length ${N}`);
  checkSeries(series);
  const n = series.n;
  const out = new SnapshotOut(n);
  const st = new BarState();
  let pos = 0;
  let seq = 0;
  for (let i = 0; i < n; i++) {
    if (pos === N || i === 0) {
      pos = 1;
      seq++;
      // effStart = the row's own day: no "start" run for row-count bars.
      st.reset(series, i, dayTimeOpen(series, i, 0), series.day[i]);
    } else {
      pos++;
      st.next(series, i);
    }
    st.write(out, i, series, i);
    out.barSeq[i] = seq;
    out.tfDays[i] = N;
    out.posInBar[i] = pos;
    out.countDays[i] = pos;
    out.countRemaining[i] = N - pos;
    out.partialEnd[i] = pos < N ? 1 : 0;
  }
  return out.toBatch(series.id, tf.tf);
}

export interface CalendarBuildOptions {
  /** true = cal_anchor family (keep the partial first window), false = cal family. Default: tf.calendarAnchor. */
  anchored?: boolean;
}

/**
 * Calendar bars on the global window grid (SPEC B5; grid in calendar.ts).
 *
 * - cal (anchored = false): only complete windows. Rows before the first window that starts on or after the
 *   asset's first day are dropped, and that first kept row gets the synthetic time_open, as if the history
 *   began there (bars.md §4.3). bar_seq 1 = that first complete window.
 * - anchor (anchored = true): the window holding the first day is kept with is_partial_start = true and its
 *   effective start = the first data day. bar_seq 1 = that window.
 * bar_seq = global window index − index of bar 1 + 1, so windows without data leave holes.
 *
 * Counters (B6): count_days = pos_in_bar = calendar days from the effective start to the snapshot day;
 * tf_days = the full window length, also for the partial first window; count_days_remaining = window end −
 * snapshot day (see the note in the body); the row is canonical (is_partial_end = false) only on the window's
 * last day.
 */
export function buildCalendar(series: DailySeries, tf: Timeframe, opts: CalendarBuildOptions = {}): RowBatch {
  if (tf.alignment !== 'calendar') throw new Error(`buildCalendar: ${tf.tf} is not a calendar timeframe`);
  const anchored = opts.anchored ?? tf.calendarAnchor === true;
  if (tf.calendarAnchor !== null && anchored !== tf.calendarAnchor) {
    throw new Error(`buildCalendar: ${tf.tf} belongs to the ${tf.calendarAnchor ? 'anchored' : 'calendar'} family`);
  }
  checkSeries(series);
  const n = series.n;
  if (n === 0) return new SnapshotOut(0).toBatch(series.id, tf.tf);

  const firstDay = series.day[0];
  let first = 0;
  let baseIndex: number;
  if (anchored) {
    baseIndex = windowIndexOf(tf, firstDay);
  } else {
    const w = firstWindowStartingOnOrAfter(tf, firstDay);
    baseIndex = w.index;
    while (first < n && series.day[first] < w.start) first++;
  }

  const out = new SnapshotOut(n - first);
  const st = new BarState();
  let winEnd = -Infinity;
  let winStart = 0;
  let effStart = 0;
  let seq = 0;
  let tfDays = 0;
  let partialStart = 0;
  for (let i = first, r = 0; i < n; i++, r++) {
    const d = series.day[i];
    if (d > winEnd) {
      // Window bounds are computed once per bar, not per row.
      const idx = windowIndexOf(tf, d);
      const w = windowByIndex(tf, idx);
      winStart = w.start;
      winEnd = w.end;
      tfDays = w.end - w.start + 1;
      seq = idx - baseIndex + 1;
      // Only the anchored family can see a window that began before the first data day.
      partialStart = winStart < firstDay ? 1 : 0;
      effStart = partialStart ? firstDay : winStart;
      st.reset(series, i, dayTimeOpen(series, i, first), effStart);
    } else {
      st.next(series, i);
    }
    st.write(out, r, series, i);
    const countDays = d - effStart + 1;
    out.barSeq[r] = seq;
    out.tfDays[r] = tfDays;
    out.posInBar[r] = countDays;
    out.countDays[r] = countDays;
    // Days left until the window's scheduled end. Equal to tf_days − count_days except in the anchored
    // partial first window, where count_days starts at the first data day; there the reference (bars.md
    // §4.4, §8.4–8.5) keeps window_end − day, which is what makes "remaining = 0" coincide with the
    // canonical row in every window.
    out.countRemaining[r] = winEnd - d;
    out.partialStart[r] = partialStart;
    out.partialEnd[r] = d < winEnd ? 1 : 0;
  }
  return out.toBatch(series.id, tf.tf);
}
