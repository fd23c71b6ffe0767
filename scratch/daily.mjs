// usage: node scratch/daily.mjs build N DBPATH  |  node scratch/daily.mjs day DBPATH K
import { openStore } from '/work/main/dist/store/open.js';
import { priceHistories } from '/work/main/dist/schema/tables.js';
import { runRefresh } from '/work/main/dist/refresh/run.js';
import { syntheticHistory } from '/work/main/dist/bench/synthetic.js';
const [mode, a1, a2, a3] = process.argv.slice(2);
if (mode === 'build') {
  const n = Number(a1), path = a2;
  const store = await openStore(path);
  const { batch } = syntheticHistory(n, Number(a3 ?? 3000), 1, 20_000, 0);
  await store.append(priceHistories, batch);
  for (const id of new Set(batch.cols.id)) await store.exec('INSERT INTO dim_assets (id, symbol) VALUES ($1, $2)', [id, `S${id}`]);
  const t = performance.now();
  await runRefresh(store, { components: ['bars', 'emas'], jobs: 2 });
  console.log('full', (performance.now() - t).toFixed(0), 'ms', 'maxRSS', (process.resourceUsage().maxRSS / 1024).toFixed(0), 'MiB');
  await store.close();
} else {
  const path = a1, k = Number(a2), jobs = Number(a3 ?? 2);
  const store = await openStore(path);
  for (const q of (process.env.XSET ?? '').split(';').filter(Boolean)) await store.exec(q);
  const r = await store.query('SELECT max(ts) AS hi, count(DISTINCT id) AS n, min(id) AS lo FROM price_histories');
  const DAY = 86400000; let day = Math.floor(r[0].hi / DAY);
  const n = r[0].n, lo = r[0].lo;
  for (let i = 0; i < k; i++) {
    day++;
    const ids = Int32Array.from({ length: n }, (_, j) => lo + j);
    const f = (v) => Float64Array.from(ids, () => v);
    await store.append(priceHistories, { length: n, cols: { id: ids, ts: f((day + 1) * DAY - 1), time_open: f(day * DAY), time_close: f((day + 1) * DAY - 1), time_high: f(day * DAY + 43200000), time_low: f(day * DAY + 3600000), open: f(100), high: f(101), low: f(99), close: f(100.5), volume: f(1e6), market_cap: f(1e9) } });
    const t = performance.now();
    const s = await runRefresh(store, { components: ['bars', 'emas'], jobs });
    const ms = performance.now() - t;
    const w = (await import('node:fs')).statSync(path + '.wal', { throwIfNoEntry: false })?.size ?? 0;
    let tc = performance.now(); if (process.env.CKPT) await store.exec('CHECKPOINT'); tc = performance.now() - tc;
    console.log(`wal ${(w/1e6).toFixed(1)} MB, checkpoint ${tc.toFixed(0)} ms`);
    console.log(`maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
    console.log(`day ${i}: ${ms.toFixed(0)} ms (${(ms / n).toFixed(1)} ms/asset), continued ${s.components.map((c) => c.assets.filter((a) => a.continued).length).join('/')}`);
  }
  await store.close();
}
