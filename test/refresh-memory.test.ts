// A very long history is recomputed in bounded memory: bar timeframes in day windows chained by their carries,
// EMA periods a few per kernel call, rows appended through a bounded write buffer (refresh/writer.ts) and, on
// DuckDB, committed in parts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getTimeframe } from '../src/catalog/timeframes.js';
import { syntheticHistory } from '../src/bench/synthetic.js';
import { buildBarsForTimeframe } from '../src/compute/bars/index.js';
import { emaV1, emaV2 } from '../src/compute/ema/index.js';
import { runRefresh } from '../src/refresh/runner.js';
import { loadCanonicalCloses, loadDailySeries } from '../src/refresh/load.js';
import { q } from '../src/schema/ddl.js';
import { BAR_TABLES, EMA_TABLES, type Table } from '../src/schema/tables.js';
import type { Store } from '../src/store/store.js';
import { engineTest, ENGINES } from './helpers/engines.js';
import { seedSynthetic } from './helpers/history.js';

// 200,000 days, bars of four rolling timeframes (~990,000 rows): the old recompute, which held each bar
// family's timeframes of the whole history at once, peaked at 957–969 MiB here; the streaming one at 778–795.
// The cap sits between the two; RSS varies by a few MiB from run to run.
const CAP_MIB = 925;

test('a 200,000-day history refreshes under a fixed memory cap', { timeout: 180_000, skip: !ENGINES.includes('duckdb') && 'DuckDB only (this run covers PostgreSQL)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-long-'));
  const db = join(dir, 'long.duckdb');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'helpers/refresh-long.ts'), db, '200000', '7D,14D,30D,90D', '10', 'bars'], {
    encoding: 'utf8', env: { ...process.env, TZ: 'UTC' },
  });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { rows: number; maxRssMiB: number };
  assert.ok(out.rows > 4 * 190_000, `rows ${out.rows}`);
  assert.ok(out.maxRssMiB < CAP_MIB, `peak RSS ${out.maxRssMiB.toFixed(0)} MiB, cap ${CAP_MIB}`);
});

// 20,000 days, every default timeframe and period, bars and EMAs (25 M rows), with a 256 MB DuckDB buffer pool
// (which a history this long fills whatever its length, so the flat level sits lower and further from the
// failure). DuckDB kept bookkeeping for every row of the asset's one transaction outside its buffer pool: that
// run peaked at 1,211 MiB. Committed in parts (TALAB_DUCKDB_PART_ROWS) it peaks at 890 MiB, and at 844 MiB at
// 30,000 days (docs/performance.md). The cap sits between the two.
const LONG_CAP_MIB = 1_050;

test('a 20,000-day history refreshes bars and EMAs under a fixed memory cap', { timeout: 600_000, skip: !ENGINES.includes('duckdb') && 'DuckDB only (this run covers PostgreSQL)' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-long-'));
  const db = join(dir, 'long.duckdb');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'helpers/refresh-long.ts'), db, '20000', '-', '-', 'bars,emas'], {
    encoding: 'utf8', env: { ...process.env, TZ: 'UTC', TALAB_DUCKDB_MEMORY: '256MB' },
  });
  rmSync(dir, { recursive: true, force: true }); // a 20,000-day file is about a gigabyte
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { rows: number; maxRssMiB: number };
  assert.ok(out.rows > 24_000_000, `rows ${out.rows}`);
  t.diagnostic(`peak RSS ${out.maxRssMiB.toFixed(0)} MiB, cap ${LONG_CAP_MIB}`);
  assert.ok(out.maxRssMiB < LONG_CAP_MIB, `peak RSS ${out.maxRssMiB.toFixed(0)} MiB, cap ${LONG_CAP_MIB}`);
});

/** Rows of `id` and of `ref` in `table` that the other lacks (id and load time aside). */
async function differing(store: Store, table: Table, id: number, ref: number): Promise<number> {
  const cols = table.columns.map((c) => c.name).filter((c) => c !== 'id' && c !== 'ingested_at').map(q).join(', ');
  const side = (a: number, b: number) =>
    `SELECT count(*) AS n FROM (SELECT ${cols} FROM ${q(table.name)} WHERE id = ${a} EXCEPT ALL SELECT ${cols} FROM ${q(table.name)} WHERE id = ${b}) d`;
  const [x] = await store.query<{ n: number }>(side(id, ref));
  const [y] = await store.query<{ n: number }>(side(ref, id));
  return Number(x.n) + Number(y.n);
}

engineTest('a history longer than a window and a write buffer: tables == the kernels over the whole history', async ({ store }) => {
  // 20,000 days: two bar windows; seven periods over the write buffer's bound make two EMA calls per timeframe.
  const id = 1000;
  const ref = 2000;
  const tf = getTimeframe('7D')!;
  const periods = [10, 20, 50, 100, 200, 252, 365];
  await seedSynthetic(store, syntheticHistory(1, 20_000, 3, 20_000, 0).batch);
  const s = await runRefresh(store, { components: ['bars', 'emas'], tfs: [tf], periods });
  assert.ok(s.ok, JSON.stringify(s.components.map((c) => c.error ?? c.assets.map((a) => a.reason))));

  // The same rows computed in one call each over the whole history, stored under another id.
  const daily = { ...(await loadDailySeries(store, id)), id: ref };
  await store.append(BAR_TABLES.multi_tf, buildBarsForTimeframe(daily, 'multi_tf', tf));
  const canon = (await loadCanonicalCloses(store, BAR_TABLES.multi_tf.name, id)).get(tf.tf)!;
  await store.append(EMA_TABLES.v1, emaV1(daily, canon, tf, periods));
  await store.append(EMA_TABLES.v2, emaV2(daily, tf, periods));

  for (const table of [BAR_TABLES.multi_tf, EMA_TABLES.v1, EMA_TABLES.v2]) {
    const [n] = await store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(table.name)} WHERE id = ${id}`);
    assert.ok(Number(n.n) >= 19_000, `${table.name}: ${n.n} rows`);
    assert.equal(await differing(store, table, id, ref), 0, table.name);
  }
});
