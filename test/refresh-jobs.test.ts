// --jobs: the same tables and the same summary whatever the number of jobs. On PostgreSQL jobs are worker
// threads with their own connections (refresh/pool.ts); on DuckDB, sessions of one thread.
import assert from 'node:assert/strict';
import { syntheticHistory } from '../src/bench/synthetic.js';
import { runRefresh, type RefreshEvent, type RefreshSummary } from '../src/refresh/runner.js';
import { priceHistories } from '../src/schema/tables.js';
import { engineTest, freshDb } from './helpers/engines.js';
import { diffDumps, dumpDerived, seedSynthetic } from './helpers/history.js';

/** What a summary says, without timings and run ids. */
function gist(s: RefreshSummary) {
  return s.components.map((c) => ({
    component: c.component, rows: c.rows, repairs: c.repairs, rejects: c.rejects, gaps: c.gaps, error: c.error,
    assets: c.assets.map((a) => ({ id: a.id, status: a.status, reason: a.reason, from: a.from, continued: a.continued })),
  }));
}

engineTest('--jobs 3 == --jobs 1: full build then a daily run, tables, summaries and events', async ({ store }) => {
  const { batch, more } = syntheticHistory(5, 260, 5, 20_000, 1);
  const other = await freshDb(store.dialect);
  try {
    await seedSynthetic(store, batch);
    await seedSynthetic(other.store, batch);
    for (const day of [null, ...more]) {
      if (day) {
        await store.append(priceHistories, day);
        await other.store.append(priceHistories, day);
      }
      const events: RefreshEvent[] = [];
      const par = await runRefresh(store, { components: ['bars', 'emas'], jobs: 3, onEvent: (e) => events.push(e) });
      const one = await runRefresh(other.store, { components: ['bars', 'emas'], jobs: 1 });
      assert.ok(par.ok, JSON.stringify(gist(par)));
      // PostgreSQL builds run their jobs on worker threads; daily runs (and DuckDB) on sessions of one thread.
      assert.equal(par.threads, store.dialect === 'postgres' && !day ? 3 : 0, 'threads');
      assert.deepEqual(gist(par), gist(one));
      if (day) assert.ok(par.components.every((c) => c.assets.every((a) => a.continued)), 'the daily run continues');
      // Each asset reported once per component, between that component's start and end.
      for (const c of ['bars', 'emas'] as const) {
        const mine = events.filter((e) => e.component === c);
        assert.equal(mine[0].kind, 'start');
        assert.equal(mine[mine.length - 1].kind, 'end');
        const ids = mine.filter((e) => e.kind === 'asset').map((e) => (e as { id: number }).id).sort();
        assert.deepEqual(ids, [...new Set(batch.cols.id as Int32Array)].sort());
      }
      assert.equal(diffDumps(await dumpDerived(store), await dumpDerived(other.store)), null);
    }
  } finally {
    await other.cleanup();
  }
}, 300_000);
