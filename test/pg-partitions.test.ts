// PostgreSQL hash-partitioned by asset: a schema created with N partitions holds every per-asset table as
// N partitions on id, and talab computes exactly the same rows there as in a plain schema.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { registerInitStatus } from '../src/cli/status.js';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import { ALL_TABLES } from '../src/schema/tables.js';
import { openStore } from '../src/store/open.js';
import { parsePartitions, perAsset } from '../src/store/postgres/partitions.js';
import type { Store } from '../src/store/store.js';
import { runInProcess } from './helpers/cli-in-process.js';
import { dropSchema, PG_URL } from './helpers/engines.js';
import { diffDerivedSql } from './helpers/history.js';
import { sampleSlice } from './helpers/sample.js';

function needPg(t: { skip: (m: string) => void }): boolean {
  if (PG_URL) return true;
  if (process.env.CI) throw new Error('TALAB_TEST_PG must be set in CI');
  t.skip('TALAB_TEST_PG not set');
  return false;
}

/** A plain schema even when the run sets TALAB_PG_PARTITIONS (CI runs the PostgreSQL tests partitioned too). */
async function plainDb(): Promise<{ store: Store; pgSchema: string; cleanup: () => Promise<void> }> {
  const pgSchema = `t_plain_${process.pid}_${Date.now().toString(36)}`;
  const store = await openStore(PG_URL, { pgSchema, pgPartitions: 0 });
  return { store, pgSchema, cleanup: async () => { await store.close(); await dropSchema(pgSchema); } };
}

async function build(store: Store): Promise<void> {
  await importFile(store, sampleSlice('mantle', 90));
  await importFile(store, sampleSlice('solana', 120));
  const r = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.ok(r.ok, JSON.stringify(r.components.map((c) => c.error)));
}

test('a partitioned schema holds every per-asset table in N hash partitions and the same rows as a plain one [postgres]', { timeout: 180_000 }, async (t) => {
  if (!needPg(t)) return;
  const schema = `t_part_${process.pid}_${Date.now().toString(36)}`;
  const plain = await plainDb();
  const store = await openStore(PG_URL, { pgSchema: schema, pgPartitions: 4 });
  try {
    const parts = await store.query<{ name: string; kind: string; n: number }>(
      `SELECT c.relname AS name, c.relkind AS kind, (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid) AS n
       FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
    );
    const byName = new Map(parts.map((p) => [p.name, p]));
    for (const tb of ALL_TABLES) {
      const got = byName.get(tb.name);
      assert.ok(got, `${tb.name} missing`);
      if (perAsset(tb)) assert.deepEqual([got.kind, Number(got.n)], ['p', 4], `${tb.name} should be partitioned`);
      else assert.equal(got.kind, 'r', `${tb.name} should be a plain table`);
    }
    await build(store);
    await build(plain.store);
    assert.equal(await diffDerivedSql(store, { pgSchema: schema }, { dbArg: PG_URL!, pgSchema: plain.pgSchema }), null);
    // The rows are spread over the partitions by id, and a second refresh finds everything current.
    const again = await runRefresh(store, { components: ['bars', 'emas'] });
    assert.ok(again.ok);
    assert.ok(again.components.every((c) => c.assets.every((a) => a.status === 'current')));
  } finally {
    await store.close();
    await plain.cleanup();
    await dropSchema(schema);
  }
});

test('init --partitions: a schema keeps its layout; another layout or DuckDB is a usage error', { timeout: 60_000 }, async (t) => {
  if (!needPg(t)) return;
  const schema = `t_part_${process.pid}_${Date.now().toString(36)}_b`;
  const url = `${PG_URL}${PG_URL!.includes('?') ? '&' : '?'}options=-c%20search_path%3D${schema}`;
  const plain = await plainDb();
  try {
    const admin = await openStore(PG_URL, { pgSchema: schema, migrate: false });
    await admin.close();
    const first = await runInProcess(registerInitStatus, ['--db', url, 'init', '--partitions', '8']);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /8 hash partitions on id/);
    const same = await runInProcess(registerInitStatus, ['--db', url, 'init']);
    assert.equal(same.code, 0, same.out);
    assert.match(same.out, /8 hash partitions/);
    const other = await runInProcess(registerInitStatus, ['--db', url, 'init', '--partitions', '4']);
    assert.equal(other.code, 2);
    assert.match(other.out, /created with 8 partitions per table; its layout cannot change in place/);
    const plainUrl = `${PG_URL}${PG_URL!.includes('?') ? '&' : '?'}options=-c%20search_path%3D${plain.pgSchema}`;
    const onPlain = await runInProcess(registerInitStatus, ['--db', plainUrl, 'init', '--partitions', '2']);
    assert.equal(onPlain.code, 2);
    assert.match(onPlain.out, /created without partitions/);
    const duckFile = `/tmp/talab-part-${process.pid}.duckdb`;
    const duck = await runInProcess(registerInitStatus, ['--db', duckFile, 'init', '--partitions', '4']);
    assert.equal(duck.code, 2);
    assert.match(duck.out, /PostgreSQL only/);
    assert.equal(existsSync(duckFile), false, 'refused before creating the file');
    const bad = await runInProcess(registerInitStatus, ['--db', url, 'init', '--partitions', 'x']);
    assert.equal(bad.code, 2);
  } finally {
    await plain.cleanup();
    await dropSchema(schema);
  }
});

test('partition counts are checked', () => {
  assert.equal(parsePartitions(undefined), 0);
  assert.equal(parsePartitions('1'), 0);
  assert.equal(parsePartitions('16'), 16);
  for (const v of ['-1', '2.5', 'abc', '5000']) assert.throws(() => parsePartitions(v), /whole number from 0 to 1024/);
});
