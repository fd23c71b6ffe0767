import { openStore } from '/work/main/dist/store/open.js';
import { priceHistories } from '/work/main/dist/schema/tables.js';
import { runRefresh } from '/work/main/dist/refresh/run.js';
import { syntheticHistory } from '/work/main/dist/bench/synthetic.js';
import { DuckDbStore } from '/work/main/dist/store/duckdb.js';
import { rmSync, mkdtempSync } from 'node:fs';
const stats = new Map();
const add = (k, ms) => { const s = stats.get(k) ?? [0, 0]; s[0]++; s[1] += ms; stats.set(k, s); };
for (const m of ['exec', 'query', 'append', 'upsert']) {
  const orig = DuckDbStore.prototype[m];
  DuckDbStore.prototype[m] = async function (...a) {
    const t = performance.now();
    try { return await orig.apply(this, a); } finally {
      add(m === 'append' || m === 'upsert' ? `${m} ${a[0].name}` : `${m} ${String(a[0]).trim().slice(0, 40).replace(/\s+/g, ' ')}`, performance.now() - t);
    }
  };
}
const dir = mkdtempSync('/tmp/first-');
const store = await openStore(dir + '/f.duckdb');
const { batch, more } = syntheticHistory(5, 3000, 1, 20_000, 3);
await store.append(priceHistories, batch);
for (const id of new Set(batch.cols.id)) await store.exec('INSERT INTO dim_assets (id, symbol) VALUES ($1, $2)', [id, `S${id}`]);
await runRefresh(store, { components: ['bars', 'emas'], jobs: 2 });
for (const day of more) {
  stats.clear();
  await store.append(priceHistories, day);
  const t = performance.now();
  const r = await runRefresh(store, { components: ['bars', 'emas'], jobs: 2 });
  console.log('day', (performance.now() - t).toFixed(0), 'ms', r.components.map((c) => c.assets.filter((a) => a.continued).length));
  console.log([...stats].sort((a, b) => b[1][1] - a[1][1]).slice(0, 8).map(([k, [n, ms]]) => `  ${ms.toFixed(0).padStart(5)} ${n}x ${k}`).join('\n'));
}
await store.close(); rmSync(dir, { recursive: true });
