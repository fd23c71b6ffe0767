// Row-level checks, each one SQL statement that selects the failing rows (keys plus the values that show why),
// run the same on both engines. The statement is wrapped to return the total count with the first examples,
// so a check costs one scan whatever the number of failures.
import { q } from '../schema/ddl.js';
import { BAR_TABLES } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { fmtTs, statusOf, type CheckResult, type CheckSeverity, type Example, type ExampleValue } from './report.js';

export interface Ctx {
  store: Store;
  /** Asset ids in scope, or null for all. */
  ids: number[] | null;
  maxExamples: number;
}

/** ` AND col IN (…)` for an --ids scope (validated integers, so inlined), '' for all assets. */
export function scope(ctx: Ctx, col: string): string {
  if (!ctx.ids) return '';
  return ctx.ids.length ? ` AND ${col} IN (${ctx.ids.join(', ')})` : ' AND 1 = 0';
}

/** A predicate true for NaN and ±Infinity (NULL-safe: NULL is not "non-finite"). */
export function nonFinite(ctx: Ctx, col: string): string {
  return ctx.store.engine.nonFinite(col);
}

/** The UTC date of a timestamptz as 'YYYY-MM-DD' (both sessions run in UTC). */
export function dayText(col: string): string {
  return `CAST(CAST(${col} AS DATE) AS VARCHAR)`;
}

/** Columns that hold instants and are shown as dates/ISO strings in examples. */
const TS_COLS = new Set([
  'ts', 'time_close', 'time_open', 'time_high', 'time_low', 'timestamp', 'last_ts_half_open', 'first_ts', 'last_ts',
  'prev_ts', 'expected_first', 'actual_first', 'expected_last', 'actual_last',
]);

export function toExample(row: Record<string, unknown>): Example {
  const e: Example = {};
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith('_')) continue;
    let out: ExampleValue;
    if (v === null || v === undefined) out = null;
    else if (TS_COLS.has(k) && typeof v === 'number') out = fmtTs(v);
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') out = v;
    else out = String(v);
    e[k] = out;
  }
  return e;
}

export interface RowCheckSpec {
  table: string;
  check: string;
  severity?: CheckSeverity;
  description: string;
  checked: number;
  unit?: string;
  /** SELECT of the failing rows (or keys). */
  sql: string;
  order: string;
}

export async function rowCheck(ctx: Ctx, s: RowCheckSpec): Promise<CheckResult> {
  const rows = await ctx.store.query(
    `SELECT v.*, count(*) OVER () AS _total FROM (${s.sql}) v ORDER BY ${s.order} LIMIT ${Math.max(1, ctx.maxExamples)}`,
  );
  const failures = rows.length ? Number(rows[0]._total) : 0;
  const severity = s.severity ?? 'error';
  return {
    table: s.table, check: s.check, severity, status: statusOf(severity, failures), description: s.description,
    checked: s.checked, unit: s.unit ?? 'rows', failures, examples: rows.slice(0, ctx.maxExamples).map(toExample),
  };
}

export async function countRows(ctx: Ctx, table: string): Promise<number> {
  const r = await ctx.store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(table)} WHERE 1 = 1${scope(ctx, 'id')}`);
  return Number(r[0].n);
}

// ---------------------------------------------------------------------------------------------------------------
// Shared predicates

/** OHLC integrity of one row: which rule it breaks, or NULL. Order = most basic first. */
function ohlcViolation(ctx: Ctx): string {
  const bad = (c: string) => nonFinite(ctx, c);
  return `CASE
      WHEN ${bad('open')} OR ${bad('high')} OR ${bad('low')} OR ${bad('close')} THEN 'non_finite_price'
      WHEN open <= 0 OR high <= 0 OR low <= 0 OR close <= 0 THEN 'price_not_positive'
      WHEN high < low THEN 'high_lt_low'
      WHEN high < open OR high < close THEN 'high_lt_max_open_close'
      WHEN low > open OR low > close THEN 'low_gt_min_open_close'
    END`;
}

export function ohlcCheck(ctx: Ctx, table: string, keyCols: string, checked: number): Promise<CheckResult> {
  return rowCheck(ctx, {
    table, check: 'ohlc', checked,
    description: 'prices finite and > 0, high ≥ max(open, close), low ≤ min(open, close), high ≥ low',
    sql: `SELECT ${keyCols}, violation, open, high, low, close FROM (
            SELECT *, ${ohlcViolation(ctx)} AS violation FROM ${q(table)} WHERE 1 = 1${scope(ctx, 'id')}) x
          WHERE violation IS NOT NULL`,
    order: keyCols,
  });
}

export function timeOrderCheck(ctx: Ctx, table: string, keyCols: string, checked: number): Promise<CheckResult> {
  return rowCheck(ctx, {
    table, check: 'time_order', checked,
    description: 'time_open ≤ time_high, time_low ≤ time_close',
    sql: `SELECT ${keyCols}, violation, time_open, time_high, time_low FROM (
            SELECT *, CASE
                WHEN time_open > time_close THEN 'time_open_after_close'
                WHEN time_high < time_open OR time_high > time_close THEN 'time_high_outside_bar'
                WHEN time_low < time_open OR time_low > time_close THEN 'time_low_outside_bar'
              END AS violation
            FROM ${q(table)} WHERE 1 = 1${scope(ctx, 'id')}) x
          WHERE violation IS NOT NULL`,
    order: keyCols,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Daily tables

/** No two rows share the table's key (DuckDB's derived tables have no key constraint, see schema/ddl.ts). */
export function duplicateKeysCheck(ctx: Ctx, table: string, key: readonly string[], checked: number): Promise<CheckResult> {
  const cols = key.map(q).join(', ');
  return rowCheck(ctx, {
    table, check: 'duplicate_keys', checked,
    description: `at most one row per key (${key.join(', ')})`,
    sql: `SELECT ${cols}, count(*) AS copies FROM ${q(table)} WHERE 1 = 1${scope(ctx, 'id')} GROUP BY ${cols} HAVING count(*) > 1`,
    order: cols,
  });
}

export function duplicateDaysCheck(ctx: Ctx, table: string, checked: number): Promise<CheckResult> {
  return rowCheck(ctx, {
    table, check: 'duplicate_days', checked,
    description: 'at most one row per (id, UTC day)',
    sql: `SELECT id, ${dayText('ts')} AS day, count(*) AS rows_that_day, min(ts) AS first_ts, max(ts) AS last_ts
          FROM ${q(table)} WHERE 1 = 1${scope(ctx, 'id')}
          GROUP BY id, ${dayText('ts')} HAVING count(*) > 1`,
    order: 'id, day',
  });
}

/** Missing calendar days between each asset's first and last daily bar, one example per run of missing days. */
export async function gapsCheck(ctx: Ctx, checked: number): Promise<CheckResult> {
  const rows = await ctx.store.query(
    `SELECT id, first_missing, last_missing, days, count(*) OVER () AS _ranges, sum(days) OVER () AS _days FROM (
       SELECT id, ${dayText('prev_ts + INTERVAL \'1 day\'')} AS first_missing, ${dayText('ts - INTERVAL \'1 day\'')} AS last_missing,
              CAST(CAST(ts AS DATE) - CAST(prev_ts AS DATE) - 1 AS INTEGER) AS days
       FROM (SELECT id, ts, lag(ts) OVER (PARTITION BY id ORDER BY ts) AS prev_ts
             FROM price_bars_1d WHERE 1 = 1${scope(ctx, 'id')}) w
       WHERE prev_ts IS NOT NULL AND CAST(ts AS DATE) - CAST(prev_ts AS DATE) > 1) g
     ORDER BY id, first_missing LIMIT ${Math.max(1, ctx.maxExamples)}`,
  );
  const failures = rows.length ? Number(rows[0]._days) : 0;
  return {
    table: 'price_bars_1d', check: 'gaps', severity: 'warning', status: statusOf('warning', failures),
    description: 'calendar days without a daily bar between the first and last day (a source gap, or a rejected row)',
    checked, unit: 'rows', failures, ranges: rows.length ? Number(rows[0]._ranges) : 0,
    examples: rows.slice(0, ctx.maxExamples).map(toExample),
  };
}

/** Every source day is either a daily bar or a logged reject, and no daily bar lacks its source row. */
export function sourceCoverageCheck(ctx: Ctx, checked: number): Promise<CheckResult> {
  return rowCheck(ctx, {
    table: 'price_bars_1d', check: 'source_coverage', checked, unit: 'source and daily rows',
    description: 'each price_histories day is in price_bars_1d or price_bars_1d_rejects, and each daily bar has its '
      + 'source row (a mismatch after import means the refresh has not run: `talab refresh --all`)',
    sql: `SELECT p.id, p.ts, 'source day not built' AS problem FROM price_histories p
          WHERE 1 = 1${scope(ctx, 'p.id')}
            AND NOT EXISTS (SELECT 1 FROM price_bars_1d b WHERE b.id = p.id AND b.ts = p.ts)
            AND NOT EXISTS (SELECT 1 FROM price_bars_1d_rejects r WHERE r.id = p.id AND r.ts = p.ts)
          UNION ALL
          SELECT b.id, b.ts, 'daily bar without source row' AS problem FROM price_bars_1d b
          WHERE 1 = 1${scope(ctx, 'b.id')}
            AND NOT EXISTS (SELECT 1 FROM price_histories p WHERE p.id = b.id AND p.ts = b.ts)`,
    order: 'id, ts',
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshot bar tables

export function barDuplicateDaysCheck(ctx: Ctx, table: string, checked: number): Promise<CheckResult> {
  return rowCheck(ctx, {
    table, check: 'duplicate_days', checked,
    description: 'one snapshot row per (id, tf, day): a day belongs to exactly one bar',
    sql: `SELECT id, tf, time_close, count(*) AS rows_that_day, min(bar_seq) AS min_bar_seq, max(bar_seq) AS max_bar_seq
          FROM ${q(table)} WHERE 1 = 1${scope(ctx, 'id')}
          GROUP BY id, tf, time_close HAVING count(*) > 1`,
    order: 'id, tf, time_close',
  });
}

export function canonicalUniqueCheck(ctx: Ctx, table: string, checked: number): Promise<CheckResult> {
  return rowCheck(ctx, {
    table, check: 'canonical_unique', checked,
    description: 'at most one canonical row (is_partial_end = false) per (id, tf, bar_seq)',
    sql: `SELECT id, tf, bar_seq, count(*) AS canonical_rows, min(time_close) AS first_ts, max(time_close) AS last_ts
          FROM ${q(table)} WHERE NOT is_partial_end${scope(ctx, 'id')}
          GROUP BY id, tf, bar_seq HAVING count(*) > 1`,
    order: 'id, tf, bar_seq',
  });
}

export function canonicalFlagCheck(ctx: Ctx, table: string, checked: number): Promise<CheckResult> {
  return rowCheck(ctx, {
    table, check: 'canonical_flag', checked,
    description: 'is_partial_end = false exactly on the bar\'s scheduled last day (count_days_remaining = 0)',
    sql: `SELECT id, tf, bar_seq, time_close, is_partial_end, count_days_remaining FROM ${q(table)}
          WHERE is_partial_end <> (count_days_remaining > 0)${scope(ctx, 'id')}`,
    order: 'id, tf, time_close',
  });
}

export function countersCheck(ctx: Ctx, table: string, checked: number): Promise<CheckResult> {
  // Rolling bars count rows, not calendar days: a gap inside a bar makes its calendar span (count_days)
  // longer than tf_days, while its rows (pos_in_bar = count_days − count_missing_days) never exceed it.
  const rolling = table === BAR_TABLES.multi_tf.name;
  const length = rolling
    ? `WHEN pos_in_bar <> count_days - count_missing_days THEN 'pos_in_bar_not_observed_days'
                WHEN pos_in_bar > tf_days THEN 'pos_in_bar_gt_tf_days'`
    : `WHEN count_days > tf_days THEN 'count_days_gt_tf_days'`;
  return rowCheck(ctx, {
    table, check: 'counters', checked,
    description: 'count_days − count_missing_days ≥ 1, missing = start + end + interior, end = 0, '
      + `is_missing_days = (missing > 0), 1 ≤ pos_in_bar, ${rolling ? 'pos_in_bar = count_days − missing ≤ tf_days' : 'count_days ≤ tf_days'}, `
      + 'timestamp = time_close, '
      + 'last_ts_half_open = time_close + 1 ms',
    sql: `SELECT id, tf, bar_seq, time_close, violation, count_days, count_missing_days, tf_days FROM (
            SELECT *, CASE
                WHEN count_days - count_missing_days < 1 THEN 'no_observed_day'
                WHEN count_missing_days <> count_missing_days_start + count_missing_days_end + count_missing_days_interior
                  THEN 'missing_parts_do_not_add_up'
                WHEN count_missing_days_end <> 0 THEN 'missing_end_not_zero'
                WHEN is_missing_days <> (count_missing_days > 0) THEN 'is_missing_days_mismatch'
                WHEN pos_in_bar < 1 THEN 'pos_in_bar_lt_1'
                ${length}
                WHEN count_days_remaining < 0 THEN 'count_days_remaining_negative'
                WHEN ${q('timestamp')} <> time_close THEN 'timestamp_ne_time_close'
                WHEN last_ts_half_open <> time_close + INTERVAL '1 millisecond' THEN 'last_ts_half_open_wrong'
              END AS violation
            FROM ${q(table)} WHERE 1 = 1${scope(ctx, 'id')}) x
          WHERE violation IS NOT NULL`,
    order: 'id, tf, time_close',
  });
}

/**
 * Rows on days that have no daily bar: derived tables are built from price_bars_1d only.
 * `knownFailures` (from the row-count scan) = 0 skips the anti-join.
 */
export async function orphansCheck(
  ctx: Ctx, table: string, tsCol: string, keyCols: string, checked: number, knownFailures?: number,
): Promise<CheckResult> {
  const description = `every ${tsCol} is a day of price_bars_1d`;
  if (knownFailures === 0) {
    return { table, check: 'orphans', severity: 'error', status: 'pass', description, checked, unit: 'rows', failures: 0, examples: [] };
  }
  return rowCheck(ctx, {
    table, check: 'orphans', checked, description,
    sql: `SELECT ${keyCols} FROM ${q(table)} t WHERE 1 = 1${scope(ctx, 't.id')}
            AND NOT EXISTS (SELECT 1 FROM price_bars_1d d WHERE d.id = t.id AND d.ts = t.${tsCol})`,
    order: keyCols,
  });
}

/**
 * Rolling bars: the k-th daily row of an asset is in bar ⌊(k−1)/N⌋+1 at position ((k−1) mod N)+1.
 * With row counts equal to the daily rows this pins every row to its bar.
 */
export function rollingPositionCheck(ctx: Ctx, table: string, checked: number): Promise<CheckResult> {
  return rowCheck(ctx, {
    table, check: 'rolling_position', checked,
    description: 'row k of (id, tf) has bar_seq ⌊(k−1)/N⌋+1 and pos_in_bar ((k−1) mod N)+1, N = tf_days',
    sql: `SELECT id, tf, time_close, bar_seq, pos_in_bar, expected_bar_seq, expected_pos FROM (
            SELECT id, tf, time_close, bar_seq, pos_in_bar,
                   CAST(floor((rk - 1) * 1.0 / tf_days) AS INTEGER) + 1 AS expected_bar_seq,
                   CAST((rk - 1) % tf_days AS INTEGER) + 1 AS expected_pos
            FROM (SELECT id, tf, time_close, bar_seq, pos_in_bar, tf_days,
                         row_number() OVER (PARTITION BY id, tf ORDER BY time_close) AS rk
                  FROM ${q(table)} WHERE 1 = 1${scope(ctx, 'id')}) r) x
          WHERE bar_seq <> expected_bar_seq OR pos_in_bar <> expected_pos`,
    order: 'id, tf, time_close',
  });
}

// ---------------------------------------------------------------------------------------------------------------
// EMA tables

/** True for an EMA row whose value (and ema_bar in dual tables) is missing, non-finite or not positive. */
export function emaBadValue(ctx: Ctx, dual: boolean, prefix = ''): string {
  const cols = (dual ? ['ema', 'ema_bar'] : ['ema']).map((c) => prefix + c);
  return `(${cols.map((c) => `${c} IS NULL OR ${c} <= 0 OR ${nonFinite(ctx, c)}`).join(' OR ')})`;
}

export async function emaValuesCheck(
  ctx: Ctx, table: string, dual: boolean, checked: number, knownFailures?: number,
): Promise<CheckResult> {
  const cols = dual ? ['ema', 'ema_bar'] : ['ema'];
  const description = `${cols.join(' and ')} present, finite and > 0 (an EMA of positive prices)`;
  if (knownFailures === 0) {
    return { table, check: 'values', severity: 'error', status: 'pass', description, checked, unit: 'rows', failures: 0, examples: [] };
  }
  return rowCheck(ctx, {
    table, check: 'values', checked, description,
    sql: `SELECT id, tf, period, ts, ${cols.join(', ')} FROM ${q(table)} WHERE ${emaBadValue(ctx, dual)}${scope(ctx, 'id')}`,
    order: 'id, tf, period, ts',
  });
}
