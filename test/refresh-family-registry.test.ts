// The family contract from the outside: a family defined here only (a 3-day SMA of the 1D close, in a table of
// its own), registered beside the built-in ones, kept current by the runner through new days, a revision, and
// a rewrite of the bars made while it did not run. After every run its table equals the SMA computed afresh
// from price_bars_1d (incremental == full), and it learns of the bars' rewrites from the bars' own state only.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFile } from '../src/importer/import.js';
import { readersOf } from '../src/refresh/families/registry.js';
import { runRefresh, type RefreshSummary } from '../src/refresh/runner.js';
import { createTableSql } from '../src/schema/ddl.js';
import { engineTest } from './helpers/engines.js';
import { seededHistory, writeCsv, type Day } from './helpers/history.js';
import { sma3, smaRows } from './helpers/sma-family.js';

const day = (d: Day) => new Date(d.day * 86_400_000).toISOString().slice(0, 10);

engineTest('a family registered from outside the refresh: incremental == full through new days, revisions and bars-only runs', async ({ store }) => {
  await store.exec(createTableSql(store.engine, sma3));
  {
    assert.ok(readersOf('bars').includes(sma3.name), 'the bars know their new reader');
    const dir = mkdtempSync(join(tmpdir(), 'talab-family-'));
    let file = 0;
    const load = (days: Day[]) => importFile(store, writeCsv(dir, `f${file++}.csv`, days), { id: 801, symbol: 'F801' });
    const history = seededHistory(70, 11);
    const refresh = async (components: string[]) => {
      const s = await runRefresh(store, { components });
      assert.ok(s.ok, JSON.stringify(s.components.map((c) => c.error ?? c.assets)));
      return s;
    };
    const outcome = (s: RefreshSummary) => s.components.find((c) => c.component === 'sma3')!.assets[0];
    const matchesFull = async (label: string) => {
      const bars = await store.query<{ ts: number; close: number }>('SELECT ts, close FROM price_bars_1d WHERE id = 801 ORDER BY ts');
      const want = smaRows(801, Float64Array.from(bars, (r) => Number(r.ts)), Float64Array.from(bars, (r) => Number(r.close)), -Infinity);
      const got = await store.query<{ ts: number; sma: number | null }>('SELECT ts, sma FROM test_sma3 WHERE id = 801 ORDER BY ts');
      assert.deepEqual(
        got.map((r) => [Number(r.ts), r.sma === null ? null : Number(r.sma)]),
        Array.from(want.cols.ts, (t, i) => [t, Number.isNaN(want.cols.sma[i]) ? null : want.cols.sma[i]]),
        label,
      );
    };

    await load(history.slice(0, 50));
    let s = await refresh(['bars', 'emas', 'sma3']);
    assert.equal(outcome(s).reason, 'first build');
    await matchesFull('first build');

    await load(history.slice(50, 53));
    s = await refresh(['bars', 'emas', 'sma3']);
    assert.deepEqual([outcome(s).continued, outcome(s).from], [true, day(history[50])]);
    await matchesFull('three new days');

    const revised = (i: number) => ({ ...history[i], close: history[i].close * 1.07, high: history[i].high * 1.07 });
    await load([revised(30)]);
    s = await refresh(['bars', 'emas', 'sma3']);
    // From the day the bars rewrote (their fingerprints may take them back to the start of a block of days).
    const barsFrom = s.components[0].assets[0].from!;
    assert.ok(barsFrom <= day(history[30]), barsFrom);
    assert.deepEqual([outcome(s).reason, outcome(s).from], ['bars changed', barsFrom]);
    await matchesFull('a revision');

    // Two bars-only runs (a revision, then new days) before the family runs again: the first rewrite waits in
    // the bars' state until its readers ran, and reaches this family as well as the EMAs.
    await load([revised(20)]);
    const rewrite = (await refresh(['bars'])).components[0].assets[0].from!;
    await load(history.slice(53, 56));
    assert.equal((await refresh(['bars'])).components[0].assets[0].continued, true, 'new days only');
    s = await refresh(['sma3', 'emas']);
    assert.deepEqual([outcome(s).reason, outcome(s).from], ['bars changed', rewrite]);
    assert.equal(s.components[1].assets[0].from, rewrite, 'the EMAs take in the same rewrite');
    await matchesFull('bars rewritten while the family did not run');

    s = await refresh(['bars', 'emas', 'sma3']);
    assert.equal(outcome(s).status, 'current');
  }
});

engineTest('the family runs on worker threads too (a heavy run with --jobs 2 on PostgreSQL imports its module there)', async ({ store }) => {
  await store.exec(createTableSql(store.engine, sma3));
  const dir = mkdtempSync(join(tmpdir(), 'talab-family-jobs-'));
  for (const id of [811, 812, 813]) {
    await importFile(store, writeCsv(dir, `j${id}.csv`, seededHistory(40, id)), { id, symbol: `J${id}` });
  }
  const s = await runRefresh(store, { components: ['bars', 'sma3'], jobs: 2 });
  assert.ok(s.ok, JSON.stringify(s.components.map((c) => c.error ?? c.assets)));
  // Worker threads where the engine can be opened from another thread; DuckDB runs its jobs as sessions.
  assert.equal(s.threads, store.engine.name === 'postgres' ? 2 : 0);
  assert.deepEqual(s.components[1].assets.map((a) => [a.id, a.status]), [[811, 'built'], [812, 'built'], [813, 'built']]);
  for (const id of [811, 812, 813]) {
    const bars = await store.query<{ ts: number; close: number }>('SELECT ts, close FROM price_bars_1d WHERE id = $1 ORDER BY ts', [id]);
    const want = smaRows(id, Float64Array.from(bars, (r) => Number(r.ts)), Float64Array.from(bars, (r) => Number(r.close)), -Infinity);
    const got = await store.query<{ ts: number; sma: number | null }>('SELECT ts, sma FROM test_sma3 WHERE id = $1 ORDER BY ts', [id]);
    assert.equal(got.length, want.length, `asset ${id}`);
    got.forEach((r, i) => assert.equal(r.sma === null ? NaN : Number(r.sma), want.cols.sma[i], `asset ${id} row ${i}`));
  }
});
