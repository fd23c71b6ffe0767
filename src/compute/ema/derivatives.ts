// Derivative columns, computed over one (id, tf, period) output series in ts order.
//
//   d1_roll / d2_roll (and the _bar twins)  first / second difference over every output row
//   d1 / d2 (and d1_bar / d2_bar)          first / second difference over canonical rows only (roll = false,
//                                           resp. roll_bar = false); NaN (NULL) on every other row
//
// The range [from, to) is the whole output series: its first row has no previous row, so d1 starts on the 2nd
// row and d2 on the 3rd (the 2nd and 3rd canonical rows for the canonical diffs). Rows outside the range are not
// touched. NaN in the values propagates, which is how "no previous value" is expressed without a counter.
//
// Continuation: both functions can start from, and leave behind, the running state (previous value, previous
// d1) in `st[at]`, `st[at + 1]` — NaN, NaN for "no previous row", which is what they start from without `st`.
// Differencing [a, b) then [b, c) through the same `st` gives exactly the values of one pass over [a, c).

/** d1[i] = v[i] − v[i−1], d2[i] = d1[i] − d1[i−1] over all rows of [from, to). */
export function diffRoll(
  v: Float64Array,
  from: number,
  to: number,
  d1: Float64Array,
  d2: Float64Array,
  st?: Float64Array,
  at = 0,
): void {
  let prevV = st === undefined ? NaN : st[at];
  let prevD1 = st === undefined ? NaN : st[at + 1];
  for (let i = from; i < to; i++) {
    const x = v[i];
    const a = x - prevV;
    d1[i] = a;
    d2[i] = a - prevD1;
    prevV = x;
    prevD1 = a;
  }
  if (st !== undefined) {
    st[at] = prevV;
    st[at + 1] = prevD1;
  }
}

/**
 * d1/d2 over the rows of [from, to) whose `roll` flag is 0 (canonical); NaN on rows with roll = 1. The previous
 * canonical row may be many rows back; daily rows in between never enter the difference.
 */
export function diffCanonical(
  v: Float64Array,
  roll: Uint8Array,
  from: number,
  to: number,
  d1: Float64Array,
  d2: Float64Array,
  st?: Float64Array,
  at = 0,
): void {
  let prevV = st === undefined ? NaN : st[at];
  let prevD1 = st === undefined ? NaN : st[at + 1];
  for (let i = from; i < to; i++) {
    if (roll[i] !== 0) {
      d1[i] = NaN;
      d2[i] = NaN;
      continue;
    }
    const x = v[i];
    const a = x - prevV;
    d1[i] = a;
    d2[i] = a - prevD1;
    prevV = x;
    prevD1 = a;
  }
  if (st !== undefined) {
    st[at] = prevV;
    st[at + 1] = prevD1;
  }
}
