// Continuation of the four EMA families from a carry (EmaOptions.carry / carryOut): folding a history in
// chunks — carryOut of one call → carry of the next, each call given only the daily rows and canonical closes
// after the carry's last folded day — must emit exactly the full computation's rows (Object.is on every value
// of every column) and leave exactly the full computation's carry behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  EMA_CARRY_LEN, EMA_CARRY_SLOT, emaAnchor, emaCal, emaCarryInit, emaCarryLastTs, emaCarryRows, emaCarryStarted,
  emaV1, emaV2, v2Guard, type EmaOptions, type TfSpec,
} from '../src/compute/ema/index.js';
import { ema, emaFold, type EmaState } from '../src/compute/ema/kernel.js';
import type { RowBatch } from '../src/columnar/columns.js';
import { assertSameCarry, checkCarryContract, type CarryKernel } from './helpers/carry-contract.js';

const DAY = 86_400_000;
const RUNS = 300;

type Family = 'v1' | 'v2' | 'cal' | 'anchor';
const FAMILIES: Family[] = ['v1', 'v2', 'cal', 'anchor'];

interface Closes {
  ts: Float64Array;
  close: Float64Array;
}

interface Hist {
  daily: Closes & { id: number };
  /** canonical closes, ascending; may include days off the daily grid and days after the last daily row */
  canon: Closes;
  /** anchor's is_partial_end per daily row, or none */
  flags: Uint8Array | undefined;
  tf: TfSpec;
  periods: number[];
  /** daily row indices worth splitting at: around canonical closes, seeds, v2's guard thresholds */
  interesting: number[];
}

interface Row {
  gap: number;
  close: number;
  pick: number;
  nan: number;
}

type Mode = 'mask' | 'rolling' | 'weekly' | 'all';

// The generator of ema-properties.test.ts (gaps, canonical subsets / every d-th row / calendar Saturdays), plus:
// canonical = the daily series itself (v1 for 1D), canonical closes on days missing from the grid and after the
// last daily row, occasional NaN closes, random is_partial_end flags.
function makeHist(
  start: number,
  rows: Row[],
  d: number,
  periods: number[],
  mode: Mode,
  x: { offGrid: boolean; beyond: boolean; nan: boolean; flags: boolean },
): Hist {
  const days: number[] = [];
  let day = start;
  for (const r of rows) days.push((day += r.gap));
  const ts = (dd: number) => (dd + 1) * DAY - 1;
  const close = rows.map((r) => (x.nan && r.nan === 0 ? NaN : r.close));
  const daily = { id: 7, ts: Float64Array.from(days, ts), close: Float64Array.from(close) };
  const canonRows = days.map((_, i) => i).filter((i) =>
    mode === 'all' ? true
      : mode === 'mask' ? rows[i].pick === 0 : mode === 'rolling' ? (i + 1) % d === 0 : (days[i] + 4) % 7 === 6);
  const cs: [number, number][] = canonRows.map((i) => [daily.ts[i], close[i]]);
  if (mode !== 'all') {
    if (x.offGrid) {
      for (let i = 0; i < rows.length; i++) {
        if (rows[i].gap > 1 && rows[i].pick === 1) cs.push([ts(days[i] - 1), rows[i].close * 1.25]);
      }
    }
    if (x.beyond && rows.length > 0) cs.push([ts(days[days.length - 1] + 2), 42]);
    cs.sort((a, b) => a[0] - b[0]);
  }
  const canon = { ts: Float64Array.from(cs, (c) => c[0]), close: Float64Array.from(cs, (c) => c[1]) };
  const flags = x.flags ? Uint8Array.from(rows, (r, i) => (canonRows.includes(i) ? 0 : r.nan % 2)) : undefined;
  const interesting = new Set<number>([0, rows.length]);
  for (const t of canon.ts) {
    let i = 0;
    while (i < days.length && daily.ts[i] < t) i++;
    for (const k of [i - 1, i, i + 1, i + 2]) interesting.add(k);
  }
  for (const p of periods) {
    for (const k of [d * p - 1, d * p, d * p + 1, 3 * d * p - 1, 3 * d * p, 3 * d * p + 1]) interesting.add(k);
  }
  return {
    daily, canon, flags, tf: { tf: `${d}X`, daysNominal: d }, periods,
    interesting: [...interesting].filter((i) => i >= 0 && i <= rows.length).sort((a, b) => a - b),
  };
}

const histArb = fc.tuple(
  fc.integer({ min: 19_000, max: 19_400 }),
  fc.array(fc.record({
    gap: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 5 }) }),
    close: fc.double({ min: 0.01, max: 1e5, noNaN: true }),
    pick: fc.integer({ min: 0, max: 3 }),
    nan: fc.integer({ min: 0, max: 19 }),
  }), { maxLength: 160, size: 'max' }),
  fc.integer({ min: 1, max: 10 }),
  fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 3 }),
  fc.constantFrom<Mode>('mask', 'rolling', 'weekly', 'all'),
  fc.record({ offGrid: fc.boolean(), beyond: fc.boolean(), nan: fc.boolean(), flags: fc.boolean() }),
).map(([s, rows, d, ps, mode, x]) => makeHist(s, rows, d, ps, mode, x));

function call(f: Family, h: Hist, daily: Hist['daily'], canon: Closes, flags: Uint8Array | undefined, opts?: EmaOptions): RowBatch {
  switch (f) {
    case 'v1': return emaV1(daily, canon, h.tf, h.periods, opts);
    case 'v2': return emaV2(daily, h.tf, h.periods, opts);
    case 'cal': return emaCal(daily, canon.ts, h.tf, h.periods, opts);
    case 'anchor': return emaAnchor(daily, canon, h.tf, h.periods, { ...opts, isPartialEnd: flags });
  }
}

const slice = (c: Closes, from: number, to: number) => ({ ts: c.ts.slice(from, to), close: c.close.slice(from, to) });

/** Canonical closes strictly after t (what the caller passes with a carry folded up to t). */
function canonAfter(c: Closes, t: number, upTo: number): Closes {
  let i = 0;
  while (i < c.ts.length && !(c.ts[i] > t)) i++;
  let j = i;
  while (j < c.ts.length && c.ts[j] <= upTo) j++;
  return slice(c, i, j);
}

/** One call's view of a history: daily rows [from, to) and the canonical closes after row from − 1. */
interface View {
  f: Family;
  h: Hist;
  from: number;
  to: number;
  /** pass only the canonical closes up to the last daily row (else all after the carry's last day) */
  tailOnly: boolean;
}

function callView(v: View, opts: EmaOptions): RowBatch {
  const { f, h, from, to } = v;
  const n = h.daily.ts.length;
  if (from === 0 && to === n) return call(f, h, h.daily, h.canon, h.flags, opts);
  const daily = { id: h.daily.id, ts: h.daily.ts.slice(from, to), close: h.daily.close.slice(from, to) };
  const lastTs = from > 0 ? h.daily.ts[from - 1] : -Infinity;
  const endTs = to > from ? h.daily.ts[to - 1] : lastTs;
  return call(f, h, daily, canonAfter(h.canon, lastTs, v.tailOnly ? endTs : Infinity), h.flags?.slice(from, to), opts);
}

/** Split points from raw naturals: even = uniform, odd = one of the history's interesting rows. */
function usableCuts(f: Family, h: Hist, raw: readonly number[]): number[] {
  const n = h.daily.ts.length;
  let cuts = raw.map((x) => ((x & 1) === 0 ? (x >>> 1) % (n + 1) : h.interesting[(x >>> 1) % h.interesting.length]));
  if (f === 'v2') {
    // floor(N/d) ≥ 3p ⇔ N ≥ 3dp: a continuation from N0 > 0 rows must not cross a threshold the history reaches.
    const reached = h.periods.map((p) => 3 * h.tf.daysNominal * p).filter((t) => t <= n);
    const last = Math.max(0, ...reached);
    cuts = cuts.filter((c) => c === 0 || c >= last);
  }
  return cuts;
}

/**
 * The family's kernel for the carry contract (test/helpers/carry-contract.ts). Beyond rows and carries equal
 * to the full computation's, every carry counts the daily rows, the last folded day and the canonical closes
 * folded, and a chain may start from no carry, emaCarryInit, or the carryOut of a call over empty inputs.
 */
function emaKernel(f: Family): CarryKernel<View> {
  return {
    name: f,
    rows: (v) => v.to - v.from,
    slice: (v, from, to) => ({ ...v, from, to }),
    carryLength: (v) => v.h.periods.length * EMA_CARRY_LEN,
    build: (v, carry, carryOut) => callView(v, { carry, carryOut }),
    cuts: (v, raw) => usableCuts(f, v.h, raw),
    groupBy: 'period',
    emptyCarries: ({ h }) => {
      const empty = new Float64Array(h.periods.length * EMA_CARRY_LEN);
      const none = { id: h.daily.id, ts: new Float64Array(0), close: new Float64Array(0) };
      assert.equal(call(f, h, none, h.canon, undefined, { carryOut: empty }).length, 0);
      assert.equal(emaCarryRows(empty), 0);
      return [emaCarryInit(h.periods.length), empty];
    },
    checkCarry: ({ h }, carry, to) => {
      const endTs = to > 0 ? h.daily.ts[to - 1] : -Infinity;
      assert.equal(emaCarryRows(carry), to, `${f}: daily rows folded`);
      assert.equal(emaCarryLastTs(carry), endTs, `${f}: last folded day`);
      const onGrid = new Set(h.daily.ts.subarray(0, to));
      const bars = f === 'v2' ? to : h.canon.ts.filter((t) => (f === 'cal' ? onGrid.has(t) : t <= endTs)).length;
      for (let q = 0; q < h.periods.length; q++) {
        assert.equal(carry[q * EMA_CARRY_LEN + EMA_CARRY_SLOT.BARS], bars, `${f}: canonical closes folded`);
      }
    },
  };
}

for (const f of FAMILIES) {
  test(`property: ${f} folded in chunks (carryOut → carry) = the full computation, rows and every carry`, () => {
    const views = fc.tuple(histArb, fc.boolean()).map(([h, tailOnly]): View => ({ f, h, from: 0, to: h.daily.ts.length, tailOnly }));
    checkCarryContract(emaKernel(f), views, { numRuns: RUNS, maxCuts: 5 });
  });
}

test('property: emaFold over pieces (NaNs included) = ema, state passed along', () => {
  const xArb = fc.array(fc.oneof({ weight: 9, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) }, { weight: 1, arbitrary: fc.constant(NaN) }), { maxLength: 80 });
  fc.assert(fc.property(xArb, fc.integer({ min: 1, max: 12 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 4 }), (xs, period, ownAlpha, raw) => {
    const x = Float64Array.from(xs);
    const alpha = ownAlpha ? 2 / (3 * period + 1) : 2 / (period + 1);
    const want = ema(x, period, undefined, alpha);
    const got = new Float64Array(x.length);
    const st: EmaState = { run: 0, acc: 0 };
    const cuts = [0, ...raw.map((r) => r % (x.length + 1)).sort((a, b) => a - b), x.length];
    for (let c = 0; c + 1 < cuts.length; c++) emaFold(x, period, alpha, st, got, cuts[c], cuts[c + 1]);
    for (let i = 0; i < x.length; i++) assert.ok(Object.is(got[i], want[i]), `out[${i}]: ${got[i]} vs ${want[i]}`);
    if (x.length > 0 && st.run === period) assert.ok(Object.is(st.acc, want[x.length - 1]), 'seeded state = last output');
  }), { numRuns: 400 });
});

// ---- examples -----------------------------------------------------------------------------------------------------

const day = (k: number) => (19_000 + k + 1) * DAY - 1;
const series = (days: number[], closes: number[]) => ({ id: 1, ts: Float64Array.from(days, day), close: Float64Array.from(closes) });
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

test('a carry holds the unseeded bar state, then the seeded one (slots as documented)', () => {
  const tf = { tf: '1D', daysNominal: 1 };
  const S = EMA_CARRY_SLOT;
  const c1 = new Float64Array(EMA_CARRY_LEN);
  emaV1(series([0, 1], [3, 5]), series([0, 1], [3, 5]), tf, 3, { carryOut: c1 });
  assert.equal(c1[S.RUN], 2);
  assert.ok(Object.is(c1[S.ACC], 0 + 3 / 3 + 5 / 3), 'running partial seed sum');
  assert.equal(emaCarryStarted(c1, 0), false);
  assert.ok(Number.isNaN(c1[S.EMA]));
  const c2 = new Float64Array(EMA_CARRY_LEN);
  const b = emaV1(series([2], [7]), series([2], [7]), tf, 3, { carry: c1, carryOut: c2 });
  assert.deepEqual(Array.from(b.cols.ema as Float64Array), [3 / 3 + 5 / 3 + 7 / 3]);
  assert.equal(emaCarryStarted(c2, 0), true);
  assert.equal(c2[S.ACC], c2[S.EMA]);
  assert.equal(emaCarryLastTs(c2), day(2));
  assert.equal(emaCarryRows(c2), 3);
});

test('v2: a continuation across the guard threshold throws "v2 guard flip", leaving carryOut untouched', () => {
  const tf = { tf: '1D', daysNominal: 1 };
  const all = series(range(0, 10), range(0, 10).map((i) => 100 + i));
  const head = series(range(0, 4), range(0, 4).map((i) => 100 + i));
  const tail = series(range(4, 10), range(4, 10).map((i) => 100 + i));
  const c1 = new Float64Array(2 * EMA_CARRY_LEN);
  assert.equal(emaV2(head, tf, [1, 2], { carryOut: c1 }).length, 4, 'p = 1 passes the guard at 4 rows (4 ≥ 3), p = 2 does not');
  assert.ok(v2Guard(4, 1, 1) && !v2Guard(4, 1, 2) && v2Guard(10, 1, 2));
  const out = new Float64Array(2 * EMA_CARRY_LEN).fill(7);
  assert.throws(() => emaV2(tail, tf, [1, 2], { carry: c1, carryOut: out }), (e: Error) => /^v2 guard flip: .*period 2/.test(e.message));
  assert.ok(out.every((x) => x === 7), 'carryOut not written on error');
  // Without the flipping period the continuation works, and from a blank carry nothing can flip.
  const c1a = new Float64Array(EMA_CARRY_LEN);
  emaV2(head, tf, [1], { carryOut: c1a });
  assert.deepEqual(emaV2(tail, tf, [1], { carry: c1a }), emaV2(all, tf, [1], { fromTs: day(4) }));
  assert.deepEqual(emaV2(all, tf, [1, 2], { carry: emaCarryInit(2) }), emaV2(all, tf, [1, 2]));
});

test('v2: a pair failing the guard before and after emits nothing but keeps its carry current', () => {
  const tf = { tf: '7D', daysNominal: 7 };
  const all = series(range(0, 30), range(0, 30).map((i) => 50 + (i % 7)));
  const c1 = new Float64Array(EMA_CARRY_LEN);
  const c2 = new Float64Array(EMA_CARRY_LEN);
  const full = new Float64Array(EMA_CARRY_LEN);
  assert.equal(emaV2(series(range(0, 12), range(0, 12).map((i) => 50 + (i % 7))), tf, 2, { carryOut: c1 }).length, 0);
  assert.equal(emaV2(series(range(12, 30), range(12, 30).map((i) => 50 + (i % 7))), tf, 2, { carry: c1, carryOut: c2 }).length, 0);
  assert.equal(emaV2(all, tf, 2, { carryOut: full }).length, 0);
  assertSameCarry(c2, full, 'v2 below the guard');
  assert.equal(emaCarryStarted(c2, 0), true, 'seeded at row 13 although nothing is emitted');
});

test('tails that overlap what the carry folded, and carries of something else, are refused', () => {
  const tf = { tf: '2D', daysNominal: 2 };
  const head = series([0, 1, 2], [1, 2, 3]);
  const c = new Float64Array(EMA_CARRY_LEN);
  emaAnchor(head, head, tf, 1, { carryOut: c });
  const again = series([2, 3], [3, 4]);
  const next = series([3], [4]);
  assert.throws(() => emaAnchor(again, next, tf, 1, { carry: c }), /daily tail starts at .* not after the carry's last folded day/);
  assert.throws(() => emaAnchor(next, again, tf, 1, { carry: c }), /canonical tail starts at .* not after the carry's last folded day/);
  assert.throws(() => emaCal(next, again.ts, tf, 1, { carry: c }), /cal_anchor state|not cal/);
  assert.throws(() => emaAnchor(next, next, tf, 2, { carry: c }), /period 1 .* not cal_anchor period 2/);
  assert.throws(() => emaAnchor(next, next, tf, [1, 2], { carry: c }), /carry has 17 doubles, want 2 periods/);
  assert.throws(() => emaAnchor(next, next, { tf: '3D', daysNominal: 3 }, 1, { carry: c }), /daysNominal 2, not cal_anchor period 1 with daysNominal 3/);
  assert.throws(() => emaV1(next, next, tf, 1, { carryOut: new Float64Array(3) }), /carryOut has 3 doubles/);
  for (const f of FAMILIES) {
    const cf = new Float64Array(EMA_CARRY_LEN);
    const h = { daily: head, canon: head, tf, periods: [1] } as unknown as Hist;
    call(f, h, head, head, undefined, { carryOut: cf });
    assert.throws(() => call(f, h, again, next, undefined, { carry: cf }), /daily tail starts at/, `${f}: overlapping daily tail`);
    assert.doesNotThrow(() => call(f, h, next, next, undefined, { carry: cf }), `${f}: proper tail`);
  }
});
