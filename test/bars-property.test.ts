// Property tests of the snapshot bar kernels over random daily histories with gaps.
//
// Two layers:
// 1. A deliberately naive oracle (Date-based calendar, every snapshot recomputed from scratch over its bar)
//    must equal the kernels on every column of every row.
// 2. The stated invariants (SPEC B3–B6, bars.md §4.6), checked directly on the kernel output, including
//    prefix stability: building on a prefix gives exactly the full build's rows up to the prefix end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { getTimeframe, type BarFamily, type Timeframe } from '../src/catalog/timeframes.js';
import { buildBarsForFamily } from '../src/compute/bars/index.js';
import { buildCalendar, buildRolling } from '../src/compute/bars/index.js';
import { dayCloseMs, type DailySeries } from '../src/compute/daily.js';
import { rowAt, type RowBatch } from '../src/columnar/columns.js';
import { makeSeries, sliceSeries, type HistorySpec } from './helpers/series.js';

const DAY = 86_400_000;
type Row = Record<string, number | string | null>;

// ---------------------------------------------------------------------------------------------------------
// Random histories

const specArb = (maxLen: number) => fc.record({
  // Starts before 1970 too: the grid must use floor division on negative day numbers.
  start: fc.integer({ min: -1200, max: 21000 }),
  len: fc.integer({ min: 1, max: maxLen }),
  gapPct: fc.constantFrom(0, 0, 5, 20, 50, 80),
  seed: fc.integer(),
});

// ---------------------------------------------------------------------------------------------------------
// Naive oracle, independent of src/compute/bars/calendar.ts: windows from Date objects.

function utcDay(y: number, m0: number, d: number): number {
  const x = new Date(0);
  x.setUTCFullYear(y, m0, d);
  return x.getTime() / DAY;
}

function naiveWindow(tf: Timeframe, day: number): { start: number; end: number } {
  const x = new Date(day * DAY);
  const n = tf.qty;
  if (tf.baseUnit === 'W') {
    const firstWeekday = tf.scheme === 'ISO' ? 1 : 0;
    const weekStart = day - ((x.getUTCDay() - firstWeekday + 7) % 7);
    const epoch = utcDay(1970, 0, tf.scheme === 'ISO' ? 5 : 4);
    const block = Math.floor((weekStart - epoch) / 7 / n);
    const start = epoch + block * 7 * n;
    return { start, end: start + 7 * n - 1 };
  }
  if (tf.baseUnit === 'M') {
    const mi = x.getUTCFullYear() * 12 + x.getUTCMonth();
    const first = Math.floor(mi / n) * n;
    const y = Math.floor(first / 12);
    return { start: utcDay(y, first - 12 * y, 1), end: utcDay(y, first - 12 * y + n, 1) - 1 };
  }
  const y0 = Math.floor(x.getUTCFullYear() / n) * n;
  return { start: utcDay(y0, 0, 1), end: utcDay(y0 + n, 0, 1) - 1 };
}

function missingRuns(present: Set<number>, from: number, to: number) {
  const missing: number[] = [];
  for (let d = from; d <= to; d++) if (!present.has(d)) missing.push(d);
  let startRun = 0;
  while (startRun < missing.length && missing[startRun] === from + startRun) startRun++;
  return { missing, startRun };
}

/** Snapshot of rows first..k (inclusive) of the bar, recomputed from scratch. */
function aggregate(s: DailySeries, first: number, k: number, timeOpen: number) {
  let high = NaN;
  let timeHigh = NaN;
  let low = NaN;
  let timeLow = NaN;
  let volume = 0;
  let marketCap = NaN;
  for (let i = first; i <= k; i++) {
    if (Number.isNaN(high) || s.high[i] > high) {
      high = s.high[i];
      timeHigh = Number.isNaN(s.timeHigh[i]) ? s.ts[i] : s.timeHigh[i];
    }
    if (Number.isNaN(low) || s.low[i] < low) {
      low = s.low[i];
      timeLow = Number.isNaN(s.timeLow[i]) ? s.ts[i] : s.timeLow[i];
    }
    if (!Number.isNaN(s.volume[i])) volume += s.volume[i];
    if (!Number.isNaN(s.marketCap[i])) marketCap = s.marketCap[i];
  }
  return {
    time_open: timeOpen, time_high: timeHigh, time_low: timeLow, open: s.open[first], high, low, close: s.close[k],
    volume, market_cap: Number.isNaN(marketCap) ? null : marketCap,
    time_close: s.ts[k], timestamp: s.ts[k], last_ts_half_open: s.ts[k] + 1,
  };
}

function missingCols(present: Set<number>, from: number, to: number, countStart: boolean) {
  const { missing, startRun } = missingRuns(present, from, to);
  const start = countStart ? startRun : 0;
  const interior = missing.length - start;
  const where = [start > 0 ? 'start' : null, interior > 0 ? 'interior' : null].filter(Boolean).join(',');
  return {
    is_missing_days: missing.length > 0 ? 1 : 0, count_missing_days: missing.length, count_missing_days_start: start,
    count_missing_days_end: 0, count_missing_days_interior: interior, missing_days_where: where || null,
    first_missing_day: missing.length ? dayCloseMs(missing[0]) : null,
    last_missing_day: missing.length ? dayCloseMs(missing[missing.length - 1]) : null,
  };
}

function oracleRolling(s: DailySeries, tf: Timeframe): Row[] {
  const N = tf.daysNominal;
  const present = new Set(s.day);
  const out: Row[] = [];
  for (let k = 0; k < s.n; k++) {
    const first = Math.floor(k / N) * N;
    const pos = k - first + 1;
    const timeOpen = first === 0 ? s.ts[0] - DAY + 1 : s.ts[first - 1] + 1;
    out.push({
      id: s.id, tf: tf.tf, bar_seq: Math.floor(k / N) + 1, tf_days: N, pos_in_bar: pos, count_days: s.day[k] - s.day[first] + 1,
      count_days_remaining: N - pos, is_partial_start: 0, is_partial_end: pos < N ? 1 : 0,
      ...aggregate(s, first, k, timeOpen), ...missingCols(present, s.day[first], s.day[k], false),
    });
  }
  return out;
}

function oracleCalendar(s: DailySeries, tf: Timeframe, anchored: boolean): Row[] {
  if (s.n === 0) return [];
  const F = s.day[0];
  const present = new Set(s.day);
  let base = naiveWindow(tf, F);
  if (!anchored && base.start !== F) base = naiveWindow(tf, base.end + 1);
  let first = 0;
  while (first < s.n && s.day[first] < base.start) first++;
  // bar_seq = windows stepped from the base window, counted one by one.
  const seqOf = new Map<number, number>();
  const seqFor = (start: number): number => {
    let seq = seqOf.get(start);
    if (seq === undefined) {
      seq = 1;
      for (let w = base; w.start < start; w = naiveWindow(tf, w.end + 1)) seq++;
      seqOf.set(start, seq);
    }
    return seq;
  };
  const out: Row[] = [];
  for (let k = first; k < s.n; k++) {
    const d = s.day[k];
    const w = naiveWindow(tf, d);
    let b = k;
    while (b > first && s.day[b - 1] >= w.start) b--;
    const effStart = Math.max(w.start, F);
    const timeOpen = b === first ? s.ts[b] - DAY + 1 : s.ts[b - 1] + 1;
    out.push({
      id: s.id, tf: tf.tf, bar_seq: seqFor(w.start), tf_days: w.end - w.start + 1,
      pos_in_bar: d - effStart + 1, count_days: d - effStart + 1, count_days_remaining: w.end - d,
      is_partial_start: w.start < F ? 1 : 0, is_partial_end: d < w.end ? 1 : 0,
      ...aggregate(s, b, k, timeOpen), ...missingCols(present, effStart, d, true),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Invariants on kernel output

function rowsOf(b: RowBatch): Row[] {
  return Array.from({ length: b.length }, (_, i) => rowAt(b, i));
}
const num = (v: number | string | null): number => v as number;
const dayOfRow = (r: Row): number => Math.floor(num(r.time_close) / DAY);

function familyOf(tf: Timeframe): BarFamily {
  if (tf.alignment === 'tf_day') return 'multi_tf';
  const iso = tf.scheme !== 'US';
  if (tf.calendarAnchor) return iso ? 'cal_anchor_iso' : 'cal_anchor_us';
  return iso ? 'cal_iso' : 'cal_us';
}

function checkInvariants(s: DailySeries, tf: Timeframe, rows: Row[]): void {
  const label = tf.tf;
  const present = new Set(s.day);
  const lastDay = s.n ? s.day[s.n - 1] : -Infinity;
  const bySeq = new Map<number, Row[]>();
  for (const r of rows) {
    const seq = num(r.bar_seq);
    if (!bySeq.has(seq)) bySeq.set(seq, []);
    bySeq.get(seq)!.push(r);
    // OHLC ordering.
    const [o, h, l, c] = [r.open, r.high, r.low, r.close].map(num);
    assert.ok(h >= Math.max(o, c) && Math.max(o, c) >= Math.min(o, c) && Math.min(o, c) >= l, `${label} OHLC`);
    assert.equal(r.timestamp, r.time_close);
    assert.equal(r.last_ts_half_open, num(r.time_close) + 1);
    assert.equal(num(r.count_days_remaining) === 0, r.is_partial_end === 0, `${label} remaining 0 iff canonical`);
    if (tf.alignment === 'calendar') {
      // count_days counts calendar days; the observed ones are exactly the days with rows (SPEC B6).
      const effStart = dayOfRow(r) - num(r.count_days) + 1;
      let observed = 0;
      for (let d = effStart; d <= dayOfRow(r); d++) if (present.has(d)) observed++;
      assert.equal(num(r.count_days) - num(r.count_missing_days), observed, `${label} observed days`);
      assert.equal(r.pos_in_bar, r.count_days);
    } else {
      // Rolling: count_days is still calendar days, pos_in_bar the row position (the days with rows).
      assert.equal(num(r.count_days) - num(r.count_missing_days), num(r.pos_in_bar), `${label} observed rows`);
    }
  }
  // bar_seq increases with time; a bar's rows are contiguous.
  for (let i = 1; i < rows.length; i++) {
    assert.ok(num(rows[i].bar_seq) >= num(rows[i - 1].bar_seq));
    assert.ok(num(rows[i].time_close) > num(rows[i - 1].time_close));
  }
  let canonicalTotal = 0;
  for (const [seq, bar] of bySeq) {
    const canon = bar.filter((r) => r.is_partial_end === 0);
    assert.ok(canon.length <= 1, `${label} bar ${seq}: at most one canonical row`);
    canonicalTotal += canon.length;
    if (canon.length) assert.equal(canon[0], bar[bar.length - 1], `${label}: canonical row is the bar's last`);
    for (let i = 1; i < bar.length; i++) {
      assert.ok(num(bar[i].high) >= num(bar[i - 1].high), `${label} high non-decreasing`);
      assert.ok(num(bar[i].low) <= num(bar[i - 1].low), `${label} low non-increasing`);
      assert.ok(num(bar[i].volume) >= num(bar[i - 1].volume), `${label} volume non-decreasing`);
      for (const k of ['time_open', 'open', 'tf_days', 'is_partial_start']) assert.equal(bar[i][k], bar[0][k], k);
    }
    const sumVol = (from: number, to: number) => {
      let v = 0;
      for (let i = 0; i < s.n; i++) if (s.day[i] >= from && s.day[i] <= to && !Number.isNaN(s.volume[i])) v += s.volume[i];
      return v;
    };
    if (tf.alignment === 'calendar') {
      // Canonical row exists iff the window's scheduled last day has data.
      const w = naiveWindow(tf, dayOfRow(bar[0]));
      if (w.end <= lastDay) assert.equal(canon.length, present.has(w.end) ? 1 : 0, `${label} bar ${seq} canonical`);
      else assert.equal(canon.length, 0);
      if (canon.length) assert.equal(canon[0].volume, sumVol(w.start, w.end), `${label} canonical volume`);
    } else {
      assert.equal(canon.length, bar.length === tf.daysNominal ? 1 : 0);
      if (canon.length) assert.equal(canon[0].volume, sumVol(dayOfRow(bar[0]), dayOfRow(bar[bar.length - 1])));
    }
  }
  // Row counts (bars.md §4.6).
  const n = s.n;
  if (tf.alignment === 'tf_day') {
    const N = tf.daysNominal;
    assert.equal(rows.length, n);
    assert.equal(bySeq.size, Math.ceil(n / N));
    assert.equal(canonicalTotal, Math.floor(n / N));
  } else if (tf.calendarAnchor) {
    assert.equal(rows.length, n);
    assert.ok(rows.every((r) => (r.is_partial_start === 1) === (num(r.bar_seq) === 1 && naiveWindow(tf, s.day[0]).start < s.day[0])));
  } else {
    let w = naiveWindow(tf, s.day[0]);
    if (w.start !== s.day[0]) w = naiveWindow(tf, w.end + 1);
    assert.equal(rows.length, s.day.filter((d) => d >= w.start).length, `${label} cal row count`);
    assert.ok(rows.every((r) => r.is_partial_start === 0));
    // bar_seq 1 = the first complete window, even when it holds no data (then the first row has seq 2+).
    if (rows.length) assert.equal(rows[0].bar_seq, seqFromStart(tf, w.start, dayOfRow(rows[0])));
  }
}

/** 1-based number of the window holding `day`, counting windows from the one starting at `start`. */
function seqFromStart(tf: Timeframe, start: number, day: number): number {
  let seq = 1;
  for (let w = naiveWindow(tf, start); w.end < day; w = naiveWindow(tf, w.end + 1)) seq++;
  return seq;
}

function checkAll(spec: HistorySpec, tfNames: string[]): void {
  const s = makeSeries(spec);
  const cut = 1 + (Math.abs(spec.seed) % s.n);
  const pre = sliceSeries(s, 0, cut);
  for (const name of tfNames) {
    const tf = getTimeframe(name)!;
    const family = familyOf(tf);
    const rows = rowsOf(buildBarsForFamily(s, family, [tf]));
    const exp = tf.alignment === 'tf_day' ? oracleRolling(s, tf) : oracleCalendar(s, tf, tf.calendarAnchor === true);
    assert.equal(rows.length, exp.length, `${name}: row count vs oracle`);
    for (let i = 0; i < rows.length; i++) {
      for (const [k, v] of Object.entries(exp[i])) {
        if (rows[i][k] !== v) assert.fail(`${name} row ${i} (day ${dayOfRow(rows[i])}) ${k}: got ${rows[i][k]}, oracle ${v}`);
      }
    }
    checkInvariants(s, tf, rows);
    // Prefix stability: what the incremental refresh relies on.
    const preRows = rowsOf(buildBarsForFamily(pre, family, [tf]));
    const cutTs = pre.ts[cut - 1];
    assert.deepEqual(preRows, rows.filter((r) => num(r.time_close) <= cutTs), `${name}: prefix stability at ${cut}`);
    // Months and years are identical in the ISO and US tables (SPEC B5).
    if (tf.alignment === 'calendar' && tf.baseUnit !== 'W') {
      const other: BarFamily = family.endsWith('iso') ? (tf.calendarAnchor ? 'cal_anchor_us' : 'cal_us')
        : (tf.calendarAnchor ? 'cal_anchor_iso' : 'cal_iso');
      assert.deepEqual(rowsOf(buildBarsForFamily(s, other, [tf])), rows);
    }
  }
}

const SHORT_TFS = [
  '2D', '3D', '7D', '10D', '30D',
  '1W_CAL_ISO', '1W_CAL_US', '2W_CAL_ISO', '2W_CAL_US', '10W_CAL_ISO', '1M_CAL', '3M_CAL', '9M_CAL',
  '1W_CAL_ANCHOR_ISO', '1W_CAL_ANCHOR_US', '3W_CAL_ANCHOR_ISO', '10W_CAL_ANCHOR_US', '1M_CAL_ANCHOR',
  '2M_CAL_ANCHOR', '6M_CAL_ANCHOR', '9M_CAL_ANCHOR',
];
const LONG_TFS = ['365D', '12M_CAL', '1Y_CAL', '2Y_CAL', '3Y_CAL', '12M_CAL_ANCHOR', '1Y_CAL_ANCHOR', '2Y_CAL_ANCHOR', '5Y_CAL_ANCHOR'];

test('property: kernels = naive oracle, invariants, prefix stability (day, week, month timeframes)', () => {
  fc.assert(fc.property(specArb(400), (spec) => checkAll(spec, SHORT_TFS)), { numRuns: 60 });
});

test('property: kernels = naive oracle, invariants, prefix stability (year timeframes, long histories)', () => {
  fc.assert(fc.property(specArb(2600), (spec) => checkAll(spec, LONG_TFS)), { numRuns: 12 });
});

test('property: every bar family at once (buildBarsForFamily) is prefix-stable', () => {
  const families: BarFamily[] = ['multi_tf', 'cal_iso', 'cal_us', 'cal_anchor_iso', 'cal_anchor_us'];
  const tfsOf = (f: BarFamily) => [...SHORT_TFS, ...LONG_TFS].map((n) => getTimeframe(n)!)
    .filter((tf) => familyOf(tf) === f || (tf.baseUnit !== 'W' && tf.baseUnit !== 'D' && (
      (f === 'cal_us' && tf.calendarAnchor === false) || (f === 'cal_anchor_us' && tf.calendarAnchor === true))));
  fc.assert(fc.property(specArb(900), fc.integer({ min: 1, max: 900 }), (spec, cutRaw) => {
    const s = makeSeries(spec);
    const cut = 1 + (cutRaw % s.n);
    const pre = sliceSeries(s, 0, cut);
    for (const f of families) {
      const tfs = tfsOf(f);
      assert.ok(tfs.length > 0);
      const full = rowsOf(buildBarsForFamily(s, f, tfs)).filter((r) => num(r.time_close) <= pre.ts[cut - 1]);
      assert.deepEqual(rowsOf(buildBarsForFamily(pre, f, tfs)), full, f);
    }
  }), { numRuns: 15 });
});

test('single-day and empty histories', () => {
  const one = makeSeries({ start: 20000, len: 1, gapPct: 0, seed: 1 });
  const empty = sliceSeries(one, 0, 0);
  for (const name of ['7D', '1W_CAL_ISO', '1W_CAL_ANCHOR_US', '1M_CAL_ANCHOR']) {
    const tf = getTimeframe(name)!;
    assert.equal(buildBarsForFamily(empty, familyOf(tf), [tf]).length, 0);
  }
  const r = rowAt(buildRolling(one, getTimeframe('1D')!), 0);
  assert.deepEqual([r.bar_seq, r.pos_in_bar, r.is_partial_end, r.count_days_remaining], [1, 1, 0, 0]);
});

test('§3.5 sanity pass repairs inconsistent daily input on output rows', () => {
  // o100 c110 h105 l120 with time_low after the close (bars.md §10 contract test).
  const s = makeSeries({ start: 20000, len: 1, gapPct: 0, seed: 3 });
  s.open[0] = 100;
  s.close[0] = 110;
  s.high[0] = 105;
  s.low[0] = 120;
  s.timeLow[0] = s.ts[0] + 5;
  for (const b of [buildRolling(s, getTimeframe('2D')!), buildCalendar(s, getTimeframe('1W_CAL_ANCHOR_ISO')!)]) {
    const r = rowAt(b, 0);
    assert.deepEqual([r.high, r.low, r.time_low], [110, 100, r.time_open]);
  }
  // NULL highs/lows in every day of a bar fall back to max/min(open, close).
  s.high[0] = NaN;
  s.low[0] = NaN;
  const r = rowAt(buildRolling(s, getTimeframe('2D')!), 0);
  assert.deepEqual([r.high, r.low], [110, 100]);
});
