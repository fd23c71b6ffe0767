// Export of ml_feature_matrix for ML users: a date range (train/test splits), a set of assets and a set of
// groups, written as Parquet (groups nested as Parquet groups, or flat) or CSV (always flat: a nested value has
// no CSV spelling). Column names of the flat layout are `group.field`. DuckDB writes straight from the table;
// PostgreSQL rows are read back page by page into an in-memory DuckDB matrix built from the same DDL, which
// then runs the same query — so both engines produce the same file.
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { q } from '../schema/ddl.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { GROUPS, MATRIX_TABLE, type GroupName } from './fields.js';
import { readMatrix, writeRecords } from './matrix.js';
import { ensureFeatureSchema } from './schema.js';

export type ExportLayout = 'nested' | 'flat';

export interface ExportOptions {
  /** Only these symbols (the matrix is keyed by symbol). */
  symbols?: string[];
  /** Only these asset ids, resolved to their symbols through dim_assets. */
  ids?: number[];
  /** Inclusive YYYY-MM-DD bounds on data_date. */
  from?: string;
  to?: string;
  /** Only these groups (default all), in the table's order. */
  groups?: GroupName[];
  /** Default nested for Parquet; CSV is always flat. */
  layout?: ExportLayout;
  /** Rows per read from Postgres. */
  pageSize?: number;
}

export const GROUP_NAMES = GROUPS.map((g) => g.name);

function selectList(groups: GroupName[], layout: ExportLayout): string {
  const cols = ['symbol', 'data_date', 'timestamp'].map(q);
  for (const g of GROUPS.filter((x) => groups.includes(x.name))) {
    if (layout === 'nested') cols.push(q(g.name));
    else for (const f of g.fields) cols.push(`struct_extract(${q(g.name)}, '${f.name}') AS ${q(`${g.name}.${f.name}`)}`);
  }
  cols.push(q('regime_name'), q('ingestion_ts'));
  return cols.join(', ');
}

/** The filtered matrix rows as a DuckDB query, with its parameters numbered from `first`. */
function filtered(symbols: string[] | undefined, from: string | undefined, to: string | undefined, first: number) {
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${first + params.length - 1}`;
  };
  if (symbols) where.push(symbols.length ? `symbol IN (${symbols.map(p).join(', ')})` : 'false');
  if (from) where.push(`data_date >= CAST(${p(from)} AS DATE)`);
  if (to) where.push(`data_date <= CAST(${p(to)} AS DATE)`);
  return { where: where.length ? ` WHERE ${where.join(' AND ')}` : '', params };
}

async function symbolsOf(store: Store, opts: ExportOptions): Promise<string[] | undefined> {
  if (!opts.ids && !opts.symbols) return undefined;
  const out = new Set(opts.symbols ?? []);
  if (opts.ids) {
    const rows = await store.query<{ id: number; symbol: string }>('SELECT id, symbol FROM dim_assets');
    const byId = new Map(rows.map((r) => [Number(r.id), r.symbol]));
    const unknown = opts.ids.filter((id) => !byId.has(id));
    if (unknown.length) throw new UserError(`--ids: no asset with id ${unknown.join(', ')} in dim_assets`);
    for (const id of opts.ids) out.add(byId.get(id)!);
  }
  return [...out];
}

async function copyOut(duck: Store, path: string, csv: boolean, layout: ExportLayout, groups: GroupName[],
  symbols: string[] | undefined, opts: ExportOptions): Promise<number> {
  const { where, params } = filtered(symbols, opts.from, opts.to, 2);
  const body = `SELECT ${selectList(groups, layout)} FROM ${q(MATRIX_TABLE)}${where} ORDER BY symbol, data_date`;
  await duck.exec(`COPY (${body}) TO $1 (FORMAT ${csv ? 'csv, HEADER true' : 'parquet'})`, [path, ...params]);
  const c = filtered(symbols, opts.from, opts.to, 1);
  const r = await duck.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(MATRIX_TABLE)}${c.where}`, c.params);
  return Number(r[0].n);
}

export async function exportMatrix(store: Store, out: string, opts: ExportOptions = {}): Promise<{ rows: number; path: string }> {
  const path = resolve(out);
  const csv = /\.csv$/i.test(path);
  if (!csv && !/\.parquet$/i.test(path)) throw new UserError(`--out ${out}: give a file name ending in .parquet or .csv`);
  if (!existsSync(dirname(path))) throw new UserError(`--out ${out}: directory ${dirname(path)} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UserError(`--out ${out}: is a directory`);
  const layout = opts.layout ?? (csv ? 'flat' : 'nested');
  if (csv && layout === 'nested') throw new UserError(`--out ${out}: CSV cannot hold nested groups; use --layout flat or a .parquet file`);
  if (opts.from && opts.to && opts.from > opts.to) throw new UserError(`--from ${opts.from} is after --to ${opts.to}`);
  const groups = opts.groups ?? GROUP_NAMES;
  await ensureFeatureSchema(store);
  const symbols = await symbolsOf(store, opts);
  if (store.engine.copiesToFiles) return { rows: await copyOut(store, path, csv, layout, groups, symbols, opts), path };
  const { DuckDbStore } = await import('../store/duckdb/store.js'); // DuckDB's native library only on use
  const mem = await DuckDbStore.open(':memory:');
  try {
    await ensureFeatureSchema(mem);
    const pageSize = opts.pageSize ?? 20_000;
    // Pages of one symbol at a time when the export names symbols; the range filter is applied in the copy.
    for (const symbol of symbols ?? [undefined]) {
      let after: { symbol: string; data_date: string } | undefined;
      for (;;) {
        const page = await readMatrix(store, { symbol, after, limit: pageSize });
        if (page.length === 0) break;
        await writeRecords(mem, page);
        const last = page[page.length - 1];
        after = { symbol: last.symbol, data_date: last.data_date };
        if (page.length < pageSize) break;
      }
    }
    return { rows: await copyOut(mem, path, csv, layout, groups, symbols, opts), path };
  } finally {
    await mem.close();
  }
}
