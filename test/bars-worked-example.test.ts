// reference/bars.md §8.0–8.5 and §8.7 as fixtures: the 12-day series (2025-01-01 … 2025-01-13, 01-07
// missing) through build1d -> dailyFrom1d -> the five snapshot builders, every column checked.
//
// Where SPEC decides differently from the reference tables, the expected values below follow SPEC:
// - cal_iso / cal_us (SPEC B6): count_days = pos_in_bar = CALENDAR days from the window start to the
//   snapshot day (bars.md §8.2/8.3 show observed days: 2 on 01-08 becomes 3 here), and missing_days_where
//   holds flags ("interior") instead of the date list "2025-01-07".
// - Columns the reference leaves to R (bars.md §8.1 "How to read"): timestamp = time_close,
//   last_ts_half_open = time_close + 1 ms, pos_in_bar (rolling: row position; cal/anchor: count_days),
//   first/last_missing_day = close instant of 2025-01-07 while a row's range contains it.
// Everything else is the reference output verbatim.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getTimeframe, type BarFamily, type Timeframe } from '../src/catalog/timeframes.js';
import { build1d, dailyFrom1d, rawDailyFromRows } from '../src/compute/bars/daily1d.js';
import { buildBarsForFamily, SNAPSHOT_OUTPUT_COLUMNS } from '../src/compute/bars/index.js';
import { buildCalendar, buildRolling } from '../src/compute/bars/index.js';
import type { DailySeries } from '../src/compute/daily.js';
import { rowAt, type RowBatch } from '../src/columnar/columns.js';

const ID = 1;

/** 2025-MM-DD [HH:MM[:SS.mmm]] (UTC) -> epoch ms. */
function t(md: string, hm = '00:00'): number {
  const [mo, d] = md.split('-').map(Number);
  const [h, mi, sec] = hm.split(':');
  const [s, ms] = (sec ?? '0').split('.');
  return Date.UTC(2025, mo - 1, d, Number(h), Number(mi), Number(s), Number(ms ?? 0));
}
const closeOf = (md: string): number => t(md, '23:59:59.999');

// §8.0 input: day, open, high, low, close, volume, marketcap, timehigh, timelow.
const INPUT: [string, number, number, number, number, number, number, string, string][] = [
  ['01-01', 100, 110, 95, 105, 1000, 10000, '14:00', '03:00'],
  ['01-02', 105, 112, 101, 108, 1100, 10100, '09:00', '20:00'],
  ['01-03', 108, 112, 104, 106, 900, 10200, '16:00', '02:00'],
  ['01-04', 106, 109, 99, 100, 800, 10300, '01:00', '22:00'],
  ['01-05', 100, 104, 97, 103, 700, 10400, '18:00', '05:00'],
  ['01-06', 103, 115, 102, 114, 1500, 10500, '21:00', '01:00'],
  ['01-08', 114, 118, 110, 111, 1600, 10600, '10:00', '23:00'],
  ['01-09', 111, 113, 96, 98, 1700, 10700, '00:30', '19:00'],
  ['01-10', 98, 101, 96, 100, 1200, 10800, '12:00', '04:00'],
  ['01-11', 100, 107, 99, 106, 1000, 10900, '15:00', '02:00'],
  ['01-12', 106, 108, 103, 104, 900, 11000, '08:00', '17:00'],
  ['01-13', 104, 111, 104, 110, 1300, 11100, '23:00', '00:10'],
];
// §8.7 increment.
const INCREMENT: typeof INPUT = [
  ['01-14', 110, 116, 108, 115, 1400, 11200, '11:00', '06:00'],
  ['01-15', 115, 117, 100, 101, 2000, 11300, '13:00', '21:00'],
];

function rawOf(rows: typeof INPUT) {
  return rawDailyFromRows(ID, rows.map(([md, o, h, l, c, v, mc, th, tl]) => ({
    ts: closeOf(md), timeOpen: t(md), timeClose: closeOf(md), timeHigh: t(md, th), timeLow: t(md, tl),
    open: o, high: h, low: l, close: c, volume: v, marketCap: mc, srcName: '2781', srcFile: 'btc.csv',
    srcLoadTs: Date.UTC(2025, 0, 20),
  })));
}

function seriesOf(rows: typeof INPUT): DailySeries {
  const r = build1d(rawOf(rows));
  assert.equal(r.rejects.length, 0);
  return dailyFrom1d(r.bars);
}

const COLS = [
  'bar_seq', 'day', 'time_open', 'time_high', 'time_low', 'open', 'high', 'low', 'close', 'volume', 'market_cap',
  'tf_days', 'is_partial_start', 'is_partial_end', 'is_missing_days', 'count_days', 'count_days_remaining',
  'count_missing_days', 'start/end/interior', 'missing_days_where', 'pos_in_bar', 'first_missing_day',
  'last_missing_day',
] as const;

/** Parse a fixture table (columns = COLS) into full expected rows of the snapshot tables. */
function expected(tf: string, table: string): Record<string, number | string | null>[] {
  return table.trim().split('\n').map((line) => {
    const f = line.split('|').map((x) => x.trim());
    assert.equal(f.length, COLS.length, `fixture row has ${f.length} fields: ${line}`);
    const v = Object.fromEntries(COLS.map((k, i) => [k, f[i]])) as Record<(typeof COLS)[number], string>;
    const timeOf = (s: string): number => {
      const [md, hm] = s.split(' ');
      return t(md, hm);
    };
    const num = (s: string): number => Number(s);
    const bool = (s: string): number => (s === 'T' ? 1 : s === 'F' ? 0 : NaN);
    const nullable = (s: string, fn: (x: string) => number | string): number | string | null =>
      (s === 'NULL' ? null : fn(s));
    const [ms, me, mi] = v['start/end/interior'].split('/').map(Number);
    const tc = closeOf(v.day);
    return {
      id: ID, tf, bar_seq: num(v.bar_seq), time_close: tc, tf_days: num(v.tf_days), time_open: timeOf(v.time_open),
      time_high: timeOf(v.time_high), time_low: timeOf(v.time_low), open: num(v.open), high: num(v.high),
      low: num(v.low), close: num(v.close), volume: num(v.volume), market_cap: num(v.market_cap),
      timestamp: tc, last_ts_half_open: tc + 1, pos_in_bar: num(v.pos_in_bar),
      is_partial_start: bool(v.is_partial_start), is_partial_end: bool(v.is_partial_end),
      is_missing_days: bool(v.is_missing_days), count_days: num(v.count_days),
      count_days_remaining: num(v.count_days_remaining), count_missing_days: num(v.count_missing_days),
      count_missing_days_start: ms, count_missing_days_end: me, count_missing_days_interior: mi,
      missing_days_where: nullable(v.missing_days_where, (x) => x),
      first_missing_day: nullable(v.first_missing_day, closeOf), last_missing_day: nullable(v.last_missing_day, closeOf),
    };
  });
}

function rows(batch: RowBatch): Record<string, number | string | null>[] {
  return Array.from({ length: batch.length }, (_, i) => rowAt(batch, i));
}

function assertTable(actual: RowBatch, exp: Record<string, number | string | null>[]): void {
  assert.deepEqual(Object.keys(actual.cols), [...SNAPSHOT_OUTPUT_COLUMNS]);
  const got = rows(actual);
  assert.equal(got.length, exp.length, 'row count');
  for (let i = 0; i < exp.length; i++) {
    for (const [k, v] of Object.entries(exp[i])) {
      assert.deepEqual(got[i][k], v, `row ${i} (${new Date(got[i].time_close as number).toISOString()}) column ${k}`);
    }
  }
}

const tfOf = (name: string): Timeframe => {
  const tf = getTimeframe(name);
  assert.ok(tf, name);
  return tf;
};

// bar_seq | day | time_open | time_high | time_low | O | H | L | C | V | MC | tf_days | ps | pe | md |
// count_days | remaining | missing | start/end/interior | where | pos_in_bar | first_missing | last_missing
// 7D 01-08: SPEC B6 makes count_days calendar days in every family (8: 01-01 … 01-08, 01-07 missing); the
// reference's rolling count_days is the row position, which stays in pos_in_bar (7).
const FIXTURES: { tf: string; family: BarFamily; table: string }[] = [
  {
    tf: '7D', family: 'multi_tf', table: `
1 | 01-01 | 01-01 00:00:00.000 | 01-01 14:00 | 01-01 03:00 | 100 | 110 | 95 | 105 | 1000 | 10000 | 7 | F | T | F | 1 | 6 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
1 | 01-02 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 108 | 2100 | 10100 | 7 | F | T | F | 2 | 5 | 0 | 0/0/0 | NULL | 2 | NULL | NULL
1 | 01-03 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 106 | 3000 | 10200 | 7 | F | T | F | 3 | 4 | 0 | 0/0/0 | NULL | 3 | NULL | NULL
1 | 01-04 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 100 | 3800 | 10300 | 7 | F | T | F | 4 | 3 | 0 | 0/0/0 | NULL | 4 | NULL | NULL
1 | 01-05 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 103 | 4500 | 10400 | 7 | F | T | F | 5 | 2 | 0 | 0/0/0 | NULL | 5 | NULL | NULL
1 | 01-06 | 01-01 00:00:00.000 | 01-06 21:00 | 01-01 03:00 | 100 | 115 | 95 | 114 | 6000 | 10500 | 7 | F | T | F | 6 | 1 | 0 | 0/0/0 | NULL | 6 | NULL | NULL
1 | 01-08 | 01-01 00:00:00.000 | 01-08 10:00 | 01-01 03:00 | 100 | 118 | 95 | 111 | 7600 | 10600 | 7 | F | F | T | 8 | 0 | 1 | 0/0/1 | interior | 7 | 01-07 | 01-07
2 | 01-09 | 01-09 00:00:00.000 | 01-09 00:30 | 01-09 19:00 | 111 | 113 | 96 | 98 | 1700 | 10700 | 7 | F | T | F | 1 | 6 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
2 | 01-10 | 01-09 00:00:00.000 | 01-09 00:30 | 01-09 19:00 | 111 | 113 | 96 | 100 | 2900 | 10800 | 7 | F | T | F | 2 | 5 | 0 | 0/0/0 | NULL | 2 | NULL | NULL
2 | 01-11 | 01-09 00:00:00.000 | 01-09 00:30 | 01-09 19:00 | 111 | 113 | 96 | 106 | 3900 | 10900 | 7 | F | T | F | 3 | 4 | 0 | 0/0/0 | NULL | 3 | NULL | NULL
2 | 01-12 | 01-09 00:00:00.000 | 01-09 00:30 | 01-09 19:00 | 111 | 113 | 96 | 104 | 4800 | 11000 | 7 | F | T | F | 4 | 3 | 0 | 0/0/0 | NULL | 4 | NULL | NULL
2 | 01-13 | 01-09 00:00:00.000 | 01-09 00:30 | 01-09 19:00 | 111 | 113 | 96 | 110 | 6100 | 11100 | 7 | F | T | F | 5 | 2 | 0 | 0/0/0 | NULL | 5 | NULL | NULL
`,
  },
  {
    // SPEC B6: count_days/pos_in_bar are calendar days (reference shows 1,2,3,4,5,6 observed); where = flags.
    tf: '1W_CAL_ISO', family: 'cal_iso', table: `
1 | 01-06 | 01-06 00:00:00.000 | 01-06 21:00 | 01-06 01:00 | 103 | 115 | 102 | 114 | 1500 | 10500 | 7 | F | T | F | 1 | 6 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
1 | 01-08 | 01-06 00:00:00.000 | 01-08 10:00 | 01-06 01:00 | 103 | 118 | 102 | 111 | 3100 | 10600 | 7 | F | T | T | 3 | 4 | 1 | 0/0/1 | interior | 3 | 01-07 | 01-07
1 | 01-09 | 01-06 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 103 | 118 | 96 | 98 | 4800 | 10700 | 7 | F | T | T | 4 | 3 | 1 | 0/0/1 | interior | 4 | 01-07 | 01-07
1 | 01-10 | 01-06 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 103 | 118 | 96 | 100 | 6000 | 10800 | 7 | F | T | T | 5 | 2 | 1 | 0/0/1 | interior | 5 | 01-07 | 01-07
1 | 01-11 | 01-06 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 103 | 118 | 96 | 106 | 7000 | 10900 | 7 | F | T | T | 6 | 1 | 1 | 0/0/1 | interior | 6 | 01-07 | 01-07
1 | 01-12 | 01-06 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 103 | 118 | 96 | 104 | 7900 | 11000 | 7 | F | F | T | 7 | 0 | 1 | 0/0/1 | interior | 7 | 01-07 | 01-07
2 | 01-13 | 01-13 00:00:00.000 | 01-13 23:00 | 01-13 00:10 | 104 | 111 | 104 | 110 | 1300 | 11100 | 7 | F | T | F | 1 | 6 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
`,
  },
  {
    // SPEC B6 as above (reference count_days 1,2,3,4,5,6 observed -> 1,2,4,5,6,7 calendar).
    tf: '1W_CAL_US', family: 'cal_us', table: `
1 | 01-05 | 01-05 00:00:00.000 | 01-05 18:00 | 01-05 05:00 | 100 | 104 | 97 | 103 | 700 | 10400 | 7 | F | T | F | 1 | 6 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
1 | 01-06 | 01-05 00:00:00.000 | 01-06 21:00 | 01-05 05:00 | 100 | 115 | 97 | 114 | 2200 | 10500 | 7 | F | T | F | 2 | 5 | 0 | 0/0/0 | NULL | 2 | NULL | NULL
1 | 01-08 | 01-05 00:00:00.000 | 01-08 10:00 | 01-05 05:00 | 100 | 118 | 97 | 111 | 3800 | 10600 | 7 | F | T | T | 4 | 3 | 1 | 0/0/1 | interior | 4 | 01-07 | 01-07
1 | 01-09 | 01-05 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 100 | 118 | 96 | 98 | 5500 | 10700 | 7 | F | T | T | 5 | 2 | 1 | 0/0/1 | interior | 5 | 01-07 | 01-07
1 | 01-10 | 01-05 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 100 | 118 | 96 | 100 | 6700 | 10800 | 7 | F | T | T | 6 | 1 | 1 | 0/0/1 | interior | 6 | 01-07 | 01-07
1 | 01-11 | 01-05 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 100 | 118 | 96 | 106 | 7700 | 10900 | 7 | F | F | T | 7 | 0 | 1 | 0/0/1 | interior | 7 | 01-07 | 01-07
2 | 01-12 | 01-12 00:00:00.000 | 01-12 08:00 | 01-12 17:00 | 106 | 108 | 103 | 104 | 900 | 11000 | 7 | F | T | F | 1 | 6 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
2 | 01-13 | 01-12 00:00:00.000 | 01-13 23:00 | 01-12 17:00 | 106 | 111 | 103 | 110 | 2200 | 11100 | 7 | F | T | F | 2 | 5 | 0 | 0/0/0 | NULL | 2 | NULL | NULL
`,
  },
  {
    tf: '1W_CAL_ANCHOR_ISO', family: 'cal_anchor_iso', table: `
1 | 01-01 | 01-01 00:00:00.000 | 01-01 14:00 | 01-01 03:00 | 100 | 110 | 95 | 105 | 1000 | 10000 | 7 | T | T | F | 1 | 4 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
1 | 01-02 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 108 | 2100 | 10100 | 7 | T | T | F | 2 | 3 | 0 | 0/0/0 | NULL | 2 | NULL | NULL
1 | 01-03 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 106 | 3000 | 10200 | 7 | T | T | F | 3 | 2 | 0 | 0/0/0 | NULL | 3 | NULL | NULL
1 | 01-04 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 100 | 3800 | 10300 | 7 | T | T | F | 4 | 1 | 0 | 0/0/0 | NULL | 4 | NULL | NULL
1 | 01-05 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 103 | 4500 | 10400 | 7 | T | F | F | 5 | 0 | 0 | 0/0/0 | NULL | 5 | NULL | NULL
2 | 01-06 | 01-06 00:00:00.000 | 01-06 21:00 | 01-06 01:00 | 103 | 115 | 102 | 114 | 1500 | 10500 | 7 | F | T | F | 1 | 6 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
2 | 01-08 | 01-06 00:00:00.000 | 01-08 10:00 | 01-06 01:00 | 103 | 118 | 102 | 111 | 3100 | 10600 | 7 | F | T | T | 3 | 4 | 1 | 0/0/1 | interior | 3 | 01-07 | 01-07
2 | 01-09 | 01-06 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 103 | 118 | 96 | 98 | 4800 | 10700 | 7 | F | T | T | 4 | 3 | 1 | 0/0/1 | interior | 4 | 01-07 | 01-07
2 | 01-10 | 01-06 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 103 | 118 | 96 | 100 | 6000 | 10800 | 7 | F | T | T | 5 | 2 | 1 | 0/0/1 | interior | 5 | 01-07 | 01-07
2 | 01-11 | 01-06 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 103 | 118 | 96 | 106 | 7000 | 10900 | 7 | F | T | T | 6 | 1 | 1 | 0/0/1 | interior | 6 | 01-07 | 01-07
2 | 01-12 | 01-06 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 103 | 118 | 96 | 104 | 7900 | 11000 | 7 | F | F | T | 7 | 0 | 1 | 0/0/1 | interior | 7 | 01-07 | 01-07
3 | 01-13 | 01-13 00:00:00.000 | 01-13 23:00 | 01-13 00:10 | 104 | 111 | 104 | 110 | 1300 | 11100 | 7 | F | T | F | 1 | 6 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
`,
  },
  {
    tf: '1W_CAL_ANCHOR_US', family: 'cal_anchor_us', table: `
1 | 01-01 | 01-01 00:00:00.000 | 01-01 14:00 | 01-01 03:00 | 100 | 110 | 95 | 105 | 1000 | 10000 | 7 | T | T | F | 1 | 3 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
1 | 01-02 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 108 | 2100 | 10100 | 7 | T | T | F | 2 | 2 | 0 | 0/0/0 | NULL | 2 | NULL | NULL
1 | 01-03 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 106 | 3000 | 10200 | 7 | T | T | F | 3 | 1 | 0 | 0/0/0 | NULL | 3 | NULL | NULL
1 | 01-04 | 01-01 00:00:00.000 | 01-02 09:00 | 01-01 03:00 | 100 | 112 | 95 | 100 | 3800 | 10300 | 7 | T | F | F | 4 | 0 | 0 | 0/0/0 | NULL | 4 | NULL | NULL
2 | 01-05 | 01-05 00:00:00.000 | 01-05 18:00 | 01-05 05:00 | 100 | 104 | 97 | 103 | 700 | 10400 | 7 | F | T | F | 1 | 6 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
2 | 01-06 | 01-05 00:00:00.000 | 01-06 21:00 | 01-05 05:00 | 100 | 115 | 97 | 114 | 2200 | 10500 | 7 | F | T | F | 2 | 5 | 0 | 0/0/0 | NULL | 2 | NULL | NULL
2 | 01-08 | 01-05 00:00:00.000 | 01-08 10:00 | 01-05 05:00 | 100 | 118 | 97 | 111 | 3800 | 10600 | 7 | F | T | T | 4 | 3 | 1 | 0/0/1 | interior | 4 | 01-07 | 01-07
2 | 01-09 | 01-05 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 100 | 118 | 96 | 98 | 5500 | 10700 | 7 | F | T | T | 5 | 2 | 1 | 0/0/1 | interior | 5 | 01-07 | 01-07
2 | 01-10 | 01-05 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 100 | 118 | 96 | 100 | 6700 | 10800 | 7 | F | T | T | 6 | 1 | 1 | 0/0/1 | interior | 6 | 01-07 | 01-07
2 | 01-11 | 01-05 00:00:00.000 | 01-08 10:00 | 01-09 19:00 | 100 | 118 | 96 | 106 | 7700 | 10900 | 7 | F | F | T | 7 | 0 | 1 | 0/0/1 | interior | 7 | 01-07 | 01-07
3 | 01-12 | 01-12 00:00:00.000 | 01-12 08:00 | 01-12 17:00 | 106 | 108 | 103 | 104 | 900 | 11000 | 7 | F | T | F | 1 | 6 | 0 | 0/0/0 | NULL | 1 | NULL | NULL
3 | 01-13 | 01-12 00:00:00.000 | 01-13 23:00 | 01-12 17:00 | 106 | 111 | 103 | 110 | 2200 | 11100 | 7 | F | T | F | 2 | 5 | 0 | 0/0/0 | NULL | 2 | NULL | NULL
`,
  },
];

test('§8.0 1D table: 12 rows copied, dense bar_seq, no repairs', () => {
  const r = build1d(rawOf(INPUT));
  assert.deepEqual(r.counters, { upserted: 12, repairedTimehigh: 0, repairedTimelow: 0, rejected: 0 });
  assert.deepEqual([...(r.bars.cols.bar_seq as Int32Array)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const row6 = rowAt(r.bars, 6);
  assert.equal(row6.ts, closeOf('01-08'));
  assert.equal(row6.time_open, t('01-08'));
  assert.equal(row6.time_high, t('01-08', '10:00'));
  assert.equal(row6.tf, '1D');
  assert.equal(row6.src_name, '2781');
  assert.equal(row6.is_partial_end, 0);
});

for (const fx of FIXTURES) {
  test(`§8.1–8.5 worked example: ${fx.tf} (${fx.family}), every column`, () => {
    const series = seriesOf(INPUT);
    const tf = tfOf(fx.tf);
    const exp = expected(fx.tf, fx.table);
    assertTable(buildBarsForFamily(series, fx.family, [tf]), exp);
    const direct = fx.family === 'multi_tf' ? buildRolling(series, tf) : buildCalendar(series, tf);
    assertTable(direct, exp);
  });
}

test('§8.5 row counts: multi_tf 12, cal_iso 7, cal_us 8, anchor_iso 12, anchor_us 12', () => {
  const series = seriesOf(INPUT);
  const counts = FIXTURES.map((fx) => buildBarsForFamily(series, fx.family, [tfOf(fx.tf)]).length);
  assert.deepEqual(counts, [12, 7, 8, 12, 12]);
});

test('§8.7 increment: the 14-row build extends the 12-row build by the listed rows', () => {
  const before = seriesOf(INPUT);
  const after = seriesOf([...INPUT, ...INCREMENT]);
  for (const fx of FIXTURES) {
    const a = rows(buildBarsForFamily(before, fx.family, [tfOf(fx.tf)]));
    const b = rows(buildBarsForFamily(after, fx.family, [tfOf(fx.tf)]));
    assert.equal(b.length, a.length + 2, `${fx.tf}: exactly two appended rows`);
    assert.deepEqual(b.slice(0, a.length), a, `${fx.tf}: earlier rows unchanged`);
  }
  const tail = (tf: string, family: BarFamily) => rows(buildBarsForFamily(after, family, [tfOf(tf)])).slice(-2);

  const [r14, r15] = tail('7D', 'multi_tf');
  assert.deepEqual(
    [r14.bar_seq, r14.pos_in_bar, r14.high, r14.time_high, r14.volume, r14.is_partial_end],
    [2, 6, 116, t('01-14', '11:00'), 7500, 1],
  );
  assert.deepEqual(
    [r15.bar_seq, r15.pos_in_bar, r15.is_partial_end, r15.high, r15.time_high, r15.low, r15.time_low, r15.close,
      r15.volume, r15.market_cap, r15.count_days_remaining],
    [2, 7, 0, 117, t('01-15', '13:00'), 96, t('01-09', '19:00'), 101, 9500, 11300, 0],
  );

  // Reference count_days = observed; for these rows (no missing day in the week) calendar = observed.
  const [i14, i15] = tail('1W_CAL_ISO', 'cal_iso');
  assert.deepEqual([i14.bar_seq, i14.count_days, i14.count_days_remaining, i14.high], [2, 2, 5, 116]);
  assert.deepEqual(
    [i15.bar_seq, i15.count_days, i15.count_days_remaining, i15.high, i15.low, i15.time_low, i15.volume],
    [2, 3, 4, 117, 100, t('01-15', '21:00'), 4700],
  );
  const [u14, u15] = tail('1W_CAL_US', 'cal_us');
  assert.deepEqual([u14.bar_seq, u14.count_days, u14.count_days_remaining], [2, 3, 4]);
  assert.deepEqual([u15.bar_seq, u15.count_days, u15.count_days_remaining, u15.volume], [2, 4, 3, 5600]);
  const [ai14, ai15] = tail('1W_CAL_ANCHOR_ISO', 'cal_anchor_iso');
  assert.deepEqual([ai14.bar_seq, ai14.count_days, ai14.count_days_remaining], [3, 2, 5]);
  assert.deepEqual([ai15.bar_seq, ai15.count_days, ai15.count_days_remaining], [3, 3, 4]);
  const [au14, au15] = tail('1W_CAL_ANCHOR_US', 'cal_anchor_us');
  assert.deepEqual([au14.bar_seq, au14.count_days, au14.count_days_remaining], [3, 3, 4]);
  assert.deepEqual([au15.bar_seq, au15.count_days, au15.count_days_remaining], [3, 4, 3]);
});

test('buildBarsForFamily concatenates timeframes and refuses foreign ones', () => {
  const series = seriesOf(INPUT);
  const both = buildBarsForFamily(series, 'cal_iso', [tfOf('1W_CAL_ISO'), tfOf('1M_CAL')]);
  // 1M_CAL: data starts 01-01 = a window start, so all 12 rows are in January's complete window.
  assert.equal(both.length, 7 + 12);
  assert.deepEqual((both.cols.tf as string[]).slice(6, 8), ['1W_CAL_ISO', '1M_CAL']);
  assert.throws(() => buildBarsForFamily(series, 'cal_iso', [tfOf('1W_CAL_US')]), /does not belong/);
  assert.throws(() => buildBarsForFamily(series, 'multi_tf', [tfOf('1D')]), /does not belong/);
  assert.throws(() => buildCalendar(series, tfOf('1W_CAL_ISO'), { anchored: true }), /calendar family/);
});

test('kernels reject a series with two rows on one day', () => {
  const s = seriesOf(INPUT);
  s.day[3] = s.day[2];
  assert.throws(() => buildRolling(s, tfOf('7D')), /two rows on day 2025-01-03/);
});
