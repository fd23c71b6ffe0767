// Which rows of a call each period computes and emits, planned before anything is allocated so the batch for
// all periods is allocated once at its final size.

import { lowerBound } from '../../util/search.js';
import type { EmaOptions } from './inputs.js';

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

/** One period of a call: index q into periods / the carry; start = n when no row of this call is in its series. */
export interface Plan extends PeriodPlan {
  q: number;
  /** the series began before this call (the carry's STARTED) */
  carried: boolean;
}

export function totalRows(plans: PeriodPlan[], n: number): number {
  let total = 0;
  for (const p of plans) total += n - p.lo;
  return total;
}

/** Number of ts[0 … k) that are ≤ t (ts ascending). */
export function countUpTo(ts: Float64Array, t: number, k: number): number {
  let lo = 0;
  let hi = k;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
