// The global calendar window grid shared by the cal_* and cal_anchor_* bar families.
//
// Every window is a pure function of (timeframe, UTC day number), identical for every asset, so a bar's
// boundaries never depend on where an asset's history starts. That is what makes cal and anchor bars
// prefix-stable (an appended day never moves an earlier boundary) and comparable across assets.
//
// All arithmetic is on integer UTC day numbers (days since 1970-01-01). Days before 1970 are negative, so
// every division is a floor division: truncation would put day -1 into the same window as day +1.

import type { Timeframe } from '../../catalog/timeframes.js';

/** Day number of Monday 1970-01-05: origin of the ISO n-week grid. */
export const ISO_WEEK_EPOCH_DAY = 4;
/** Day number of Sunday 1970-01-04: origin of the US n-week grid. */
export const US_WEEK_EPOCH_DAY = 3;

export interface CalendarWindow {
  /** Global window number on the timeframe's grid (negative before the epoch). */
  index: number;
  /** First day of the window (UTC day number, inclusive). */
  start: number;
  /** Last day of the window (UTC day number, inclusive). */
  end: number;
}

/** Civil date (proleptic Gregorian) of a UTC day number; H. Hinnant's days-to-civil algorithm. */
export function civilFromDays(day: number): { y: number; m: number; d: number } {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/** UTC day number of a civil date (month 1..12); inverse of civilFromDays. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Global month index (year·12 + month − 1) of a UTC day number. */
export function monthIndexOfDay(day: number): number {
  // Same steps as civilFromDays, without allocating: this runs once per bar in the builders.
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return y * 12 + m - 1;
}

/** First day of a global month index. */
export function dayOfMonthIndex(monthIndex: number): number {
  const y = Math.floor(monthIndex / 12);
  return daysFromCivil(y, monthIndex - y * 12 + 1, 1);
}

function requireCalendar(tf: Timeframe): void {
  if (tf.alignment !== 'calendar') throw new Error(`timeframe ${tf.tf} is not a calendar timeframe`);
  if (!(tf.qty >= 1) || !Number.isInteger(tf.qty)) throw new Error(`timeframe ${tf.tf} has invalid qty ${tf.qty}`);
  if (tf.baseUnit === 'W' && tf.scheme === null) throw new Error(`week timeframe ${tf.tf} has no calendar scheme`);
}

function weekEpoch(tf: Timeframe): number {
  return tf.scheme === 'US' ? US_WEEK_EPOCH_DAY : ISO_WEEK_EPOCH_DAY;
}

/** Global window index of the window holding `day`. */
export function windowIndexOf(tf: Timeframe, day: number): number {
  requireCalendar(tf);
  switch (tf.baseUnit) {
    case 'W':
      return Math.floor((day - weekEpoch(tf)) / (7 * tf.qty));
    case 'M':
      return Math.floor(monthIndexOfDay(day) / tf.qty);
    case 'Y':
      return Math.floor(Math.floor(monthIndexOfDay(day) / 12) / tf.qty);
    default:
      throw new Error(`timeframe ${tf.tf}: base unit ${tf.baseUnit} has no calendar grid`);
  }
}

/** Bounds of global window `index`. */
export function windowByIndex(tf: Timeframe, index: number): CalendarWindow {
  requireCalendar(tf);
  const n = tf.qty;
  switch (tf.baseUnit) {
    case 'W': {
      const start = weekEpoch(tf) + 7 * n * index;
      return { index, start, end: start + 7 * n - 1 };
    }
    case 'M':
      return { index, start: dayOfMonthIndex(index * n), end: dayOfMonthIndex((index + 1) * n) - 1 };
    case 'Y':
      return { index, start: daysFromCivil(index * n, 1, 1), end: daysFromCivil((index + 1) * n, 1, 1) - 1 };
    default:
      throw new Error(`timeframe ${tf.tf}: base unit ${tf.baseUnit} has no calendar grid`);
  }
}

/** The window holding `day`. */
export function windowOf(tf: Timeframe, day: number): CalendarWindow {
  return windowByIndex(tf, windowIndexOf(tf, day));
}

/** The first window that starts on or after `day` (where a `cal` family's history begins). */
export function firstWindowStartingOnOrAfter(tf: Timeframe, day: number): CalendarWindow {
  const w = windowOf(tf, day);
  return w.start === day ? w : windowByIndex(tf, w.index + 1);
}

/** Real length in days of the window holding `day`. */
export function windowDays(tf: Timeframe, day: number): number {
  const w = windowOf(tf, day);
  return w.end - w.start + 1;
}
