// Where a DuckDB refresh's memory goes: one seeded synthetic build (as `dist/bench/refresh.js --full-only`) with a
// sampler reading the process's memory and DuckDB's `duckdb_memory()` (on a second connection) every 300 ms.
// Prints the peak RSS and, at the sample that saw it, the V8 heap, Node's external memory and DuckDB's pool, in
// MiB. Usage: npx tsx scripts/memory-split.ts <days> [assets]; TALAB_DUCKDB_MEMORY and TALAB_DUCKDB_PART_ROWS apply.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticHistory } from '../src/bench/synthetic.js';
import { runRefresh } from '../src/refresh/runner.js';
import { priceHistories } from '../src/schema/tables.js';
import { openStore } from '../src/store/open.js';

const [days, assets = 1] = process.argv.slice(2).map(Number);
if (!(days > 0) || !(assets > 0)) {
  process.stderr.write('usage: npx tsx scripts/memory-split.ts <days> [assets]\n');
  process.exit(2);
}
const mib = (b: number) => Math.round(b / 1048576);
const dir = mkdtempSync(join(tmpdir(), 'talab-memsplit-'));
const store = await openStore(join(dir, 'split.duckdb'));
try {
  const { batch } = syntheticHistory(assets, days, 1, 20_000, 0);
  await store.append(priceHistories, batch);
  for (const id of new Set(batch.cols.id as Int32Array)) await store.exec('INSERT INTO dim_assets (id, symbol) VALUES ($1, $2)', [id, `S${id}`]);
  const monitor = await store.connect();
  let peak = { rss: 0, heap: 0, external: 0, duckdb: 0 };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const m = process.memoryUsage();
    monitor.query<{ b: number }>('SELECT sum(memory_usage_bytes) AS b FROM duckdb_memory()')
      .then((r) => {
        if (m.rss > peak.rss) peak = { rss: m.rss, heap: m.heapUsed, external: m.external, duckdb: Number(r[0].b) };
      })
      .finally(() => (busy = false));
  }, 300);
  const t0 = Date.now();
  const s = await runRefresh(store, { components: ['bars', 'emas'] });
  clearInterval(timer);
  while (busy) await new Promise((r) => setTimeout(r, 50));
  await monitor.close();
  const rows = s.components.reduce((n, c) => n + Object.values(c.rows).reduce((a, b) => a + b, 0), 0);
  process.stdout.write(JSON.stringify({
    days, assets, rows, ok: s.ok, ms: Date.now() - t0, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    atPeakSample: { rssMiB: mib(peak.rss), heapMiB: mib(peak.heap), externalMiB: mib(peak.external), duckdbPoolMiB: mib(peak.duckdb) },
  }) + '\n');
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
