// Continuation of the snapshot bar kernels from a saved carry (SnapshotBuildOptions.carry / carryOut).
//
// The incremental refresh folds only the new daily rows onto the carry saved by the previous run. That is
// only correct if, for every family and timeframe, building a history in chunks (chaining carryOut → carry)
// emits exactly the rows of the full build, bit for bit, and ends with exactly the full build's carry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BAR_FAMILIES, belongsTo, defaultTimeframes, getTimeframe, type BarFamily, type Timeframe,
} from '../src/catalog/timeframes.js';
import { BAR_CARRY_LEN, buildBarsForTimeframe, buildCalendar, buildRolling, windowOf } from '../src/compute/bars/index.js';
import { dailyFromRows, dayCloseMs, type DailySeries } from '../src/compute/daily.js';
import { concatBatches, rowAt, rowsFrom, type RowBatch } from '../src/columnar/columns.js';
import {
  assertChunkedEqualsFull, assertSameCarry, assertSameRows as sameRows, checkCarryContract, type CarryKernel,
} from './helpers/carry-contract.js';
import { makeSeries, sliceSeries } from './helpers/series.js';

const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------------------
// Random histories: test/helpers/series.ts, with fractional volumes (summed across splits in the same order)

const FRACTIONAL = { fractionalVolume: true };

const specArb = (minLen: number, maxLen: number) => fc.record({
  // Starts before 1970 too (negative day numbers), and up to 2027.
  start: fc.integer({ min: -1200, max: 21000 }),
  len: fc.integer({ min: minLen, max: maxLen }),
  gapPct: fc.constantFrom(0, 0, 5, 20, 50, 80, 95),
  seed: fc.integer(),
});

// ---------------------------------------------------------------------------------------------------------
// The carry contract (test/helpers/carry-contract.ts), for every timeframe of a family at once: the carry is
// the timeframes' carries end to end and the rows are the timeframes' rows in order, as the refresh stores them.

const FAMILY_TFS: [BarFamily, Timeframe[]][] = BAR_FAMILIES.map((f) => [f, defaultTimeframes().filter((t) => belongsTo(t, f))]);

function barKernel(f: BarFamily, tfs: readonly Timeframe[]): CarryKernel<DailySeries> {
  const L = BAR_CARRY_LEN;
  return {
    name: `${f} ${tfs.length === 1 ? tfs[0].tf : `(${tfs.length} timeframes)`}`,
    rows: (s) => s.n,
    slice: (s, from, to) => sliceSeries(s, from, to),
    carryLength: () => tfs.length * L,
    build: (s, carry, carryOut) => concatBatches(tfs.map((tf, i) => buildBarsForTimeframe(s, f, tf, {
      carry: carry?.subarray(i * L, (i + 1) * L), carryOut: carryOut?.subarray(i * L, (i + 1) * L),
    }))),
    groupBy: 'tf',
  };
}

const seriesArb = (minLen: number, maxLen: number) => specArb(minLen, maxLen).map((spec) => makeSeries(spec, FRACTIONAL));

// ---------------------------------------------------------------------------------------------------------
// Properties

for (const [f, tfs] of FAMILY_TFS) {
  test(`property: ${f}: chunked builds (chained carries) = full build, short and young histories`, () => {
    checkCarryContract(barKernel(f, tfs), seriesArb(1, 160), { numRuns: 100, maxCuts: 4 });
  });
}

test('property: one split = full build, every split point is a possible refresh boundary', () => {
  const kernels = FAMILY_TFS.map(([f, tfs]) => barKernel(f, tfs));
  fc.assert(fc.property(seriesArb(1, 60), (s) => {
    for (const k of kernels) {
      for (let cut = 0; cut <= s.n; cut++) assertChunkedEqualsFull(k, s, { cuts: [cut], inPlace: false, start: 0 }, false);
    }
  }), { numRuns: 25 });
});

for (const [f, tfs] of FAMILY_TFS) {
  test(`property: ${f}: chunked builds = full build, long histories crossing year and 5-year windows`, () => {
    checkCarryContract(barKernel(f, tfs), seriesArb(1500, 4200), { numRuns: 12, maxCuts: 6, checkPrefixes: false });
  });
}

test('daily one-row refreshes over a young asset: every day folded separately', () => {
  // Starts mid-year 2019 with gaps: the cal families emit nothing until Jan 1 (year) / the next month / week.
  const s = makeSeries({ start: 18000, len: 900, gapPct: 20, seed: 7 }, FRACTIONAL);
  const cuts = Array.from({ length: s.n - 1 }, (_, i) => i + 1);
  for (const [f, tfs] of FAMILY_TFS) assertChunkedEqualsFull(barKernel(f, tfs), s, { cuts, inPlace: true, start: 0 }, false);
});

function fullBuild(s: DailySeries, f: BarFamily, tf: Timeframe): { rows: RowBatch; carry: Float64Array } {
  const carry = new Float64Array(BAR_CARRY_LEN);
  return { rows: buildBarsForTimeframe(s, f, tf, { carryOut: carry }), carry };
}

// ---------------------------------------------------------------------------------------------------------
// Directed cases

test('empty carry: an empty build means "nothing folded"; continuing from it = fresh full build', () => {
  const s = makeSeries({ start: 19000, len: 50, gapPct: 10, seed: 11 }, FRACTIONAL);
  const empty = sliceSeries(s, 0, 0);
  for (const [f, tfs] of FAMILY_TFS) {
    for (const tf of tfs.slice(0, 4)) {
      const c0 = new Float64Array(BAR_CARRY_LEN);
      assert.equal(buildBarsForTimeframe(empty, f, tf, { carryOut: c0 }).length, 0);
      // Another empty build from the empty carry keeps it as is.
      const c1 = new Float64Array(BAR_CARRY_LEN).fill(7);
      buildBarsForTimeframe(empty, f, tf, { carry: c0, carryOut: c1 });
      assertSameCarry(c1, c0, `${f}/${tf.tf} empty → empty`);
      for (const carry of [c0, new Float64Array(BAR_CARRY_LEN)]) {
        const out = new Float64Array(BAR_CARRY_LEN);
        const full = fullBuild(s, f, tf);
        assert.deepEqual(buildBarsForTimeframe(s, f, tf, { carry, carryOut: out }), full.rows, `${f}/${tf.tf}`);
        assertSameCarry(out, full.carry, `${f}/${tf.tf}`);
      }
    }
  }
});

test('a tail starting on or before the carry\'s last day throws', () => {
  const s = makeSeries({ start: 19000, len: 40, gapPct: 0, seed: 5 }, FRACTIONAL);
  for (const [f, tfs] of FAMILY_TFS) {
    const tf = tfs[0];
    const carry = new Float64Array(BAR_CARRY_LEN);
    buildBarsForTimeframe(sliceSeries(s, 0, 20), f, tf, { carryOut: carry });
    for (const from of [19, 10, 0]) {
      assert.throws(() => buildBarsForTimeframe(sliceSeries(s, from, 40), f, tf, { carry }), /tail must hold only the days after/,
        `${f}/${tf.tf} from ${from}`);
    }
    // The day right after the carry's last day is fine, and so is an empty tail.
    assert.deepEqual(buildBarsForTimeframe(sliceSeries(s, 20, 40), f, tf, { carry }), tailOf(buildBarsForTimeframe(s, f, tf), s.ts[19]));
    assert.equal(buildBarsForTimeframe(sliceSeries(s, 20, 20), f, tf, { carry }).length, 0);
  }
});

test('a carry is refused by another timeframe or family, and short arrays are refused', () => {
  const s = makeSeries({ start: 19000, len: 40, gapPct: 0, seed: 5 }, FRACTIONAL);
  const carry = new Float64Array(BAR_CARRY_LEN);
  buildRolling(sliceSeries(s, 0, 20), getTimeframe('7D')!, { carryOut: carry });
  const tail = sliceSeries(s, 20, 40);
  assert.throws(() => buildRolling(tail, getTimeframe('10D')!, { carry }), /another timeframe/);
  assert.throws(() => buildCalendar(tail, getTimeframe('1W_CAL_ISO')!, { carry }), /another timeframe/);
  const cal = new Float64Array(BAR_CARRY_LEN);
  buildCalendar(sliceSeries(s, 0, 20), getTimeframe('1M_CAL')!, { carryOut: cal });
  assert.throws(() => buildCalendar(tail, getTimeframe('1M_CAL_ANCHOR')!, { carry: cal }), /another timeframe/);
  assert.throws(() => buildRolling(tail, getTimeframe('7D')!, { carry: carry.subarray(0, BAR_CARRY_LEN - 1) }), /length/);
  assert.throws(() => buildRolling(tail, getTimeframe('7D')!, { carryOut: new Float64Array(3) }), /length/);
});

test('cal family: rows folded before the first complete window still fix the first day and the synthetic time_open', () => {
  // First day Wed 2020-06-17 (day 18430): 1Y_CAL starts at 2021-01-01, 1M_CAL at 2020-07-01.
  const s = makeSeries({ start: 18430, len: 400, gapPct: 0, seed: 9 }, FRACTIONAL);
  for (const name of ['1Y_CAL', '1M_CAL', '1W_CAL_ISO', '1W_CAL_US']) {
    const tf = getTimeframe(name)!;
    const fam: BarFamily = tf.scheme === 'ISO' ? 'cal_iso' : 'cal_us';
    const want = buildBarsForTimeframe(s, fam, tf);
    // Split after 3 rows: nothing emitted yet for all four timeframes (the first ISO/US week starts later).
    const carry = new Float64Array(BAR_CARRY_LEN);
    assert.equal(buildBarsForTimeframe(sliceSeries(s, 0, 3), fam, tf, { carryOut: carry }).length, 0, name);
    const tail = buildBarsForTimeframe(sliceSeries(s, 3, s.n), fam, tf, { carry });
    sameRows(want, [tail], undefined, name);
    const r0 = rowAt(tail, 0);
    assert.equal(r0.time_open, num(r0.time_close) - DAY + 1, `${name}: synthetic time_open of the first kept row`);
    assert.equal(r0.bar_seq, 1, name);
  }
});

test('anchored family: the partial first window continues across the split', () => {
  // First day 2020-06-17: the 1Y anchored bar 1 is [2020-06-17, 2020-12-31], is_partial_start = 1.
  const s = makeSeries({ start: 18430, len: 300, gapPct: 30, seed: 4 }, FRACTIONAL);
  for (const name of ['1Y_CAL_ANCHOR', '5Y_CAL_ANCHOR', '3M_CAL_ANCHOR', '10W_CAL_ANCHOR_ISO']) {
    const tf = getTimeframe(name)!;
    const fam: BarFamily = tf.scheme === 'US' ? 'cal_anchor_us' : 'cal_anchor_iso';
    const full = fullBuild(s, fam, tf);
    let inPartial = 0;
    for (const cut of [1, 2, 17, 60]) {
      const carry = new Float64Array(BAR_CARRY_LEN);
      const head = buildBarsForTimeframe(sliceSeries(s, 0, cut), fam, tf, { carryOut: carry });
      const tail = buildBarsForTimeframe(sliceSeries(s, cut, s.n), fam, tf, { carry, carryOut: carry });
      sameRows(full.rows, [head, tail], undefined, `${name} cut ${cut}`);
      assertSameCarry(carry, full.carry, `${name} cut ${cut}`);
      const r = rowAt(tail, 0);
      if (s.day[cut] <= windowOf(tf, s.day[0]).end) {
        inPartial++;
        assert.deepEqual([r.is_partial_start, r.bar_seq], [1, 1], `${name} cut ${cut}: still the partial first bar`);
        assert.equal(num(r.count_days), s.day[cut] - s.day[0] + 1);
        assert.equal(r.time_open, s.ts[0] - DAY + 1, `${name} cut ${cut}: synthetic time_open of bar 1`);
      }
    }
    assert.ok(inPartial >= 2, `${name}: splits inside the partial first window`);
  }
});

/** Every pair of split points (three chunks, empty ones included) = full build, rows and final carry. */
function checkAllSplits(s: DailySeries, f: BarFamily, tf: Timeframe): void {
  const k = barKernel(f, [tf]);
  for (let cut = 0; cut <= s.n; cut++) {
    for (let cut2 = cut; cut2 <= s.n; cut2++) assertChunkedEqualsFull(k, s, { cuts: [cut, cut2], inPlace: true, start: 0 });
  }
}

test('§3.5 sanity pass: the carry keeps the running state, not the repaired output', () => {
  // Day 1 is inconsistent: high 105 below close 110, low 120 above open 100, time_low after the close.
  const d0 = 18431; // Thu 2020-06-18; the ISO week of Mon 2020-06-15 holds days 0..3
  const s = dailyFromRows(3, [
    { day: d0, open: 10, high: 12, low: 9, close: 11, volume: 1 },
    { day: d0 + 1, open: 100, high: 105, low: 120, close: 110, volume: 2, timeLow: dayCloseMs(d0 + 1) + 5 },
    { day: d0 + 2, open: 104, high: 107, low: 101, close: 106, volume: 3 },
    { day: d0 + 3, open: 106, high: NaN, low: NaN, close: 108, volume: 4 },
    { day: d0 + 5, open: 108, high: 109, low: 99, close: 100, volume: 5 },
  ]);
  const rowsOf = (b: RowBatch) => Array.from({ length: b.length }, (_, i) => rowAt(b, i));
  const cases: [BarFamily, string][] = [
    ['multi_tf', '2D'], ['multi_tf', '3D'], ['multi_tf', '7D'], ['cal_iso', '1W_CAL_ISO'],
    ['cal_anchor_iso', '1W_CAL_ANCHOR_ISO'], ['cal_anchor_us', '1M_CAL_ANCHOR'], ['cal_anchor_iso', '1Y_CAL_ANCHOR'],
  ];
  for (const [f, name] of cases) {
    const tf = getTimeframe(name)!;
    const fr = rowsOf(buildBarsForTimeframe(s, f, tf));
    if (f !== 'cal_iso') {
      // Bar opened by day 0: row 1 repaired to high 110 (running high 105); row 2 is back to the running 107.
      // A carry holding the repaired 110 would continue with 110.
      assert.deepEqual([fr[1].high, fr[1].low], [110, 9], name);
      if (name !== '2D') assert.equal(fr[2].high, 107, name);
    }
    checkAllSplits(s, f, tf);
    // Bars opened by the inconsistent day: the repaired low 100 / time_low = time_open on its row, then on
    // day 2 the running low 101 (time_low of day 2) is still above open 100 and is repaired again.
    const s2 = sliceSeries(s, 1, s.n);
    const r2 = rowsOf(buildBarsForTimeframe(s2, f, tf));
    if (f !== 'cal_iso') {
      assert.deepEqual([r2[0].high, r2[0].low, r2[0].time_low], [110, 100, r2[0].time_open], name);
      assert.deepEqual([r2[1].high, r2[1].low, r2[1].time_low], [107, 100, r2[1].time_open], name);
    }
    checkAllSplits(s2, f, tf);
  }
});

const num = (v: number | string | null): number => v as number;
/** Rows of a batch after instant `after` (time_close ascending). */
const tailOf = (b: RowBatch, after: number): RowBatch => rowsFrom(b, 'time_close', after + 1);
