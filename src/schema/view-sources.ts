// Where finished bars and their EMAs live, per family, and the SQL both the views and the export build on.
import { DEFAULT_PERIODS, type Timeframe } from '../catalog/timeframes.js';
import { emaBarSource, EMA_FAMILIES, emaTimeframes, type EmaFamily } from '../catalog/ema-families.js';
import { q, type DdlDialect } from './ddl.js';
import { BAR_TABLES, EMA_TABLES, priceBars1d, type Table } from './tables.js';

export { EMA_FAMILIES, type EmaFamily };

/** A bar table and how to read its finished bars: the row of the day and the filter for canonical rows. */
export interface BarSource {
  family: string;
  table: Table;
  /** Column holding the day of the row. */
  day: string;
  /** Condition selecting finished bars (the snapshot tables also hold every unfinished day of a bar). */
  finished: string;
  /** Columns the daily table lacks, as the constant they would hold. */
  fixed: Record<string, string>;
}

const snapshots = (family: keyof typeof BAR_TABLES): BarSource => ({
  family, table: BAR_TABLES[family], day: 'time_close', finished: 'is_partial_end = false', fixed: {},
});

export const BAR_SOURCES: BarSource[] = [
  { family: '1d', table: priceBars1d, day: 'ts', finished: 'true', fixed: { tf_days: '1', count_missing_days: '0' } },
  snapshots('multi_tf'), snapshots('cal_us'), snapshots('cal_iso'), snapshots('cal_anchor_us'), snapshots('cal_anchor_iso'),
];

/** The bar table whose finished bars an EMA family's canonical rows sit on (1D: the daily bars). */
export function barSourceFor(family: EmaFamily, tf: Timeframe): BarSource {
  // v2 reads no bar table; its canonical rows sit on the rolling bars' days.
  const name = tf.tf === '1D' ? '1d' : emaBarSource(family) ?? 'multi_tf';
  return BAR_SOURCES.find((s) => s.family === name)!;
}

/** EMA families whose rows carry a bar-space EMA (ema_bar) beside the daily one. */
export function isDual(family: EmaFamily): boolean {
  return EMA_TABLES[family].columns.some((c) => c.name === 'ema_bar');
}

/** The family a timeframe is exported from when none is named: v1 for day horizons; weeks by their scheme;
 *  months and years from the US tables (the ISO tables hold the same rows). */
export function defaultFamily(tf: Timeframe): EmaFamily {
  if (tf.alignment === 'tf_day') return 'v1';
  const anchor = tf.calendarAnchor ? 'cal_anchor_' : 'cal_';
  return `${anchor}${tf.scheme === 'ISO' ? 'iso' : 'us'}` as EmaFamily;
}

export function familyHas(family: EmaFamily, tf: Timeframe): boolean {
  return emaTimeframes(family, [tf]).length > 0;
}

export const VIEW_PERIODS = DEFAULT_PERIODS;

/** The UTC calendar date of a day instant, whatever the reading session's time zone. */
export function dayExpr(d: DdlDialect, col: string): string {
  return d.utcDate(col);
}

/** The bar columns of a result row, in order, as read from a bar table aliased `b`. */
export const BAR_RESULT_COLUMNS = ['bar_seq', 'time_open', 'open', 'high', 'low', 'close', 'volume', 'market_cap'];

export function emaColumn(p: number): string {
  return `ema_${p}`;
}
export function emaBarColumn(p: number): string {
  return `ema_bar_${p}`;
}

/** Canonical EMA rows of one table pivoted wide by period: one row per (id, tf, ts). */
export function emaWideSql(table: Table, periods: readonly number[], dual: boolean, where: string[]): string {
  // Every ema_p column, then every ema_bar_p: the order both kinds of family share in a UNION.
  const cols = [
    ...periods.map((p) => `max(CASE WHEN period = ${p} THEN ema END) AS ${q(emaColumn(p))}`),
    ...(dual ? periods.map((p) => `max(CASE WHEN period = ${p} THEN ema_bar END) AS ${q(emaBarColumn(p))}`) : []),
  ];
  const conds = ['roll = false', `period IN (${periods.join(', ')})`, ...where];
  return `SELECT id, tf, ts, ${cols.join(', ')} FROM ${q(table.name)} WHERE ${conds.join(' AND ')} GROUP BY id, tf, ts`;
}
