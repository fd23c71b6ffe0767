// Chooses and opens an engine from --db / TALAB_DB: a postgres:// URL or a DuckDB file path.
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { DuckDbStore } from './duckdb.js';
import { PostgresStore } from './postgres.js';
import type { Store } from './store.js';
import { migrate } from './migrate.js';

export const DEFAULT_DB = 'talab.duckdb';

export function resolveDbArg(arg?: string): string {
  return arg ?? process.env.TALAB_DB ?? DEFAULT_DB;
}

export interface OpenOptions {
  /** Postgres only: work inside this schema (created if missing). Tests use one per run. */
  pgSchema?: string;
  /** Create/upgrade the schema and seed dim_timeframe (default true). */
  migrate?: boolean;
  /**
   * DuckDB only: open the file read-only (shared lock, no migration), retrying for up to this many ms while a
   * writer holds it. Readers such as status and validate use it so they never take the writer's lock.
   */
  readOnlyRetryMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a DuckDB file read-only, retrying briefly while another process holds the write lock. */
async function openDuckReader(path: string, retryMs: number): Promise<DuckDbStore> {
  const until = Date.now() + retryMs;
  for (;;) {
    try {
      return await DuckDbStore.open(path, true);
    } catch (e) {
      if (!(e instanceof UserError) || !/in use by another process/.test(e.message) || Date.now() >= until) throw e;
      await sleep(100);
    }
  }
}

export async function openStore(dbArg?: string, opts: OpenOptions = {}): Promise<Store> {
  const db = resolveDbArg(dbArg).trim();
  if (db === '') throw new UserError('--db is empty: give a DuckDB file path or a postgres:// URL');
  let store: Store;
  if (/^postgres(ql)?:\/\//i.test(db)) {
    store = await PostgresStore.open(db, opts.pgSchema);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) {
    throw new UserError(`unsupported database URL '${db.replace(/\/\/.*@/, '//***@')}': use a DuckDB file path or postgres://…`);
  } else {
    const path = db === ':memory:' ? db : resolve(db);
    if (path !== ':memory:') {
      if (existsSync(path) && statSync(path).isDirectory()) {
        throw new UserError(`--db ${db} is a directory; give a DuckDB file path such as ${db}/talab.duckdb`);
      }
      if (!existsSync(dirname(path))) throw new UserError(`--db ${db}: directory ${dirname(path)} does not exist`);
    }
    try {
      const readOnly = opts.readOnlyRetryMs !== undefined && path !== ':memory:';
      if (readOnly && !existsSync(path)) throw new UserError(`--db ${db}: no such database file; run \`talab import\` first`);
      store = readOnly ? await openDuckReader(path, opts.readOnlyRetryMs!) : await DuckDbStore.open(path);
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot open DuckDB database ${db}: ${(e as Error).message}`);
    }
  }
  // A read-only DuckDB file cannot be migrated; readers read whatever schema the last writer left.
  if (opts.migrate !== false && !(store.dialect === 'duckdb' && opts.readOnlyRetryMs !== undefined && db !== ':memory:')) {
    try {
      await migrate(store);
    } catch (e) {
      await store.close();
      throw e;
    }
  }
  return store;
}
