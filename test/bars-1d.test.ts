// price_bars_1d kernel: reference/bars.md §4.1 repair / filter / reject rules and the §8.6 example,
// with SPEC B2's fix (a NULL market cap or volume is rejected with a reason, never dropped silently).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { build1d, dailyFrom1d, rawDailyFromRows, REJECT_REASONS } from '../src/compute/bars/daily1d.js';
import { priceBars1d, priceBars1dRejects } from '../src/schema/tables.js';
import { rowAt, type RowBatch } from '../src/columnar/columns.js';

const H = 3_600_000;
const day0 = (md: string): number => {
  const [m, d] = md.split('-').map(Number);
  return Date.UTC(2025, m - 1, d);
};
const close = (md: string): number => day0(md) + 86_400_000 - 1;

type Row = Parameters<typeof rawDailyFromRows>[1][number];
/** A clean CMC-like row on 2025-MM-DD; `over` replaces fields (null = NULL). */
function row(md: string, o: number, h: number, l: number, c: number, over: Partial<Row> = {}): Row {
  return {
    ts: close(md), timeOpen: day0(md), timeClose: close(md), timeHigh: day0(md) + 12 * H, timeLow: day0(md) + 6 * H,
    open: o, high: h, low: l, close: c, volume: 1000, marketCap: 50000, srcName: '2781', srcFile: 'x.csv',
    srcLoadTs: Date.UTC(2025, 3, 1), ...over,
  };
}

const all = (b: RowBatch) => Array.from({ length: b.length }, (_, i) => rowAt(b, i));

test('output columns = price_bars_1d minus ingested_at, rejects = price_bars_1d_rejects minus rejected_at', () => {
  const r = build1d(rawDailyFromRows(1, [row('03-01', 10, 12, 9, 11), row('03-02', 1, 2, 3, 4, { open: null })]));
  assert.deepEqual(Object.keys(r.bars.cols).sort(),
    priceBars1d.columns.map((c) => c.name).filter((n) => n !== 'ingested_at').sort());
  assert.deepEqual(Object.keys(r.rejects.cols).sort(),
    priceBars1dRejects.columns.map((c) => c.name).filter((n) => n !== 'rejected_at').sort());
});

test('§8.6 repair / reject example (SPEC B2: NULL market cap rejected with a reason)', () => {
  const raw = rawDailyFromRows(2, [
    row('03-01', 10, 12, 9, 11),
    row('03-02', 11, 15, 10, 13, { timeHigh: day0('03-03') + 2 * H }),
    row('03-03', 13, 14, 11, 12, { timeLow: null }),
    row('03-04', 12, 12.5, 11, 13),
    row('03-05', 0, 14, 12, 13, { open: null }),
    row('03-06', 13, 14, 12, 13, { marketCap: null }),
    row('03-07', 13, 0, 12, 14, { high: null }),
  ]);
  const r = build1d(raw);
  assert.deepEqual(r.counters, { upserted: 5, repairedTimehigh: 1, repairedTimelow: 1, rejected: 2 });

  const bars = all(r.bars);
  assert.deepEqual(bars.map((b) => b.bar_seq), [1, 2, 3, 4, 7], 'dense rank over all source rows: holes 5, 6');
  assert.deepEqual(bars.map((b) => b.ts), ['03-01', '03-02', '03-03', '03-04', '03-07'].map(close));
  const [b1, b2, b3, b4, b7] = bars;
  assert.deepEqual([b1.open, b1.high, b1.low, b1.close, b1.repaired_timehigh, b1.repaired_timelow], [10, 12, 9, 11, 0, 0]);
  // 03-02: time_high outside the day -> timeclose (close >= open) and high degraded to max(open, close) = 13.
  assert.deepEqual([b2.time_high, b2.high, b2.low, b2.repaired_timehigh, b2.repaired_timelow], [close('03-02'), 13, 10, 1, 0]);
  // 03-03: NULL timelow -> timeclose (close <= open), low = min(open, close) = 12.
  assert.deepEqual([b3.time_low, b3.low, b3.high, b3.repaired_timehigh, b3.repaired_timelow], [close('03-03'), 12, 14, 0, 1]);
  // 03-04: high 12.5 < close 13 -> re-clamped to 13 without a flag.
  assert.deepEqual([b4.high, b4.low, b4.repaired_timehigh, b4.repaired_timelow], [13, 11, 0, 0]);
  // 03-07: NULL high filled by GREATEST(NULL, 13, 14, 12) = 14 without a flag.
  assert.deepEqual([b7.high, b7.low, b7.repaired_timehigh], [14, 12, 0]);
  for (const b of bars) {
    assert.equal(b.tf, '1D');
    assert.deepEqual([b.is_partial_start, b.is_partial_end, b.is_missing_days], [0, 0, 0]);
    assert.equal(b.src_file, 'x.csv');
    assert.equal(b.src_name, '2781');
    assert.equal(b.src_load_ts, Date.UTC(2025, 3, 1));
  }

  const rej = all(r.rejects);
  assert.deepEqual(rej.map((x) => [x.ts, x.reason, x.bar_seq]), [
    [close('03-05'), 'null_open_close', 5],
    [close('03-06'), 'null_market_cap', 6],
  ]);
  assert.equal(rej[0].open, null);
  assert.equal(rej[1].market_cap, null);
  assert.equal(rej[1].src_file, 'x.csv');
});

test('reject reasons: first match in the reference order', () => {
  const cases: [Row, string][] = [
    [row('03-01', 1, 2, 1, 1, { ts: null }), 'null_pk'],
    [row('03-01', 1, 2, 1, 1, { timeOpen: null, open: null }), 'null_time_open_time_close'],
    [row('03-01', 1, 2, 1, 1, { timeClose: null }), 'null_time_open_time_close'],
    [row('03-01', 1, 2, 1, 1, { close: null, volume: null }), 'null_open_close'],
    [row('03-01', 1, 2, 1, 1, { volume: null, marketCap: null }), 'null_volume'],
    [row('03-01', 1, 2, 1, 1, { marketCap: null }), 'null_market_cap'],
    [row('03-01', 1, 2, 1, 1, { timeOpen: close('03-01') + 1 }), 'time_open_gt_time_close'],
  ];
  for (const [r, reason] of cases) {
    const out = build1d(rawDailyFromRows(7, [r]));
    assert.equal(out.bars.length, 0, reason);
    assert.equal(out.rejects.length, 1, reason);
    assert.equal(rowAt(out.rejects, 0).reason, reason);
  }
});

test('zero volume and zero market cap are valid data, not rejects', () => {
  const r = build1d(rawDailyFromRows(3, [
    row('03-01', 1, 2, 1, 1, { volume: 0 }), row('03-02', 1, 2, 1, 1, { marketCap: 0 }),
  ]));
  assert.equal(r.bars.length, 2);
  assert.equal(r.rejects.length, 0);
  assert.deepEqual(all(r.bars).map((b) => [b.volume, b.market_cap]), [[0, 50000], [1000, 0]]);
});

test('seqBase offsets bar_seq for a tail of the history', () => {
  const rows = [row('03-01', 1, 2, 1, 1), row('03-02', 1, 2, 1, 1, { open: null }), row('03-03', 1, 2, 1, 1)];
  const full = build1d(rawDailyFromRows(1, rows));
  const tail = build1d(rawDailyFromRows(1, rows.slice(1)), { seqBase: 1 });
  assert.deepEqual(all(tail.bars), all(full.bars).slice(1));
  assert.deepEqual(all(tail.rejects), all(full.rejects));
});

test('unsorted or duplicate ts is an error, not a silent re-rank', () => {
  assert.throws(() => build1d(rawDailyFromRows(1, [row('03-02', 1, 2, 1, 1), row('03-01', 1, 2, 1, 1)])), /not sorted/);
  assert.throws(() => build1d(rawDailyFromRows(1, [row('03-02', 1, 2, 1, 1), row('03-02', 1, 2, 1, 1)])), /duplicate ts/);
});

test('dailyFrom1d maps 1D rows to a DailySeries and refuses two rows on one day', () => {
  const r = build1d(rawDailyFromRows(9, [row('03-01', 10, 12, 9, 11), row('03-03', 11, 13, 10, 12)]));
  const s = dailyFrom1d(r.bars);
  assert.equal(s.id, 9);
  assert.equal(s.n, 2);
  assert.deepEqual([...s.day], [day0('03-01') / 86_400_000, day0('03-03') / 86_400_000]);
  assert.deepEqual([...s.close], [11, 12]);
  assert.deepEqual([...s.timeHigh], [day0('03-01') + 12 * H, day0('03-03') + 12 * H]);
  const twice = build1d(rawDailyFromRows(9, [row('03-01', 1, 2, 1, 1, { ts: day0('03-01') + H }), row('03-01', 1, 2, 1, 1)]));
  assert.throws(() => dailyFrom1d(twice.bars), /two rows on 2025-03-01/);
  assert.equal(dailyFrom1d({ length: 0, cols: {} }, 4).n, 0);
});

// Random raw rows with NULLs and out-of-window times anywhere.
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { freq: 6, nil: null });
const rawRowArb = fc.record({
  gapDays: fc.integer({ min: 1, max: 3 }),
  open: maybe(fc.integer({ min: 1, max: 20 })),
  high: maybe(fc.integer({ min: 1, max: 20 })),
  low: maybe(fc.integer({ min: 1, max: 20 })),
  close: maybe(fc.integer({ min: 1, max: 20 })),
  volume: maybe(fc.integer({ min: 0, max: 5 })),
  marketCap: maybe(fc.integer({ min: 0, max: 5 })),
  thHours: maybe(fc.integer({ min: -30, max: 50 })),
  tlHours: maybe(fc.integer({ min: -30, max: 50 })),
  nullOpenTime: fc.boolean(),
});

test('property: every source row is either a valid bar or a reject; counters and bar_seq consistent', () => {
  fc.assert(fc.property(fc.array(rawRowArb, { maxLength: 40 }), (spec) => {
    let d = Date.UTC(2024, 0, 1);
    const rows: Row[] = spec.map((s) => {
      d += s.gapDays * 86_400_000;
      return {
        ts: d + 86_400_000 - 1, timeOpen: s.nullOpenTime && s.open === 3 ? null : d, timeClose: d + 86_400_000 - 1,
        timeHigh: s.thHours === null ? null : d + s.thHours * H, timeLow: s.tlHours === null ? null : d + s.tlHours * H,
        open: s.open, high: s.high, low: s.low, close: s.close, volume: s.volume, marketCap: s.marketCap,
      };
    });
    const r = build1d(rawDailyFromRows(5, rows));
    assert.equal(r.bars.length + r.rejects.length, rows.length);
    assert.equal(r.counters.upserted, r.bars.length);
    assert.equal(r.counters.rejected, r.rejects.length);
    const bars = all(r.bars);
    const rej = all(r.rejects);
    // Together they cover each source day once, and bar_seq is the rank among all source rows.
    const byTs = new Map<number, number>();
    for (const x of [...bars, ...rej]) byTs.set(x.ts as number, x.bar_seq as number);
    assert.equal(byTs.size, rows.length);
    rows.forEach((row, i) => assert.equal(byTs.get(row.ts as number), i + 1));
    let th = 0;
    let tl = 0;
    for (const b of bars) {
      const [o, h, l, c] = [b.open, b.high, b.low, b.close] as number[];
      for (const k of ['open', 'high', 'low', 'close', 'volume', 'market_cap', 'time_high', 'time_low']) {
        assert.notEqual(b[k], null, k);
      }
      assert.ok(h >= Math.max(o, c, l) && l <= Math.min(o, c, h));
      assert.ok((b.time_open as number) <= (b.time_high as number) && (b.time_high as number) <= (b.time_close as number));
      assert.ok((b.time_open as number) <= (b.time_low as number) && (b.time_low as number) <= (b.time_close as number));
      th += b.repaired_timehigh as number;
      tl += b.repaired_timelow as number;
    }
    assert.equal(r.counters.repairedTimehigh, th);
    assert.equal(r.counters.repairedTimelow, tl);
    for (const x of rej) assert.ok((REJECT_REASONS as readonly string[]).includes(x.reason as string));
  }), { numRuns: 300 });
});
