// The family contract from the outside: a family defined here only (a 3-day SMA of the 1D close, in a table of
// its own), registered beside the built-in ones, kept current by the runner through new days, a revision, and
// a rewrite of the bars made while it did not run. After every run its table equals the SMA computed afresh
// from price_bars_1d (incremental == full), and it learns of the bars' rewrites from the bars' own state only.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFile } from '../src/importer/import.js';
import { registerFamily, unregisterFamily, readersOf } from '../src/refresh/families/registry.js';
import type { Family } from '../src/refresh/families/types.js';
import { runRefresh, type RefreshSummary } from '../src/refresh/runner.js';
import { BARS_STATE_TABLES, commonState, readStatesMany, upstreamChange, writeStates, type TableState } from '../src/refresh/state.js';
import { createTableSql } from '../src/schema/ddl.js';
import type { Table } from '../src/schema/table-types.js';
import { idList } from '../src/refresh/state.js';
import { engineTest } from './helpers/engines.js';
import { seededHistory, writeCsv, type Day } from './helpers/history.js';

const sma3: Table = {
  name: 'test_sma3',
  doc: '3-day simple moving average of the 1D close (a test family).',
  key: ['id', 'ts'],
  columns: [
    { name: 'id', type: 'int', notNull: true }, { name: 'ts', type: 'ts', notNull: true }, { name: 'sma', type: 'double' },
  ],
};

interface SmaFacts {
  own?: TableState;
  bars?: TableState;
  ts: Float64Array;
  close: Float64Array;
}

/** The kernel: pure, rows dated ≥ from of the SMA over the whole daily series. */
function smaRows(id: number, ts: Float64Array, close: Float64Array, from: number) {
  const keep: number[] = [];
  for (let i = 0; i < ts.length; i++) if (ts[i] >= from) keep.push(i);
  return {
    length: keep.length,
    cols: {
      id: new Int32Array(keep.length).fill(id),
      ts: Float64Array.from(keep, (i) => ts[i]),
      sma: Float64Array.from(keep, (i) => (i >= 2 ? (close[i] + close[i - 1] + close[i - 2]) / 3 : NaN)),
    },
  };
}

const smaFamily: Family<SmaFacts> = {
  name: 'sma3',
  upstream: 'bars',
  tables: [sma3],
  stateTables: [sma3.name],
  rowCountRule: 'one row per 1D row',
  async prefetch(store, ids) {
    const states = await readStatesMany(store, ids, []);
    const rows = await store.query<{ id: number; ts: number; close: number }>(
      `SELECT id, ts, close FROM price_bars_1d WHERE id IN (${idList(ids)}) ORDER BY id, ts`,
    );
    const out = new Map<number, SmaFacts>();
    for (const id of ids) {
      const mine = rows.filter((r) => Number(r.id) === id);
      const st = states.get(id)!;
      out.set(id, {
        own: st.get(sma3.name), bars: commonState(st, BARS_STATE_TABLES),
        ts: Float64Array.from(mine, (r) => Number(r.ts)), close: Float64Array.from(mine, (r) => Number(r.close)),
      });
    }
    return out;
  },
  plan(f) {
    if (!f.own || f.own.last_src_ts === null) return { action: 'recompute', from: -Infinity, reason: 'first build' };
    const changed = upstreamChange(f.bars, f.own);
    if (changed !== null) return { action: 'recompute', from: changed, reason: 'bars changed' };
    const next = f.ts.find((t) => t > Number(f.own!.last_src_ts));
    return next === undefined ? { action: 'current', reason: 'already current' } : { action: 'continue', from: next, reason: 'new days' };
  },
  async refresh(_store, out, id, f, run) {
    const p = smaFamily.plan(f, run);
    if (p.action === 'current' || p.action === 'purge') return { status: 'current', from: Infinity, reason: p.reason, rows: {} };
    if (p.action === 'recompute') await out.write({ kind: 'delete', table: sma3, id, timeCol: 'ts', from: p.from });
    const rows = await out.write({ kind: 'append', table: sma3, batch: smaRows(id, f.ts, f.close, p.from) });
    await writeStates(out, id, [sma3.name], {
      lastSrcTs: f.ts[f.ts.length - 1], dailyMinSeen: f.ts[0], sourceRows: f.ts.length, runId: run.runId,
      rowsWritten: { [sma3.name]: rows },
    });
    return { status: 'built', from: p.from, reason: p.reason, rows: { [sma3.name]: rows }, continued: p.action === 'continue' };
  },
  state: (f) => f.own,
  historyDays: (f) => f.ts.length,
};

const day = (d: Day) => new Date(d.day * 86_400_000).toISOString().slice(0, 10);

engineTest('a family registered from outside the refresh: incremental == full through new days, revisions and bars-only runs', async ({ store }) => {
  await store.exec(createTableSql(store.engine, sma3));
  registerFamily(smaFamily);
  try {
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
  } finally {
    unregisterFamily(smaFamily.name);
  }
});
