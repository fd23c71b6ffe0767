// Expected row counts of the bar and EMA tables, derived independently of the builders: from the daily bars
// and the bar tables' canonical rows (selected in SQL), with the table rules of docs/concepts.md
// applied here. Comparing them with the stored counts (and first/last day) catches missing and extra rows.
//
// EMA rule per family (docs/concepts.md; the original pipeline's validate_ema_rowcounts used floor(days/tf_days) over a global date range, which ignores warm-up and listing date):
//   v1     rows = daily rows with ts ≥ T_p, T_p = the p-th canonical close of the tf (1D: the p-th day);
//   v2     rows = N − d·p + 1 when ⌊N/d⌋ ≥ 3p (compute/ema v2Guard), else none; N daily rows, d nominal days;
//   cal    rows = daily rows with ts ≥ T_p, T_p = the p-th canonical close that is a daily day;
//   anchor rows = daily rows from the seed on: the first canonical close at or after the p-th that is a day.
// Which (tf, period) keys must exist: those present in the table, plus the default selection for an asset
// whose refresh_state row for that table says a default-selection refresh built it.
import {
  belongsTo, DEFAULT_PERIODS, defaultTimeframes, getTimeframe, TIMEFRAMES, type BarFamily, type Timeframe,
} from '../catalog/timeframes.js';
import { firstWindowStartingOnOrAfter } from '../compute/bars/calendar.js';
import { v2Guard } from '../compute/ema/index.js';
import { emaTimeframes, type EmaFamily } from '../refresh/emas.js';
import { q } from '../schema/ddl.js';
import { BAR_TABLES, EMA_TABLES, priceBars1d } from '../schema/tables.js';
import { changedFrom, EMAS_STATE_TABLES, upstreamChange } from '../refresh/state.js';
import { emaBadValue, scope, toExample, type Ctx } from './checks.js';
import { statusOf, type CheckResult, type Example } from './report.js';
import { lowerBound } from '../util/search.js';

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
/** A pending recompute of the whole history, reported from the epoch. */
const DAY_ZERO = 0;

/** Which bar table's canonical closes feed an EMA family. */
export const EMA_SOURCE: Record<EmaFamily, BarFamily | null> = {
  v1: 'multi_tf', v2: null, cal_us: 'cal_us', cal_iso: 'cal_iso', cal_anchor_us: 'cal_anchor_us',
  cal_anchor_iso: 'cal_anchor_iso',
};

/** Each asset's daily bar closes (ascending), the ground truth every count is measured against. */
export async function loadDailyTs(ctx: Ctx): Promise<Map<number, Float64Array>> {
  const rows = await ctx.store.query<{ id: number; ts: number }>(
    `SELECT id, ts FROM price_bars_1d WHERE 1 = 1${scope(ctx, 'id')} ORDER BY id, ts`,
  );
  const out = new Map<number, Float64Array>();
  let i = 0;
  while (i < rows.length) {
    let j = i;
    while (j < rows.length && rows[j].id === rows[i].id) j++;
    out.set(rows[i].id, Float64Array.from(rows.slice(i, j), (r) => Number(r.ts)));
    i = j;
  }
  return out;
}

/**
 * Tables per asset built by a default-selection refresh (their refresh_state row exists), keyed `id|table`,
 * with the day from which the refresh already knows they must be recomputed (dirty_from), if any.
 */
export type BuiltByDefault = Map<string, number | null>;

export async function loadBuiltByDefault(ctx: Ctx): Promise<BuiltByDefault> {
  const rows = await ctx.store.query<{
    id: number; table_name: string; dirty_from: number | null; changed_from: number | null; last_run_ts: number;
  }>(`SELECT id, table_name, dirty_from, changed_from, last_run_ts FROM refresh_state WHERE 1 = 1${scope(ctx, 'id')}`);
  const out: BuiltByDefault = new Map(rows.map((r) => [`${r.id}|${r.table_name}`, r.dirty_from === null ? null : Number(r.dirty_from)]));
  // An EMA table also waits for a rewrite of the bars it has not run since (the bars' own changed_from).
  const bars = new Map(rows.filter((r) => r.table_name === priceBars1d.name).map((r) => [Number(r.id), r]));
  for (const r of rows) {
    const up = bars.get(Number(r.id));
    if (!up || !EMAS_STATE_TABLES.includes(r.table_name)) continue;
    const changed = upstreamChange({ ...up, changed_from: changedFrom(up.changed_from) }, r);
    if (changed === null) continue;
    const key = `${r.id}|${r.table_name}`;
    const day = changed === -Infinity ? DAY_ZERO : changed;
    out.set(key, Math.min(out.get(key) ?? Infinity, day));
  }
  return out;
}

/** A mismatch in a table the refresh has marked for recomputation is expected until it runs: say so. */
function notePending(failures: Example[], table: string, built: BuiltByDefault): void {
  for (const f of failures) {
    const dirty = built.get(`${f.id}|${table}`);
    if (dirty !== null && dirty !== undefined) f.pending_refresh_from = new Date(dirty).toISOString().slice(0, 10);
  }
}


interface Expect {
  n: number;
  first: number | null;
  last: number | null;
}

function fromIndex(daily: Float64Array, start: number): Expect {
  const n = Math.max(0, daily.length - start);
  return { n, first: n ? daily[start] : null, last: n ? daily[daily.length - 1] : null };
}

const NONE: Expect = { n: 0, first: null, last: null };

interface Actual {
  n: number;
  first: number;
  last: number;
}

/** Compare expected and actual per key; a key fails on a different count or different first/last day. */
function compare(
  keys: Map<string, Example>, expected: (key: string) => Expect | string, actual: Map<string, Actual>,
): { failures: Example[]; checked: number } {
  const failures: Example[] = [];
  for (const [key, base] of keys) {
    const e = expected(key);
    const a = actual.get(key);
    if (typeof e === 'string') {
      failures.push({ ...base, problem: e, actual: a?.n ?? 0 });
      continue;
    }
    const an = a?.n ?? 0;
    if (an === e.n && (an === 0 || (a!.first === e.first && a!.last === e.last))) continue;
    const problem = an < e.n ? 'missing rows' : an > e.n ? 'extra rows' : 'rows on the wrong days';
    failures.push(toExample({
      ...base, problem, expected: e.n, actual: an, diff: an - e.n, expected_first: e.first, actual_first: a?.first ?? null,
      expected_last: e.last, actual_last: a?.last ?? null,
    }));
  }
  return { failures, checked: keys.size };
}

function sortKey(e: Example): string {
  const pad = (v: unknown) => String(v ?? '').padStart(12, '0');
  return `${pad(e.id)}|${e.tf}|${pad(e.period)}`;
}

function result(
  ctx: Ctx, table: string, description: string, unit: string, r: { failures: Example[]; checked: number },
): CheckResult {
  r.failures.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  return {
    table, check: 'row_counts', severity: 'error', status: statusOf('error', r.failures.length), description,
    checked: r.checked, unit, failures: r.failures.length, examples: r.failures.slice(0, ctx.maxExamples),
  };
}

export interface CountsResult {
  check: CheckResult;
  /** Rows in the table (in scope). */
  rows: number;
  /** Rows whose day is not a daily bar: the orphans check needs its own query only when this is > 0. */
  offGrid: number;
  /** EMA tables: rows with a bad value, and keys whose tf_days differ from the nominal days (same idea). */
  badValues?: number;
  badTfDays?: number;
}

interface GroupRow {
  id: number;
  tf: string;
  period: number;
  n: number;
  lo: number;
  hi: number;
  off_grid: number;
  [extra: string]: unknown;
}

/**
 * Rows, first and last day per key, and rows off the daily grid, in one scan of the table (plus `extra`
 * aggregates), so that on a healthy table the detail checks need no scan of their own.
 */
function groupedCounts(
  ctx: Ctx, table: string, tsCol: string, keyCols: string[], extra: Record<string, string> = {},
): Promise<GroupRow[]> {
  const keys = ['id', ...keyCols].map((c) => `t.${c}`).join(', ');
  const more = Object.entries(extra).map(([alias, expr]) => `, ${expr} AS ${alias}`).join('');
  return ctx.store.query<GroupRow>(
    `SELECT ${keys}, count(*) AS n, min(t.${tsCol}) AS lo, max(t.${tsCol}) AS hi,
            sum(CASE WHEN d.ts IS NULL THEN 1 ELSE 0 END) AS off_grid${more}
     FROM ${q(table)} t LEFT JOIN price_bars_1d d ON d.id = t.id AND d.ts = t.${tsCol}
     WHERE 1 = 1${scope(ctx, 't.id')} GROUP BY ${keys}`,
  );
}

function totals(rows: GroupRow[]): { rows: number; offGrid: number } {
  let n = 0;
  let off = 0;
  for (const r of rows) {
    n += Number(r.n);
    off += Number(r.off_grid);
  }
  return { rows: n, offGrid: off };
}

// ---------------------------------------------------------------------------------------------------------------
// Bars

/**
 * Rows per (id, tf) of a snapshot bar table: every daily row for rolling and anchored bars;
 * for cal bars the daily rows from the first complete window on (the first window that starts on
 * or after the asset's first day). First and last rows must be the first counted day and the last day.
 */
export async function barRowCounts(
  ctx: Ctx, family: BarFamily, daily: Map<number, Float64Array>, builtByDefault: BuiltByDefault,
): Promise<CountsResult> {
  const table = BAR_TABLES[family].name;
  const rows = await groupedCounts(ctx, table, 'time_close', ['tf']);
  const actual = new Map<string, Actual>();
  const keys = new Map<string, Example>();
  for (const r of rows) {
    const k = `${r.id}|${r.tf}`;
    actual.set(k, { n: Number(r.n), first: Number(r.lo), last: Number(r.hi) });
    keys.set(k, { id: r.id, tf: r.tf });
  }
  const defaults = defaultTimeframes().filter((t) => belongsTo(t, family));
  for (const id of daily.keys()) {
    if (!builtByDefault.has(`${id}|${table}`)) continue;
    for (const t of defaults) if (!keys.has(`${id}|${t.tf}`)) keys.set(`${id}|${t.tf}`, { id, tf: t.tf });
  }
  const expected = (key: string): Expect | string => {
    const [idText, tfName] = key.split('|');
    const tf = getTimeframe(tfName);
    if (!tf) return `unknown timeframe ${tfName}`;
    if (!belongsTo(tf, family)) return `timeframe ${tfName} does not belong in ${table}`;
    const d = daily.get(Number(idText));
    if (!d || d.length === 0) return NONE;
    if (family === 'cal_iso' || family === 'cal_us') {
      const w = firstWindowStartingOnOrAfter(tf, dayOf(d[0]));
      return fromIndex(d, lowerBound(d, w.start * DAY_MS));
    }
    return fromIndex(d, 0);
  };
  const cmp = compare(keys, expected, actual);
  notePending(cmp.failures, table, builtByDefault);
  return {
    check: result(ctx, table, family === 'cal_iso' || family === 'cal_us'
      ? 'rows per (id, tf) = daily rows from the first complete window on'
      : 'rows per (id, tf) = daily rows', '(id, tf) keys', cmp),
    ...totals(rows),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// EMAs

/** p-th canonical closes per (id, tf, period) in SQL (`seed` column), following each family's rule. */
async function loadSeeds(
  ctx: Ctx, family: EmaFamily, periods: number[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const source = EMA_SOURCE[family];
  if (!source || periods.length === 0) return out;
  const bars = q(BAR_TABLES[source].name);
  const onGrid = 'EXISTS (SELECT 1 FROM price_bars_1d d WHERE d.id = b.id AND d.ts = b.time_close)';
  const pp = `(VALUES ${periods.map((p) => `(${p})`).join(', ')}) AS pp(p)`;
  let sql: string;
  if (family === 'v1') {
    // The p-th canonical close, wherever it lies; rows are the daily rows at or after it.
    sql = `SELECT c.id, c.tf, pp.p AS period, c.time_close AS seed
           FROM (SELECT b.id, b.tf, b.time_close, row_number() OVER (PARTITION BY b.id, b.tf ORDER BY b.time_close) AS rk
                 FROM ${bars} b WHERE NOT b.is_partial_end${scope(ctx, 'b.id')}) c
           JOIN ${pp} ON c.rk = pp.p`;
  } else if (family === 'cal_us' || family === 'cal_iso') {
    // Canonical closes off the daily grid are not closes the EMA can use: rank only those on it.
    sql = `SELECT c.id, c.tf, pp.p AS period, c.time_close AS seed
           FROM (SELECT b.id, b.tf, b.time_close, row_number() OVER (PARTITION BY b.id, b.tf ORDER BY b.time_close) AS rk
                 FROM ${bars} b WHERE NOT b.is_partial_end AND ${onGrid}${scope(ctx, 'b.id')}) c
           JOIN ${pp} ON c.rk = pp.p`;
  } else {
    // The bar EMA is defined from the p-th canonical close on; the first of those on the daily grid seeds.
    sql = `SELECT c.id, c.tf, pp.p AS period, min(c.time_close) AS seed
           FROM (SELECT b.id, b.tf, b.time_close, row_number() OVER (PARTITION BY b.id, b.tf ORDER BY b.time_close) AS rk,
                        CASE WHEN ${onGrid} THEN 1 ELSE 0 END AS on_grid
                 FROM ${bars} b WHERE NOT b.is_partial_end${scope(ctx, 'b.id')}) c
           JOIN ${pp} ON c.rk >= pp.p
           WHERE c.on_grid = 1
           GROUP BY c.id, c.tf, pp.p`;
  }
  for (const r of await ctx.store.query<{ id: number; tf: string; period: number; seed: number }>(sql)) {
    out.set(`${r.id}|${r.tf}|${r.period}`, Number(r.seed));
  }
  return out;
}

export async function emaRowCounts(
  ctx: Ctx, family: EmaFamily, daily: Map<number, Float64Array>, builtByDefault: BuiltByDefault,
): Promise<CountsResult> {
  const table = EMA_TABLES[family].name;
  const rows = await groupedCounts(ctx, table, 'ts', ['tf', 'period'], {
    bad_values: `sum(CASE WHEN ${emaBadValue(ctx, EMA_TABLES[family].columns.some((c) => c.name === 'ema_bar'), 't.')} THEN 1 ELSE 0 END)`,
    tfd_lo: 'min(t.tf_days)',
    tfd_hi: 'max(t.tf_days)',
  });
  const actual = new Map<string, Actual>();
  const keys = new Map<string, Example>();
  for (const r of rows) {
    const k = `${r.id}|${r.tf}|${r.period}`;
    actual.set(k, { n: Number(r.n), first: Number(r.lo), last: Number(r.hi) });
    keys.set(k, { id: r.id, tf: r.tf, period: r.period });
  }
  const defaults: Timeframe[] = emaTimeframes(family, defaultTimeframes());
  for (const id of daily.keys()) {
    if (!builtByDefault.has(`${id}|${table}`)) continue;
    for (const t of defaults) {
      for (const p of DEFAULT_PERIODS) {
        const k = `${id}|${t.tf}|${p}`;
        if (!keys.has(k)) keys.set(k, { id, tf: t.tf, period: p });
      }
    }
  }
  const periods = [...new Set([...keys.values()].map((e) => Number(e.period)))]
    .filter((p) => Number.isInteger(p) && p >= 1).sort((a, b) => a - b);
  const seeds = await loadSeeds(ctx, family, periods);
  const allowed = new Set(emaTimeframes(family, TIMEFRAMES).map((t) => t.tf));

  const expected = (key: string): Expect | string => {
    const [idText, tfName, pText] = key.split('|');
    const tf = getTimeframe(tfName);
    const p = Number(pText);
    if (!tf) return `unknown timeframe ${tfName}`;
    if (!allowed.has(tf.tf)) return `timeframe ${tfName} does not belong in ${table}`;
    if (!Number.isInteger(p) || p < 1) return `invalid period ${pText}`;
    const d = daily.get(Number(idText));
    if (!d || d.length === 0) return NONE;
    const n = d.length;
    if (family === 'v2') {
      const dd = tf.daysNominal;
      return v2Guard(n, dd, p) ? fromIndex(d, dd * p - 1) : NONE;
    }
    if (family === 'v1' && tf.tf === '1D') return n >= p ? fromIndex(d, p - 1) : NONE;
    const seed = seeds.get(key);
    return seed === undefined ? NONE : fromIndex(d, lowerBound(d, seed));
  };
  const rule = family === 'v2'
    ? 'rows per (id, tf, period) = N − d·p + 1 if ⌊N/d⌋ ≥ 3p, else 0'
    : family === 'v1'
      ? 'rows per (id, tf, period) = daily rows from the p-th canonical close of the tf (1D: the p-th day)'
      : family === 'cal_us' || family === 'cal_iso'
        ? 'rows per (id, tf, period) = daily rows from the p-th canonical calendar close'
        : 'rows per (id, tf, period) = daily rows from the seed (first canonical close on or after the p-th)';
  let badValues = 0;
  let badTfDays = 0;
  for (const r of rows) {
    badValues += Number(r.bad_values);
    const nominal = getTimeframe(r.tf)?.daysNominal;
    if (Number(r.tfd_lo) !== nominal || Number(r.tfd_hi) !== nominal) badTfDays++;
  }
  const cmp = compare(keys, expected, actual);
  notePending(cmp.failures, table, builtByDefault);
  return { check: result(ctx, table, rule, '(id, tf, period) keys', cmp), ...totals(rows), badValues, badTfDays };
}

/** tf_days of every EMA row is the timeframe's nominal days, the d of every formula. */
export async function emaTfDaysCheck(ctx: Ctx, family: EmaFamily, checked: number, knownFailures?: number): Promise<CheckResult> {
  const table = EMA_TABLES[family].name;
  const description = 'tf_days = the timeframe\'s nominal days';
  if (knownFailures === 0) {
    return { table, check: 'tf_days', severity: 'error', status: 'pass', description, checked, unit: 'rows', failures: 0, examples: [] };
  }
  const rows = await ctx.store.query<{ tf: string; tf_days: number; n: number; first_id: number }>(
    `SELECT tf, tf_days, count(*) AS n, min(id) AS first_id FROM ${q(table)} WHERE 1 = 1${scope(ctx, 'id')}
     GROUP BY tf, tf_days ORDER BY tf, tf_days`,
  );
  const bad = rows.filter((r) => getTimeframe(r.tf)?.daysNominal !== Number(r.tf_days));
  const failures = bad.reduce((s, r) => s + Number(r.n), 0);
  return {
    table, check: 'tf_days', severity: 'error', status: statusOf('error', failures),
    description, checked, unit: 'rows', failures,
    examples: bad.slice(0, ctx.maxExamples).map((r) => ({
      tf: r.tf, tf_days: Number(r.tf_days), expected_tf_days: getTimeframe(r.tf)?.daysNominal ?? null, rows: Number(r.n),
      first_id: Number(r.first_id),
    })),
  };
}
