// Daily runs of young assets turn v2 guards on often: the assets that will need their whole daily closes for it
// get them with their chunk in one query (prefetchFlipDaily), and the tables still equal a full build.
import assert from 'node:assert/strict';
import { syntheticHistory } from '../src/bench/synthetic.js';
import { runRefresh } from '../src/refresh/runner.js';
import { priceHistories } from '../src/schema/tables.js';
import type { Store } from '../src/store/store.js';
import { engineTest, freshDb } from './helpers/engines.js';
import { diffDumps, dumpDerived, seedSynthetic } from './helpers/history.js';

engineTest('daily runs across v2 guard flips read the flipping assets\' closes per chunk; tables == full build', async ({ store }) => {
  const { batch, more } = syntheticHistory(6, 100, 11, 20_000, 8);
  const other = await freshDb(store.dialect);
  try {
    await seedSynthetic(store, batch);
    await runRefresh(store, { components: ['bars', 'emas'], jobs: 1 });
    const sql: string[] = [];
    const query = store.query.bind(store);
    store.query = ((s: string, p?: unknown[]) => {
      sql.push(s);
      return query(s, p);
    }) as Store['query'];
    for (const day of more) {
      await store.append(priceHistories, day);
      const s = await runRefresh(store, { components: ['bars', 'emas'], jobs: 1 });
      assert.ok(s.ok && s.components.every((c) => c.assets.every((a) => a.continued)), 'every asset continues');
    }
    const batched = sql.filter((s) => /FROM price_bars_1d WHERE id IN/.test(s)).length;
    const single = sql.filter((s) => /SELECT ts, close FROM price_bars_1d WHERE id = \$1/.test(s)).length;
    assert.ok(batched > 0, 'some daily run turned a v2 guard on');
    assert.equal(single, 0, 'no asset read its closes on its own');
    await seedSynthetic(other.store, batch);
    for (const day of more) await other.store.append(priceHistories, day);
    await runRefresh(other.store, { components: ['bars', 'emas'], jobs: 1 });
    assert.equal(diffDumps(await dumpDerived(store), await dumpDerived(other.store)), null);
  } finally {
    await other.cleanup();
  }
}, 300_000);
