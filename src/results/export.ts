// Writes the finished-bars-with-EMAs result (query.ts) as Parquet, CSV or JSON. Parquet is written by DuckDB:
// straight from the database file, or, on PostgreSQL, from an in-memory DuckDB table filled asset by asset.
// CSV and JSON are read asset by asset through the Store, so both engines give the same text and memory
// stays bounded by one asset. A file is written beside its target and renamed at the end: an export that
// fails leaves no half file under the asked-for name.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RowBatch } from '../columnar/columns.js';
import { q } from '../schema/ddl.js';
import type { ColType, Table } from '../schema/tables.js';
import type { Row, Store } from '../store/store.js';
import { resultColumns, resultSql, type Selection } from './query.js';
import { dayExpr } from '../schema/view-sources.js';

export type ExportFormat = 'parquet' | 'csv' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['parquet', 'csv', 'json'];

const TIME_COLUMNS = new Set(['ts', 'time_open']);
const TEXT_COLUMNS = new Set(['family', 'symbol', 'tf', 'day']);
const INT_COLUMNS = new Set(['id', 'bar_seq']);

function typeOf(col: string): ColType {
  if (TIME_COLUMNS.has(col)) return 'ts';
  if (TEXT_COLUMNS.has(col)) return 'text';
  if (INT_COLUMNS.has(col)) return 'int';
  return 'double';
}

/** A value as CSV/JSON text: instants in ISO 8601 UTC, numbers as JavaScript prints them (shortest exact form). */
function plain(col: string, v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (TIME_COLUMNS.has(col)) return new Date(Number(v)).toISOString();
  return typeof v === 'number' || typeof v === 'string' ? v : String(v);
}

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Where text goes: a file (renamed into place by `done`) or the caller's line sink (stdout). */
interface TextOut {
  write(text: string): void;
  done(): void;
  abort(): void;
}

function fileOut(path: string): TextOut {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    write: (text) => void writeSync(fd, `${text}\n`),
    done: () => {
      close();
      renameSync(tmp, path);
    },
    abort: () => {
      close();
      rmSync(tmp, { force: true });
    },
  };
}

export interface ExportResult {
  rows: number;
  /** EMA columns without a single value (a period never built for these timeframes, or too long to seed). */
  emptyColumns: string[];
}

const isEma = (c: string) => c.startsWith('ema_');

/**
 * One page of the result. On PostgreSQL nested-loop joins are ruled out for it: with the statistics of tables
 * just built and not yet analysed, the planner expects one row everywhere and re-reads the EMA pivot for every
 * bar (23 s instead of 0.1 s for one asset's 5,860 days); hash joins read each side once whatever it expects.
 */
export async function readPage(store: Store, sql: string, params: unknown[]): Promise<Row[]> {
  const hint = store.engine.hashJoinsOnly;
  if (!hint) return store.query(sql, params);
  return store.transaction(async () => {
    await store.exec(hint);
    return store.query(sql, params);
  });
}

async function exportText(store: Store, sel: Selection, format: 'csv' | 'json', out: TextOut): Promise<ExportResult> {
  const cols = resultColumns(sel);
  const filled = new Set<string>();
  let rows = 0;
  // JSON: one object per line, each followed by a comma except the last, so a line is held back until the next.
  let held: string | undefined;
  out.write(format === 'csv' ? cols.join(',') : '[');
  for (const id of sel.ids) {
    const { sql, params } = resultSql(store.engine, { ...sel, ids: [id] }, 'text');
    const page = await readPage(store, sql, params);
    if (page.length === 0) continue;
    rows += page.length;
    for (const c of cols) if (isEma(c) && !filled.has(c) && page.some((r) => r[c] !== null)) filled.add(c);
    if (format === 'csv') {
      out.write(page.map((r: Row) => cols.map((c) => csvField(plain(c, r[c]))).join(',')).join('\n'));
      continue;
    }
    const lines = page.map((r: Row) => JSON.stringify(Object.fromEntries(cols.map((c) => [c, plain(c, r[c])]))));
    if (held !== undefined) lines.unshift(held);
    held = lines.pop();
    if (lines.length) out.write(lines.map((l) => `${l},`).join('\n'));
  }
  if (format === 'json') out.write(held === undefined ? ']' : `${held}\n]`);
  return { rows, emptyColumns: rows ? cols.filter((c) => isEma(c) && !filled.has(c)) : [] };
}

/** The result as a DuckDB table of the in-memory copy (day is computed when it is written out). */
function resultTable(sel: Selection): Table {
  const columns = resultColumns(sel).filter((c) => c !== 'day').map((name) => ({ name, type: typeOf(name) }));
  return { name: 'export_rows', doc: 'rows being exported', key: [], columns };
}

function toBatch(t: Table, rows: Row[]): RowBatch {
  const cols: RowBatch['cols'] = {};
  for (const c of t.columns) {
    if (c.type === 'text') cols[c.name] = rows.map((r) => (r[c.name] === null ? null : String(r[c.name])));
    else cols[c.name] = Float64Array.from(rows, (r) => (r[c.name] === null ? NaN : Number(r[c.name])));
  }
  return { length: rows.length, cols };
}

async function copyParquet(duck: Store, sel: Selection, body: string, params: unknown[], path: string): Promise<ExportResult> {
  await duck.exec(`COPY (${body}) TO $1 (FORMAT parquet)`, [path, ...params]);
  const emas = resultColumns(sel).filter(isEma);
  const counts = emas.map((c) => `count(${q(c)}) AS ${q(c)}`);
  const r = await duck.query(`SELECT ${['count(*) AS n', ...counts].join(', ')} FROM read_parquet($1)`, [path]);
  const rows = Number(r[0].n);
  return { rows, emptyColumns: rows ? emas.filter((c) => Number(r[0][c]) === 0) : [] };
}

async function exportParquet(store: Store, sel: Selection, path: string): Promise<ExportResult> {
  if (store.engine.copiesToFiles) {
    const { sql, params } = resultSql(store.engine, sel, 'date', 2);
    return copyParquet(store, sel, sql, params, path);
  }
  const t = resultTable(sel);
  const { DuckDbStore } = await import('../store/duckdb/store.js'); // DuckDB's native library only on use
  const mem = await DuckDbStore.open(':memory:');
  try {
    // No key: the rows are unique by construction, and a key would hold an index of them in memory.
    await mem.exec(`CREATE TABLE ${q(t.name)} (${t.columns.map((c) => `${q(c.name)} ${mem.engine.type(c.type)}`).join(', ')})`);
    for (const id of sel.ids) {
      const { sql, params } = resultSql(store.engine, { ...sel, ids: [id] }, 'none');
      const page = await readPage(store, sql, params);
      if (page.length) await mem.append(t, toBatch(t, page));
    }
    const select = resultColumns(sel).map((c) => (c === 'day' ? `${dayExpr(mem.engine, 'ts')} AS day` : q(c)));
    return await copyParquet(mem, sel, `SELECT ${select.join(', ')} FROM ${q(t.name)} ORDER BY id, tf, family, ts`, [], path);
  } finally {
    await mem.close();
  }
}

/** Export `sel` to `out` (a file path), or, for CSV and JSON without `out`, chunk by chunk of lines to `lines`. */
export async function exportResults(store: Store, sel: Selection, format: ExportFormat, out: string | undefined,
  lines: (text: string) => void): Promise<ExportResult> {
  if (format === 'parquet') {
    if (!out) throw new Error('a Parquet export needs a file');
    const path = resolve(out);
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      const n = await exportParquet(store, sel, tmp);
      renameSync(tmp, path);
      return n;
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }
  const sink: TextOut = out ? fileOut(resolve(out)) : { write: lines, done: () => undefined, abort: () => undefined };
  try {
    const n = await exportText(store, sel, format, sink);
    sink.done();
    return n;
  } catch (e) {
    sink.abort();
    throw e;
  }
}
