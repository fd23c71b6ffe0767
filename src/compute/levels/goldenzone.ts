// Golden zone per day, a pure kernel.
//
// Swing and Fibonacci levels follow the reference producer: for day t take the closes of the last 220
// calendar days, keep the last 126 points (none if fewer than 40), run a 6 % percentage zig-zag and take the
// last two confirmed pivots (fallback: the window's first minimum and first maximum). Up swing when the low
// comes first. fib_50 / fib_618 are the 50 % and 61.8 % retracements of that swing.
//
// OUR OWN CHOICES — the reference repository has no golden-zone calculator, only field meanings:
//  * state: up swing — 1 "in zone" when fib_618 ≤ close ≤ fib_50, 2 "deep" when
//    swing_low ≤ close < fib_618, else 0; down swing mirrored — 1 when fib_50 ≤ close ≤ fib_618, 2 when
//    fib_618 < close ≤ swing_high, else 0.
//  * vol_decay_slope: least-squares slope of volume (per bar) over the 5 bars before the current zone visit
//    began. A visit is the latest run of in-zone closes after the swing's end that includes day t or ended on
//    day t−1; NULL when there is no such visit or fewer than 5 bars precede it.
//  * qualified_trigger: day t closes back beyond the 50 % level in the swing's direction (above it for an up
//    swing, below for a down swing) right after a zone visit that ended on t−1, AND volume_t ≥ 1.5 × the mean
//    volume of the 20 bars before t, AND vol_decay_slope < 0 (volume decayed into the zone). NULL when there
//    is no swing, otherwise true/false.

export const GOLDEN_ZONE = {
  lookbackDays: 220,
  windowPoints: 126,
  minPoints: 40,
  threshold: 0.06,
  decayBars: 5,
  spikeFactor: 1.5,
  spikeAvgBars: 20,
} as const;

export interface ZigzagPivot {
  index: number;
  kind: 'high' | 'low';
}

/** Percentage zig-zag over close[start..end] (inclusive); the extreme still forming is never a pivot. */
export function zigzag(close: ArrayLike<number>, start: number, end: number, threshold: number = GOLDEN_ZONE.threshold): ZigzagPivot[] {
  const pivots: ZigzagPivot[] = [];
  const anchor = close[start];
  let dir = 0;
  let ext = start;
  for (let i = start + 1; i <= end; i++) {
    const p = close[i];
    if (dir === 0) {
      if ((p - anchor) / anchor >= threshold) {
        pivots.push({ index: start, kind: 'low' });
        dir = 1;
        ext = i;
      } else if ((anchor - p) / anchor >= threshold) {
        pivots.push({ index: start, kind: 'high' });
        dir = -1;
        ext = i;
      }
    } else if (dir === 1) {
      if (p > close[ext]) ext = i;
      else if ((close[ext] - p) / close[ext] >= threshold) {
        pivots.push({ index: ext, kind: 'high' });
        dir = -1;
        ext = i;
      }
    } else {
      if (p < close[ext]) ext = i;
      else if ((p - close[ext]) / close[ext] >= threshold) {
        pivots.push({ index: ext, kind: 'low' });
        dir = 1;
        ext = i;
      }
    }
  }
  return pivots;
}

export interface Swing {
  lowIdx: number;
  highIdx: number;
  low: number;
  high: number;
  up: boolean;
  fib50: number;
  fib618: number;
}

/** The current swing over close[start..end], or null when its range is not positive. */
export function swingOf(close: ArrayLike<number>, start: number, end: number, threshold: number = GOLDEN_ZONE.threshold): Swing | null {
  const piv = zigzag(close, start, end, threshold);
  let lowIdx: number;
  let highIdx: number;
  if (piv.length >= 2) {
    const [a, b] = piv.slice(-2);
    lowIdx = a.kind === 'low' ? a.index : b.index;
    highIdx = a.kind === 'high' ? a.index : b.index;
  } else {
    lowIdx = start;
    highIdx = start;
    for (let i = start + 1; i <= end; i++) {
      if (close[i] < close[lowIdx]) lowIdx = i;
      if (close[i] > close[highIdx]) highIdx = i;
    }
  }
  const low = close[lowIdx];
  const high = close[highIdx];
  const r = high - low;
  if (!(r > 0)) return null;
  const up = lowIdx < highIdx;
  return {
    lowIdx, highIdx, low, high, up,
    fib50: up ? high - 0.5 * r : low + 0.5 * r,
    fib618: up ? high - 0.618 * r : low + 0.618 * r,
  };
}

/** Our state rule (see the header): 0 out of zone, 1 in zone, 2 deep. */
export function zoneState(price: number, s: Swing): 0 | 1 | 2 {
  if (s.up) {
    if (price >= s.fib618 && price <= s.fib50) return 1;
    if (price >= s.low && price < s.fib618) return 2;
    return 0;
  }
  if (price >= s.fib50 && price <= s.fib618) return 1;
  if (price > s.fib618 && price <= s.high) return 2;
  return 0;
}

/** Least-squares slope of y[from..from+n−1] against 0..n−1. */
export function olsSlope(y: ArrayLike<number>, from: number, n: number): number {
  const xm = (n - 1) / 2;
  let ym = 0;
  for (let i = 0; i < n; i++) ym += y[from + i];
  ym /= n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - xm) * (y[from + i] - ym);
    den += (i - xm) ** 2;
  }
  return num / den;
}

export interface GoldenZoneInput {
  day: Int32Array;
  close: Float64Array;
  volume: Float64Array;
}

/** Per-day golden-zone columns; NaN = NULL (qualified_trigger: 1/0/NaN). */
export interface GoldenZoneColumns {
  state: Float64Array;
  swing_high: Float64Array;
  swing_low: Float64Array;
  fib_50: Float64Array;
  fib_618: Float64Array;
  vol_decay_slope: Float64Array;
  qualified_trigger: Float64Array;
}

export function computeGoldenZone(s: GoldenZoneInput): GoldenZoneColumns {
  const n = s.day.length;
  const col = () => new Float64Array(n).fill(NaN);
  const out: GoldenZoneColumns = {
    state: col(), swing_high: col(), swing_low: col(), fib_50: col(), fib_618: col(), vol_decay_slope: col(),
    qualified_trigger: col(),
  };
  const G = GOLDEN_ZONE;
  let first = 0;
  for (let t = 0; t < n; t++) {
    while (s.day[first] <= s.day[t] - G.lookbackDays) first++;
    const start = Math.max(first, t - G.windowPoints + 1);
    if (t - start + 1 < G.minPoints) continue;
    const sw = swingOf(s.close, start, t);
    if (!sw) continue;
    out.swing_high[t] = sw.high;
    out.swing_low[t] = sw.low;
    out.fib_50[t] = sw.fib50;
    out.fib_618[t] = sw.fib618;
    out.state[t] = zoneState(s.close[t], sw);
    const swingEnd = Math.max(sw.lowIdx, sw.highIdx);
    const inZone = (i: number) => i > swingEnd && zoneState(s.close[i], sw) !== 0;
    const runEnd = inZone(t) ? t : inZone(t - 1) ? t - 1 : -1;
    let slope = NaN;
    if (runEnd >= 0) {
      let e = runEnd;
      while (inZone(e - 1)) e--;
      if (e - G.decayBars >= 0) slope = olsSlope(s.volume, e - G.decayBars, G.decayBars);
    }
    out.vol_decay_slope[t] = slope;
    let trigger = false;
    if (runEnd === t - 1 && (sw.up ? s.close[t] > sw.fib50 : s.close[t] < sw.fib50) && slope < 0 && t >= G.spikeAvgBars) {
      let avg = 0;
      for (let i = t - G.spikeAvgBars; i < t; i++) avg += s.volume[i];
      avg /= G.spikeAvgBars;
      trigger = s.volume[t] >= G.spikeFactor * avg;
    }
    out.qualified_trigger[t] = trigger ? 1 : 0;
  }
  return out;
}
