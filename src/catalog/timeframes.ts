// The one timeframe catalog. Everything that needs to know what a
// timeframe means (bar builders, EMA families, validation, dim_timeframe seeding) reads it from here.

export type BaseUnit = 'D' | 'W' | 'M' | 'Y';
export type Scheme = 'US' | 'ISO';
/** Which bar table a timeframe is built into. */
export type BarFamily = 'multi_tf' | 'cal_iso' | 'cal_us' | 'cal_anchor_iso' | 'cal_anchor_us';

export interface Timeframe {
  tf: string;
  baseUnit: BaseUnit;
  qty: number;
  /** Nominal length in days (N for rolling bars; 7n, 30n, 365n for calendar ones). Used as EMA `d`. */
  daysNominal: number;
  alignment: 'tf_day' | 'calendar';
  /** true = anchored family (partial first window kept); false = full calendar windows; null for tf_day. */
  calendarAnchor: boolean | null;
  /** Week scheme; null for day horizons, months and years (scheme-agnostic). */
  scheme: Scheme | null;
  allowPartialStart: boolean;
  allowPartialEnd: boolean;
  daysMin: number;
  daysMax: number;
  sortOrder: number;
  /** Built by a refresh that names no `--tfs`. */
  isDefault: boolean;
}

// Day horizons of the catalog (the original pipeline's list plus 365D, which the default selection uses).
const DAY_HORIZONS = [
  1, 2, 3, 4, 5, 7, 10, 14, 15, 20, 21, 25, 28, 30, 40, 42, 45, 50, 56, 60, 63, 70, 84, 90, 100, 105, 140, 147, 150,
  180, 200, 210, 250, 270, 280, 294, 300, 315, 350, 360, 365, 400, 420, 441, 450, 500, 525, 560, 588, 600, 630, 700,
  750, 800, 882, 900, 945, 1000, 1050, 1176, 1250, 1260, 1400, 1470, 1500, 1800, 1890, 2000, 2100, 2250, 2500, 2700,
  2800, 3000, 3500, 3600, 3780, 4000, 4200, 4500, 5000, 5600, 5670, 6000, 7000, 7560, 8400, 9000, 10000, 11200,
  12000, 13500, 14000, 18000, 20000, 27000, 36000, 54000, 72000,
];
const WEEKS = [1, 2, 3, 4, 6, 8, 10];
const CAL_MONTHS = [1, 2, 3, 6, 9, 12];
const ANCHOR_MONTHS = [1, 2, 3, 6, 9, 12];
const YEARS = Array.from({ length: 20 }, (_, i) => i + 1);

export const DEFAULT_ROLLING_DAYS = [2, 3, 5, 7, 10, 14, 15, 21, 28, 30, 45, 56, 60, 90, 180, 365];
export const DEFAULT_WEEKS = [1, 2, 3, 4, 6, 8, 10];
export const DEFAULT_MONTHS = [1, 2, 3, 6, 12];
export const DEFAULT_YEARS = [1, 2, 3, 5];
export const DEFAULT_PERIODS = [6, 9, 10, 12, 14, 17, 20, 21, 26, 30, 50, 52, 77, 100, 200, 252, 365];

function monthDays(n: number): [number, number] {
  // Shortest / longest run of n consecutive calendar months.
  const table: Record<number, [number, number]> = {
    1: [28, 31], 2: [59, 62], 3: [89, 92], 6: [181, 184], 9: [273, 276], 12: [365, 366],
  };
  return table[n] ?? [28 * n, 31 * n];
}

function build(): Timeframe[] {
  const out: Timeframe[] = [];
  let order = 0;
  for (const n of DAY_HORIZONS) {
    out.push({
      tf: `${n}D`, baseUnit: 'D', qty: n, daysNominal: n, alignment: 'tf_day', calendarAnchor: null, scheme: null,
      allowPartialStart: false, allowPartialEnd: false, daysMin: n, daysMax: n, sortOrder: ++order,
      isDefault: n === 1 || DEFAULT_ROLLING_DAYS.includes(n),
    });
  }
  for (const anchor of [false, true]) {
    for (const scheme of ['US', 'ISO'] as const) {
      for (const n of WEEKS) {
        out.push({
          tf: anchor ? `${n}W_CAL_ANCHOR_${scheme}` : `${n}W_CAL_${scheme}`, baseUnit: 'W', qty: n, daysNominal: 7 * n,
          alignment: 'calendar', calendarAnchor: anchor, scheme, allowPartialStart: anchor, allowPartialEnd: anchor,
          daysMin: anchor ? 1 : 7 * n, daysMax: 7 * n, sortOrder: ++order, isDefault: DEFAULT_WEEKS.includes(n),
        });
      }
    }
    for (const n of anchor ? ANCHOR_MONTHS : CAL_MONTHS) {
      const [mn, mx] = monthDays(n);
      out.push({
        tf: anchor ? `${n}M_CAL_ANCHOR` : `${n}M_CAL`, baseUnit: 'M', qty: n, daysNominal: 30 * n,
        alignment: 'calendar', calendarAnchor: anchor, scheme: null, allowPartialStart: anchor, allowPartialEnd: anchor,
        daysMin: anchor ? 1 : mn, daysMax: mx, sortOrder: ++order, isDefault: DEFAULT_MONTHS.includes(n),
      });
    }
    for (const n of YEARS) {
      out.push({
        tf: anchor ? `${n}Y_CAL_ANCHOR` : `${n}Y_CAL`, baseUnit: 'Y', qty: n, daysNominal: 365 * n,
        alignment: 'calendar', calendarAnchor: anchor, scheme: null, allowPartialStart: anchor, allowPartialEnd: anchor,
        daysMin: anchor ? 1 : 365 * n, daysMax: 366 * n, sortOrder: ++order, isDefault: DEFAULT_YEARS.includes(n),
      });
    }
  }
  return out;
}

export const TIMEFRAMES: readonly Timeframe[] = Object.freeze(build());
const BY_TF = new Map(TIMEFRAMES.map((t) => [t.tf, t]));

export function getTimeframe(tf: string): Timeframe | undefined {
  return BY_TF.get(tf);
}

/** Timeframes that belong in a bar family: months/years go to both schemes' tables. */
export function timeframesForFamily(family: BarFamily, all: readonly Timeframe[] = TIMEFRAMES): Timeframe[] {
  return all.filter((t) => belongsTo(t, family));
}

export function belongsTo(t: Timeframe, family: BarFamily): boolean {
  switch (family) {
    case 'multi_tf':
      return t.alignment === 'tf_day' && t.qty >= 2;
    case 'cal_iso':
    case 'cal_us': {
      const scheme = family === 'cal_iso' ? 'ISO' : 'US';
      return t.alignment === 'calendar' && t.calendarAnchor === false && (t.baseUnit !== 'W' || t.scheme === scheme);
    }
    case 'cal_anchor_iso':
    case 'cal_anchor_us': {
      const scheme = family === 'cal_anchor_iso' ? 'ISO' : 'US';
      return t.alignment === 'calendar' && t.calendarAnchor === true && (t.baseUnit !== 'W' || t.scheme === scheme);
    }
  }
}

export const BAR_FAMILIES: readonly BarFamily[] = ['multi_tf', 'cal_iso', 'cal_us', 'cal_anchor_iso', 'cal_anchor_us'];

export function defaultTimeframes(): Timeframe[] {
  return TIMEFRAMES.filter((t) => t.isDefault);
}
