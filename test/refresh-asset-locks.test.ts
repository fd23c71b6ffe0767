// Refreshes exclude each other per asset on PostgreSQL, whatever their shard layout: runs over the whole
// universe and over two different shardings, all at once, end as one clean build would; and a run that meets
// an asset another session holds waits for it rather than skipping it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importFile } from '../src/importer/import.js';
import { runRefresh, type RefreshOptions } from '../src/refresh/runner.js';
import { assetKey } from '../src/store/locks.js';
import type { Store } from '../src/store/store.js';
import { freshDb, PG_URL } from './helpers/engines.js';
import { diffDerivedSql } from './helpers/history.js';
import { sampleSlice, type SampleCoin } from './helpers/sample.js';

const skip = !PG_URL && 'TALAB_TEST_PG not set';
// The last 45 days of every bundled sample coin: five assets over both shardings, small enough for CI.
const COINS: SampleCoin[] = ['bitcoin', 'ethereum', 'solana', 'mantle', 'wrapped-bitcoin'];
const FILES = COINS.map((c) => sampleSlice(c, 45));
const BOTH: RefreshOptions['components'] = ['bars', 'emas'];

async function importAll(store: Store): Promise<void> {
  for (const f of FILES) await importFile(store, f);
}

test('PostgreSQL: --all, --shard 0/2 and --shard 0/3 at once end as one clean build', { skip, timeout: 120_000 }, async () => {
  const db = await freshDb('postgres');
  const clean = await freshDb('postgres');
  const sessions: Store[] = [];
  try {
    await importAll(db.store);
    for (let i = 0; i < 3; i++) sessions.push(await db.store.connect());
    const runs = await Promise.all([
      runRefresh(sessions[0], { components: BOTH }),
      runRefresh(sessions[1], { components: BOTH, shard: { k: 0, n: 2 } }),
      runRefresh(sessions[2], { components: BOTH, shard: { k: 0, n: 3 } }),
    ]);
    for (const r of runs) assert.ok(r.ok, JSON.stringify(r.components.map((c) => [c.error, c.assets.filter((a) => a.status === 'failed')])));
    await importAll(clean.store);
    assert.ok((await runRefresh(clean.store, { components: BOTH })).ok);
    assert.equal(await diffDerivedSql(db.store, { pgSchema: db.pgSchema }, clean), null);
  } finally {
    for (const s of sessions) await s.close();
    await clean.cleanup();
    await db.cleanup();
  }
});

test('PostgreSQL: a refresh waits for an asset another session holds, then builds it', { skip, timeout: 120_000 }, async () => {
  const db = await freshDb('postgres');
  const other = await db.store.connect();
  try {
    await importFile(db.store, sampleSlice('mantle', 27));
    const id = Number((await db.store.query<{ id: number }>('SELECT DISTINCT id FROM price_histories'))[0].id);
    const held = (await other.lock(assetKey(id)))!;
    let settled = false;
    const run = runRefresh(db.store, { components: ['bars'] }).finally(() => (settled = true));
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(settled, false, 'the run waits while the asset is held');
    const during = await other.query<{ n: number }>('SELECT count(*) AS n FROM price_bars_1d WHERE id = $1', [id]);
    assert.equal(Number(during[0].n), 0);
    await held.release();
    const s = await run;
    assert.ok(s.ok);
    assert.equal(s.components[0].assets[0].status, 'built');
    const after = await other.query<{ n: number }>('SELECT count(*) AS n FROM price_bars_1d WHERE id = $1', [id]);
    assert.equal(Number(after[0].n), 27);
  } finally {
    await other.close();
    await db.cleanup();
  }
});
