// Schema upgrades: migrate() brings an older database to SCHEMA_VERSION and keeps its data.
import assert from 'node:assert/strict';
import { refreshState } from '../src/schema/tables.js';
import { migrate, SCHEMA_VERSION } from '../src/store/migrate.js';
import { engineTest } from './helpers/engines.js';

engineTest('v2 → v3: refresh_state keeps its rows; on DuckDB it is rewritten without the rows upserts left behind', async ({ store }) => {
  const ids = Array.from({ length: 50 }, (_, i) => i + 1);
  const state = (carry: string) => ({
    length: ids.length,
    cols: {
      id: Int32Array.from(ids), table_name: ids.map(() => 'ema_multi_tf'), carry_key: ids.map(() => 'k1'),
      carry: ids.map((i) => `${carry}${i}`.repeat(50)), source_rows: Float64Array.from(ids, (i) => i * 10),
    },
  });
  await store.append(refreshState, state('a'));
  // What a v2 DuckDB upsert did: delete the keys, insert them again.
  await store.exec(`DELETE FROM refresh_state WHERE id <= 30`);
  await store.append(refreshState, { length: 30, cols: Object.fromEntries(Object.entries(state('b').cols).map(([k, v]) => [k, v.slice(0, 30)])) });
  await store.exec('DELETE FROM schema_migrations WHERE version > 2');
  const before = await store.query('SELECT * FROM refresh_state ORDER BY id');
  if (store.dialect === 'duckdb') {
    await store.exec('CHECKPOINT');
    const phys = await store.query<{ n: number }>("SELECT estimated_size AS n FROM duckdb_tables() WHERE table_name = 'refresh_state'");
    assert.equal(Number(phys[0].n), 80, 'the replaced rows are still there before the upgrade');
  }
  await migrate(store);
  const v = await store.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
  assert.equal(Number(v[0].v), SCHEMA_VERSION);
  assert.deepEqual(await store.query('SELECT * FROM refresh_state ORDER BY id'), before);
  assert.equal(before.filter((r) => String(r.carry).startsWith('b')).length, 30);
  if (store.dialect === 'duckdb') {
    await store.exec('CHECKPOINT');
    const phys = await store.query<{ n: number }>("SELECT estimated_size AS n FROM duckdb_tables() WHERE table_name = 'refresh_state'");
    assert.equal(Number(phys[0].n), 50);
    await assert.rejects(store.append(refreshState, state('c')), /[Dd]uplicate key|violates primary key/, 'the key is still enforced');
  }
});
