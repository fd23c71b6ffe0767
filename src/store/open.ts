// Chooses and opens an engine from --db / TALAB_DB: a postgres:// URL or a DuckDB file path. Anything else
// is refused here, before an engine could silently make something of it (an existing CSV opened as DuckDB
// would become an empty in-memory database).
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EXIT, UserError } from '../util/errors.js';
import { redactUrl } from '../util/redact.js';
import type { DuckDbStore } from './duckdb/store.js';
import type { Store } from './store.js';
import { migrate } from './migrate.js';

export const DEFAULT_DB = 'talab.duckdb';

export function resolveDbArg(arg?: string): string {
  return arg ?? (process.env.TALAB_DB || DEFAULT_DB); // an empty TALAB_DB= counts as unset
}

export interface OpenOptions {
  /** Postgres only: work inside this schema (created if missing). Tests use one per run. */
  pgSchema?: string;
  /** Create/upgrade the schema and seed dim_timeframe (default true). */
  migrate?: boolean;
  /**
   * Refuse a database that does not exist yet (no DuckDB file; no talab tables in the PostgreSQL schema)
   * instead of creating it. Commands that only make sense on existing data set it, so that a job run from the
   * wrong directory or with TALAB_DB unset fails instead of reporting on an empty new database.
   */
  mustExist?: boolean;
  /**
   * DuckDB only: open the file read-only (shared lock, no migration), retrying for up to this many ms while a
   * writer holds it. Readers such as status and validate use it so they never take the writer's lock.
   */
  readOnlyRetryMs?: number;
  /** PostgreSQL: hash partitions per per-asset table when the schema is created (store/postgres/partitions.ts). */
  pgPartitions?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a DuckDB file read-only, retrying briefly while another process holds the write lock. */
async function openDuckReader(path: string, retryMs: number): Promise<DuckDbStore> {
  const { DuckDbStore } = await import('./duckdb/store.js');
  const until = Date.now() + retryMs;
  for (;;) {
    try {
      return await DuckDbStore.open(path, true);
    } catch (e) {
      if (!(e instanceof UserError) || !/in use by another process/.test(e.message)) throw e;
      if (Date.now() >= until) throw new UserError(`${e.message} (waited ${retryMs / 1000} s)`, e.exitCode);
      await sleep(100);
    }
  }
}

const PG_URL = /^postgres(ql)?:\/\//i;
const DUCKDB_EXT = /\.(duckdb|db)$/i;

/** A DuckDB file carries "DUCK" at byte 8 of its header. */
function isDuckDbFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(12);
    const n = readSync(fd, head, 0, 12, 0);
    return n === 12 && head.toString('latin1', 8, 12) === 'DUCK';
  } finally {
    closeSync(fd);
  }
}

/** What kind of target `--db` names, or a usage error saying why it names none. */
export function classifyDb(db: string): 'postgres' | 'memory' | 'duckdb-existing' | 'duckdb-new' {
  if (PG_URL.test(db)) return 'postgres';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) {
    throw new UserError(`unsupported database URL '${redactUrl(db)}': use a DuckDB file path or postgres://…`);
  }
  if (db === ':memory:') return 'memory';
  const path = resolve(db);
  if (existsSync(path)) {
    const st = statSync(path);
    if (st.isDirectory()) throw new UserError(`--db ${db} is a directory; give a DuckDB file path such as ${db}/talab.duckdb`);
    if (!st.isFile()) throw new UserError(`--db ${db} is not a regular file`);
    if (st.size > 0 && !isDuckDbFile(path)) {
      throw new UserError(`--db ${db} exists and is not a DuckDB database; give a .duckdb file or a postgres:// URL`);
    }
    if (st.size === 0 && !DUCKDB_EXT.test(path)) {
      throw new UserError(`--db ${db} is an empty file without a .duckdb or .db name; give a DuckDB file or a postgres:// URL`);
    }
    return 'duckdb-existing';
  }
  if (!DUCKDB_EXT.test(path)) {
    throw new UserError(`--db ${db}: a new DuckDB file must be named *.duckdb or *.db (or give a postgres:// URL)`);
  }
  if (!existsSync(dirname(path))) throw new UserError(`--db ${db}: directory ${dirname(path)} does not exist`);
  return 'duckdb-new';
}

const NO_DATABASE = 'run `npx talab init` (or `npx talab import FILE…`) to create it, or check --db / TALAB_DB';

export async function openStore(dbArg?: string, opts: OpenOptions = {}): Promise<Store> {
  const db = resolveDbArg(dbArg).trim();
  if (db === '') throw new UserError('--db is empty: give a DuckDB file path or a postgres:// URL');
  const kind = classifyDb(db);
  if (opts.pgPartitions && kind !== 'postgres') {
    throw new UserError("--partitions applies to PostgreSQL only (a DuckDB file is one process's database)");
  }
  // Only an existing DuckDB file is opened read-only, and then not migrated: readers read whatever schema the
  // last writer left.
  const readOnly = kind !== 'postgres' && kind !== 'memory' && opts.readOnlyRetryMs !== undefined;
  let store: Store;
  if (kind === 'postgres') {
    // Each engine's driver is loaded only when it is used: a daily DuckDB run does not pay for pg's start-up, nor a
    // PostgreSQL run for DuckDB's native library (a quarter of a second).
    const { PostgresStore } = await import('./postgres/store.js');
    store = await PostgresStore.open(db, opts.pgSchema);
    if (opts.mustExist) {
      const found = await store.query<{ ok: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS ok");
      if (!found[0].ok) {
        await store.close();
        throw new UserError(`no talab database in ${store.location}: ${NO_DATABASE}`);
      }
    }
  } else {
    if (kind === 'duckdb-new') {
      if (opts.mustExist) throw new UserError(`no database at ${resolve(db)}: ${NO_DATABASE}`);
      if (readOnly) throw new UserError(`--db ${db}: no such database file; run \`npx talab import\` first`);
    }
    const path = kind === 'memory' ? db : resolve(db);
    try {
      store = readOnly ? await openDuckReader(path, opts.readOnlyRetryMs!) : await (await import('./duckdb/store.js')).DuckDbStore.open(path);
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot open DuckDB database ${db}: ${(e as Error).message}`, EXIT.database);
    }
  }
  if (opts.migrate !== false && !readOnly) {
    try {
      await migrate(store, { partitions: opts.pgPartitions });
    } catch (e) {
      await store.close();
      throw e;
    }
  }
  return store;
}
