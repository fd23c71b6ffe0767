// Writing and reading ml_feature_matrix on both engines. Writes stage flat rows with store.append into a
// TEMP table, then one INSERT … SELECT packs them into the nested columns (store.engine.nested.pack) with upsert
// on (symbol, data_date). Reads select every nested field flat and rebuild the nested objects, so both engines
// return the same FeatureRecord shape.
import { q } from '../schema/ddl.js';
import type { Table } from '../schema/tables.js';
import { featureBatches } from '../schema/feature-tables.js';
import type { RowBatch } from '../columnar/columns.js';
import type { Store } from '../store/store.js';
import { flatName, GROUPS, MATRIX_TABLE, type FeatureRecord } from './fields.js';
import { ensureFeatureSchema, groupType } from './schema.js';

const STAGE_NAME = '_ml_feature_stage';

/** The matrix flattened: every nested field as `<group>__<field>`. Staging and Parquet-via-Postgres use it. */
export const FLAT_MATRIX: Table = {
  name: STAGE_NAME,
  doc: 'Flat staging form of ml_feature_matrix (TEMP, per session).',
  key: ['symbol', 'data_date'],
  columns: [
    { name: 'symbol', type: 'text', notNull: true },
    { name: 'data_date', type: 'text', notNull: true },
    { name: 'timestamp', type: 'ts' },
    ...GROUPS.flatMap((g) => g.fields.map((f) => ({ name: flatName(g.name, f.name), type: f.type }))),
    { name: 'regime_name', type: 'text' },
    { name: 'ingestion_ts', type: 'ts', notNull: true },
  ],
};

/** Nested records → columnar batch of FLAT_MATRIX (NaN = NULL in numeric columns). */
export function recordsToBatch(rows: FeatureRecord[], ingestionTs?: number): RowBatch {
  const n = rows.length;
  const cols: RowBatch['cols'] = {
    symbol: rows.map((r) => r.symbol),
    data_date: rows.map((r) => r.data_date),
    timestamp: Float64Array.from(rows, (r) => (r.timestamp === null ? NaN : Date.parse(r.timestamp))),
    regime_name: rows.map((r) => r.regime_name),
    ingestion_ts: Float64Array.from(rows, (r) =>
      ingestionTs ?? (r.ingestion_ts === null ? NaN : Date.parse(r.ingestion_ts))),
  };
  // One pass over each row's group object: for-in over its own keys is much cheaper than looking every field
  // up by name. Fields absent from the object (or undefined) stay NULL; keys that are not fields are ignored.
  for (const g of GROUPS) {
    const fields = g.fields.map((f) => {
      const col = f.type === 'text' ? new Array<string | null>(n).fill(null) : new Float64Array(n).fill(NaN);
      cols[flatName(g.name, f.name)] = col;
      return { text: f.type === 'text', col };
    });
    const index = new Map(g.fields.map((f, k) => [f.name, fields[k]]));
    for (let i = 0; i < n; i++) {
      const obj = (rows[i] as unknown as Record<string, Record<string, unknown> | undefined>)[g.name];
      if (obj === undefined || obj === null) continue;
      for (const key in obj) {
        const f = index.get(key);
        const v = obj[key];
        if (f === undefined || v === null || v === undefined) continue;
        if (f.text) (f.col as (string | null)[])[i] = String(v);
        else (f.col as Float64Array)[i] = typeof v === 'boolean' ? (v ? 1 : 0) : (v as number);
      }
    }
  }
  return { length: n, cols };
}

const staged = new WeakSet<Store>();

/**
 * Create the matrix if needed and the session's staging table. Call it outside any transaction before the
 * first write (writeRecords and StoreSink do), so that a rolled-back batch cannot take the staging with it.
 */
/** After the store got a new session (reconnect): its temp staging table went with the old one. */
export function forgetWrites(store: Store): void {
  staged.delete(store);
}

export async function prepareWrites(store: Store): Promise<void> {
  await ensureFeatureSchema(store);
  if (staged.has(store)) return;
  const defs = FLAT_MATRIX.columns.map((c) => `${q(c.name)} ${store.engine.type(c.type)}`).join(', ');
  await store.exec(`CREATE TEMP TABLE IF NOT EXISTS ${q(STAGE_NAME)} (${defs})`);
  // A store may look a table up on its first append into it (DuckDB's appender must be told a TEMP table's
  // catalog); one append outside any transaction settles that before the ingest's transactions begin.
  await store.append(FLAT_MATRIX, recordsToBatch([WARMUP_ROW], 0), { into: STAGE_NAME });
  await store.exec(`DELETE FROM ${q(STAGE_NAME)}`);
  staged.add(store);
}

const WARMUP_ROW: FeatureRecord = {
  symbol: '', data_date: '1970-01-01', timestamp: null, market_data: {}, pivots: {}, policy: {}, golden_zone: {},
  regime: { name: null, weight: null, vol_percentile: null, k_vol: null }, technicals: {}, regime_name: null,
  ingestion_ts: null,
};

function packSql(store: Store, upsert: boolean): string {
  const groups = GROUPS.map((g) => store.engine.nested.pack(groupType(g), g.fields.map((f) => `s.${q(flatName(g.name, f.name))}`)));
  const names = ['symbol', 'data_date', 'timestamp', ...GROUPS.map((g) => g.name), 'regime_name', 'ingestion_ts'];
  const updates = names.filter((c) => c !== 'symbol' && c !== 'data_date').map((c) => `${q(c)} = excluded.${q(c)}`);
  return `INSERT INTO ${q(MATRIX_TABLE)} (${names.map(q).join(', ')})
    SELECT s.symbol, CAST(s.data_date AS DATE), s.${q('timestamp')}, ${groups.join(', ')}, s.regime_name, s.ingestion_ts
    FROM ${q(STAGE_NAME)} s` + (upsert ? `
    ON CONFLICT (symbol, data_date) DO UPDATE SET ${updates.join(', ')}` : '');
}

/** Whether any staged (symbol, data_date) is already in the matrix. */
async function stagedKeyStored(store: Store): Promise<boolean> {
  const r = await store.query(
    `SELECT 1 AS hit FROM ${q(STAGE_NAME)} s JOIN ${q(MATRIX_TABLE)} m ON m.symbol = s.symbol AND m.data_date = CAST(s.data_date AS DATE) LIMIT 1`,
  );
  return r.length > 0;
}

/**
 * Upsert records into the matrix (a row with the same symbol and data_date is replaced). Runs in the
 * caller's transaction if there is one.
 */
export async function writeRecords(store: Store, rows: FeatureRecord[], ingestionTs?: number, flat?: RowBatch): Promise<number> {
  if (rows.length === 0) return 0;
  await prepareWrites(store);
  // The batch's own columnar form (made for its id) with this load's ingestion_ts, when the caller has it.
  const batch = flat && ingestionTs !== undefined
    ? { length: flat.length, cols: { ...flat.cols, ingestion_ts: new Float64Array(flat.length).fill(ingestionTs) } }
    : recordsToBatch(rows, ingestionTs);
  await store.transaction(async () => {
    await store.exec(`DELETE FROM ${q(STAGE_NAME)}`);
    await store.append(FLAT_MATRIX, batch, { into: STAGE_NAME });
    await store.exec(packSql(store, !store.engine.insertWhenNoKeyClash || (await stagedKeyStored(store))));
    await store.exec(`DELETE FROM ${q(STAGE_NAME)}`);
  });
  return rows.length;
}

export interface ReadOptions {
  symbol?: string;
  from?: string;
  to?: string;
  limit?: number;
  /** Keyset paging: rows strictly after this (symbol, data_date). */
  after?: { symbol: string; data_date: string };
}

function selectFlatSql(store: Store): string {
  const fields = GROUPS.flatMap((g) =>
    g.fields.map((f) => `${store.engine.nested.field(`m.${q(g.name)}`, f.name)} AS ${q(flatName(g.name, f.name))}`));
  return `SELECT m.symbol, CAST(m.data_date AS VARCHAR) AS data_date, m.${q('timestamp')} AS ${q('timestamp')},
    ${fields.join(', ')}, m.regime_name, m.ingestion_ts FROM ${q(MATRIX_TABLE)} m`;
}

const isoOrNull = (v: unknown) => (v === null || v === undefined ? null : new Date(Number(v)).toISOString());

function rowToRecord(r: Record<string, unknown>): FeatureRecord {
  const out: Record<string, unknown> = {
    symbol: r.symbol as string, data_date: r.data_date as string, timestamp: isoOrNull(r.timestamp),
  };
  for (const g of GROUPS) {
    const obj: Record<string, unknown> = {};
    for (const f of g.fields) {
      const v = r[flatName(g.name, f.name)];
      obj[f.name] = v === null || v === undefined ? null : f.type === 'bool' ? Boolean(v) : f.type === 'text' ? String(v) : Number(v);
    }
    out[g.name] = obj;
  }
  out.regime_name = (r.regime_name as string | null) ?? null;
  out.ingestion_ts = isoOrNull(r.ingestion_ts);
  return out as unknown as FeatureRecord;
}

/** Matrix rows as nested objects, ordered by (symbol, data_date). */
export async function readMatrix(store: Store, opts: ReadOptions = {}): Promise<FeatureRecord[]> {
  await ensureFeatureSchema(store);
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (opts.symbol !== undefined) where.push(`m.symbol = ${p(opts.symbol)}`);
  if (opts.from !== undefined) where.push(`m.data_date >= CAST(${p(opts.from)} AS DATE)`);
  if (opts.to !== undefined) where.push(`m.data_date <= CAST(${p(opts.to)} AS DATE)`);
  if (opts.after) {
    const s = p(opts.after.symbol);
    where.push(`(m.symbol > ${s} OR (m.symbol = ${s} AND m.data_date > CAST(${p(opts.after.data_date)} AS DATE)))`);
  }
  const sql = `${selectFlatSql(store)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY m.symbol, m.data_date` +
    (opts.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(opts.limit))}` : '');
  return (await store.query(sql, params)).map(rowToRecord);
}

export async function countMatrix(store: Store, symbol?: string): Promise<number> {
  await ensureFeatureSchema(store);
  const r = await store.query<{ n: number }>(
    `SELECT count(*) AS n FROM ${q(MATRIX_TABLE)}${symbol === undefined ? '' : ' WHERE symbol = $1'}`,
    symbol === undefined ? [] : [symbol],
  );
  return Number(r[0].n);
}

/** Remove a symbol's rows and every ledger entry of a batch that carried it (so a re-ingest loads it again). */
export async function deleteSymbol(store: Store, symbol: string): Promise<{ rows: number; batches: number }> {
  await ensureFeatureSchema(store);
  return store.transaction(async () => {
    const rows = await countMatrix(store, symbol);
    await store.exec(`DELETE FROM ${q(MATRIX_TABLE)} WHERE symbol = $1`, [symbol]);
    const ledger = await store.query<{ batch_id: string; symbols: string }>(
      `SELECT batch_id, symbols FROM ${q(featureBatches.name)}`,
    );
    const hit = ledger.filter((b) => (JSON.parse(b.symbols) as string[]).includes(symbol)).map((b) => b.batch_id);
    for (const id of hit) await store.exec(`DELETE FROM ${q(featureBatches.name)} WHERE batch_id = $1`, [id]);
    return { rows, batches: hit.length };
  });
}
