// Classic floor pivots per day, a pure kernel. Levels of day t come from the previous
// day (row t−1: H, L, C); the price is day t's close. The weekly pivot uses the true previous ISO week
// (Monday–Sunday before day t's week, not the last 7 rows, which span more than a week over gaps).
import { isoWeekStart } from '../daily.js';

export interface PivotInput {
  /** UTC day numbers, ascending, one row per day. */
  day: Int32Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
}

/** Per-day pivot columns; NaN = NULL (price_above_P: 1/0/NaN). */
export interface PivotColumns {
  P: Float64Array;
  R1: Float64Array;
  R2: Float64Array;
  S1: Float64Array;
  S2: Float64Array;
  distance_to_P: Float64Array;
  distance_to_nearest_pivot: Float64Array;
  weekly_pivot_distance: Float64Array;
  price_above_P: Float64Array;
}

export interface Levels {
  P: number;
  R1: number;
  R2: number;
  R3: number;
  R4: number;
  S1: number;
  S2: number;
  S3: number;
  S4: number;
  M1: number;
  M5: number;
}

export function floorLevels(H: number, L: number, C: number): Levels {
  const P = (H + L + C) / 3;
  const R1 = 2 * P - L;
  const S1 = 2 * P - H;
  return {
    P, R1, S1, R2: P + (H - L), S2: P - (H - L), R3: H + 2 * (P - L), S3: L - 2 * (H - P),
    // S4 follows the producer's code (H − L), not its doc's (H − P).
    R4: H + 3 * (H - L), S4: L - 3 * (H - L), M1: (P + R1) / 2, M5: (P + S1) / 2,
  };
}

/** Unsigned distance from price to the nearest of P, R1–R4, S1–S4, M1, M5 (the producer's set). */
export function nearestPivotDistance(price: number, l: Levels): number {
  let best = Infinity;
  for (const v of [l.P, l.R1, l.S1, l.R2, l.S2, l.R3, l.S3, l.R4, l.S4, l.M1, l.M5]) {
    if (Number.isFinite(v)) best = Math.min(best, Math.abs(price - v));
  }
  return best === Infinity ? NaN : best;
}

export function computePivots(s: PivotInput): PivotColumns {
  const n = s.day.length;
  const col = () => new Float64Array(n).fill(NaN);
  const out: PivotColumns = {
    P: col(), R1: col(), R2: col(), S1: col(), S2: col(), distance_to_P: col(), distance_to_nearest_pivot: col(),
    weekly_pivot_distance: col(), price_above_P: col(),
  };
  // Weekly H, L, last C per ISO week (keyed by its Monday), in one pass.
  const weeks = new Map<number, { h: number; l: number; c: number }>();
  for (let i = 0; i < n; i++) {
    if (!(Number.isFinite(s.high[i]) && Number.isFinite(s.low[i]) && Number.isFinite(s.close[i]))) continue;
    const wk = isoWeekStart(s.day[i]);
    const w = weeks.get(wk);
    if (!w) weeks.set(wk, { h: s.high[i], l: s.low[i], c: s.close[i] });
    else {
      w.h = Math.max(w.h, s.high[i]);
      w.l = Math.min(w.l, s.low[i]);
      w.c = s.close[i];
    }
  }
  for (let t = 1; t < n; t++) {
    const H = s.high[t - 1];
    const L = s.low[t - 1];
    const C = s.close[t - 1];
    const price = s.close[t];
    if (!(Number.isFinite(H) && Number.isFinite(L) && Number.isFinite(C) && Number.isFinite(price))) continue;
    const lv = floorLevels(H, L, C);
    out.P[t] = lv.P;
    out.R1[t] = lv.R1;
    out.R2[t] = lv.R2;
    out.S1[t] = lv.S1;
    out.S2[t] = lv.S2;
    out.distance_to_P[t] = price - lv.P;
    out.distance_to_nearest_pivot[t] = nearestPivotDistance(price, lv);
    out.price_above_P[t] = price > lv.P ? 1 : 0;
    const prevWeek = weeks.get(isoWeekStart(s.day[t]) - 7);
    if (prevWeek) out.weekly_pivot_distance[t] = Math.abs(price - (prevWeek.h + prevWeek.l + prevWeek.c) / 3);
  }
  return out;
}
