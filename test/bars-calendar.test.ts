// The global window grid (SPEC B5) checked against Date-based calendar arithmetic.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { getTimeframe, TIMEFRAMES, type Timeframe } from '../src/catalog/timeframes.js';
import {
  civilFromDays, daysFromCivil, firstWindowStartingOnOrAfter, ISO_WEEK_EPOCH_DAY, monthIndexOfDay, US_WEEK_EPOCH_DAY,
  windowByIndex, windowDays, windowIndexOf, windowOf,
} from '../src/compute/bars/calendar.js';

const DAY = 86_400_000;
const tf = (name: string): Timeframe => {
  const t = getTimeframe(name);
  assert.ok(t, name);
  return t;
};
/** UTC day number of a civil date through Date (setUTCFullYear avoids Date.UTC's 0..99 => 19xx mapping). */
function utcDay(y: number, m0: number, d: number): number {
  const x = new Date(0);
  x.setUTCFullYear(y, m0, d);
  return x.getTime() / DAY;
}
const CAL_TFS = TIMEFRAMES.filter((t) => t.alignment === 'calendar');

test('day numbers: 1970-01-05 is a Monday (ISO epoch), 1970-01-04 a Sunday (US epoch)', () => {
  assert.equal(ISO_WEEK_EPOCH_DAY, utcDay(1970, 0, 5));
  assert.equal(US_WEEK_EPOCH_DAY, utcDay(1970, 0, 4));
  assert.equal(new Date(ISO_WEEK_EPOCH_DAY * DAY).getUTCDay(), 1);
  assert.equal(new Date(US_WEEK_EPOCH_DAY * DAY).getUTCDay(), 0);
});

test('civilFromDays / daysFromCivil agree with Date, including before 1970 and far dates', () => {
  fc.assert(fc.property(fc.integer({ min: -800_000, max: 800_000 }), (day) => {
    const x = new Date(day * DAY);
    const c = civilFromDays(day);
    assert.deepEqual(c, { y: x.getUTCFullYear(), m: x.getUTCMonth() + 1, d: x.getUTCDate() });
    assert.equal(daysFromCivil(c.y, c.m, c.d), day);
    assert.equal(monthIndexOfDay(day), c.y * 12 + c.m - 1);
  }), { numRuns: 2000 });
});

test('2W_CAL_ISO / 2W_CAL_US windows start on Monday / Sunday on a 14-day grid from the epochs', () => {
  for (const [name, epoch, weekday] of [['2W_CAL_ISO', 4, 1], ['2W_CAL_US', 3, 0]] as const) {
    for (let day = -1000; day <= 1000; day++) {
      const w = windowOf(tf(name), day);
      assert.ok(w.start <= day && day <= w.end);
      assert.equal(w.end - w.start + 1, 14);
      assert.equal(new Date(w.start * DAY).getUTCDay(), weekday, `${name} day ${day}`);
      assert.equal((((w.start - epoch) % 14) + 14) % 14, 0, `${name} day ${day}`);
    }
  }
  // The first 2-week ISO window is 1970-01-05..01-18; the day before the epoch is in window -1.
  assert.deepEqual(windowOf(tf('2W_CAL_ISO'), 4), { index: 0, start: 4, end: 17 });
  assert.deepEqual(windowOf(tf('2W_CAL_ISO'), 3), { index: -1, start: -10, end: 3 });
  assert.deepEqual(windowOf(tf('2W_CAL_US'), 3), { index: 0, start: 3, end: 16 });
});

test('every calendar timeframe: windows tile the line, start/end are the true calendar boundaries', () => {
  for (const t of CAL_TFS) {
    let prev = windowOf(t, -3000);
    for (let k = 0; k < 40; k++) {
      const next = windowByIndex(t, prev.index + 1);
      assert.equal(next.start, prev.end + 1, `${t.tf} windows are contiguous`);
      assert.deepEqual(windowOf(t, next.start), next);
      assert.deepEqual(windowOf(t, next.end), next);
      const s = new Date(next.start * DAY);
      const n = t.qty;
      if (t.baseUnit === 'W') {
        assert.equal(s.getUTCDay(), t.scheme === 'ISO' ? 1 : 0, t.tf);
        assert.equal(next.end - next.start + 1, 7 * n);
        const epoch = t.scheme === 'ISO' ? ISO_WEEK_EPOCH_DAY : US_WEEK_EPOCH_DAY;
        assert.equal((((next.start - epoch) % (7 * n)) + 7 * n) % (7 * n), 0);
      } else if (t.baseUnit === 'M') {
        assert.equal(s.getUTCDate(), 1, t.tf);
        const mi = s.getUTCFullYear() * 12 + s.getUTCMonth();
        assert.equal(((mi % n) + n) % n, 0, `${t.tf} starts on the global month grid`);
        assert.equal(next.end + 1, utcDay(s.getUTCFullYear(), s.getUTCMonth() + n, 1));
      } else {
        assert.equal(s.getUTCDate(), 1);
        assert.equal(s.getUTCMonth(), 0);
        assert.equal(((s.getUTCFullYear() % n) + n) % n, 0, `${t.tf} starts at a year divisible by ${n}`);
        assert.equal(next.end + 1, utcDay(s.getUTCFullYear() + n, 0, 1));
      }
      prev = next;
    }
  }
});

test('random days: windowIndexOf/windowByIndex consistent for every calendar timeframe', () => {
  fc.assert(fc.property(fc.integer({ min: -200_000, max: 200_000 }), fc.constantFrom(...CAL_TFS), (day, t) => {
    const idx = windowIndexOf(t, day);
    const w = windowByIndex(t, idx);
    assert.ok(w.start <= day && day <= w.end);
    assert.ok(windowByIndex(t, idx - 1).end === w.start - 1);
  }), { numRuns: 3000 });
});

test('real window lengths (B6): months, quarters, leap years', () => {
  assert.equal(windowDays(tf('1M_CAL'), utcDay(2024, 1, 10)), 29);
  assert.equal(windowDays(tf('1M_CAL'), utcDay(2100, 1, 10)), 28);
  assert.equal(windowDays(tf('1M_CAL'), utcDay(2000, 1, 10)), 29);
  assert.equal(windowDays(tf('1M_CAL_ANCHOR'), utcDay(2025, 0, 31)), 31);
  assert.equal(windowDays(tf('3M_CAL'), utcDay(2025, 4, 1)), 91); // Apr–Jun
  assert.equal(windowDays(tf('12M_CAL'), utcDay(2024, 6, 1)), 366);
  assert.equal(windowDays(tf('1Y_CAL'), utcDay(2023, 6, 1)), 365);
  assert.equal(windowDays(tf('2Y_CAL'), utcDay(2025, 6, 1)), 365 + 366); // 2024–2025
  assert.deepEqual(windowOf(tf('2Y_CAL'), utcDay(2025, 6, 1)).start, utcDay(2024, 0, 1));
  // 9M on the global month index: no overlapping windows across year ends (bars.md §9.2.8 defect fixed).
  const nine = windowOf(tf('9M_CAL'), utcDay(2025, 0, 15));
  assert.equal(nine.start, utcDay(2025, 0, 1)); // (2025·12) % 9 == 0
  assert.equal(windowByIndex(tf('9M_CAL'), nine.index + 1).start, utcDay(2025, 9, 1));
});

test('firstWindowStartingOnOrAfter: the day itself when it is a boundary, else the next window', () => {
  const w1 = tf('1W_CAL_ISO');
  const mon = utcDay(2025, 0, 6);
  assert.equal(firstWindowStartingOnOrAfter(w1, mon).start, mon);
  assert.equal(firstWindowStartingOnOrAfter(w1, mon + 1).start, mon + 7);
  assert.equal(firstWindowStartingOnOrAfter(tf('3M_CAL'), utcDay(2025, 1, 1)).start, utcDay(2025, 3, 1));
  assert.equal(firstWindowStartingOnOrAfter(tf('2Y_CAL'), utcDay(2024, 0, 2)).start, utcDay(2026, 0, 1));
  assert.throws(() => windowOf(tf('7D'), 0), /not a calendar timeframe/);
});
