// The one EMA kernel (SPEC E1): examples from the references, NaN rules, and fast-check properties against a
// naive implementation written straight from the definition (emas.md §2.1/§9, field.md §2).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ema, emaAlpha, emaContinue, emaSeedIndex, emaStep } from '../src/compute/ema/kernel.js';
import { diffCanonical, diffRoll } from '../src/compute/ema/derivatives.js';

const F = (xs: number[]) => Float64Array.from(xs);
const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

/** The definition, as plainly as possible: first full window → mean; then the recursion; NaN repeats. */
function naiveEma(x: number[], n: number, alpha = 2 / (n + 1)): number[] {
  const out = x.map(() => NaN);
  let k = -1;
  for (let i = n - 1; i < x.length && k < 0; i++) {
    const w = x.slice(i - n + 1, i + 1);
    if (w.every((v) => !Number.isNaN(v))) {
      k = i;
      out[i] = w.reduce((s, v) => s + v, 0) / n;
    }
  }
  if (k < 0) return out;
  let prev = out[k];
  for (let i = k + 1; i < x.length; i++) {
    if (!Number.isNaN(x[i])) prev = alpha * x[i] + (1 - alpha) * prev;
    out[i] = prev;
  }
  return out;
}

test('emas.md §9: n = 3 on [100,120,104,110,130,125,140,135] is TA-Lib classic / TTR', () => {
  const out = ema(F([100, 120, 104, 110, 130, 125, 140, 135]), 3);
  same(out, [NaN, NaN, 108, 109, 119.5, 122.25, 131.125, 133.0625], '§9');
});

test('field.md §2.2: n = 3 on 1…8 gives NaN, NaN, 2, 3, …, 7', () => {
  same(ema(F([1, 2, 3, 4, 5, 6, 7, 8]), 3), [NaN, NaN, 2, 3, 4, 5, 6, 7], '1..8');
});

test('NaN: leading NaNs are skipped, a NaN inside the first window restarts it, later NaNs carry', () => {
  same(ema(F([NaN, 1, 2, 3, 5]), 3), [NaN, NaN, NaN, 2, 3.5], 'leading');
  same(ema(F([1, NaN, 2, 4, 6, 8]), 3), [NaN, NaN, NaN, NaN, 4, 6], 'restart');
  same(ema(F([1, 2, 3, NaN, NaN, 6]), 3), [NaN, NaN, 2, 2, 2, 4], 'carry');
  same(ema(F([1, NaN, 2]), 2), [NaN, NaN, NaN], 'never seeds');
  same(ema(F([]), 5), [], 'empty');
  same(ema(F([1, 2]), 3), [NaN, NaN], 'too short');
});

test('period 1 reproduces the input (α = 1), carrying over NaNs', () => {
  same(ema(F([5, NaN, 7, 1]), 1), [5, 5, 7, 1], 'p=1');
});

test('seed is Σ(x/n) like TTR, not (Σx)/n', () => {
  // Chosen so that the two orders round differently; the kernel must take TTR's.
  const x = F([1.1, 2.2, 3.3]);
  const ttr = 0 + 1.1 / 3 + 2.2 / 3 + 3.3 / 3;
  assert.notEqual(ttr, (1.1 + 2.2 + 3.3) / 3, 'fixture must discriminate the two orders');
  assert.equal(ema(x, 3)[2], ttr);
});

test('emaStep: x·α + prev·(1−α); NaN input keeps prev', () => {
  assert.equal(emaStep(10, 20, 0.25, 0.75), 20 * 0.25 + 10 * 0.75);
  assert.equal(emaStep(10, NaN, 0.25, 0.75), 10);
  assert.equal(emaAlpha(3), 0.5);
});

test('output buffer: written in place, longer buffers keep their tail, short ones are refused', () => {
  const buf = new Float64Array(5).fill(42);
  const r = ema(F([1, 2, 3]), 2, buf);
  assert.equal(r, buf);
  same(buf, [NaN, 1.5, 2.5, 42, 42], 'in place');
  assert.throws(() => ema(F([1, 2, 3]), 2, new Float64Array(2)), /too short/);
});

test('bad arguments are refused with a clear error', () => {
  assert.throws(() => ema(F([1]), 0), /positive integer/);
  assert.throws(() => ema(F([1]), 1.5), /positive integer/);
  assert.throws(() => ema(F([1]), 2, undefined, 0), /alpha/);
  assert.throws(() => ema(F([1]), 2, undefined, 1.5), /alpha/);
  assert.throws(() => emaContinue(F([1, 2]), 0, NaN, 0.5), /seeded state/);
  assert.throws(() => emaContinue(F([1, 2]), 3, 1, 0.5), /outside/);
});

test('emaSeedIndex: end of the first run of n non-NaN values, within [from, to)', () => {
  const x = F([1, NaN, 2, 3, 4, NaN, 5, 6]);
  assert.equal(emaSeedIndex(x, 3), 4);
  assert.equal(emaSeedIndex(x, 1), 0);
  assert.equal(emaSeedIndex(x, 4), -1);
  assert.equal(emaSeedIndex(x, 2, 5), 7);
  assert.equal(emaSeedIndex(x, 2, 0, 3), -1);
});

test('derivatives: daily and canonical-only differences', () => {
  const v = F([1, 3, 6, 10, 15, 21]);
  const d1 = new Float64Array(6).fill(99);
  const d2 = new Float64Array(6).fill(99);
  diffRoll(v, 1, 6, d1, d2);
  same(d1, [99, NaN, 3, 4, 5, 6], 'd1_roll (row 0 outside the range untouched)');
  same(d2, [99, NaN, NaN, 1, 1, 1], 'd2_roll');
  const roll = Uint8Array.from([0, 1, 0, 1, 0, 0]);
  diffCanonical(v, roll, 0, 6, d1, d2);
  same(d1, [NaN, NaN, 5, NaN, 9, 6], 'd1');
  same(d2, [NaN, NaN, NaN, NaN, 4, -3], 'd2');
});

// ---- properties -------------------------------------------------------------------------------------------------

/** Prices with the odd NaN (a missing close) so the NaN rules are exercised too. */
const series = (maxLength = 120) => fc.array(
  fc.oneof(
    { weight: 12, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }) },
    { weight: 1, arbitrary: fc.constant(NaN) },
  ),
  { maxLength, size: 'max' },
);
const alphaArb = fc.oneof(
  fc.constant(undefined),
  fc.double({ min: 1e-6, max: 1, noNaN: true }).filter((a) => a > 0),
);
const scaleOf = (x: number[]) => Math.max(1, ...x.filter((v) => !Number.isNaN(v)).map(Math.abs));

test('property: kernel = naive definition (to 1e-12 of the input scale)', () => {
  fc.assert(fc.property(series(), fc.integer({ min: 1, max: 25 }), alphaArb, (x, n, alpha) => {
    const got = ema(F(x), n, undefined, alpha);
    const exp = naiveEma(x, n, alpha ?? 2 / (n + 1));
    const tol = 1e-12 * scaleOf(x);
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(exp[i])) assert.ok(Number.isNaN(got[i]), `i=${i}: expected NaN, got ${got[i]}`);
      else assert.ok(Math.abs(got[i] - exp[i]) <= tol, `i=${i}: ${got[i]} vs ${exp[i]}`);
    }
  }), { numRuns: 400 });
});

test('property: constant input gives a constant EMA', () => {
  fc.assert(fc.property(
    fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 1, max: 30 }),
    alphaArb,
    (c, len, n, alpha) => {
      const out = ema(new Float64Array(len).fill(c), n, undefined, alpha);
      for (let i = 0; i < len; i++) {
        if (i < n - 1) assert.ok(Number.isNaN(out[i]));
        else assert.ok(Math.abs(out[i] - c) <= 1e-13 * Math.max(1, Math.abs(c)), `i=${i}: ${out[i]} vs ${c}`);
      }
    },
  ), { numRuns: 300 });
});

test('property: the EMA lies within [min, max] of the inputs seen so far', () => {
  fc.assert(fc.property(series(), fc.integer({ min: 1, max: 25 }), alphaArb, (x, n, alpha) => {
    const out = ema(F(x), n, undefined, alpha);
    const tol = 1e-12 * scaleOf(x);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < x.length; i++) {
      if (!Number.isNaN(x[i])) {
        lo = Math.min(lo, x[i]);
        hi = Math.max(hi, x[i]);
      }
      if (!Number.isNaN(out[i])) assert.ok(out[i] >= lo - tol && out[i] <= hi + tol, `i=${i}: ${out[i]} ∉ [${lo}, ${hi}]`);
    }
  }), { numRuns: 400 });
});

test('property: the first output is at the seed index and nothing after it is NaN', () => {
  fc.assert(fc.property(series(), fc.integer({ min: 1, max: 25 }), (x, n) => {
    const out = ema(F(x), n);
    const k = emaSeedIndex(F(x), n);
    for (let i = 0; i < x.length; i++) assert.equal(Number.isNaN(out[i]), k < 0 || i < k, `i=${i}, seed ${k}`);
  }), { numRuns: 300 });
});

test('property: continuing from a stored state equals the full run, bit for bit', () => {
  fc.assert(fc.property(
    series(), fc.integer({ min: 1, max: 25 }), alphaArb, fc.nat(), fc.nat(),
    (x, n, alpha, cut, cut2) => {
      const xs = F(x);
      const full = ema(xs, n, undefined, alpha);
      const k = emaSeedIndex(xs, n);
      if (k < 0) return;
      const a = alpha ?? 2 / (n + 1);
      const from = k + 1 + (cut % (x.length - k));
      // Resume once from `from`, and in two pieces (from → to, to → end) as successive refreshes would.
      const out = new Float64Array(x.length).fill(NaN);
      emaContinue(xs, from, full[from - 1], a, out);
      same(out.subarray(from), full.subarray(from), 'one resume');
      const to = from + (cut2 % (x.length - from + 1));
      const two = new Float64Array(x.length).fill(NaN);
      emaContinue(xs, from, full[from - 1], a, two, to);
      if (to > from) emaContinue(xs, to, two[to - 1], a, two);
      else emaContinue(xs, to, full[to - 1], a, two);
      same(two.subarray(from), full.subarray(from), 'two resumes');
    },
  ), { numRuns: 400 });
});
