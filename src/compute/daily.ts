// One asset's validated daily bars (rows of price_bars_1d), ascending by day, at most one row per UTC day.
// This is the input of every bar and EMA kernel; kernels never do I/O.

export const DAY_MS = 86_400_000;

export interface DailySeries {
  id: number;
  n: number;
  /** UTC day number: days since 1970-01-01 (Thursday). */
  day: Int32Array;
  /** Close instant, epoch ms (YYYY-MM-DDT23:59:59.999Z). */
  ts: Float64Array;
  timeOpen: Float64Array;
  timeHigh: Float64Array;
  timeLow: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  /** NaN where the source had none. */
  marketCap: Float64Array;
}

/** Close instant of a UTC day number. */
export function dayCloseMs(day: number): number {
  return (day + 1) * DAY_MS - 1;
}

/** UTC day number of an epoch-ms instant. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** Build a DailySeries from plain rows (tests, small fixtures). */
export function dailyFromRows(
  id: number,
  rows: {
    day: number; open: number; high: number; low: number; close: number; volume: number; marketCap?: number;
    timeHigh?: number; timeLow?: number;
  }[],
): DailySeries {
  const n = rows.length;
  const s: DailySeries = {
    id, n, day: new Int32Array(n), ts: new Float64Array(n), timeOpen: new Float64Array(n),
    timeHigh: new Float64Array(n), timeLow: new Float64Array(n), open: new Float64Array(n), high: new Float64Array(n),
    low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n), marketCap: new Float64Array(n),
  };
  rows.forEach((r, i) => {
    s.day[i] = r.day;
    s.ts[i] = dayCloseMs(r.day);
    s.timeOpen[i] = r.day * DAY_MS;
    s.timeHigh[i] = r.timeHigh ?? s.ts[i];
    s.timeLow[i] = r.timeLow ?? s.ts[i];
    s.open[i] = r.open;
    s.high[i] = r.high;
    s.low[i] = r.low;
    s.close[i] = r.close;
    s.volume[i] = r.volume;
    s.marketCap[i] = r.marketCap ?? NaN;
  });
  return s;
}

/** Monday-based weekday, 0 = Monday … 6 = Sunday (day 0 = 1970-01-01 was a Thursday). */
export function isoWeekday(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

/** Day number of the Monday starting the ISO week that contains `day`. */
export function isoWeekStart(day: number): number {
  return day - isoWeekday(day);
}
