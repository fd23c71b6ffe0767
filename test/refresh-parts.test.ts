// A long recompute on DuckDB is committed in parts (TALAB_DUCKDB_PART_ROWS): a run that dies between two parts
// leaves the asset's state saying "rebuild whole", and the next run ends identical to an uninterrupted build.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { syntheticHistory } from '../src/bench/synthetic.js';
import { runRefresh } from '../src/refresh/runner.js';
import { BARS_STATE_TABLES, EMAS_STATE_TABLES } from '../src/refresh/state.js';
import { duckdbPartRows } from '../src/store/duckdb/store.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { UserError } from '../src/util/errors.js';
import { ENGINES } from './helpers/engines.js';
import { diffDumps, dumpDerived, seedSynthetic } from './helpers/history.js';

const skip = !ENGINES.includes('duckdb') && 'DuckDB only (this run covers PostgreSQL)';
const DAYS = 1_500;
const PART_ROWS = '20000';

/** Open a DuckDB file with TALAB_DUCKDB_PART_ROWS set to `rows` (read when the store is opened). */
async function openWithParts(path: string, rows: string | undefined): Promise<Store> {
  const prev = process.env.TALAB_DUCKDB_PART_ROWS;
  if (rows === undefined) delete process.env.TALAB_DUCKDB_PART_ROWS;
  else process.env.TALAB_DUCKDB_PART_ROWS = rows;
  try {
    return await openStore(path);
  } finally {
    if (prev === undefined) delete process.env.TALAB_DUCKDB_PART_ROWS;
    else process.env.TALAB_DUCKDB_PART_ROWS = prev;
  }
}

/** The store, with its commitPart counted and made to fail right after the part it commits when `failAt` is reached. */
function counting(store: Store, failAt = Infinity): { store: Store; parts: () => number } {
  let n = 0;
  const proxy = new Proxy(store, {
    get(target, key) {
      if (key === 'commitPart') {
        return async () => {
          await target.commitPart!();
          if (++n === failAt) throw new Error('stopped between two parts');
        };
      }
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: proxy, parts: () => n };
}

async function stateTables(store: Store, id: number): Promise<Set<string>> {
  const rows = await store.query<{ t: string }>('SELECT table_name AS t FROM refresh_state WHERE id = $1', [id]);
  return new Set(rows.map((r) => r.t));
}

test('TALAB_DUCKDB_PART_ROWS: 1,048,576 by default, a whole number when given, a clear error otherwise', () => {
  const prev = process.env.TALAB_DUCKDB_PART_ROWS;
  try {
    delete process.env.TALAB_DUCKDB_PART_ROWS;
    assert.equal(duckdbPartRows(), 1_048_576);
    process.env.TALAB_DUCKDB_PART_ROWS = ' 50000 ';
    assert.equal(duckdbPartRows(), 50_000);
    for (const bad of ['0', '-5', '1e6', 'lots', '2.5']) {
      process.env.TALAB_DUCKDB_PART_ROWS = bad;
      assert.throws(() => duckdbPartRows(), (e: unknown) => e instanceof UserError && e.exitCode === 2 && e.message.includes(`got '${bad}'`), bad);
    }
  } finally {
    if (prev === undefined) delete process.env.TALAB_DUCKDB_PART_ROWS;
    else process.env.TALAB_DUCKDB_PART_ROWS = prev;
  }
});

test('a recompute stopped between two parts: no state for what it was writing, and a rerun == an uninterrupted build', { skip, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-parts-'));
  const { batch } = syntheticHistory(1, DAYS, 1, 20_000, 0);
  const ids = [...new Set(batch.cols.id as Int32Array)];
  const stores: Store[] = [];
  const open = async (name: string, rows: string | undefined) => {
    const s = await openWithParts(join(dir, name), rows);
    stores.push(s);
    await seedSynthetic(s, batch);
    return s;
  };
  try {
    // The reference: one transaction per asset (the default part size is far above an asset's rows here).
    const ref = await open('ref.duckdb', undefined);
    const plain = counting(ref);
    assert.ok((await runRefresh(plain.store, { components: ['bars', 'emas'] })).ok);
    assert.equal(plain.parts(), 0);
    const want = await dumpDerived(ref);

    const [id] = ids;
    // Stopped right after the first part of the bars step, then after the first part of the EMA step (its bars
    // built in parts first). Each rerun builds in parts, and ends identical to the reference.
    for (const what of ['bars', 'EMAs'] as const) {
      const s = await open(`${what}.duckdb`, PART_ROWS);
      if (what === 'EMAs') {
        const bars = counting(s);
        assert.ok((await runRefresh(bars.store, { components: ['bars'] })).ok);
        assert.ok(bars.parts() >= 1, 'the bars step took no part');
      }
      const stopped = counting(s, 1);
      const r = await runRefresh(stopped.store, { components: what === 'bars' ? ['bars', 'emas'] : ['emas'] });
      assert.equal(r.ok, false, what);
      const have = await stateTables(s, id);
      const [dropped, kept] = what === 'bars' ? [BARS_STATE_TABLES, []] : [EMAS_STATE_TABLES, BARS_STATE_TABLES];
      for (const t of dropped) assert.ok(!have.has(t), `${what}: ${t} state left behind`);
      for (const t of kept) assert.ok(have.has(t), `${what}: ${t} state lost`);
      // The stopped recompute's first part is in the tables: the missing state is what tells the next run.
      const [n] = await s.query<{ n: number }>(`SELECT count(*) AS n FROM ${what === 'bars' ? 'price_bars_1d' : 'ema_multi_tf'} WHERE id = $1`, [id]);
      assert.ok(Number(n.n) > 0, `${what}: nothing committed`);
      const again = counting(s);
      const ok = await runRefresh(again.store, { components: ['bars', 'emas'] });
      assert.ok(ok.ok, JSON.stringify(ok.components.map((c) => c.assets.map((a) => a.reason))));
      assert.ok(again.parts() >= 1, `${what}: the rerun took no part`);
      assert.equal(diffDumps(await dumpDerived(s), want), null, what);
    }
  } finally {
    for (const s of stores) await s.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
