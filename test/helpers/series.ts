// Random daily series for the bar kernel tests (bars-property, bars-continue).
import { dayCloseMs, DAY_MS, type DailySeries } from '../../src/compute/daily.js';
import { mulberry32 } from './random.js';

export interface HistorySpec { start: number; len: number; gapPct: number; seed: number }

/**
 * Consistent daily bars (as price_bars_1d guarantees: high >= max(o, c), low <= min(o, c)) on small integer
 * prices so ties between days are frequent; occasional NaN volume / market cap / time_high / time_low
 * exercise the NULL rules. Gaps: runs of missing days, the first day always present. `fractionalVolume`
 * adds a fraction to each volume (the running sum must then be accumulated in the same order across a split).
 */
export function makeSeries(spec: HistorySpec, opts: { id?: number; fractionalVolume?: boolean } = {}): DailySeries {
  const rnd = mulberry32(spec.seed);
  const days: number[] = [];
  for (let k = 0; k < spec.len; k++) {
    if (k === 0 || rnd() * 100 >= spec.gapPct) days.push(spec.start + k);
  }
  const n = days.length;
  const s: DailySeries = {
    id: opts.id ?? 1, n, day: Int32Array.from(days), ts: new Float64Array(n), timeOpen: new Float64Array(n),
    timeHigh: new Float64Array(n), timeLow: new Float64Array(n), open: new Float64Array(n), high: new Float64Array(n),
    low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n), marketCap: new Float64Array(n),
  };
  const r = (a: number, b: number) => a + Math.floor(rnd() * (b - a + 1));
  for (let i = 0; i < n; i++) {
    const d = days[i];
    s.ts[i] = dayCloseMs(d);
    s.timeOpen[i] = d * DAY_MS;
    const o = r(5, 15);
    const c = r(5, 15);
    s.open[i] = o;
    s.close[i] = c;
    s.high[i] = Math.max(o, c) + r(0, 3);
    s.low[i] = Math.min(o, c) - r(0, 3);
    s.timeHigh[i] = rnd() < 0.05 ? NaN : d * DAY_MS + r(0, 23) * 3_600_000;
    s.timeLow[i] = rnd() < 0.05 ? NaN : d * DAY_MS + r(0, 23) * 3_600_000;
    s.volume[i] = rnd() < 0.1 ? NaN : opts.fractionalVolume ? r(0, 100) + rnd() : r(0, 100);
    s.marketCap[i] = rnd() < 0.15 ? NaN : r(0, 1000);
  }
  return s;
}

/** Rows [a, b) of a series, as a standalone DailySeries. */
export function sliceSeries(s: DailySeries, a: number, b: number): DailySeries {
  return {
    id: s.id, n: b - a, day: s.day.slice(a, b), ts: s.ts.slice(a, b), timeOpen: s.timeOpen.slice(a, b),
    timeHigh: s.timeHigh.slice(a, b), timeLow: s.timeLow.slice(a, b), open: s.open.slice(a, b),
    high: s.high.slice(a, b), low: s.low.slice(a, b), close: s.close.slice(a, b), volume: s.volume.slice(a, b),
    marketCap: s.marketCap.slice(a, b),
  };
}
