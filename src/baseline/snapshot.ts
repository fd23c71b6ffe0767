// Snapshot tables: `<table>_snapshot_<YYYYMMDD_HHMMSS>`, created from the schema with the table's primary
// key (so the comparison joins on an index on both engines), filled with the selected assets' rows.
import { createTableSql, q } from '../schema/ddl.js';
import type { Engine } from '../store/engine.js';
import type { Table } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { idWhere } from './sample.js';

/** Postgres truncates longer identifiers silently, which would make two snapshots collide. */

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

export function snapshotSql(engine: Engine, table: Table, snap: string, ids: number[] | undefined): string[] {
  const cols = table.columns.map((c) => q(c.name)).join(', ');
  return [
    createTableSql(engine, table, snap).replace('CREATE TABLE IF NOT EXISTS', 'CREATE TABLE'),
    `INSERT INTO ${q(snap)} (${cols}) SELECT ${cols} FROM ${q(table.name)} ${idWhere(ids)}`.trimEnd(),
  ];
}

/** Create and fill one snapshot in one transaction; returns its row count. */
export async function createSnapshot(store: Store, table: Table, snap: string, ids: number[] | undefined): Promise<number> {
  if (snap.length > store.engine.maxIdentLength) {
    throw new Error(`snapshot name ${snap} is longer than ${store.engine.label}'s ${store.engine.maxIdentLength}-character limit`);
  }
  if (await tableExists(store, snap)) throw new Error(`snapshot table ${snap} already exists`);
  await store.transaction(async () => {
    for (const sql of snapshotSql(store.engine, table, snap, ids)) await store.exec(sql);
  });
  const r = await store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(snap)}`);
  return Number(r[0].n);
}

export function dropSnapshotSql(snap: string): string {
  return `DROP TABLE IF EXISTS ${q(snap)}`;
}

export interface SnapshotSet {
  suffix: string;
  /** When the set was taken (from its suffix, UTC). */
  takenAt: string;
  /** Snapshot table name per derived table present. */
  tables: Record<string, string>;
  /** Every derived table has its snapshot; a partial set is what a killed baseline leaves. */
  complete: boolean;
  rows?: number;
}

const SUFFIX_RE = /^(\d{8}_\d{6}(?:_\d+)?)$/;

/**
 * Every snapshot set in the current schema, oldest first. The LIKE pattern escapes `_` explicitly with
 * ESCAPE: DuckDB's LIKE has no default escape character, so `'%\_snapshot\_%'` alone matches nothing there.
 */
export async function listSnapshots(store: Store, tables: Table[], withRows = false): Promise<SnapshotSet[]> {
  const r = await store.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE '%\\_snapshot\\_%' ESCAPE '\\' ORDER BY table_name",
  );
  const sets = new Map<string, SnapshotSet>();
  for (const { table_name: name } of r) {
    for (const t of tables) {
      const prefix = `${t.name}_snapshot_`;
      if (!name.startsWith(prefix)) continue;
      const suffix = name.slice(prefix.length);
      if (!SUFFIX_RE.test(suffix)) continue;
      const s = sets.get(suffix) ?? { suffix, takenAt: suffixTime(suffix), tables: {}, complete: false };
      s.tables[t.name] = name;
      sets.set(suffix, s);
    }
  }
  const out = [...sets.values()].sort((a, b) => a.suffix.localeCompare(b.suffix, 'en', { numeric: true }));
  for (const s of out) {
    s.complete = tables.every((t) => s.tables[t.name] !== undefined);
    if (withRows) {
      let n = 0;
      for (const name of Object.values(s.tables)) n += Number((await store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(name)}`))[0].n);
      s.rows = n;
    }
  }
  return out;
}

function suffixTime(suffix: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})/.exec(suffix)!;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}

/** Drop every table of a set; a checkpoint afterwards (where the engine wants one) lets the file reuse the freed blocks. */
export async function dropSnapshotSet(store: Store, set: SnapshotSet): Promise<void> {
  for (const name of Object.values(set.tables)) await store.exec(dropSnapshotSql(name));
  if (store.engine.checkpointSql) await store.exec(store.engine.checkpointSql);
}

/** The newest complete set, or the one named by its suffix. A usage error when there is none. */
export async function resolveSnapshot(store: Store, tables: Table[], against: string): Promise<SnapshotSet> {
  const sets = await listSnapshots(store, tables);
  if (against === 'latest') {
    const done = sets.filter((s) => s.complete);
    if (!done.length) throw new UserError('no complete snapshot set in this database (see `talab baseline list`); run `talab baseline --keep-snapshots` first');
    return done[done.length - 1];
  }
  const s = sets.find((x) => x.suffix === against);
  if (!s) throw new UserError(`no snapshot set ${against} in this database; \`talab baseline list\` shows them`);
  return s;
}
