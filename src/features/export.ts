// Parquet export of ml_feature_matrix for ML users, with the nested groups as Parquet groups. DuckDB copies
// the table directly; Postgres rows are read back (as nested records) into an in-memory DuckDB matrix built
// from the same DDL, which then writes the file — so both engines produce the same file schema.
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { q } from '../schema/ddl.js';
import { DuckDbStore } from '../store/duckdb.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { GROUPS, MATRIX_TABLE } from './fields.js';
import { countMatrix, readMatrix, writeRecords } from './matrix.js';
import { ensureFeatureSchema } from './schema.js';

export interface ExportOptions {
  symbol?: string;
  /** Rows per read from Postgres. */
  pageSize?: number;
}

const COLUMNS = ['symbol', 'data_date', 'timestamp', ...GROUPS.map((g) => g.name), 'regime_name', 'ingestion_ts'];

async function copyOut(store: Store, path: string, symbol?: string): Promise<void> {
  const where = symbol === undefined ? '' : ' WHERE symbol = $2';
  await store.exec(
    `COPY (SELECT ${COLUMNS.map(q).join(', ')} FROM ${q(MATRIX_TABLE)}${where} ORDER BY symbol, data_date) TO $1 (FORMAT parquet)`,
    symbol === undefined ? [path] : [path, symbol],
  );
}

export async function exportParquet(store: Store, out: string, opts: ExportOptions = {}): Promise<{ rows: number; path: string }> {
  const path = resolve(out);
  if (!/\.parquet$/i.test(path)) throw new UserError(`--out ${out}: the export is Parquet; give a file name ending in .parquet`);
  if (!existsSync(dirname(path))) throw new UserError(`--out ${out}: directory ${dirname(path)} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UserError(`--out ${out}: is a directory`);
  await ensureFeatureSchema(store);
  const rows = await countMatrix(store, opts.symbol);
  if (store.dialect === 'duckdb') {
    await copyOut(store, path, opts.symbol);
    return { rows, path };
  }
  const mem = await DuckDbStore.open(':memory:');
  try {
    await ensureFeatureSchema(mem);
    const pageSize = opts.pageSize ?? 20_000;
    let after: { symbol: string; data_date: string } | undefined;
    for (;;) {
      const page = await readMatrix(store, { symbol: opts.symbol, after, limit: pageSize });
      if (page.length === 0) break;
      await writeRecords(mem, page);
      const last = page[page.length - 1];
      after = { symbol: last.symbol, data_date: last.data_date };
      if (page.length < pageSize) break;
    }
    await copyOut(mem, path, opts.symbol);
  } finally {
    await mem.close();
  }
  return { rows, path };
}
