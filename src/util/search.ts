// Binary search over ascending numbers (timestamps), shared by the kernels, the refresh and validation.

/** First index i in [0, n) with a[i] ≥ t (n when none). `a` must be ascending over [0, n). */
export function lowerBound(a: ArrayLike<number>, t: number, n = a.length): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
