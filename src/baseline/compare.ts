// Compares one derived table with its snapshot inside the database: the sampled keys (sample.ts) are
// joined to both sides on the table's key, the tolerance test runs in SQL, and only aggregates and the
// top-N mismatches come back to JS — so the comparison scales with the database, not with Node's heap.
import { q } from '../schema/ddl.js';
import type { Table } from '../schema/tables.js';
import type { Row, Store } from '../store/store.js';
import type { DiffSink, KeyValue } from './diffs.js';
import { KEYS_TABLE, keysTableSql, type SampleConfig } from './sample.js';
import {
  absDiffSql, comparedColumns, matchSql, maxSeverity, relDiffSql, severityOfRel, skippedColumns, type ComparedColumn,
  type Family, type Severity,
} from './tolerance.js';

export type { KeyValue } from './diffs.js';

export interface Mismatch {
  key: KeyValue;
  baseline: number | string | boolean | null;
  rebuilt: number | string | boolean | null;
  absDiff: number | null;
  relDiff: number | null;
}

export interface ColumnResult {
  column: string;
  family: Family;
  rtol: number | null;
  atol: number | null;
  /** Rows present on both sides (the rows whose values could be compared). */
  compared: number;
  mismatches: number;
  matchRate: number;
  /** Largest differences over all compared rows, within tolerance or not (doubles only). */
  maxAbsDiff: number | null;
  maxRelDiff: number | null;
  /** Largest relative difference among the mismatches: what the severity is judged on. */
  mismatchMaxRelDiff: number | null;
  /** Mismatches whose difference is undefined: NULL or NaN on one side only. */
  undefinedDiffs: number;
  /** Mismatches where one side is NULL and the other is not. */
  nullDiffs: number;
  severity: Severity;
  top: Mismatch[];
}

export interface RowsOneSide {
  count: number;
  top: KeyValue[];
}

export type TableStatus = 'PASS' | 'FAIL' | 'ERROR' | 'SKIPPED';

export interface TableResult {
  table: string;
  snapshot: string;
  status: TableStatus;
  error?: string;
  severity: Severity;
  keyColumns: string[];
  keys: {
    /** Keys in the union of both sides. */
    union: number;
    sampled: number;
    strata: Record<string, number>;
  };
  /** Sampled keys present on both sides. */
  compared: number;
  /** Sampled keys whose every compared column matched. */
  matched: number;
  /** matched / sampled: missing and extra rows lower it; 1 for an empty sample. */
  matchRate: number;
  /** In the snapshot, not in the rebuilt table. */
  missing: RowsOneSide;
  /** In the rebuilt table, not in the snapshot. */
  extra: RowsOneSide;
  columns: ColumnResult[];
  skippedColumns: { name: string; reason: string }[];
  /** Columns that exist on one side only (not compared; they fail the table). */
  columnsOnlyLeft?: string[];
  columnsOnlyRight?: string[];
  /** Checksum bisection figures, when the table was compared that way. */
  checksum?: { queries: number; differingSegments: number; rowsPulled: number };
  ms: number;
}

export interface CompareOptions {
  ids?: number[];
  sample: SampleConfig;
  /** Mismatch rows kept per column (and missing/extra keys per table). */
  topN: number;
  /** The columns compared (default: every compared column of the schema). */
  cols?: ComparedColumn[];
  /** Receives every differing key, not only the top N. */
  sink?: DiffSink;
}

/** Every SQL statement the comparison of one table runs (shown by --dry-run). */
export function compareSql(store: Pick<Store, 'engine'>, table: Table, snap: string, opts: CompareOptions): string[] {
  const cols = comparedColumns(table);
  return [
    `DROP TABLE IF EXISTS ${q(KEYS_TABLE)}`,
    keysTableSql(store.engine, table, snap, opts.ids, opts.sample),
    countsSql(),
    aggregateSql(table, snap, cols),
    ...cols.map((c) => topSql(table, snap, c, opts.topN)),
    oneSideSql(table, snap, 'missing', opts.topN),
    oneSideSql(table, snap, 'extra', opts.topN),
    `DROP TABLE IF EXISTS ${q(KEYS_TABLE)}`,
  ];
}

/** The sampled keys joined to both sides; unsampled keys never reach the join. */
function joinSql(table: Table, snap: string): string {
  const on = (a: string) => table.key.map((k) => `${a}.${q(k)} = k.${q(k)}`).join(' AND ');
  return `FROM (SELECT * FROM ${q(KEYS_TABLE)} WHERE stratum IS NOT NULL) k ` +
    `LEFT JOIN ${q(snap)} s ON ${on('s')} LEFT JOIN ${q(table.name)} t ON ${on('t')}`;
}

const STRATA = ['beginning', 'end', 'random', 'all'];

function countsSql(): string {
  return `SELECT count(*) AS n_union, count(stratum) AS n_sampled, ` +
    `${STRATA.map((s) => `count(*) FILTER (WHERE stratum = '${s}') AS n_${s}`).join(', ')} FROM ${q(KEYS_TABLE)}`;
}

const inS = (table: Table) => `s.${q(table.key[0])} IS NOT NULL`;
const inT = (table: Table) => `t.${q(table.key[0])} IS NOT NULL`;

function aggregateSql(table: Table, snap: string, cols: ComparedColumn[]): string {
  const both = `${inS(table)} AND ${inT(table)}`;
  const parts = [
    `count(*) FILTER (WHERE ${both}) AS n_both`,
    `count(*) FILTER (WHERE ${inS(table)} AND NOT ${inT(table)}) AS n_missing`,
    `count(*) FILTER (WHERE ${inT(table)} AND NOT ${inS(table)}) AS n_extra`,
    `count(*) FILTER (WHERE ${both}${cols.map((c) => ` AND ${matchSql(c)}`).join('')}) AS n_matched`,
  ];
  cols.forEach((c, i) => {
    const w = both;
    parts.push(`count(*) FILTER (WHERE ${w} AND NOT ${matchSql(c)}) AS mm_${i}`);
    parts.push(`count(*) FILTER (WHERE ${w} AND (s.${q(c.name)} IS NULL) <> (t.${q(c.name)} IS NULL)) AS null_${i}`);
    if (c.tol) {
      const abs = absDiffSql(c);
      parts.push(`max(${abs}) FILTER (WHERE ${w}) AS maxabs_${i}`);
      parts.push(`max(${relDiffSql(c)}) FILTER (WHERE ${w}) AS maxrel_${i}`);
      parts.push(`max(${relDiffSql(c)}) FILTER (WHERE ${w} AND NOT ${matchSql(c)}) AS mmrel_${i}`);
      parts.push(`count(*) FILTER (WHERE ${w} AND NOT ${matchSql(c)} AND ${abs} IS NULL) AS undef_${i}`);
    }
  });
  return `SELECT\n  ${parts.join(',\n  ')}\n${joinSql(table, snap)}`;
}

function topSql(table: Table, snap: string, c: ComparedColumn, n: number | null): string {
  const keys = table.key.map((k) => `k.${q(k)}`).join(', ');
  const diff = c.tol
    ? `${absDiffSql(c)} AS abs_diff, ${relDiffSql(c)} AS rel_diff`
    : 'NULL AS abs_diff, NULL AS rel_diff';
  const order = c.tol ? `rel_diff DESC NULLS FIRST, abs_diff DESC NULLS FIRST, ${keys}` : keys;
  return `SELECT ${keys}, s.${q(c.name)} AS baseline, t.${q(c.name)} AS rebuilt, ${diff}\n${joinSql(table, snap)}\n` +
    `WHERE ${inS(table)} AND ${inT(table)} AND NOT ${matchSql(c)}\nORDER BY ${order}${n === null ? '' : ` LIMIT ${n}`}`;
}

function oneSideSql(table: Table, snap: string, which: 'missing' | 'extra', n: number | null): string {
  const keys = table.key.map((k) => `k.${q(k)}`).join(', ');
  const cond = which === 'missing' ? `${inS(table)} AND NOT ${inT(table)}` : `${inT(table)} AND NOT ${inS(table)}`;
  return `SELECT ${keys}\n${joinSql(table, snap)}\nWHERE ${cond}\nORDER BY ${keys}${n === null ? '' : ` LIMIT ${n}`}`;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function keyOf(table: Table, r: Row): KeyValue {
  const out: KeyValue = {};
  for (const k of table.key) {
    const type = table.columns.find((c) => c.name === k)!.type;
    const v = r[k];
    out[k] = v === null || v === undefined ? null : type === 'ts' ? new Date(Number(v)).toISOString() : (v as string | number);
  }
  return out;
}

function cellOf(c: ComparedColumn, v: unknown): number | string | boolean | null {
  if (v === null || v === undefined) return null;
  if (c.type === 'ts') return new Date(Number(v)).toISOString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

export function emptyTableResult(table: Table, snap: string, status: TableStatus, error?: string): TableResult {
  return {
    table: table.name, snapshot: snap, status, error, severity: status === 'PASS' ? 'INFO' : 'CRITICAL',
    keyColumns: table.key, keys: { union: 0, sampled: 0, strata: {} }, compared: 0, matched: 0, matchRate: 0,
    missing: { count: 0, top: [] }, extra: { count: 0, top: [] }, columns: [], skippedColumns: skippedColumns(table), ms: 0,
  };
}

export async function compareTable(store: Store, table: Table, snap: string, opts: CompareOptions): Promise<TableResult> {
  const t0 = Date.now();
  const cols = opts.cols ?? comparedColumns(table);
  await store.exec(`DROP TABLE IF EXISTS ${q(KEYS_TABLE)}`);
  await store.exec(keysTableSql(store.engine, table, snap, opts.ids, opts.sample));
  try {
    if (store.engine.needsAnalyze) await store.exec(`ANALYZE ${q(KEYS_TABLE)}`);
    const counts = (await store.query(countsSql()))[0];
    const agg = (await store.query(aggregateSql(table, snap, cols)))[0];
    const columns: ColumnResult[] = [];
    for (const [i, c] of cols.entries()) {
      const compared = num(agg.n_both);
      const mismatches = num(agg[`mm_${i}`]);
      const undefinedDiffs = num(agg[`undef_${i}`]);
      let severity: Severity = 'INFO';
      if (mismatches > 0) severity = c.tol && undefinedDiffs === 0 ? severityOfRel(numOrNull(agg[`mmrel_${i}`])) : 'CRITICAL';
      let top: Mismatch[] = [];
      if (mismatches > 0 && opts.topN > 0) {
        const rows = await store.query(topSql(table, snap, c, opts.topN));
        top = rows.map((r) => ({
          key: keyOf(table, r), baseline: cellOf(c, r.baseline), rebuilt: cellOf(c, r.rebuilt),
          absDiff: numOrNull(r.abs_diff), relDiff: numOrNull(r.rel_diff),
        }));
      }
      columns.push({
        column: c.name, family: c.family, rtol: c.tol?.rtol ?? null, atol: c.tol?.atol ?? null, compared, mismatches,
        matchRate: compared === 0 ? 1 : (compared - mismatches) / compared,
        maxAbsDiff: c.tol ? numOrNull(agg[`maxabs_${i}`]) : null, maxRelDiff: c.tol ? numOrNull(agg[`maxrel_${i}`]) : null,
        mismatchMaxRelDiff: c.tol ? numOrNull(agg[`mmrel_${i}`]) : null, undefinedDiffs,
        nullDiffs: num(agg[`null_${i}`]), severity, top,
      });
    }
    const oneSide = async (which: 'missing' | 'extra', count: number): Promise<RowsOneSide> => ({
      count,
      top: count > 0 && opts.topN > 0 ? (await store.query(oneSideSql(table, snap, which, opts.topN))).map((r) => keyOf(table, r)) : [],
    });
    if (opts.sink) {
      // Every differing key for the CSV beside the report, not only the top N.
      for (const [i, c] of cols.entries()) {
        if (num(agg[`mm_${i}`]) === 0) continue;
        for (const r of await store.query(topSql(table, snap, c, null))) {
          opts.sink.add({ table: table.name, kind: 'mismatch', key: keyOf(table, r), column: c.name, left: cellOf(c, r.baseline),
            right: cellOf(c, r.rebuilt), absDiff: numOrNull(r.abs_diff), relDiff: numOrNull(r.rel_diff) });
        }
      }
      for (const which of ['missing', 'extra'] as const) {
        if (num(agg[`n_${which}`]) === 0) continue;
        for (const r of await store.query(oneSideSql(table, snap, which, null))) opts.sink.add({ table: table.name, kind: which, key: keyOf(table, r) });
      }
    }
    const missing = await oneSide('missing', num(agg.n_missing));
    const extra = await oneSide('extra', num(agg.n_extra));
    const sampled = num(counts.n_sampled);
    const matched = num(agg.n_matched);
    const strata: Record<string, number> = {};
    for (const s of STRATA) if (num(counts[`n_${s}`]) > 0) strata[s] = num(counts[`n_${s}`]);
    const failed = missing.count > 0 || extra.count > 0 || columns.some((c) => c.mismatches > 0);
    const severity = maxSeverity([
      ...columns.map((c) => c.severity), ...(missing.count || extra.count ? ['CRITICAL' as const] : []),
    ]);
    return {
      table: table.name, snapshot: snap, status: failed ? 'FAIL' : 'PASS', severity, keyColumns: table.key,
      keys: { union: num(counts.n_union), sampled, strata }, compared: num(agg.n_both), matched,
      matchRate: sampled === 0 ? 1 : matched / sampled, missing, extra, columns, skippedColumns: skippedColumns(table),
      ms: Date.now() - t0,
    };
  } finally {
    await store.exec(`DROP TABLE IF EXISTS ${q(KEYS_TABLE)}`).catch(() => undefined);
  }
}
