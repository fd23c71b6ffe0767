// Compares a list of table pairs — left (the reference: a snapshot, or the --left database) against right
// (the live table, or the --right database) — by the chosen method, and returns one TableResult per pair.
// Shared by `baseline` (snapshot vs rebuilt), `baseline compare` (snapshot vs current) and `diff`.
import { q } from '../schema/ddl.js';
import type { Table } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { compareByChecksum, type Side } from './bisect.js';
import { compareTable, emptyTableResult, type TableResult } from './compare.js';
import type { DiffSink } from './diffs.js';
import type { SampleConfig } from './sample.js';
import { comparedColumns, type ComparedColumn } from './tolerance.js';

/** checksum: every row, by checksum bisection; sample / full: the in-database join (one database only). */
export type CompareMethod = 'checksum' | 'sample' | 'full';
export const COMPARE_METHODS: CompareMethod[] = ['checksum', 'sample', 'full'];

export interface TablePair {
  table: Table;
  left: Side;
  right: Side;
}

export interface CompareAllOptions {
  method: CompareMethod;
  ids?: number[];
  sample: SampleConfig;
  topN: number;
  sink?: DiffSink;
  /** Columns left out of the comparison on both sides (reported as skipped, with the reason). */
  ignore?: { name: string; reason: string }[];
  log?: (line: string) => void;
  /** Called after each table, for progress. */
  onTable?: (done: number, total: number) => void;
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function columnsOf(store: Store, table: string): Promise<string[] | null> {
  const r = await store.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [table],
  );
  return r.length ? r.map((x) => x.column_name) : null;
}

export async function compareAll(pairs: TablePair[], opts: CompareAllOptions): Promise<TableResult[]> {
  const log = opts.log ?? (() => undefined);
  const out: TableResult[] = [];
  for (const [i, p] of pairs.entries()) {
    const r = await comparePair(p, opts).catch((e) => emptyTableResult(p.table, p.left.table, 'ERROR', msg(e)));
    out.push(r);
    log(`  [${r.status}] ${p.table.name}: ${r.status === 'ERROR' || r.status === 'SKIPPED' ? r.error : `${(r.matchRate * 100).toFixed(2)} % of ${r.keys.sampled} keys match` +
      (r.status === 'FAIL' ? ` (${r.severity}; ${r.missing.count} missing, ${r.extra.count} extra, ` +
        `${r.columns.filter((c) => c.mismatches > 0).map((c) => `${c.column} ×${c.mismatches}`).join(', ') || 'no value mismatches'}` +
        `${r.columnsOnlyLeft?.length || r.columnsOnlyRight?.length ? ', columns on one side only' : ''})` : '') +
      (r.checksum ? ` [${r.checksum.differingSegments} differing segment(s), ${r.checksum.rowsPulled} row(s) pulled]` : '')}`);
    opts.onTable?.(i + 1, pairs.length);
  }
  opts.sink?.flush();
  return out;
}

async function comparePair(p: TablePair, opts: CompareAllOptions): Promise<TableResult> {
  const [lc, rc] = await Promise.all([columnsOf(p.left.store, p.left.table), columnsOf(p.right.store, p.right.table)]);
  if (!lc) return emptyTableResult(p.table, p.left.table, 'ERROR', `table ${p.left.table} does not exist on the left side`);
  if (!rc) return emptyTableResult(p.table, p.left.table, 'ERROR', `table ${p.right.table} does not exist on the right side`);
  for (const k of p.table.key) {
    if (!lc.includes(k) || !rc.includes(k)) {
      return emptyTableResult(p.table, p.left.table, 'ERROR', `key column ${k} is missing on the ${lc.includes(k) ? 'right' : 'left'} side`);
    }
  }
  const ignore = (opts.ignore ?? []).filter((x) => !p.table.key.includes(x.name));
  const all = comparedColumns(p.table).filter((c) => !ignore.some((x) => x.name === c.name));
  const cols: ComparedColumn[] = all.filter((c) => lc.includes(c.name) && rc.includes(c.name));
  const ignored = new Set([...p.table.key, ...p.table.columns.filter((c) => c.default === 'now()').map((c) => c.name), ...ignore.map((x) => x.name)]);
  const onlyLeft = lc.filter((c) => !rc.includes(c) && !ignored.has(c));
  const onlyRight = rc.filter((c) => !lc.includes(c) && !ignored.has(c));
  let r: TableResult;
  if (opts.method === 'checksum') {
    r = await compareByChecksum(p.left, p.right, p.table, cols, { ids: opts.ids, topN: opts.topN, sink: opts.sink });
  } else {
    if (p.left.store !== p.right.store) {
      throw new UserError(`--${opts.method === 'full' ? 'full' : 'sample'} compares inside one database; across databases only the checksum method works`);
    }
    if (p.right.table !== p.table.name) throw new Error(`the in-database comparison needs the right side to be ${p.table.name}`);
    r = await compareTable(p.right.store, p.table, p.left.table, {
      ids: opts.ids, sample: { ...opts.sample, full: opts.method === 'full' }, topN: opts.topN, cols, sink: opts.sink,
    });
  }
  for (const x of ignore) if (lc.includes(x.name) || rc.includes(x.name)) r.skippedColumns.push(x);
  if (onlyLeft.length || onlyRight.length) {
    r.columnsOnlyLeft = onlyLeft;
    r.columnsOnlyRight = onlyRight;
    r.status = r.status === 'PASS' ? 'FAIL' : r.status;
    r.severity = 'CRITICAL';
  }
  return r;
}

/** `SELECT DISTINCT id` over the given tables: the assets a snapshot set holds. */
export async function idsIn(store: Store, tables: string[]): Promise<number[]> {
  const r = await store.query<{ id: number }>(`SELECT DISTINCT id FROM (${tables.map((t) => `SELECT DISTINCT id FROM ${q(t)}`).join(' UNION ')}) u ORDER BY id`);
  return r.map((x) => Number(x.id));
}
