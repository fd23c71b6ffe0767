// Flat feature files: one record per (symbol, date) with the recognised columns (fields.ts), as CSV or
// Parquet. Reading keeps raw values (typing and validation are quality.ts's job, so every problem can be
// reported with its row number); writing is what `features build --out` produces and `ingest` accepts.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { q } from '../schema/ddl.js';
import { duckdbEngine } from '../store/duckdb/engine.js';
import { UserError } from '../util/errors.js';
import { INPUT_FIELDS } from './fields.js';

export type RawValue = string | number | bigint | boolean | Date | null;

/** Rows as read; row i (0-based) is reported as row i + 1. */
export interface FlatInput {
  source: string;
  columns: string[];
  rows: RawValue[][];
  /** For a CSV, the file line each row starts on (blank lines and quoted line breaks make it differ from row + 1). */
  lines?: number[];
}

export function flatInputFromObjects(source: string, objs: Record<string, RawValue | undefined>[]): FlatInput {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const o of objs) for (const k of Object.keys(o)) if (!seen.has(k)) { seen.add(k); columns.push(k); }
  return { source, columns, rows: objs.map((o) => columns.map((c) => o[c] ?? null)) };
}

export async function readFlatFile(path: string): Promise<FlatInput> {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UserError(`${path}: is a directory, not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path}: file not found`);
  }
  if (size === 0) throw new UserError(`${path}: file is empty`);
  const input = /\.parquet$/i.test(path) ? await readParquet(path) : readCsv(path);
  const dup = input.columns.find((c, i) => input.columns.indexOf(c) !== i);
  if (dup !== undefined) throw new UserError(`${path}: column '${dup}' appears more than once in the header`);
  return input;
}

function readCsv(path: string): FlatInput {
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  const headerLine = text.slice(0, text.search(/\r?\n|$/));
  const delimiter = [',', ';', '\t'].map((d) => [d, headerLine.split(d).length] as const).sort((a, b) => b[1] - a[1])[0][0];
  return scanCsv(path, text, delimiter) ?? parseCsv(path, text, delimiter);
}

/**
 * The common case read in one pass (csv-parse's record and line-number bookkeeping cost most of an ingest):
 * RFC 4180 fields, quoted or not, one line-end style, every record as wide as the header, blank lines skipped.
 * Anything else (a stray quote, a ragged record, a lone CR) returns null, and csv-parse reads the file and words
 * the error, so both readers give the same rows for what the fast one accepts.
 */
function scanCsv(path: string, text: string, delimiter: string): FlatInput | null {
  const crlf = text.includes('\r');
  if (crlf && (text.split('\r').length !== text.split('\r\n').length || text.split('\n').length !== text.split('\r\n').length)) {
    return null;
  }
  const D = delimiter.charCodeAt(0);
  const QUOTE = 34;
  const LF = 10;
  const CR = 13;
  const n = text.length;
  let columns: string[] | null = null;
  const rows: RawValue[][] = [];
  const lines: number[] = [];
  let line = 1;
  let i = 0;
  while (i < n) {
    // Blank lines between records are skipped (csv-parse's skip_empty_lines), still counted.
    const c0 = text.charCodeAt(i);
    if (c0 === LF) { line++; i++; continue; }
    if (c0 === CR && text.charCodeAt(i + 1) === LF) { line++; i += 2; continue; }
    const start = line;
    const rec: RawValue[] = [];
    for (;;) {
      let v: string;
      if (text.charCodeAt(i) === QUOTE) {
        let j = i + 1;
        let parts = '';
        for (;;) {
          const k = text.indexOf('"', j);
          if (k === -1) return null;
          if (text.charCodeAt(k + 1) === QUOTE) {
            parts += text.slice(j, k + 1);
            j = k + 2;
            continue;
          }
          parts += text.slice(j, k);
          j = k + 1;
          break;
        }
        for (let p = parts.indexOf('\n'); p !== -1; p = parts.indexOf('\n', p + 1)) line++;
        v = parts;
        i = j;
      } else {
        let j = i;
        for (; j < n; j++) {
          const c = text.charCodeAt(j);
          if (c === D || c === LF || c === CR) break;
          if (c === QUOTE) return null;
        }
        v = text.slice(i, j);
        i = j;
      }
      rec.push(v);
      const c = i < n ? text.charCodeAt(i) : LF;
      if (c === D) { i++; continue; }
      if (c === CR) i++;
      if (c === CR || c === LF) { i++; line++; break; }
      if (i >= n) break;
      return null; // text after a closing quote
    }
    if (columns === null) {
      columns = (rec as string[]).map((h) => h.trim());
      continue;
    }
    if (rec.length !== columns.length) return null;
    // An empty CSV field is the only NULL spelling; every other text is typed (and judged) by quality.ts.
    for (let k = 0; k < rec.length; k++) if (rec[k] === '') rec[k] = null;
    rows.push(rec);
    lines.push(start);
  }
  if (columns === null) return null;
  return { source: path, columns, rows, lines };
}

function parseCsv(path: string, text: string, delimiter: string): FlatInput {
  let parsed: { record: string[]; info: { lines: number }; raw: string }[];
  try {
    parsed = parse(text, { delimiter, skip_empty_lines: true, info: true, raw: true }) as unknown as typeof parsed;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new UserError(`${path}: line ${err.lines ?? '?'}: cannot read as CSV: ${err.message}`);
  }
  if (parsed.length === 0) throw new UserError(`${path}: file is empty`);
  const columns = parsed[0].record.map((h) => h.trim());
  // An empty CSV field is the only NULL spelling; every other text is typed (and judged) by quality.ts.
  const rows = parsed.slice(1).map(({ record: r }) => columns.map((_, i) => (r[i] === undefined || r[i] === '' ? null : r[i])));
  // The parser counts lines up to the end of a record; its raw text (less skipped blank lines before it and its
  // own line end) holds the line breaks inside quoted fields, which put the start that many lines earlier.
  const lines = parsed.slice(1).map(({ info, raw }) => {
    const body = raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, '');
    let inner = 0;
    for (let i = body.indexOf('\n'); i !== -1; i = body.indexOf('\n', i + 1)) inner++;
    return info.lines - inner;
  });
  return { source: path, columns, rows, lines };
}

async function readParquet(path: string): Promise<FlatInput> {
  // DuckDB's native library (a quarter of a second to load) only when a Parquet file is read or written.
  const { DuckDBInstance } = (await import('../store/duckdb/api.js')).duckdbApi;
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    const reader = await conn.runAndReadAll('SELECT * FROM read_parquet($1)', [path]);
    const columns = reader.columnNames();
    const rows = reader.getRowsJS().map((r) => r.map(toRaw));
    return { source: path, columns, rows };
  } catch (e) {
    throw new UserError(`${path}: cannot read Parquet: ${(e as Error).message}`);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

function toRaw(v: unknown): RawValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v instanceof Date) {
    return v;
  }
  // DECIMAL and other exotic types: keep their text so a numeric parse can still accept (or report) them.
  return String(v);
}

function csvField(v: RawValue): string {
  if (v === null) return '';
  if (v instanceof Date) return v.toISOString();
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(input: FlatInput): string {
  const lines = [input.columns.map((c) => csvField(c)).join(',')];
  for (const r of input.rows) lines.push(r.map(csvField).join(','));
  return lines.join('\n') + '\n';
}

/** Write a flat input as CSV, or as Parquet (typed columns, data_date DATE) when the name ends in .parquet. */
export async function writeFlatFile(input: FlatInput, path: string): Promise<void> {
  if (!/\.parquet$/i.test(path)) {
    writeFileSync(path, toCsv(input));
    return;
  }
  // Through a CSV with declared column types: JS number text round-trips exactly through DuckDB's parser.
  const tmp = join(tmpdir(), `talab-flat-${process.pid}-${Date.now().toString(36)}.csv`);
  writeFileSync(tmp, toCsv(input));
  const typeOf = new Map<string, string>([
    ['symbol', 'VARCHAR'], ['data_date', 'DATE'], ['timestamp', 'TIMESTAMPTZ'],
    ...INPUT_FIELDS.map((x) => [x.column, duckdbEngine.type(x.field.type)] as [string, string]),
  ]);
  const cols = input.columns.map((c) => `'${c.replace(/'/g, "''")}': '${typeOf.get(c) ?? 'VARCHAR'}'`).join(', ');
  // DuckDB's native library (a quarter of a second to load) only when a Parquet file is read or written.
  const { DuckDBInstance } = (await import('../store/duckdb/api.js')).duckdbApi;
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    await conn.run(
      `COPY (SELECT ${input.columns.map(q).join(', ')} FROM read_csv($1, header = true, delim = ',', quote = '"', ` +
        `escape = '"', columns = {${cols}})) TO $2 (FORMAT parquet)`,
      [tmp, path],
    );
  } catch (e) {
    throw new UserError(`${path}: cannot write Parquet: ${(e as Error).message}`);
  } finally {
    conn.closeSync();
    inst.closeSync();
    rmSync(tmp, { force: true });
  }
}
