// The web view's HTTP side on both engines: JSON endpoints hold the database's values, bad parameters get a
// 400 naming the parameter, unknown paths a 404, and `talab chart` writes one self-contained file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerServe } from '../src/cli/serve.js';
import { openStore } from '../src/store/open.js';
import { startServer } from '../src/web/server.js';
import { runInProcess } from './helpers/cli-in-process.js';
import { engineTest } from './helpers/engines.js';
import { buildWebSample, ETH, expectedWeekly, MNT } from './helpers/web.js';

engineTest('serve: endpoints return the tables\' finished rows; bad parameters are a 400 naming them', async ({ store, dbArg, pgSchema }) => {
  await buildWebSample(store);
  const want = await expectedWeekly(store, ETH, '1W_CAL_ISO', [10, 20]);
  assert.ok(want.candles.length >= 15 && want.emas['10'].length > 0);
  const daily = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_bars_1d WHERE id = $1', [MNT]);
  const reportsDir = mkdtempSync(join(tmpdir(), 'talab-web-'));
  const srv = await startServer({
    open: () => openStore(dbArg, { pgSchema, mustExist: true, readOnlyRetryMs: 1000 }), host: '127.0.0.1', port: 0, reportsDir,
  });
  if (store.dialect === 'duckdb') await store.close(); // the server opens the file itself, read-only
  const get = async (path: string) => {
    const res = await fetch(new URL(path, srv.url));
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };
  try {
    const assets = JSON.parse((await get('api/assets')).body);
    assert.deepEqual(assets.assets.map((a: { id: number }) => a.id).sort(), [ETH, MNT].sort());
    const tfs = JSON.parse((await get(`api/timeframes?id=${ETH}`)).body).families;
    assert.deepEqual(Object.keys(tfs), ['1d', 'multi_tf', 'cal_us', 'cal_iso', 'cal_anchor_us', 'cal_anchor_iso']);
    assert.ok(tfs.cal_iso.includes('1W_CAL_ISO') && tfs['1d'][0] === '1D');
    const periods = JSON.parse((await get(`api/periods?id=${ETH}&family=cal_iso&tf=1W_CAL_ISO`)).body).periods;
    assert.ok(periods.includes(10) && periods.includes(20));

    const chart = JSON.parse((await get(`api/chart?id=${ETH}&family=cal_iso&tf=1W_CAL_ISO&periods=10,20`)).body);
    assert.deepEqual(chart.bars.map(({ volume: _v, ...c }: { volume: number }) => c), want.candles);
    assert.deepEqual(chart.bars.map((b: { time: string; volume: number }) => ({ time: b.time, value: b.volume })), want.volume);
    assert.deepEqual(chart.emas, want.emas);
    const oneDay = JSON.parse((await get(`api/chart?id=${MNT}&tf=1D`)).body);
    assert.equal(oneDay.family, '1d');
    assert.equal(oneDay.bars.length, Number(daily[0].n));

    const runs = JSON.parse((await get('api/runs')).body).runs;
    assert.equal(runs.length, 1);
    assert.equal(runs[0].status, 'finished');
    assert.ok(runs[0].rows > 0 && runs[0].what.includes('bars,emas'), JSON.stringify(runs[0]));
    const fresh = JSON.parse((await get('api/freshness')).body).assets;
    assert.deepEqual(fresh.map((a: { behind: string[] }) => a.behind), [[], []]);

    for (const [path, param] of [
      ['api/chart?id=abc&tf=1D', 'id'], ['api/chart?id=1027&tf=9Q', 'tf'], ['api/chart?id=1027&tf=1D&periods=5,x', 'periods'],
      ['api/chart?id=1027&tf=1W_CAL_ISO&family=cal_us', 'family'], ['api/chart?id=1027&tf=1D&color=red', 'color'],
      ['api/chart?id=424242&tf=1D', 'id'], ['api/chart?tf=1D', 'id'], ['api/runs?limit=0', 'limit'],
    ]) {
      const r = await get(path);
      assert.equal(r.status, 400, path);
      assert.match(r.type, /application\/json/);
      const body = JSON.parse(r.body);
      assert.equal(body.parameter, param, path);
      assert.ok(body.error.startsWith(`${param}`), `${path}: ${body.error}`);
      assert.doesNotMatch(r.body, /\bat .*\.ts:\d+/, 'no stack trace');
    }
    const missing = await get('api/nothing');
    assert.equal(missing.status, 404);
    assert.match(JSON.parse(missing.body).error, /no such page/);
    assert.equal((await get('vendor/lightweight-charts.js')).status, 200);
    assert.match((await get('/')).body, /TradingView/);
  } finally {
    await srv.close();
  }

  // `talab chart`: one file, nothing loaded from elsewhere, the same data as the endpoint.
  const out = join(reportsDir, 'eth.html');
  const db = ['--db', dbArg];
  // The CLI has no way to name the per-test PostgreSQL schema, so the command runs on the DuckDB file; the
  // data it inlines came from chartData, checked on both engines above.
  if (store.dialect === 'duckdb') {
    const r = await runInProcess(registerServe, [...db, 'chart', '--symbol', 'eth', '--tf', '1W_CAL_ISO', '--periods', '10,20', '--out', out]);
    assert.equal(r.code, 0, r.out);
    const html = readFileSync(out, 'utf8');
    assert.doesNotMatch(html, /<script[^>]+src=/, 'every script inlined');
    assert.match(html, /TradingView/);
    const data = JSON.parse(/window\.__TALAB_DATA=(.*?);<\/script>/s.exec(html)![1]);
    assert.deepEqual(data.emas, want.emas);
    const bad = await runInProcess(registerServe, [...db, 'chart', '--symbol', 'NOPE', '--tf', '1D', '--out', out]);
    assert.equal(bad.code, 2);
    assert.match(bad.out, /--symbol: no asset with symbol 'NOPE'/);
    const badTf = await runInProcess(registerServe, [...db, 'chart', '--symbol', 'ETH', '--tf', '1D', '--periods', '10,0', '--out', out]);
    assert.equal(badTf.code, 2);
    assert.match(badTf.out, /--periods: '0' is not an EMA period/);
  }
}, 180_000);
