// What the snapshot kernels accept of a daily series: one row per UTC day, ascending.

import { DAY_MS, type DailySeries } from '../daily.js';

export function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The kernels assume one row per UTC day, ascending; fail loudly instead of emitting wrong bars. */
export function checkSeries(s: DailySeries): void {
  for (let i = 1; i < s.n; i++) {
    if (s.day[i] <= s.day[i - 1]) {
      const what = s.day[i] === s.day[i - 1] ? 'two rows on day' : 'rows out of order at day';
      throw new Error(`daily series id ${s.id}: ${what} ${isoDay(s.day[i])}`);
    }
  }
}
