// Every differing key of a comparison, written as CSV beside the JSON report (the report itself keeps
// only the top N per column). Rows are streamed to the file in batches, so a table that differs
// everywhere costs disk, not memory. At the end the CSV is also converted to Parquet (typed, compressed,
// readable by pandas/polars/DuckDB without a CSV dialect to guess).
import { appendFileSync, writeFileSync } from 'node:fs';
import { DuckDbStore } from '../store/duckdb/store.js';

/** A row's key, column by column. */
export type KeyValue = Record<string, string | number | null>;

export interface DiffRow {
  table: string;
  /** mismatch: a value outside tolerance; missing: on the left only; extra: on the right only. */
  kind: 'mismatch' | 'missing' | 'extra';
  key: KeyValue;
  column?: string;
  left?: number | string | boolean | null;
  right?: number | string | boolean | null;
  absDiff?: number | null;
  relDiff?: number | null;
}

export const DIFF_COLUMNS = ['table', 'kind', 'key', 'column', 'left', 'right', 'abs_diff', 'rel_diff'] as const;

/**
 * Parquet types of the CSV's columns. `left` and `right` stay text: one file holds numbers, text,
 * booleans and timestamps of different columns, and the text is exactly what the CSV holds.
 */
const PARQUET_TYPES: Record<(typeof DIFF_COLUMNS)[number], string> = {
  table: 'VARCHAR', kind: 'VARCHAR', key: 'VARCHAR', column: 'VARCHAR', left: 'VARCHAR', right: 'VARCHAR', abs_diff: 'DOUBLE', rel_diff: 'DOUBLE',
};

function field(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(17)) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The key as `col=value` pairs joined by spaces, e.g. `id=1 tf=7D period=6 ts=2023-09-08T23:59:59.999Z`. */
export function keyField(k: KeyValue): string {
  return Object.entries(k).map(([c, v]) => `${c}=${v === null ? 'NULL' : v}`).join(' ');
}

export class DiffSink {
  private buf: string[] = [];
  count = 0;
  constructor(readonly path: string) {
    writeFileSync(path, DIFF_COLUMNS.join(',') + '\n');
  }
  add(d: DiffRow): void {
    this.count++;
    this.buf.push([d.table, d.kind, keyField(d.key), d.column, d.left, d.right, d.absDiff, d.relDiff].map(field).join(',') + '\n');
    if (this.buf.length >= 10_000) this.flush();
  }
  flush(): void {
    if (!this.buf.length) return;
    appendFileSync(this.path, this.buf.join(''));
    this.buf = [];
  }
  /** The Parquet file beside the CSV: same name, `.parquet`. */
  get parquetPath(): string {
    return this.path.replace(/\.csv$/, '') + '.parquet';
  }
  /** Flush, then write the CSV's rows as Parquet (through an in-memory DuckDB, so on either engine). */
  async writeParquet(): Promise<string> {
    this.flush();
    const cols = DIFF_COLUMNS.map((c) => `'${c}': '${PARQUET_TYPES[c]}'`).join(', ');
    const mem = await DuckDbStore.open(':memory:');
    try {
      // Every CSV field is declared (no type sniffing); an empty field is NULL, as the CSV writes null.
      await mem.exec(
        `COPY (SELECT * FROM read_csv($1, header = true, delim = ',', quote = '"', escape = '"', ` +
          `columns = {${cols}})) TO $2 (FORMAT parquet)`,
        [this.path, this.parquetPath],
      );
    } finally {
      await mem.close();
    }
    return this.parquetPath;
  }
}
