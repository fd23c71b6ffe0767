// A revision imported while a refresh runs must not be lost: the refresh consumes only the change records it
// read, and one imported after its read stays pending until the next refresh, which then equals a full build.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import type { Store } from '../src/store/store.js';
import { engineTest, freshDb, type Engine } from './helpers/engines.js';
import { type Day, diffDumps, dumpDerived, seededHistory, writeCsv } from './helpers/history.js';

const dir = mkdtempSync(join(tmpdir(), 'talab-race-'));
let fileNo = 0;


/** The day with its close moved inside its range (a revision the bars and EMAs must see). */
const revise = (d: Day, k: number): Day => ({ ...d, close: d.low + (d.high - d.low) * k });

const importDays = (store: Store, id: number, days: Day[]) =>
  importFile(store, writeCsv(dir, `r${fileNo++}.csv`, days), { id, symbol: `A${id}` });

/** `store` with `hook` run once, right after the refresh's read of pending change records. */
function afterChangesRead(store: Store, hook: () => Promise<void>): Store {
  let fired = false;
  return new Proxy(store, {
    get(t, p) {
      const v = Reflect.get(t, p, t);
      if (p === 'query') {
        return async (sql: string, params?: unknown[]) => {
          const r = await t.query(sql, params as never);
          if (!fired && /FROM price_changes/.test(sql) && /consumed_at IS NULL/.test(sql)) {
            fired = true;
            await hook();
          }
          return r;
        };
      }
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

async function fullBuildDiff(engine: Engine, store: Store, finals: Map<number, Day[]>): Promise<string | null> {
  const full = await freshDb(engine);
  try {
    for (const [id, days] of finals) await importDays(full.store, id, days);
    await runRefresh(full.store, { components: ['bars', 'emas'] });
    return diffDumps(await dumpDerived(store), await dumpDerived(full.store));
  } finally {
    await full.cleanup();
  }
}

engineTest('a revision imported after the refresh read the changes stays pending and reaches the bars next run', async ({ store }) => {
  const days = seededHistory(240, 7);
  await importDays(store, 901, days);
  assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);
  days[100] = revise(days[100], 0.2);
  await importDays(store, 901, [days[100]]);
  const other = await store.connect();
  try {
    const hooked = afterChangesRead(store, async () => {
      days[150] = revise(days[150], 0.9);
      await importDays(other, 901, [days[150]]);
    });
    assert.ok((await runRefresh(hooked, { components: ['bars', 'emas'] })).ok);
  } finally {
    await other.close();
  }
  const pending = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_changes WHERE consumed_at IS NULL');
  assert.equal(Number(pending[0].n), 1, 'the revision imported during the run must still be pending');
  const next = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.ok(next.ok);
  const close = await store.query<{ close: number }>(
    'SELECT close FROM price_bars_1d WHERE id = 901 AND ts >= $1::timestamptz AND ts < $2::timestamptz',
    [new Date(days[150].day * 86_400_000).toISOString(), new Date((days[150].day + 1) * 86_400_000).toISOString()],
  );
  assert.equal(Number(close[0].close), days[150].close);
  assert.equal(await fullBuildDiff(engineOf(store), store, new Map([[901, days]])), null);
});

const engineOf = (s: Store): Engine => (s.dialect === 'postgres' ? 'postgres' : 'duckdb');

engineTest('revisions imported at random moments during refreshes all reach the derived tables by the next refresh', async ({ store }, t) => {
  const ids = [911, 912];
  const finals = new Map(ids.map((id, i) => [id, seededHistory(120, 31 + i)]));
  for (const [id, days] of finals) await importDays(store, id, days);
  let t0 = Date.now();
  assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);
  const span = Math.max(50, Date.now() - t0);
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const other = await store.connect();
  let during = 0;
  try {
    for (let trial = 0; trial < 10; trial++) {
      // A revision to make the refresh do real work, then one more imported at a random moment of it.
      const id0 = ids[trial % ids.length];
      const d0 = Math.floor(rnd() * 120);
      finals.get(id0)![d0] = revise(finals.get(id0)![d0], rnd());
      await importDays(store, id0, [finals.get(id0)![d0]]);
      const id = ids[Math.floor(rnd() * ids.length)];
      const d = Math.floor(rnd() * 120);
      const delay = rnd() * span * 0.5;
      let refreshEnd = 0;
      let imp: Promise<number> | undefined;
      // The import starts at a random moment counted from the refresh's read of the pending changes: from
      // there until the bars commit is where a change can be read by neither or both.
      const hooked = afterChangesRead(store, async () => {
        imp = new Promise((res) => setTimeout(res, delay)).then(async () => {
          finals.get(id)![d] = revise(finals.get(id)![d], rnd());
          await importDays(other, id, [finals.get(id)![d]]);
          return Date.now();
        });
      });
      const run = runRefresh(hooked, { components: ['bars', 'emas'] }).then((r) => {
        refreshEnd = Date.now();
        return r;
      });
      const r = await run;
      const importEnd = await imp!;
      assert.ok(r.ok, `trial ${trial}: refresh failed`);
      if (importEnd < refreshEnd) during++;
      assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);
      const pending = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_changes WHERE consumed_at IS NULL');
      assert.equal(Number(pending[0].n), 0, `trial ${trial}: changes left pending after the next refresh`);
      for (const [aid, days] of finals) {
        const got = await store.query<{ close: number }>('SELECT close FROM price_bars_1d WHERE id = $1 ORDER BY ts', [aid]);
        assert.deepEqual(got.map((g) => Number(g.close)), days.map((x) => x.close), `trial ${trial}: asset ${aid} 1D closes`);
      }
    }
  } finally {
    await other.close();
  }
  t.diagnostic(`imports that finished while a refresh was running: ${during} of 10`);
  assert.equal(await fullBuildDiff(engineOf(store), store, finals), null);
});
