// Child process of refresh-memory.test.ts: one synthetic asset with a very long history into a fresh DuckDB
// file, a narrowed refresh of bars and EMAs, then the process's peak RSS on stdout (its own process, so the
// figure is the refresh's alone). Usage: refresh-long.ts <db file> <days> <tfs,...> <periods,...> <components,...>,
// where '-' for the timeframes or periods means the default selection.
import { getTimeframe } from '../../src/catalog/timeframes.js';
import { syntheticHistory } from '../../src/bench/synthetic.js';
import { runRefresh } from '../../src/refresh/runner.js';
import { openStore } from '../../src/store/open.js';
import { seedSynthetic } from './history.js';

const [db, days, tfs, periods, components] = process.argv.slice(2);
const store = await openStore(db);
try {
  await seedSynthetic(store, syntheticHistory(1, Number(days), 1, 20_000, 0).batch);
  const t0 = Date.now();
  const s = await runRefresh(store, {
    components: components.split(',') as ('bars' | 'emas')[],
    tfs: tfs === '-' ? undefined : tfs.split(',').map((t) => getTimeframe(t)!),
    periods: periods === '-' ? undefined : periods.split(',').map(Number),
  });
  if (!s.ok) throw new Error(JSON.stringify(s.components.map((c) => c.error ?? c.assets.map((a) => a.reason))));
  const rows = s.components.reduce((n, c) => n + Object.values(c.rows).reduce((a, b) => a + b, 0), 0);
  process.stdout.write(JSON.stringify({ rows, ms: Date.now() - t0, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
} finally {
  await store.close();
}
