// `refresh --dry-run` is plan only: it runs on a session that cannot write (every writing call refused, and on
// PostgreSQL a session whose transactions are read-only) and still reports, table by table and asset by asset,
// exactly what the real run that follows writes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { getTimeframe } from '../src/catalog/timeframes.js';
import { importFile } from '../src/importer/import.js';
import { runRefresh, type RefreshOptions, type RefreshSummary } from '../src/refresh/runner.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { engineTest, ENGINES, freshDb, PG_URL, type Engine, type TestDb } from './helpers/engines.js';
import { historyArb, writeCsv, type Day } from './helpers/history.js';
import { assertNoCounterexample } from './helpers/property.js';

const dir = mkdtempSync(join(tmpdir(), 'talab-dry-'));
let fileNo = 0;

/**
 * The run's store as a dry run must use it: every call passes through to the real store, and any call that
 * could write (exec, append, upsert, a transaction, a lock, a part commit, a query that is not a SELECT) fails
 * the test. On PostgreSQL the session is also read-only in the server (default_transaction_read_only), so a
 * write the guard missed fails there too. (DuckDB is not reopened read-only here: a file closed and attached
 * again within one process can read stale blocks; the CLI's dry run opens it read-only in its own process.)
 */
async function readOnlySession(engine: Engine, db: TestDb): Promise<Store> {
  let s = db.store;
  if (engine === 'postgres') {
    s = await openStore(PG_URL!, { pgSchema: db.pgSchema, migrate: false });
    await s.exec('SET default_transaction_read_only = on');
  }
  const real = s;
  const refuse = (what: string) => () => {
    throw new Error(`a dry run called ${what}`);
  };
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'close') return engine === 'postgres' ? () => real.close() : async () => undefined;
      if (['exec', 'append', 'upsert', 'transaction', 'lock', 'commitPart', 'holdCheckpoints', 'connect'].includes(String(prop))) {
        return refuse(String(prop));
      }
      if (prop === 'query') {
        return (sql: string, params?: unknown[]) => {
          if (!/^\s*(SELECT|WITH)\b/i.test(sql)) throw new Error(`a dry run sent: ${sql.slice(0, 200)}`);
          return real.query(sql, params);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

const writer = async (_engine: Engine, db: TestDb): Promise<Store> => db.store;

/** The dry run on a read-only session, then the real run: the same rows per table and outcomes per asset. */
async function planThenRun(engine: Engine, db: TestDb, opts: RefreshOptions, label: string): Promise<RefreshSummary> {
  const ro = await readOnlySession(engine, db);
  let plan: RefreshSummary;
  try {
    plan = await runRefresh(ro, { ...opts, dryRun: true });
  } finally {
    await ro.close();
  }
  const real = await runRefresh(await writer(engine, db), opts);
  assert.ok(plan.ok, `${label}: dry run failed: ${JSON.stringify(plan.components.map((c) => c.error ?? c.assets.filter((a) => a.status === 'failed')))}`);
  assert.ok(real.ok, label);
  for (const [i, c] of real.components.entries()) {
    const p = plan.components[i];
    assert.deepEqual(p.rows, c.rows, `${label}: ${c.component} rows per table`);
    const outcome = (a: RefreshSummary['components'][number]['assets'][number]) =>
      [a.id, a.status === 'planned' ? 'built' : a.status, a.from ?? null, !!a.continued];
    assert.deepEqual(p.assets.map(outcome), c.assets.map(outcome), `${label}: ${c.component} outcomes`);
  }
  return real;
}

const revised = (d: Day, f: number): Day => ({ ...d, close: d.close * f, high: Math.max(d.high, d.close * f), low: Math.min(d.low, d.close * f) });

for (const engine of ENGINES) {
  test(`a dry run writes nothing and plans what the real run writes, through random imports and revisions [${engine}]`, { timeout: 600_000 }, async (t) => {
    if (engine === 'postgres' && !PG_URL) {
      if (process.env.CI) throw new Error('TALAB_TEST_PG must be set in CI');
      t.skip('TALAB_TEST_PG not set');
      return;
    }
    const step = fc.oneof(
      fc.record({ kind: fc.constant('days' as const), n: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('revise' as const), back: fc.integer({ min: 0, max: 60 }), factor: fc.constantFrom(0.9, 1.07) }),
      fc.record({ kind: fc.constant('none' as const) }),
    );
    const scenario = fc.record({
      histories: fc.array(historyArb({ minLen: 60, maxLen: 140 }), { minLength: 1, maxLength: 2 }),
      first: fc.integer({ min: 20, max: 60 }),
      steps: fc.array(step, { minLength: 2, maxLength: 4 }),
      components: fc.constantFrom<('bars' | 'emas')[][]>(['bars', 'emas'], ['bars', 'emas'], ['emas']),
    });
    let planned = 0;
    const result = await fc.check(
      fc.asyncProperty(scenario, async (s) => {
        const db = await freshDb(engine);
        try {
          const at = s.histories.map(() => s.first);
          const current = s.histories.map(() => new Map<number, Day>());
          const load = async (k: number, days: Day[]) => {
            if (!days.length) return;
            for (const d of days) current[k].set(d.day, d);
            await importFile(db.store, writeCsv(dir, `d${fileNo++}.csv`, days), { id: 900 + k, symbol: `DRY${k}` });
          };
          for (const [k, h] of s.histories.entries()) await load(k, h.slice(0, s.first));
          // The first build plans the bars too (an EMA-only dry run of a database without bars skips every asset).
          await planThenRun(engine, db, { components: ['bars', 'emas'] }, 'first build');
          for (const [n, st] of s.steps.entries()) {
            for (const [k, h] of s.histories.entries()) {
              if (st.kind === 'days') {
                await load(k, h.slice(at[k], at[k] + st.n));
                at[k] = Math.min(h.length, at[k] + st.n);
              } else if (st.kind === 'revise') {
                const days = [...current[k].keys()].sort((x, y) => x - y);
                const d = current[k].get(days[Math.max(0, days.length - 1 - st.back)])!;
                await load(k, [revised(d, st.factor)]);
              }
            }
            // An EMA-only run after new source days waits for the bars: build them first, as a user would.
            if (!s.components.includes('bars')) await runRefresh(await writer(engine, db), { components: ['bars'] });
            const real = await planThenRun(engine, db, { components: s.components }, `step ${n} ${JSON.stringify(st)}`);
            planned += real.components.reduce((x, c) => x + c.assets.filter((a) => a.status === 'built').length, 0);
          }
        } finally {
          await db.cleanup();
        }
      }),
      { numRuns: Number(process.env.TALAB_PROPERTY_RUNS ?? 5), endOnFailure: true },
    );
    assertNoCounterexample(result);
    t.diagnostic(`asset steps that wrote rows after a dry run planned them: ${planned}`);
  });
}

engineTest('a dry run of a narrowed selection (some timeframes and periods) plans what the real run writes', async (db) => {
  const engine: Engine = db.pgSchema === undefined ? 'duckdb' : 'postgres';
  const days = fc.sample(historyArb({ minLen: 200, maxLen: 200 }), { numRuns: 1, seed: 42 })[0];
  await importFile(db.store, writeCsv(dir, `n${fileNo++}.csv`, days), { id: 950, symbol: 'NAR' });
  await planThenRun(engine, db, { components: ['bars', 'emas'] }, 'default selection');
  // A narrowed EMA run deletes and rewrites whole (tf, period) series.
  const narrowed = { tfs: [getTimeframe('1D')!, getTimeframe('7D')!], periods: [10, 20] };
  const real = await planThenRun(engine, db, { components: ['emas'], ...narrowed }, 'narrowed EMAs');
  assert.ok(Object.values(real.components[0].rows).some((n) => n > 0), 'the narrowed run wrote rows');
  await planThenRun(engine, db, { components: ['bars', 'emas'], ...narrowed }, 'narrowed bars and EMAs');
});

test('the dry-run session above refuses writes (else the test above would prove nothing)', async (t) => {
  for (const engine of ENGINES) {
    if (engine === 'postgres' && !PG_URL) {
      t.diagnostic('TALAB_TEST_PG not set: PostgreSQL half skipped');
      continue;
    }
    const db = await freshDb(engine);
    try {
      const ro = await readOnlySession(engine, db);
      try {
        await assert.rejects(async () => ro.exec("INSERT INTO dim_assets (id, symbol) VALUES (1, 'X')"), /a dry run called exec/, engine);
        await assert.rejects(async () => ro.query("DELETE FROM dim_assets RETURNING id"), /a dry run sent/, engine);
        assert.equal((await ro.query('SELECT count(*) AS n FROM dim_assets'))[0].n !== undefined, true);
        if (engine === 'postgres') {
          // Past the guard, the server itself refuses.
          const raw = await openStore(PG_URL!, { pgSchema: db.pgSchema, migrate: false });
          try {
            await raw.exec('SET default_transaction_read_only = on');
            await assert.rejects(raw.exec("INSERT INTO dim_assets (id, symbol) VALUES (1, 'X')"), /read-only/);
          } finally {
            await raw.close();
          }
        }
      } finally {
        await ro.close();
      }
    } finally {
      await db.cleanup();
    }
  }
});
