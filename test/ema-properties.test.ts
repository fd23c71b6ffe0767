// fast-check properties of the four EMA families (emas.md §10.3 invariants, SPEC §6) over random histories:
// gaps in the days, random canonical sets (random subsets, rolling every-d-th-row bars, calendar Saturdays),
// several periods per call. Every value check is exact (Object.is): the families and these checks use the same
// kernel arithmetic, so any difference is a logic difference, not rounding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ema, emaStep } from '../src/compute/ema/kernel.js';
import {
  anchorAlpha, calAlpha, emaAnchor, emaCal, emaV1, emaV2, v2Guard, type EmaOptions, type TfSpec,
} from '../src/compute/ema/index.js';
import type { RowBatch } from '../src/columnar/columns.js';
import { groups, sameRow } from './helpers/ema-rows.js';

const DAY = 86_400_000;
const RUNS = 150;

type Family = 'v1' | 'v2' | 'cal' | 'anchor';
const FAMILIES: Family[] = ['v1', 'v2', 'cal', 'anchor'];

interface Hist {
  daily: { id: number; ts: Float64Array; close: Float64Array };
  /** daily row index of each canonical close, ascending */
  canonRows: number[];
  canon: { ts: Float64Array; close: Float64Array };
  tf: TfSpec;
  periods: number[];
}

function makeHist(
  start: number,
  rows: { gap: number; close: number; pick: number }[],
  d: number,
  periods: number[],
  mode: 'mask' | 'rolling' | 'weekly',
): Hist {
  const days: number[] = [];
  let day = start;
  for (const r of rows) days.push((day += r.gap));
  const canonRows = days.map((_, i) => i).filter((i) =>
    mode === 'mask' ? rows[i].pick === 0 : mode === 'rolling' ? (i + 1) % d === 0 : (days[i] + 4) % 7 === 6);
  const daily = {
    id: 7,
    ts: Float64Array.from(days, (x) => (x + 1) * DAY - 1),
    close: Float64Array.from(rows, (r) => r.close),
  };
  return {
    daily, canonRows, tf: { tf: `${d}X`, daysNominal: d }, periods,
    canon: { ts: Float64Array.from(canonRows, (i) => daily.ts[i]), close: Float64Array.from(canonRows, (i) => daily.close[i]) },
  };
}

const histArb = fc.tuple(
  fc.integer({ min: 19_000, max: 19_400 }),
  fc.array(fc.record({
    gap: fc.oneof({ weight: 9, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 5 }) }),
    close: fc.double({ min: 0.01, max: 1e5, noNaN: true }),
    pick: fc.integer({ min: 0, max: 3 }),
  }), { maxLength: 160, size: 'max' }),
  fc.integer({ min: 1, max: 10 }),
  fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 3 }),
  fc.constantFrom('mask' as const, 'rolling' as const, 'weekly' as const),
).map(([s, rows, d, ps, mode]) => makeHist(s, rows, d, ps, mode));

function run(f: Family, h: Hist, periods: number | readonly number[] = h.periods, opts?: EmaOptions): RowBatch {
  switch (f) {
    case 'v1': return emaV1(h.daily, h.canon, h.tf, periods, opts);
    case 'v2': return emaV2(h.daily, h.tf, periods, opts);
    case 'cal': return emaCal(h.daily, h.canon.ts, h.tf, periods, opts);
    case 'anchor': return emaAnchor(h.daily, h.canon, h.tf, periods, opts);
  }
}

/** The first m daily rows, and the canonical closes among them (what the bar tables hold for that history). */
function prefix(h: Hist, m: number): Hist {
  const canonRows = h.canonRows.filter((i) => i < m);
  return {
    ...h,
    daily: { id: h.daily.id, ts: h.daily.ts.slice(0, m), close: h.daily.close.slice(0, m) },
    canonRows,
    canon: { ts: h.canon.ts.slice(0, canonRows.length), close: h.canon.close.slice(0, canonRows.length) },
  };
}

const isDual = (f: Family) => f === 'cal' || f === 'anchor';

function expectedRows(f: Family, h: Hist, p: number): number {
  const n = h.daily.ts.length;
  if (f === 'v2') return v2Guard(n, h.tf.daysNominal, p) ? n - h.tf.daysNominal * p + 1 : 0;
  return h.canonRows.length >= p ? n - h.canonRows[p - 1] : 0;
}

test('property: row counts per emas.md §3 / SPEC E4; no NULL ema; the seed row is canonical; keys', () => {
  fc.assert(fc.property(histArb, (h) => {
    const n = h.daily.ts.length;
    for (const f of FAMILIES) {
      const b = run(f, h);
      const g = groups(b);
      let total = 0;
      for (const p of h.periods) {
        const want = expectedRows(f, h, p);
        const [lo, hi] = g.get(p) ?? [0, 0];
        assert.equal(hi - lo, want, `${f} p=${p}: rows`);
        total += want;
        if (want === 0) continue;
        const ts = b.cols.ts as Float64Array;
        for (let r = lo; r < hi; r++) {
          assert.equal(ts[r], h.daily.ts[n - want + (r - lo)], `${f} p=${p}: rows are the last ${want} daily rows`);
          assert.ok(!Number.isNaN((b.cols.ema as Float64Array)[r]), `${f} p=${p}: NULL ema`);
          if (isDual(f)) assert.ok(!Number.isNaN((b.cols.ema_bar as Float64Array)[r]), `${f} p=${p}: NULL ema_bar`);
          assert.equal((b.cols.tf_days as Int32Array)[r], h.tf.daysNominal);
          assert.equal((b.cols.id as Int32Array)[r], h.daily.id);
          assert.equal((b.cols.tf as string[])[r], h.tf.tf);
        }
        assert.equal((b.cols.roll as Uint8Array)[lo], 0, `${f} p=${p}: the seed row is canonical`);
        if (isDual(f)) assert.equal((b.cols.roll_bar as Uint8Array)[lo], 0);
      }
      assert.equal(b.length, total, `${f}: no rows for periods not asked`);
    }
  }), { numRuns: RUNS });
});

test('property: values — bar EMA on canonical rows, preview / daily recursion elsewhere, ema never snapped', () => {
  fc.assert(fc.property(histArb, (h) => {
    const { ts: dts, close } = h.daily;
    const canonAt = new Map(h.canonRows.map((row, j) => [row, j]));
    const rowOf = new Map(Array.from(dts, (t, i) => [t, i]));
    for (const f of FAMILIES) {
      const b = run(f, h);
      const ts = b.cols.ts as Float64Array;
      const e = b.cols.ema as Float64Array;
      const roll = b.cols.roll as Uint8Array;
      const eb = b.cols.ema_bar as Float64Array;
      const rb = b.cols.roll_bar as Uint8Array;
      for (const [p, [lo, hi]] of groups(b)) {
        const bar = ema(h.canon.close, p);
        const d = h.tf.daysNominal;
        const v2 = f === 'v2' ? ema(close, d * p, undefined, 2 / (d * p + 1)) : undefined;
        const alpha = f === 'cal' ? calAlpha(p, d) : f === 'anchor' ? anchorAlpha(p, d) : 2 / (p + 1);
        let lastBar = NaN;
        for (let r = lo; r < hi; r++) {
          const i = rowOf.get(ts[r])!;
          const j = canonAt.get(i);
          const what = `${f} p=${p} row ${r}`;
          if (f === 'v2') {
            assert.equal(roll[r], (i + 1) % d === 0 ? 0 : 1, `${what}: v2 roll`);
            assert.ok(Object.is(e[r], v2![i]), `${what}: v2 ema`);
            continue;
          }
          assert.equal(roll[r], j === undefined ? 1 : 0, `${what}: roll iff not a canonical close`);
          if (f === 'v1') {
            // Preview = one uncommitted step from the latest bar EMA strictly before this day.
            for (let k = 0; k < h.canonRows.length && h.canonRows[k] < i; k++) lastBar = bar[k];
            assert.ok(Object.is(e[r], j !== undefined ? bar[j] : emaStep(lastBar, close[i], alpha, 1 - alpha)), `${what}: v1 ema`);
            continue;
          }
          assert.equal(rb[r], roll[r], `${what}: roll_bar = roll`);
          if (r === lo) {
            assert.ok(Object.is(e[r], bar[j!]) && Object.is(eb[r], bar[j!]), `${what}: seeded from the bar EMA`);
            continue;
          }
          assert.ok(Object.is(e[r], emaStep(e[r - 1], close[i], alpha, 1 - alpha)), `${what}: ema never snapped`);
          const wantBar = j !== undefined ? bar[j] : emaStep(eb[r - 1], close[i], alpha, 1 - alpha);
          assert.ok(Object.is(eb[r], wantBar), `${what}: ema_bar snaps on canonical rows, compounds between`);
        }
      }
    }
  }), { numRuns: RUNS });
});

test('property: derivatives (d1/d2 canonical-only and NULL on roll rows; *_roll over all rows; _bar twins)', () => {
  const check = (v: Float64Array, flag: Uint8Array | null, lo: number, hi: number, d1: Float64Array, d2: Float64Array, what: string) => {
    let pv = NaN;
    let pd = NaN;
    for (let r = lo; r < hi; r++) {
      if (flag && flag[r] !== 0) {
        assert.ok(Number.isNaN(d1[r]) && Number.isNaN(d2[r]), `${what} row ${r}: must be NULL on a roll row`);
        continue;
      }
      const a = v[r] - pv;
      assert.ok(Object.is(d1[r], a), `${what} d1 row ${r}: ${d1[r]} vs ${a}`);
      assert.ok(Object.is(d2[r], a - pd), `${what} d2 row ${r}`);
      pv = v[r];
      pd = a;
    }
  };
  fc.assert(fc.property(histArb, (h) => {
    for (const f of FAMILIES) {
      const b = run(f, h);
      const c = b.cols as Record<string, Float64Array & Uint8Array>;
      for (const [p, [lo, hi]] of groups(b)) {
        const w = `${f} p=${p}`;
        check(c.ema, null, lo, hi, c.d1_roll, c.d2_roll, `${w} *_roll`);
        check(c.ema, c.roll, lo, hi, c.d1, c.d2, `${w} d1/d2`);
        if (hi - lo >= 1) assert.ok(Number.isNaN(c.d1_roll[lo]) && Number.isNaN(c.d1[lo]), `${w}: first row has no d1`);
        if (isDual(f)) {
          check(c.ema_bar, null, lo, hi, c.d1_roll_bar, c.d2_roll_bar, `${w} *_roll_bar`);
          check(c.ema_bar, c.roll_bar, lo, hi, c.d1_bar, c.d2_bar, `${w} d1_bar/d2_bar`);
        }
      }
    }
  }), { numRuns: RUNS });
});

test('property: prefix stability — a prefix of the history gives the full run\'s rows up to its end', () => {
  fc.assert(fc.property(histArb, fc.nat(), (h, cut) => {
    const n = h.daily.ts.length;
    const m = cut % (n + 1);
    const ph = prefix(h, m);
    const endTs = m > 0 ? h.daily.ts[m - 1] : -Infinity;
    for (const f of FAMILIES) {
      const full = run(f, h);
      const part = run(f, ph);
      const gf = groups(full);
      const gp = groups(part);
      for (const p of h.periods) {
        const [plo, phi] = gp.get(p) ?? [0, 0];
        const [flo, fhi] = gf.get(p) ?? [0, 0];
        let want = 0;
        for (let r = flo; r < fhi && (full.cols.ts as Float64Array)[r] <= endTs; r++) want++;
        // v2's guard looks at the whole history: a prefix too short for it emits nothing for that period.
        if (f === 'v2' && !v2Guard(m, h.tf.daysNominal, p)) want = 0;
        assert.equal(phi - plo, want, `${f} p=${p} prefix ${m}/${n}: rows`);
        for (let r = 0; r < want; r++) sameRow(part, plo + r, full, flo + r, `${f} p=${p} prefix ${m}/${n}`);
      }
    }
  }), { numRuns: RUNS });
});

test('property: fromTs emits exactly the full run\'s rows with ts ≥ fromTs', () => {
  fc.assert(fc.property(histArb, fc.nat(), fc.boolean(), (h, pick, onRow) => {
    const n = h.daily.ts.length;
    if (n === 0) return;
    // A day's close instant, or an instant between days.
    const fromTs = h.daily.ts[pick % n] - (onRow ? 0 : DAY / 2);
    for (const f of FAMILIES) {
      const full = run(f, h);
      const tail = run(f, h, h.periods, { fromTs });
      const fts = full.cols.ts as Float64Array;
      let r = 0;
      for (let i = 0; i < full.length; i++) {
        if (fts[i] < fromTs) continue;
        sameRow(tail, r++, full, i, `${f} fromTs`);
      }
      assert.equal(tail.length, r, `${f}: tail rows`);
    }
  }), { numRuns: RUNS });
});

test('property: several periods in one call = one call per period, concatenated in the order asked', () => {
  fc.assert(fc.property(histArb, (h) => {
    for (const f of FAMILIES) {
      const all = run(f, h);
      let off = 0;
      for (const p of h.periods) {
        const one = run(f, h, p);
        for (let r = 0; r < one.length; r++) sameRow(all, off + r, one, r, `${f} p=${p}`);
        off += one.length;
      }
      assert.equal(all.length, off);
    }
  }), { numRuns: 60 });
});

test('property: for 1D, v1 (every day canonical) and v2 (d = 1) are the same series', () => {
  fc.assert(fc.property(histArb, (h0) => {
    const h = { ...h0, tf: { tf: '1D', daysNominal: 1 } };
    const v1 = emaV1(h.daily, h.daily, h.tf, h.periods);
    const guarded = h.periods.filter((p) => v2Guard(h.daily.ts.length, 1, p));
    const v2 = emaV2(h.daily, h.tf, guarded);
    const v1g = emaV1(h.daily, h.daily, h.tf, guarded);
    assert.equal(v2.length, v1g.length);
    for (let r = 0; r < v2.length; r++) sameRow(v2, r, v1g, r, '1D v1 vs v2');
    assert.ok((v1.cols.roll as Uint8Array).every((x) => x === 0), '1D: every row canonical');
  }), { numRuns: 80 });
});

test('property: anchor with is_partial_end flags that agree with the canonical set = without flags', () => {
  fc.assert(fc.property(histArb, (h) => {
    const flags = new Uint8Array(h.daily.ts.length).fill(1);
    for (const i of h.canonRows) flags[i] = 0;
    assert.deepEqual(emaAnchor(h.daily, h.canon, h.tf, h.periods, { isPartialEnd: flags }), run('anchor', h));
  }), { numRuns: 60 });
});

// ---- edge cases the generators do not reach -----------------------------------------------------------------------

const day = (k: number) => (19_000 + k + 1) * DAY - 1;

test('anchor: roll_bar follows is_partial_end off the canonical days; d1_bar/d2_bar use roll_bar', () => {
  const daily = { id: 1, ts: Float64Array.from([0, 1, 2, 3, 4, 5], day), close: Float64Array.from([1, 2, 3, 4, 5, 6]) };
  const canon = { ts: Float64Array.from([day(1), day(3)]), close: Float64Array.from([2, 4]) };
  const flags = Uint8Array.from([1, 1, 0, 1, 0, 1]); // day 2 and day 4 flagged complete although not canonical
  const b = emaAnchor(daily, canon, { tf: 'T', daysNominal: 2 }, 1, { isPartialEnd: flags });
  assert.deepEqual(Array.from(b.cols.roll as Uint8Array), [0, 1, 0, 1, 1]);
  assert.deepEqual(Array.from(b.cols.roll_bar as Uint8Array), [0, 0, 0, 0, 1]);
  const eb = b.cols.ema_bar as Float64Array;
  assert.equal(eb[2], 4, 'snaps only on canonical days');
  assert.ok(Object.is((b.cols.d1_bar as Float64Array)[1], eb[1] - eb[0]));
  assert.ok(Number.isNaN((b.cols.d1_bar as Float64Array)[4]));
});

test('a canonical close off the daily grid: v1 and anchor use it in the bar EMA, cal ignores it', () => {
  // Daily days 0,1,3,4 (day 2 missing); canonical closes on days 1, 2 (off grid) and 4.
  const daily = { id: 1, ts: Float64Array.from([0, 1, 3, 4], day), close: Float64Array.from([10, 20, 30, 40]) };
  const canon = { ts: Float64Array.from([day(1), day(2), day(4)]), close: Float64Array.from([20, 26, 40]) };
  const tf = { tf: 'T', daysNominal: 1 };
  const v1 = emaV1(daily, canon, tf, 2);
  // Bar EMA seeds on day 2 (23) with no daily row; day 3 previews from it, day 4 is the next bar close.
  assert.deepEqual(Array.from(v1.cols.ts as Float64Array), [day(3), day(4)]);
  assert.deepEqual(Array.from(v1.cols.ema as Float64Array), [30 * (2 / 3) + 23 * (1 - 2 / 3), 40 * (2 / 3) + 23 * (1 - 2 / 3)]);
  const anchor = emaAnchor(daily, canon, tf, 2);
  assert.deepEqual(Array.from(anchor.cols.ts as Float64Array), [day(4)], 'seeds on the next on-grid canonical day');
  const cal = emaCal(daily, canon.ts, tf, 2);
  assert.deepEqual(Array.from(cal.cols.ts as Float64Array), [day(4)], 'cal: closes of days 1 and 4 only');
  assert.equal((cal.cols.ema_bar as Float64Array)[0], 20 / 2 + 40 / 2);
});

test('bad input is refused with an error naming what and where', () => {
  const tf = { tf: '7D', daysNominal: 7 };
  const daily = { id: 3, ts: Float64Array.from([day(1), day(0)]), close: Float64Array.from([1, 2]) };
  assert.throws(() => emaV2(daily, tf, 1), /ema v2 id 3 tf 7D: daily: ts must be strictly ascending.*ts\[1\]/);
  const ok = { id: 3, ts: Float64Array.from([day(0), day(1)]), close: Float64Array.from([1, 2]) };
  assert.throws(() => emaV1(ok, { ts: Float64Array.from([day(1), day(1)]), close: Float64Array.from([1, 1]) }, tf, 1),
    /ema v1 id 3 tf 7D: canonical: ts must be strictly ascending/);
  assert.throws(() => emaCal(ok, new Float64Array(0), tf, [3, 3]), /period 3 requested twice/);
  assert.throws(() => emaCal(ok, new Float64Array(0), tf, 0), /positive integer/);
  assert.throws(() => emaAnchor(ok, ok, { tf: 'X', daysNominal: 0 }, 1), /daysNominal/);
  assert.throws(() => emaAnchor(ok, ok, tf, 1, { isPartialEnd: new Uint8Array(1) }), /isPartialEnd has 1 entries/);
  assert.throws(() => emaV2({ ...ok, n: 5 }, tf, 1), /does not fit/);
});

test('no history, no rows — and a well-formed empty batch', () => {
  const empty = { id: 1, ts: new Float64Array(0), close: new Float64Array(0) };
  const tf = { tf: '7D', daysNominal: 7 };
  for (const b of [emaV1(empty, empty, tf, [1, 2]), emaV2(empty, tf, 1), emaCal(empty, empty.ts, tf, 1), emaAnchor(empty, empty, tf, 1)]) {
    assert.equal(b.length, 0);
    assert.ok('ema' in b.cols && 'd2_roll' in b.cols);
  }
});
