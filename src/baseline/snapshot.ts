// Snapshot tables: `<table>_snapshot_<YYYYMMDD_HHMMSS>`, created from the schema with the table's primary
// key (so the comparison joins on an index on both engines), filled with the selected assets' rows.
import { createTableSql, q, type Dialect } from '../schema/ddl.js';
import type { Table } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { idWhere } from './sample.js';

/** Postgres truncates longer identifiers silently, which would make two snapshots collide. */
const PG_MAX_IDENT = 63;

export function timestampSuffix(at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}_` +
    `${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
}

export function snapshotName(table: Table | string, suffix: string): string {
  return `${typeof table === 'string' ? table : table.name}_snapshot_${suffix}`;
}

export async function tableExists(store: Store, name: string): Promise<boolean> {
  const r = await store.query(
    'SELECT 1 AS x FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_name = $1', [name],
  );
  return r.length > 0;
}

/**
 * A suffix for which none of the snapshot tables exists yet: the timestamp, or the timestamp plus _2, _3…
 * when a run in the same second already took it.
 */
export async function freeSuffix(store: Store, tables: Table[], base: string): Promise<string> {
  for (let n = 1; n < 1000; n++) {
    const suffix = n === 1 ? base : `${base}_${n}`;
    let taken = false;
    for (const t of tables) if (await tableExists(store, snapshotName(t, suffix))) { taken = true; break; }
    if (!taken) return suffix;
  }
  throw new Error(`no free snapshot suffix after ${base}_999`);
}

export function snapshotSql(dialect: Dialect, table: Table, snap: string, ids: number[] | undefined): string[] {
  const cols = table.columns.map((c) => q(c.name)).join(', ');
  return [
    createTableSql(dialect, table, snap).replace('CREATE TABLE IF NOT EXISTS', 'CREATE TABLE'),
    `INSERT INTO ${q(snap)} (${cols}) SELECT ${cols} FROM ${q(table.name)} ${idWhere(ids)}`.trimEnd(),
  ];
}

/** Create and fill one snapshot in one transaction; returns its row count. */
export async function createSnapshot(store: Store, table: Table, snap: string, ids: number[] | undefined): Promise<number> {
  if (store.dialect === 'postgres' && snap.length > PG_MAX_IDENT) {
    throw new Error(`snapshot name ${snap} is longer than PostgreSQL's ${PG_MAX_IDENT}-character limit`);
  }
  if (await tableExists(store, snap)) throw new Error(`snapshot table ${snap} already exists`);
  await store.transaction(async () => {
    for (const sql of snapshotSql(store.dialect, table, snap, ids)) await store.exec(sql);
  });
  const r = await store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(snap)}`);
  return Number(r[0].n);
}

export function dropSnapshotSql(snap: string): string {
  return `DROP TABLE IF EXISTS ${q(snap)}`;
}
