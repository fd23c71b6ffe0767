// Bars through the store on both engines: the bundled real data cross-checked against an independent SQL GROUP BY,
// the reference bar files, and asset-level incremental == full rebuild.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getTimeframe, type Timeframe } from '../src/catalog/timeframes.js';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import type { Store } from '../src/store/store.js';
import { engineTest, REFERENCE, SAMPLE } from './helpers/engines.js';
import { sampleSlice } from './helpers/sample.js';

const REF = REFERENCE;
const tfs = (...names: string[]): Timeframe[] => names.map((n) => getTimeframe(n)!);
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Calendar window [start, end] (as YYYY-MM-DD) of a day for the four families checked here. */
function windowOf(kind: 'iso' | 'us' | 'month' | 'year', dayStr: string): [string, string] {
  const d = new Date(dayStr + 'T00:00:00Z');
  if (kind === 'iso' || kind === 'us') {
    const dow = d.getUTCDay(); // 0 = Sunday
    const back = kind === 'iso' ? (dow + 6) % 7 : dow;
    const s = d.getTime() - back * DAY;
    return [iso(s), iso(s + 6 * DAY)];
  }
  if (kind === 'month') {
    const s = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    return [iso(s), iso(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0))];
  }
  return [`${d.getUTCFullYear()}-01-01`, `${d.getUTCFullYear()}-12-31`];
}

const KEY_SQL = {
  iso: "date_trunc('week', CAST(ts AS DATE))",
  us: "date_trunc('week', CAST(ts AS DATE) + 1)",
  month: "date_trunc('month', CAST(ts AS DATE))",
  year: "date_trunc('year', CAST(ts AS DATE))",
};

/** Independent aggregation of price_bars_1d by calendar window, in SQL. */
async function sqlWindows(store: Store, kind: keyof typeof KEY_SQL) {
  return store.query<{ id: number; first_ts: number; last_ts: number; h: number; l: number; v: number; n: number; open: number; close: number }>(
    `WITH d AS (SELECT id, ts, ${KEY_SQL[kind]} AS wk, open, high, low, close, volume FROM price_bars_1d),
          w AS (SELECT id, wk, min(ts) AS first_ts, max(ts) AS last_ts, max(high) AS h, min(low) AS l,
                       sum(volume) AS v, count(*) AS n FROM d GROUP BY id, wk)
     SELECT w.id, w.first_ts, w.last_ts, w.h, w.l, w.v, w.n, f.open, z.close
     FROM w JOIN d f ON f.id = w.id AND f.ts = w.first_ts JOIN d z ON z.id = w.id AND z.ts = w.last_ts`,
  );
}

const TABLE_OF = {
  iso: ['price_bars_multi_tf_cal_iso', '1W_CAL_ISO'], us: ['price_bars_multi_tf_cal_us', '1W_CAL_US'],
  month: ['price_bars_multi_tf_cal_iso', '1M_CAL'], year: ['price_bars_multi_tf_cal_us', '1Y_CAL'],
} as const;

engineTest('real data: canonical weekly/monthly/yearly bars equal an independent SQL GROUP BY', async ({ store }) => {
  const files = ['bitcoin', 'ethereum', 'solana', 'wrapped-bitcoin', 'mantle'];
  for (const f of files) await importFile(store, join(SAMPLE, `${f}.csv`));
  const sum = await runRefresh(store, { components: ['bars'], tfs: tfs('1W_CAL_ISO', '1W_CAL_US', '1M_CAL', '1Y_CAL') });
  assert.ok(sum.ok, JSON.stringify(sum.components[0].assets.filter((a) => a.status === 'failed')));
  let checked = 0;
  for (const kind of ['iso', 'us', 'month', 'year'] as const) {
    const [table, tf] = TABLE_OF[kind];
    const canon = await store.query<{ id: number; time_close: number; open: number; high: number; low: number; close: number; volume: number; time_open: number }>(
      `SELECT id, time_close, open, high, low, close, volume FROM ${table} WHERE tf = $1 AND NOT is_partial_end`, [tf],
    );
    const byKey = new Map(canon.map((c) => [`${c.id}|${iso(c.time_close)}`, c]));
    const firstDay = new Map<number, string>();
    for (const r of await store.query<{ id: number; lo: number }>('SELECT id, min(ts) AS lo FROM price_bars_1d GROUP BY id')) firstDay.set(r.id, iso(r.lo));
    for (const w of await sqlWindows(store, kind)) {
      const [ws, we] = windowOf(kind, iso(w.first_ts));
      const len = Math.round((Date.parse(we) - Date.parse(ws)) / DAY) + 1;
      const complete = Number(w.n) === len;
      const c = byKey.get(`${w.id}|${we}`);
      // cal keeps only windows starting on or after the asset's first day (B5).
      if (ws < firstDay.get(w.id)!) {
        assert.equal(c, undefined, `${kind} ${w.id} ${we}: partial first window must not be canonical in cal`);
        continue;
      }
      assert.equal(c !== undefined, iso(w.last_ts) === we, `${kind} ${w.id} ${we}: canonical iff last day has data`);
      if (!complete) continue;
      assert.ok(c, `${kind} ${w.id} ${we}`);
      assert.deepEqual([c.open, c.high, c.low, c.close], [w.open, w.h, w.l, w.close], `${kind} ${w.id} ${we}`);
      assert.ok(Math.abs(c.volume - Number(w.v)) <= 1e-12 * Math.abs(c.volume), `${kind} volume ${w.id} ${we}`);
      checked++;
    }
  }
  assert.ok(checked > 1500, `checked ${checked} complete windows`);
}, 300_000);

engineTest('real data: canonical bars equal the pandas reference files (1W ISO, 1W US, 1M)', async ({ store }) => {
  for (const coin of ['bitcoin', 'ethereum', 'wrapped-bitcoin']) await importFile(store, join(SAMPLE, `${coin}.csv`));
  await runRefresh(store, { components: ['bars'], tfs: tfs('1W_CAL_ISO', '1W_CAL_US', '1M_CAL') });
  const ids: Record<string, number> = { bitcoin: 1, ethereum: 1027, 'wrapped-bitcoin': 3717 };
  for (const coin of Object.keys(ids)) {
    for (const [file, table, tf] of [
      ['bars_1w_iso', 'price_bars_multi_tf_cal_iso', '1W_CAL_ISO'], ['bars_1w_us', 'price_bars_multi_tf_cal_us', '1W_CAL_US'],
      ['bars_1m', 'price_bars_multi_tf_cal_iso', '1M_CAL'],
    ]) {
      const lines = readFileSync(join(REF, `${coin}_${file}.csv`), 'utf8').trim().split('\n').slice(1);
      const got = await store.query<{ time_close: number; open: number; high: number; low: number; close: number; volume: number }>(
        `SELECT time_close, open, high, low, close, volume FROM ${table} WHERE id = $1 AND tf = $2 AND NOT is_partial_end ORDER BY time_close`,
        [ids[coin], tf],
      );
      const byDay = new Map(got.map((g) => [iso(g.time_close), g]));
      for (const line of lines) {
        const [day, o, h, l, c, v] = line.split(',');
        const g = byDay.get(day);
        assert.ok(g, `${coin} ${tf} ${day} missing`);
        for (const [name, want, have] of [['open', o, g.open], ['high', h, g.high], ['low', l, g.low], ['close', c, g.close], ['volume', v, g.volume]] as const) {
          assert.ok(Math.abs(Number(want) - have) <= 1e-9 * Math.abs(Number(want)), `${coin} ${tf} ${day} ${name}: ${want} vs ${have}`);
        }
      }
      // pandas' reference lists complete windows whose last day has data; ours may also hold canonical rows of
      // windows with interior gaps (B3), so only containment is asserted the other way round.
      assert.ok(got.length >= lines.length);
    }
  }
}, 300_000);

async function dump(store: Store, table: string, order: string): Promise<unknown[]> {
  const rows = await store.query(`SELECT * FROM ${table} ORDER BY ${order}`);
  return rows.map((r) => {
    const { ingested_at: _i, ...rest } = r as Record<string, unknown>;
    return rest;
  });
}

engineTest('asset-level incremental refresh ends identical to a full rebuild; unchanged assets are skipped', async ({ store }) => {
  const sel = tfs('1D', '7D', '1W_CAL_ISO', '1W_CAL_ANCHOR_US', '1M_CAL', '1M_CAL_ANCHOR');
  const periods = [6, 10];
  const mantle = sampleSlice('mantle', 27);
  await importFile(store, mantle);
  await importFile(store, sampleSlice('solana', 49));
  const first = await runRefresh(store, { components: ['bars', 'emas'], tfs: sel, periods });
  assert.ok(first.ok);
  // A revision of one mantle day (its last close): only mantle must be rebuilt by a plain (default-selection) refresh.
  const text = readFileSync(mantle, 'utf8').replace(';0.9494265819;', ';0.9594265819;');
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const dir = mkdtempSync(join((await import('node:os')).tmpdir(), 'talab-rev-'));
  writeFileSync(join(dir, 'mantle.csv'), text);
  const rev = await importFile(store, join(dir, 'mantle.csv'));
  assert.equal(rev.revised, 1);
  const full1 = await runRefresh(store, { components: ['bars', 'emas'] });
  const ids = (c: { assets: { id: number; status: string }[] }, st: string) => c.assets.filter((a) => a.status === st).map((a) => a.id);
  assert.deepEqual(full1.components.map((c) => ids(c, 'built').length), [2, 2], 'first default-selection run builds both');
  const again = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.deepEqual(again.components.map((c) => [ids(c, 'built').length, ids(c, 'current').length]), [[0, 2], [0, 2]]);
  await importFile(store, mantle); // revert the revision
  const inc = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.deepEqual(inc.components.map((c) => ids(c, 'built')), [[27075], [27075]], 'only the revised asset is rebuilt');
  const tables = ['price_bars_1d', 'price_bars_multi_tf', 'price_bars_multi_tf_cal_iso', 'price_bars_multi_tf_cal_anchor_us', 'ema_multi_tf', 'ema_multi_tf_v2', 'ema_multi_tf_cal_iso', 'ema_multi_tf_cal_anchor_us'];
  const order: Record<string, string> = {};
  for (const tb of tables) order[tb] = tb.startsWith('ema') ? 'id, tf, period, ts' : tb === 'price_bars_1d' ? 'id, ts' : 'id, tf, bar_seq, time_close';
  const incremental = await Promise.all(tables.map((tb) => dump(store, tb, order[tb])));
  await runRefresh(store, { components: ['bars', 'emas'], fullRebuild: true });
  for (let i = 0; i < tables.length; i++) {
    const full = await dump(store, tables[i], order[tables[i]]);
    assert.ok(full.length > 0, tables[i]);
    assert.deepEqual(incremental[i], full, `${tables[i]}: incremental differs from full rebuild`);
  }
}, 300_000);
