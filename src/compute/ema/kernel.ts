// The one EMA kernel: TA-Lib "classic" = R TTR::EMA.
//
// Arithmetic is TTR's, operation for operation, so the 1D series reproduces the R reference files bit for bit
// rather than merely to a tolerance:
//   seed  = Σ (x_i / n)            — TTR accumulates the quotients, not sum-then-divide
//   step  = x·α + prev·(1 − α)     — also the original pipeline's order `alpha*price + (1-alpha)*prev`
//                                    (× and + commute exactly in IEEE 754, so both spellings give the same bits)
// Every family's daily recursion, preview and snap-and-compound loop goes through `emaStep`, so there is one
// rounding behaviour in the whole subsystem.

/** α of an n-period EMA. */
export function emaAlpha(period: number): number {
  return 2 / (period + 1);
}

/**
 * One EMA update. A NaN input leaves the state unchanged (NaN carries the previous value), which is
 * also what makes a gap in a series harmless to everything downstream.
 */
export function emaStep(prev: number, x: number, alpha: number, oneMinusAlpha: number): number {
  return x !== x ? prev : x * alpha + prev * oneMinusAlpha;
}

/**
 * Index at which an n-period EMA of x is seeded: the end of the first run of `period` consecutive non-NaN
 * values in [from, to). -1 if there is none. Cheap (no allocation), so callers use it to size outputs before
 * computing anything. `run0` continues a run already in progress before `from` (EmaState.run of a carried,
 * still unseeded state; must be < period).
 */
export function emaSeedIndex(x: ArrayLike<number>, period: number, from = 0, to = x.length, run0 = 0): number {
  let run = run0;
  for (let i = from; i < to; i++) {
    if (x[i] !== x[i]) run = 0;
    else if (++run === period) return i;
  }
  return -1;
}

function checkPeriod(period: number): void {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`EMA period must be a positive integer, got ${period}`);
}

function checkAlpha(alpha: number): void {
  // α = 1 is legal (a 1-period EMA is the input itself); α outside (0, 1] makes the recursion diverge.
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`EMA alpha must be in (0, 1], got ${alpha}`);
}

/**
 * n-period EMA of x: NaN up to the seed index k (see `emaSeedIndex`), out[k] = mean of x[k−n+1 … k], then the
 * recursion; a NaN input after the seed repeats the previous output. All NaN if x never has n consecutive
 * values. `alpha` defaults to 2/(n+1); v2 passes n = d·p with its own α, the bar EMAs use the default.
 * Writes out[0 … x.length) and returns `out` (allocated when not given).
 */
export function ema(x: Float64Array, period: number, out?: Float64Array, alpha = 2 / (period + 1)): Float64Array {
  checkPeriod(period);
  checkAlpha(alpha);
  const n = x.length;
  const o = out ?? new Float64Array(n);
  if (o.length < n) throw new RangeError(`EMA output buffer too short: ${o.length} < ${n}`);
  const k = emaSeedIndex(x, period);
  if (k < 0) {
    o.fill(NaN, 0, n);
    return o;
  }
  o.fill(NaN, 0, k);
  let seed = 0;
  for (let i = k - period + 1; i <= k; i++) seed += x[i] / period;
  o[k] = seed;
  emaContinue(x, k + 1, seed, alpha, o);
  return o;
}

/**
 * Resume an EMA: out[i] for i in [from, to) given `prev`, the EMA value at from − 1 (a stored state). Exactly
 * equal to the corresponding slice of a full `ema` run, bit for bit, because it is the same loop. `prev` must
 * be a seeded value: before the seed the state is a partial window — carry an EmaState and use `emaFold` for
 * that. Returns `out`; its last written element is the new state.
 */
export function emaContinue(
  x: Float64Array,
  from: number,
  prev: number,
  alpha: number,
  out?: Float64Array,
  to = x.length,
): Float64Array {
  checkAlpha(alpha);
  if (prev !== prev) throw new RangeError('emaContinue needs a seeded state (prev is NaN); run ema() on the history instead');
  if (from < 0 || to > x.length || from > to) throw new RangeError(`emaContinue range [${from}, ${to}) outside [0, ${x.length}]`);
  const o = out ?? new Float64Array(x.length);
  if (o.length < to) throw new RangeError(`EMA output buffer too short: ${o.length} < ${to}`);
  const beta = 1 - alpha;
  let s = prev;
  for (let i = from; i < to; i++) {
    s = emaStep(s, x[i], alpha, beta);
    o[i] = s;
  }
  return o;
}

/**
 * Running state of an EMA fed one input at a time — the streaming form of `ema`, so a series can be folded in
 * pieces (an incremental refresh carries it between runs):
 *   run — while unseeded, the length of the current run of non-NaN inputs (< period); = period once seeded
 *   acc — while unseeded, the partial seed Σ x_i/period over that run, added in input order starting from 0;
 *         once seeded, the EMA value
 * The seed `ema` forms, `seed = 0; seed += x_i/period` over the window, is the same sequence of operations as
 * this running sum, so a piecewise fold reproduces `ema` bit for bit. The state before any input is
 * { run: 0, acc: 0 }.
 */
export interface EmaState {
  run: number;
  acc: number;
}

/**
 * Fold x[from, to) into `st` (updated in place): the same arithmetic as `ema`, operation for operation. When
 * `out` is given, out[i] = the EMA after x[i] (NaN before the seed) — exactly `ema`'s out[i] had the whole
 * series been passed to it. `alpha` as in `ema` (v2 passes its own with period = d·p).
 */
export function emaFold(
  x: ArrayLike<number>,
  period: number,
  alpha: number,
  st: EmaState,
  out?: Float64Array,
  from = 0,
  to = x.length,
): void {
  checkPeriod(period);
  checkAlpha(alpha);
  if (!(st.run >= 0 && st.run <= period)) throw new RangeError(`EMA state run ${st.run} outside [0, ${period}]`);
  if (out !== undefined && out.length < to) throw new RangeError(`EMA output buffer too short: ${out.length} < ${to}`);
  const beta = 1 - alpha;
  let run = st.run;
  let acc = st.acc;
  let i = from;
  if (run < period) {
    for (; i < to; i++) {
      const v = x[i];
      if (v !== v) {
        run = 0;
        acc = 0;
        if (out !== undefined) out[i] = NaN;
      } else {
        acc += v / period;
        if (++run === period) {
          if (out !== undefined) out[i] = acc;
          i++;
          break;
        }
        if (out !== undefined) out[i] = NaN;
      }
    }
  }
  if (run === period) {
    if (out !== undefined) {
      for (; i < to; i++) out[i] = acc = emaStep(acc, x[i], alpha, beta);
    } else {
      for (; i < to; i++) acc = emaStep(acc, x[i], alpha, beta);
    }
  }
  st.run = run;
  st.acc = acc;
}
