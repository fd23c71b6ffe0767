// Running state of the bar being built: OHLCV so far and its missing-day runs, how it is saved into and
// restored from a carry, and how it becomes one output row (with the sanity pass).

import { dayCloseMs, type DailySeries } from '../daily.js';
import type { SnapshotOut } from './output.js';

const WHERE_START = 'start';
const WHERE_INTERIOR = 'interior';
const WHERE_BOTH = 'start,interior';

/** Carry slots a BarState takes (see carry.ts). */
export const BAR_STATE_SLOTS = 13;

/**
 * Running OHLCV state of the current bar plus its missing-day runs.
 * Fields are plain numbers so the per-day update stays monomorphic.
 */
export class BarState {
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
