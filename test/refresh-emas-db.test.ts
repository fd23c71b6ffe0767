// EMAs through the store on both engines, on the real BTC history: the table values equal the R TTR
// reference files; re-runs never fail on duplicates; ingested_at is set on insert and on update.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getTimeframe } from '../src/catalog/timeframes.js';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import { engineTest, REFERENCE, SAMPLE } from './helpers/engines.js';
import { writeCsv, type Day } from './helpers/history.js';

const REF = REFERENCE;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const PERIODS = [6, 9, 10, 12, 14, 17, 20, 21, 26, 30, 50, 52, 77, 100, 200, 252, 365];

function readRef(file: string): Map<string, (number | null)[]> {
  const [head, ...lines] = readFileSync(join(REF, file), 'utf8').trim().split('\n');
  const cols = head.split(',');
  const out = new Map<string, (number | null)[]>();
  for (const l of lines) {
    const f = l.split(',');
    out.set(f[0], PERIODS.map((p) => {
      const v = f[cols.indexOf(`ema_${p}`)];
      return v === '' || v === undefined ? null : Number(v);
    }));
  }
  return out;
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

engineTest('BTC: 1D EMA (v1 and v2) and weekly ISO/US ema_bar equal the TTR reference', async ({ store }) => {
  await importFile(store, join(SAMPLE, 'bitcoin.csv'));
  const sel = ['1D', '1W_CAL_ISO', '1W_CAL_US'].map((n) => getTimeframe(n)!);
  const r = await runRefresh(store, { components: ['bars', 'emas'], tfs: sel, periods: PERIODS });
  assert.ok(r.ok, JSON.stringify(r.components.map((c) => c.assets.filter((a) => a.status === 'failed'))));
  const daily = readRef('bitcoin_ema_1d.csv');
  for (const table of ['ema_multi_tf', 'ema_multi_tf_v2']) {
    const rows = await store.query<{ ts: number; period: number; ema: number }>(
      `SELECT ts, period, ema FROM ${table} WHERE id = 1 AND tf = '1D'`,
    );
    let n = 0;
    for (const row of rows) {
      const want = daily.get(iso(row.ts))![PERIODS.indexOf(row.period)];
      assert.ok(want !== null && close(row.ema, want), `${table} ${iso(row.ts)} p${row.period}: ${row.ema} vs ${want}`);
      n++;
    }
    // Every defined reference value has its row (v2's 3p guard does not bite for 1D: 5860 ≥ 3·365).
    const defined = [...daily.values()].reduce((s, v) => s + v.filter((x) => x !== null).length, 0);
    assert.equal(n, defined, table);
  }
  for (const [file, table, tf] of [['bitcoin_ema_bar_1w_iso.csv', 'ema_multi_tf_cal_iso', '1W_CAL_ISO'], ['bitcoin_ema_bar_1w_us.csv', 'ema_multi_tf_cal_us', '1W_CAL_US']]) {
    const ref = readRef(file);
    const rows = await store.query<{ ts: number; period: number; ema_bar: number }>(
      `SELECT ts, period, ema_bar FROM ${table} WHERE id = 1 AND tf = $1 AND NOT roll`, [tf],
    );
    let n = 0;
    for (const row of rows) {
      const want = ref.get(iso(row.ts))?.[PERIODS.indexOf(row.period)];
      assert.ok(want != null && close(row.ema_bar, want), `${table} ${iso(row.ts)} p${row.period}: ${row.ema_bar} vs ${want}`);
      n++;
    }
    const defined = [...ref.values()].reduce((s, v) => s + v.filter((x) => x !== null).length, 0);
    assert.equal(n, defined, table);
  }
  // Re-running (full rebuild, same selection) never fails on duplicate keys and refreshes ingested_at.
  const before = await store.query<{ t: number }>("SELECT max(ingested_at) AS t FROM ema_multi_tf WHERE tf = '1D'");
  await new Promise((res) => setTimeout(res, 20));
  const again = await runRefresh(store, { components: ['emas'], tfs: sel, periods: PERIODS, fullRebuild: true });
  assert.ok(again.ok);
  const after = await store.query<{ t: number; n: number }>("SELECT min(ingested_at) AS t, count(*) AS n FROM ema_multi_tf WHERE tf = '1D'");
  assert.ok(after[0].t > before[0].t, 'ingested_at set again on the rewritten rows');
  const nulls = await store.query<{ n: number }>('SELECT count(*) AS n FROM ema_multi_tf_cal_anchor_iso WHERE ema IS NULL OR ema_bar IS NULL');
  assert.equal(Number(nulls[0].n), 0, 'anchored EMAs have no NULL-padded rows (E4)');
}, 600_000);

/** A plain daily walk of `n` days from day `start` (the close scaled by `f` on the days in `revise`). */
function walk(start: number, n: number, revise: Set<number> = new Set(), f = 1.05): Day[] {
  return Array.from({ length: n }, (_, i) => {
    const close = (100 + 10 * Math.sin(i / 5)) * (revise.has(start + i) ? f : 1);
    return { day: start + i, open: 100, high: Math.max(100, close) + 1, low: Math.min(100, close) - 1, close, volume: 1000 + i, marketCap: close * 1e6 };
  });
}

engineTest('--dry-run plans the rows the real run then writes, per table (first build; 1, 5 and 0 days behind; a revision)', async ({ store }) => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-plan-'));
  let file = 0;
  const load = async (days: Day[]) => {
    await importFile(store, writeCsv(dir, `p${file++}.csv`, days), { id: 701, symbol: 'P701' });
  };
  const D0 = 19_700;
  const cases: [string, Day[]][] = [
    ['first build', walk(D0, 70)], ['one day behind', walk(D0 + 70, 1)], ['five days behind', walk(D0 + 71, 5)],
    ['current', []], ['a revision', walk(D0 + 40, 1, new Set([D0 + 40]))],
  ];
  for (const [label, days] of cases) {
    if (days.length) await load(days);
    const plan = await runRefresh(store, { components: ['bars', 'emas'], dryRun: true });
    const real = await runRefresh(store, { components: ['bars', 'emas'] });
    assert.ok(plan.ok && real.ok, label);
    for (const [i, c] of real.components.entries()) {
      const p = plan.components[i];
      assert.deepEqual(p.rows, c.rows, `${label}: ${c.component} rows per table`);
      assert.deepEqual(p.assets.map((a) => [a.id, a.status === 'planned' ? 'built' : a.status, a.from]), c.assets.map((a) => [a.id, a.status, a.from]), `${label}: ${c.component} outcomes`);
    }
    const emaRows = Object.values(real.components[1].rows).reduce((s, n) => s + n, 0);
    assert.equal(emaRows > 0, label !== 'current', `${label}: EMA rows ${emaRows}`);
  }
});
