// Every storage test runs on both engines: a fresh DuckDB file, and a fresh schema in the Postgres
// named by TALAB_TEST_PG (CI always sets it; elsewhere the Postgres half is skipped, visibly).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';

export type Engine = 'duckdb' | 'postgres';
/**
 * TALAB_TEST_ENGINES=postgres runs only the PostgreSQL halves (CI runs them a second time on schemas created with
 * TALAB_PG_PARTITIONS set, hash-partitioned by asset).
 */
export const ENGINES: Engine[] = (process.env.TALAB_TEST_ENGINES ?? 'duckdb,postgres')
  .split(',').map((e) => e.trim()).filter((e): e is Engine => e === 'duckdb' || e === 'postgres');
export const PG_URL = process.env.TALAB_TEST_PG;

let counter = 0;

export interface TestDb {
  store: Store;
  /** What `--db` would be for a CLI run against the same database. */
  dbArg: string;
  pgSchema?: string;
  cleanup: () => Promise<void>;
}

export async function freshDb(engine: Engine): Promise<TestDb> {
  if (engine === 'duckdb') {
    const dir = mkdtempSync(join(tmpdir(), 'talab-test-'));
    const path = join(dir, 'test.duckdb');
    const store = await openStore(path);
    return {
      store, dbArg: path,
      cleanup: async () => {
        await store.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (!PG_URL) throw new Error('TALAB_TEST_PG is not set');
  const schema = `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const store = await openStore(PG_URL, { pgSchema: schema });
  return {
    store, dbArg: PG_URL, pgSchema: schema,
    cleanup: async () => {
      await store.close().catch(() => undefined);
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

/** Declare one test per engine; the body gets a fresh database that is cleaned up afterwards. */
export function engineTest(name: string, body: (db: TestDb, t: TestContext) => Promise<void>, timeout = 120_000): void {
  for (const engine of ENGINES) {
    test(`${name} [${engine}]`, { timeout }, async (t) => {
      if (engine === 'postgres' && !PG_URL) {
        if (process.env.CI) throw new Error('TALAB_TEST_PG must be set in CI');
        t.skip('TALAB_TEST_PG not set');
        return;
      }
      const db = await freshDb(engine);
      try {
        await body(db, t);
      } finally {
        await db.cleanup();
      }
    });
  }
}

export const SHARED_CMC = join(import.meta.dirname, '../../../shared/data/cmc');
export const SAMPLE = join(import.meta.dirname, '../../data/sample');
/** Values computed outside the project (R, pandas) from the bundled sample: data/reference/README.md. */
export const REFERENCE = join(import.meta.dirname, '../../data/reference');
