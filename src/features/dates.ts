// Calendar-day helpers for the feature matrix: dates travel as YYYY-MM-DD text, days as UTC day numbers.
import { DAY_MS } from '../compute/daily.js';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** UTC day number of a YYYY-MM-DD string, or NaN if it is not a real calendar date. */
export function dayNumber(date: string): number {
  const m = ISO_DATE.exec(date);
  if (!m) return NaN;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 2025-02-30 over to March; a real date survives the round trip.
  return isoDate(ms / DAY_MS) === date ? ms / DAY_MS : NaN;
}

export function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function isValidDate(date: string): boolean {
  return !Number.isNaN(dayNumber(date));
}

export { isoWeekday, isoWeekStart } from '../compute/daily.js';
