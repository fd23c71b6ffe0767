// Pure parts of the feature matrix: pivots and golden zone against hand-computed cases, batching and batch
// ids, the retry policy and error classification, data-quality parsing, regime materialisation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dayNumber } from '../src/features/dates.js';
import { INPUT_COLUMNS } from '../src/features/fields.js';
import { flatInputFromObjects } from '../src/features/flatfile.js';
import { computeGoldenZone, swingOf, zigzag, zoneState } from '../src/compute/levels/index.js';
import { computePivots, floorLevels } from '../src/compute/levels/index.js';
import { checkQuality } from '../src/features/quality.js';
import { materialiseCalendar, parseRegimeCsv, BUILTIN_REGIMES_CSV } from '../src/features/regimes.js';
import { classifyError, RetryDeadlineError, PermanentError, withRetry, type RetryClock } from '../src/features/retry.js';
import { batchId, cutBatches, toRecord } from '../src/features/transform.js';
import { rollingVwap } from '../src/features/build.js';
import { UserError } from '../src/util/errors.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} ≉ ${b}`);

test('the input contract: the 44 recognised columns of ingest.md §1.2, then 17 technicals', () => {
  assert.equal(INPUT_COLUMNS.length, 61);
  assert.equal(new Set(INPUT_COLUMNS).size, 61);
  assert.ok(INPUT_COLUMNS.includes('golden_zone_state') && !INPUT_COLUMNS.includes('state'));
});

test('pivots: hand-computed floor levels, distances and the true previous ISO week', () => {
  // Fri 2023-12-29 (week of Dec 25), Wed–Fri Jan 3–5 (week of Jan 1), Mon Jan 8.
  const rows = [
    ['2023-12-29', 100, 1, 50],
    ['2024-01-03', 14, 7, 9],
    ['2024-01-04', 12, 8, 10],
    ['2024-01-05', 11, 9, 10.8],
    ['2024-01-08', 13, 10, 12],
  ] as const;
  const p = computePivots({
    day: Int32Array.from(rows, (r) => dayNumber(r[0])),
    high: Float64Array.from(rows, (r) => r[1]),
    low: Float64Array.from(rows, (r) => r[2]),
    close: Float64Array.from(rows, (r) => r[3]),
  });
  // First day: no previous session, and its previous week has no rows.
  for (const k of Object.keys(p) as (keyof typeof p)[]) assert.ok(Number.isNaN(p[k][0]), k);
  // Jan 3 from Dec 29: P = 151/3; price 9 is below it; previous week (Dec 25–31) = the Dec 29 row alone.
  close(p.P[1], 151 / 3);
  assert.equal(p.price_above_P[1], 0);
  close(p.weekly_pivot_distance[1], 151 / 3 - 9);
  // Jan 5 from Jan 4 (H 12, L 8, C 10): P 10, R1 12, S1 8, R2 14, S2 6; price 10.8 → nearest is M1 = 11.
  close(p.P[3], 10);
  close(p.R1[3], 12);
  close(p.S1[3], 8);
  close(p.R2[3], 14);
  close(p.S2[3], 6);
  close(p.distance_to_P[3], 0.8);
  close(p.distance_to_nearest_pivot[3], 0.2);
  assert.equal(p.price_above_P[3], 1);
  close(p.weekly_pivot_distance[3], Math.abs(10.8 - 151 / 3));
  // Jan 8 from Jan 5 (H 11, L 9, C 10.8): P = 30.8/3, nearest = R2 = P + 2.
  close(p.P[4], 30.8 / 3);
  close(p.distance_to_P[4], 12 - 30.8 / 3);
  close(p.distance_to_nearest_pivot[4], 30.8 / 3 + 2 - 12);
  // Previous ISO week Jan 1–7 = Jan 3..5: H 14, L 7, last C 10.8 → WP 10.6 (the Dec 29 row is not mixed in).
  close(p.weekly_pivot_distance[4], 1.4);
});

test('pivots: R/S ordering and the P formula hold for any H ≥ C ≥ L (property)', () => {
  fc.assert(fc.property(
    fc.double({ min: 1, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
    (L, a, b) => {
      const H = L * (1 + a);
      const C = L + (H - L) * b;
      const lv = floorLevels(H, L, C);
      close(lv.P * 3, H + L + C, 1e-12);
      assert.ok(lv.S2 <= lv.S1 + 1e-9 && lv.S1 <= lv.P + 1e-9 && lv.P <= lv.R1 + 1e-9 && lv.R1 <= lv.R2 + 1e-9);
    },
  ));
});

/** 50 daily closes: flat 100, up to 120, back to 112, sideways 111–112, a zone visit, and an exit at index 49. */
function zoneSeries(exitVolume: number, reflect = false) {
  const c: number[] = [];
  for (let i = 0; i < 20; i++) c.push(100);
  c.push(104, 108, 112, 116, 118, 120); // 20..25
  c.push(118, 116, 114, 112); // 26..29
  for (let i = 30; i < 45; i++) c.push(i % 2 ? 112 : 111);
  c.push(109, 108, 107, 108.5, 111, 112); // 45..50
  const v = c.map((_, i) => (i < 40 ? 1000 : i < 45 ? 1000 - (i - 40) * 100 : 500));
  v[49] = exitVolume;
  v[50] = 1000;
  const closes = reflect ? c.map((x) => 220 - x) : c;
  const base = dayNumber('2024-03-01');
  return {
    day: Int32Array.from(closes, (_, i) => base + i), close: Float64Array.from(closes), volume: Float64Array.from(v),
  };
}

test('golden zone: zig-zag pivots, swing, fib levels and our state rule on a hand-built up swing', () => {
  const s = zoneSeries(3000);
  // 6 % zig-zag: the anchor (index 0) becomes a low when 108 ≥ 106; the high 120 (index 25) is confirmed when 112 ≤ 112.8.
  assert.deepEqual(zigzag(s.close, 0, 49), [{ index: 0, kind: 'low' }, { index: 25, kind: 'high' }]);
  const sw = swingOf(s.close, 0, 49)!;
  assert.equal(sw.up, true);
  assert.equal(sw.low, 100);
  assert.equal(sw.high, 120);
  close(sw.fib50, 110);
  close(sw.fib618, 120 - 0.618 * 20);
  const gz = computeGoldenZone(s);
  // Fewer than 40 points in the window: no result.
  assert.ok(Number.isNaN(gz.state[38]) && Number.isNaN(gz.fib_50[38]));
  assert.equal(gz.state[39], 0);
  assert.deepEqual([45, 46, 47, 48, 49, 50].map((t) => gz.state[t]), [1, 1, 2, 1, 0, 0]);
  close(gz.fib_618[45], 107.64);
  assert.equal(gz.swing_high[45], 120);
  assert.equal(gz.swing_low[45], 100);
  // Volume 1000, 900, 800, 700, 600 over the 5 bars before the visit began (index 45): slope −100.
  for (const t of [45, 47, 49]) close(gz.vol_decay_slope[t], -100);
  assert.ok(Number.isNaN(gz.vol_decay_slope[44]) && Number.isNaN(gz.vol_decay_slope[50]));
  // Exit above fib_50 on 3000 ≥ 1.5 × 850 (mean of bars 29..48) after decaying volume: qualified.
  assert.deepEqual([44, 45, 48, 49, 50].map((t) => gz.qualified_trigger[t]), [0, 0, 0, 1, 0]);
  // Same exit without the volume spike: not qualified.
  assert.equal(computeGoldenZone(zoneSeries(1200)).qualified_trigger[49], 0);
});

test('golden zone: a down swing mirrors the rule', () => {
  const gz = computeGoldenZone(zoneSeries(3000, true));
  assert.equal(gz.swing_high[45], 120);
  assert.equal(gz.swing_low[45], 100);
  close(gz.fib_50[45], 110);
  close(gz.fib_618[45], 100 + 0.618 * 20);
  assert.deepEqual([44, 45, 46, 47, 48, 49].map((t) => gz.state[t]), [0, 1, 1, 2, 1, 0]);
  assert.equal(gz.qualified_trigger[49], 1);
});

test('golden zone: state is 0/1/2 exactly per the documented bands (property)', () => {
  fc.assert(fc.property(
    fc.double({ min: 1, max: 1000, noNaN: true }), fc.double({ min: 0.01, max: 2, noNaN: true }), fc.boolean(),
    fc.double({ min: -1, max: 2, noNaN: true }),
    (low, rel, up, u) => {
      const high = low * (1 + rel);
      const r = high - low;
      const sw = { lowIdx: up ? 0 : 1, highIdx: up ? 1 : 0, low, high, up, fib50: up ? high - 0.5 * r : low + 0.5 * r, fib618: up ? high - 0.618 * r : low + 0.618 * r };
      const price = low + u * r;
      const st = zoneState(price, sw);
      const [a, b] = [Math.min(sw.fib50, sw.fib618), Math.max(sw.fib50, sw.fib618)];
      if (price >= a && price <= b) assert.equal(st, 1);
      else if (up ? price >= low && price < a : price > b && price <= high) assert.equal(st, 2);
      else assert.equal(st, 0);
    },
  ));
});

test('rolling VWAP over 20 bars, NULL before the window fills', () => {
  const c = Float64Array.from({ length: 25 }, (_, i) => 10 + i);
  const v = Float64Array.from({ length: 25 }, (_, i) => 1 + (i % 3));
  const w = rollingVwap(c, v);
  assert.ok(Number.isNaN(w[18]));
  let pv = 0;
  let vv = 0;
  for (let i = 5; i <= 24; i++) {
    pv += c[i] * v[i];
    vv += v[i];
  }
  close(w[24], pv / vv);
});

const regime = { name: 'r', weight: 100, validFrom: null, validTo: null };
function recs(n: number, dates: (i: number) => string, sym = 'X') {
  const { rows } = checkQuality(flatInputFromObjects('t', Array.from({ length: n }, (_, i) => ({ symbol: sym, data_date: dates(i), close: i }))));
  return rows.map((r) => toRecord(r, regime));
}

test('batches: consecutive, within both limits, covering every row once (property); ids deterministic', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 5 }),
    (n, size, maxDates, perDate) => {
      const rows = recs(n, (i) => `2024-01-${String(1 + (Math.floor(i / perDate) % 28)).padStart(2, '0')}`);
      const b = cutBatches(rows, { batchSize: size, maxDatesPerBatch: maxDates });
      assert.deepEqual(b.flatMap((x) => x.rows), rows);
      for (const x of b) {
        assert.ok(x.rows.length <= size && x.distinctDates <= maxDates && x.rows.length > 0);
        assert.equal(new Set(x.rows.map((r) => r.data_date)).size, x.distinctDates);
      }
      assert.deepEqual(b.map((x) => x.index), b.map((_, i) => i + 1));
    },
  ), { numRuns: 60 });
  const a = cutBatches(recs(30, (i) => `2024-02-${String(1 + i % 28).padStart(2, '0')}`), { batchSize: 10, maxDatesPerBatch: 100 });
  const again = cutBatches(recs(30, (i) => `2024-02-${String(1 + i % 28).padStart(2, '0')}`), { batchSize: 10, maxDatesPerBatch: 100 });
  assert.deepEqual(a.map((x) => x.id), again.map((x) => x.id));
  assert.equal(new Set(a.map((x) => x.id)).size, 3);
  // The id covers content but not the load time.
  const r = recs(3, (i) => `2024-02-0${i + 1}`);
  const id = batchId(r);
  assert.equal(batchId(r.map((x) => ({ ...x, ingestion_ts: '2030-01-01T00:00:00.000Z' }))), id);
  assert.notEqual(batchId(r.map((x, i) => (i === 1 ? { ...x, market_data: { ...x.market_data, close: 1.5 } } : x))), id);
  assert.notEqual(batchId(r.map((x) => ({ ...x, regime: { ...x.regime, weight: 7 } }))), id);
});

function fakeClock(rand = 0.5): RetryClock & { t: number; sleeps: number[] } {
  const c = {
    t: 0, sleeps: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => { c.sleeps.push(ms); c.t += ms; },
    random: () => rand,
  };
  return c;
}

const transient = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

test('retry: full-jitter exponential backoff, transient only, then success', async () => {
  const clock = fakeClock(0.5);
  let calls = 0;
  const r = await withRetry(async () => {
    if (++calls <= 3) throw transient();
    return 'ok';
  }, { initialMs: 1000, maxMs: 60_000, multiplier: 2, deadlineMs: 300_000 }, clock);
  assert.deepEqual(r, { value: 'ok', attempts: 4 });
  assert.deepEqual(clock.sleeps, [500, 1000, 2000]);
});

test('retry: a permanent error is never retried', async () => {
  const clock = fakeClock();
  let calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw Object.assign(new Error('null value in column "symbol" violates not-null constraint'), { code: '23502' });
    }, undefined, clock),
    (e: unknown) => e instanceof PermanentError && e.attempts === 1,
  );
  assert.equal(calls, 1);
  assert.deepEqual(clock.sleeps, []);
});

test('retry: sleeps stay within [0, min(initial·2ⁿ, max)] and the deadline is never passed (property)', async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 40 }),
    fc.integer({ min: 100, max: 5000 }), fc.integer({ min: 1000, max: 100_000 }),
    async (rands, initialMs, deadlineMs) => {
      let k = 0;
      const clock = fakeClock();
      clock.random = () => rands[k++ % rands.length];
      const policy = { initialMs, maxMs: 4 * initialMs, multiplier: 2, deadlineMs };
      // Each attempt takes 50 ms, as a real one takes some time; with zero sleeps the clock would never move.
      const starts: number[] = [];
      const err = await withRetry(async () => {
        starts.push(clock.t);
        clock.t += 50;
        throw transient();
      }, policy, clock).then(() => null, (e) => e);
      assert.ok(err instanceof RetryDeadlineError);
      assert.equal(err.attempts, clock.sleeps.length + 1);
      clock.sleeps.forEach((s, n) => assert.ok(s >= 0 && s <= Math.min(initialMs * 2 ** n, 4 * initialMs)));
      // The deadline is checked between attempts (an attempt is never interrupted): no attempt starts after it.
      assert.ok(starts.every((t) => t <= deadlineMs));
    },
  ), { numRuns: 50 });
});

test('error classification: transient vs permanent', () => {
  const T = [
    Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), Object.assign(new Error('x'), { code: 'ETIMEDOUT' }),
    Object.assign(new Error('could not serialize access'), { code: '40001' }), Object.assign(new Error('deadlock detected'), { code: '40P01' }),
    Object.assign(new Error('x'), { code: '08006' }), new Error('Connection terminated unexpectedly'),
    new Error('TransactionContext Error: Catalog write-write conflict on alter with "t"'),
    new Error('IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held'), new Error('query timed out'),
  ];
  const P = [
    Object.assign(new Error('duplicate key'), { code: '23505' }), Object.assign(new Error('column "x" does not exist'), { code: '42703' }),
    Object.assign(new Error('invalid input syntax for type double precision'), { code: '22P02' }),
    new Error('Constraint Error: NOT NULL constraint failed: ml_feature_matrix.symbol'),
    new Error('Binder Error: ON CONFLICT DO UPDATE can not update'), new Error('Conversion Error: Could not convert string'),
    new Error('something unexpected'),
  ];
  for (const e of T) assert.equal(classifyError(e).transient, true, e.message);
  for (const e of P) assert.equal(classifyError(e).transient, false, e.message);
});

test('quality: strict typing with row numbers; the original report shapes', () => {
  const input = flatInputFromObjects('t', [
    { symbol: 'A', data_date: '2024-01-02', close: '1.5', volume: 'abc', price_above_P: 'false', trump_mentions: '3', extra: 'x' },
    { symbol: 'A', data_date: '2024-01-03T10:00:00', close: 'NaN', P: '-Infinity', trump_mentions: '2.7', price_above_P: 'yes' },
    { symbol: 'A', data_date: '2024-01-02', close: Infinity, golden_zone_state: '3', timestamp: '2024-01-02 10:00' },
    { symbol: '', data_date: '2024-02-30', close: true, timestamp: 'yesterday' },
  ]);
  const { report: r, rows } = checkQuality(input);
  assert.equal(r.overall_valid, false);
  assert.deepEqual(r.ignored_columns, ['extra']);
  assert.deepEqual(r.required_fields, { missing_fields: [], null_counts: { symbol: 1, data_date: 0 }, null_rows: [{ row: 4, column: 'symbol' }], is_valid: false });
  assert.deepEqual(r.non_finite.cells.map((c) => [c.row, c.column]), [[2, 'close'], [2, 'P'], [3, 'close']]);
  assert.deepEqual(r.non_numeric.cells.map((c) => [c.row, c.column]), [[1, 'volume'], [4, 'close']]);
  assert.deepEqual(r.invalid_values.cells.map((c) => [c.row, c.column]).sort(), [
    [2, 'price_above_P'], [2, 'trump_mentions'], [3, 'golden_zone_state'], [4, 'data_date'], [4, 'timestamp'],
  ].sort());
  assert.deepEqual(r.duplicates, {
    duplicate_count: 2, is_valid: false,
    duplicate_rows: [{ row: 1, symbol: 'A', data_date: '2024-01-02' }, { row: 3, symbol: 'A', data_date: '2024-01-02' }],
  });
  assert.equal(rows[0].values[INPUT_COLUMNS.indexOf('price_above_P') - 3], false, '"false" is false (D7)');
  assert.equal(rows[1].date, '2024-01-03');
  assert.equal(rows[2].timestamp, Date.parse('2024-01-02T10:00:00Z'), 'a naive time is UTC');
  const none = checkQuality(flatInputFromObjects('t', [{ close: 1 }])).report;
  assert.deepEqual(none.required_fields.missing_fields, ['symbol', 'data_date']);
  assert.deepEqual(none.date_range, { is_valid: false, error: 'No data_date column or empty input' });
  assert.deepEqual(none.duplicates, { is_valid: false, error: 'Missing required columns' });
  const bounded = checkQuality(flatInputFromObjects('t', [{ symbol: 'A', data_date: '1999-12-31' }, { symbol: 'A', data_date: '2000-01-01' }]), { minDate: '2000-01-01' }).report;
  assert.equal(bounded.date_range.is_valid, false);
  assert.ok('out_of_range_rows' in bounded.date_range && bounded.date_range.out_of_range_rows[0].row === 1);
});

test('regimes: narrower ranges win over the catch-all; bad files name the line', () => {
  const ranges = parseRegimeCsv(BUILTIN_REGIMES_CSV, 'builtin');
  const cal = materialiseCalendar(ranges);
  const at = (d: string) => cal.find((x) => x.date === d)!.regime;
  assert.equal(at('1950-06-01'), 'baseline');
  assert.equal(at('2025-01-19'), 'trump_anticipation_2024');
  assert.equal(at('2025-01-20'), 'trump_second_term');
  assert.equal(at('2029-01-21'), 'baseline');
  assert.equal(cal.length, dayNumber('2099-12-31') - dayNumber('1900-01-01') + 1);
  assert.throws(() => parseRegimeCsv('regime,start,end,weight\na,2024-01-01,2023-01-01,5\nb,2024-13-01,2024-12-01,x\n', 'f.csv'),
    (e: unknown) => e instanceof UserError && /f\.csv: line 2: end 2023-01-01 is before start/.test(e.message) && /line 3: start '2024-13-01'/.test(e.message));
  assert.throws(() => parseRegimeCsv('regime,start,weight\n', 'f.csv'), /line 1: missing column\(s\) end/);
  assert.throws(() => parseRegimeCsv('regime,start,end,weight\na,2024-01-01,2024-01-05,5\na,2024-02-01,2024-02-05,6\n', 'f.csv'), /line 3: regime a has weight 6 but line 2 gives 5/);
  assert.throws(() => materialiseCalendar(parseRegimeCsv('regime,start,end,weight\na,2024-01-01,2024-01-05,5\nb,2024-01-03,2024-01-07,6\n', 'f.csv'), 'f.csv'),
    /same length/);
});
