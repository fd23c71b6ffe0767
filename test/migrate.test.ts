// Schema upgrades: migrate() brings an older database to SCHEMA_VERSION and keeps its data.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packCarry, unpackCarry } from '../src/refresh/carry-codec.js';
import { createTableSql } from '../src/schema/ddl.js';
import { refreshState, type Table } from '../src/schema/tables.js';
import { migrate, SCHEMA_VERSION } from '../src/store/migrate.js';
import type { Store } from '../src/store/store.js';
import { engineTest } from './helpers/engines.js';

/** refresh_state as schemas 2 and 3 declared it: the carry as text. */
const textState: Table = { ...refreshState, columns: refreshState.columns.map((c) => (c.name === 'carry' ? { ...c, type: 'text' } : c)) };

async function textStateTable(store: Store): Promise<void> {
  await store.exec(`DROP TABLE ${refreshState.name}`);
  await store.exec(createTableSql(store.engine, textState));
}

const ids = Array.from({ length: 50 }, (_, i) => i + 1);
/** A carry per id (its doubles depend on the id and the version, so replaced rows are told apart). */
const doubles = (id: number, version: number) => Float64Array.from({ length: 17 * 3 }, (_, k) => (k % 5 === 0 ? NaN : id * 1000 + k + version / 10));
const packedText = (id: number, version: number) => {
  const b = packCarry(doubles(id, version), 17, 3);
  return '~' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
};

/** Ids 1–30 packed (schema 3), 31–40 the raw doubles of schema 2, 41–50 no carry. */
function schema3Rows(version: number, only = ids) {
  const carry = (id: number) => (id <= 30 ? packedText(id, version) : id <= 40 ? Buffer.from(doubles(id, version).buffer).toString('base64') : null);
  return {
    length: only.length,
    cols: {
      id: Int32Array.from(only), table_name: only.map(() => 'ema_multi_tf'), carry_key: only.map((i) => (i <= 40 ? 'k1' : null)),
      carry: only.map(carry), source_rows: Float64Array.from(only, (i) => i * 10 + version),
    },
  };
}

engineTest('v3 → v4: the text carries become their packed bytes (schema 2\'s raw form is dropped), every other column kept', async ({ store }) => {
  await textStateTable(store);
  await store.append(textState, schema3Rows(1));
  await store.exec('DELETE FROM schema_migrations WHERE version > 3');
  const before = await store.query('SELECT id, table_name, source_rows, carry_key, last_run_ts FROM refresh_state ORDER BY id');
  await migrate(store);
  const v = await store.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
  assert.equal(Number(v[0].v), SCHEMA_VERSION);
  assert.deepEqual(await store.query('SELECT id, table_name, source_rows, carry_key, last_run_ts FROM refresh_state ORDER BY id'), before);
  const after = await store.query<{ id: number; carry: Uint8Array | null }>('SELECT id, carry FROM refresh_state ORDER BY id');
  for (const { id, carry } of after) {
    if (id > 30) {
      assert.equal(carry, null, `id ${id}: ${id <= 40 ? 'the raw form is dropped' : 'no carry stays none'}`);
      continue;
    }
    assert.ok(carry instanceof Uint8Array, `id ${id}: bytes`);
    const back = unpackCarry(carry);
    assert.ok(back && Buffer.from(back.buffer).equals(Buffer.from(doubles(id, 1).buffer)), `id ${id}: the same doubles, bit for bit`);
  }
  if (store.dialect === 'duckdb') {
    // Stored as is: DuckDB's analysis of packed carries for compression was most of a daily checkpoint.
    await store.exec('CHECKPOINT');
    const comp = await store.query<{ c: string }>("SELECT DISTINCT compression AS c FROM pragma_storage_info('refresh_state') WHERE column_name = 'carry' AND segment_type <> 'VALIDITY'");
    assert.deepEqual(comp.map((r) => r.c), ['Uncompressed']);
  }
  // A second run finds nothing to do and changes nothing.
  await migrate(store);
  assert.deepEqual(await store.query('SELECT id, carry FROM refresh_state ORDER BY id'), after);
  await assert.rejects(store.append(refreshState, { length: 1, cols: { id: Int32Array.of(1), table_name: ['ema_multi_tf'] } }),
    /[Dd]uplicate key|violates primary key/, 'the key is still enforced');
});

engineTest('v2 → v4: on DuckDB the rows that v2 upserts left behind are dropped in the same rewrite', async ({ store }) => {
  await textStateTable(store);
  await store.append(textState, schema3Rows(1));
  // What a v2 DuckDB upsert did: delete the keys, insert them again.
  const replaced = ids.slice(0, 30);
  await store.exec('DELETE FROM refresh_state WHERE id <= 30');
  await store.append(textState, schema3Rows(2, replaced));
  await store.exec('DELETE FROM schema_migrations WHERE version > 2');
  if (store.dialect === 'duckdb') {
    await store.exec('CHECKPOINT');
    const phys = await store.query<{ n: number }>("SELECT estimated_size AS n FROM duckdb_tables() WHERE table_name = 'refresh_state'");
    assert.equal(Number(phys[0].n), 80, 'the replaced rows are still there before the upgrade');
  }
  await migrate(store);
  const after = await store.query<{ id: number; carry: Uint8Array | null; source_rows: number }>('SELECT id, carry, source_rows FROM refresh_state ORDER BY id');
  assert.deepEqual(after.map((r) => r.id), ids);
  for (const r of after.slice(0, 30)) {
    assert.equal(r.source_rows, r.id * 10 + 2);
    assert.ok(Buffer.from(unpackCarry(r.carry!)!.buffer).equals(Buffer.from(doubles(r.id, 2).buffer)), `id ${r.id}: the replacing row's carry`);
  }
  if (store.dialect === 'duckdb') {
    await store.exec('CHECKPOINT');
    const phys = await store.query<{ n: number }>("SELECT estimated_size AS n FROM duckdb_tables() WHERE table_name = 'refresh_state'");
    assert.equal(Number(phys[0].n), 50);
  }
});

engineTest('v5 → v6: the views are created and every table commented; a stale view is replaced by the code\'s', async ({ store }) => {
  await store.exec('DROP VIEW v_ema');
  await store.exec('DROP VIEW v_bars');
  await store.exec('CREATE VIEW v_bars AS SELECT 1 AS stale');
  await store.exec("COMMENT ON TABLE price_bars_1d IS ''");
  await store.exec('DELETE FROM schema_migrations WHERE version > 5');
  await migrate(store);
  const cols = await store.query<{ c: string }>(
    "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'v_bars' ORDER BY ordinal_position");
  assert.deepEqual(cols.slice(0, 6).map((r) => r.c), ['family', 'id', 'symbol', 'tf', 'bar_seq', 'day']);
  assert.equal((await store.query('SELECT * FROM v_ema')).length, 0);
  const doc = store.dialect === 'duckdb'
    ? await store.query<{ d: string }>("SELECT comment AS d FROM duckdb_tables() WHERE table_name = 'price_bars_1d' AND schema_name = current_schema()")
    : await store.query<{ d: string }>("SELECT obj_description('price_bars_1d'::regclass, 'pg_class') AS d");
  assert.match(doc[0].d, /daily bars/);
  const v = await store.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
  assert.equal(Number(v[0].v), SCHEMA_VERSION);
});

engineTest('v5 → v8: assets whose stored days have no market cap get market_cap_optional and a change, and their bars build', async ({ store }) => {
  const { importSource } = await import('../src/importer/import.js');
  const { runRefresh } = await import('../src/refresh/runner.js');
  const { priceBars1d } = await import('../src/schema/tables.js');
  await importSource(store, join(import.meta.dirname, 'fixtures/long/prices-long.csv'));
  // Back to schema 5: no flag column, price_bars_1d.market_cap NOT NULL, no changes pending.
  await store.exec('ALTER TABLE dim_assets DROP COLUMN market_cap_optional');
  await store.exec(`DROP TABLE ${priceBars1d.name} CASCADE`); // PostgreSQL: the views depend on it
  await store.exec(createTableSql(store.engine, { ...priceBars1d, columns: priceBars1d.columns.map((c) => (c.name === 'market_cap' ? { ...c, notNull: true } : c)) }));
  await store.exec('DELETE FROM price_changes');
  await store.exec('DELETE FROM schema_migrations WHERE version > 5');
  await migrate(store);
  const flags = await store.query<{ id: number; o: boolean }>('SELECT id, market_cap_optional AS o FROM dim_assets ORDER BY id');
  assert.deepEqual(flags.map((f) => [Number(f.id), !!f.o]), [[1, false], [1027, true], [1_000_000_000, true]]);
  const changes = await store.query<{ id: number; source_file: string }>('SELECT id, source_file FROM price_changes ORDER BY id');
  assert.deepEqual(changes.map((c) => [Number(c.id), c.source_file]), [[1027, 'schema upgrade 8'], [1_000_000_000, 'schema upgrade 8']]);
  assert.ok((await runRefresh(store, { components: ['bars'] })).ok);
  const bars = await store.query<{ id: number; n: number }>('SELECT id, count(*) AS n FROM price_bars_1d GROUP BY id ORDER BY id');
  assert.deepEqual(bars.map((b) => [Number(b.id), Number(b.n)]), [[1, 12], [1027, 12], [1_000_000_000, 12]]);
});
