// Asset identity on import: unknown coins get a local id, --symbol resolves built-in coins, and an import
// that contradicts a stored asset (another symbol, another coin's file, most days revised) stops without --force.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { importFile } from '../src/importer/import.js';
import { LOCAL_ID_MIN } from '../src/importer/assets.js';
import { UserError } from '../src/util/errors.js';
import { engineTest } from './helpers/engines.js';

const tmp = mkdtempSync(join(tmpdir(), 'talab-assets-'));
let dirNo = 0;
function write(name: string, lines: string[]): string {
  const dir = join(tmp, String(dirNo++));
  mkdirSync(dir);
  const p = join(dir, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}
const CMC_HEADER = 'timeOpen;timeClose;timeHigh;timeLow;name;open;high;low;close;volume;marketCap;timestamp';
function cmc(days: number, close = 11): string[] {
  const out = [CMC_HEADER];
  for (let i = 0; i < days; i++) {
    const d = new Date(Date.UTC(2025, 0, 1 + i)).toISOString().slice(0, 10);
    out.push(`"${d}T00:00:00.000Z";"${d}T23:59:59.999Z";"${d}T12:00:00.000Z";"${d}T06:00:00.000Z";"2781";10;12;9;${close + i / 100};1000;5000;"${d}T23:59:59.999Z"`);
  }
  return out;
}
const userError = (re: RegExp) => (e: Error) => e instanceof UserError && re.test(e.message);

engineTest('an unknown coin imports with --symbol alone and from its file name alone; re-import is a no-op', async ({ store }) => {
  const a = await importFile(store, write('monero.csv', cmc(20)), { symbol: 'XMR' });
  assert.deepEqual([a.asset.id, a.asset.symbol, a.asset.name, a.inserted], [LOCAL_ID_MIN, 'XMR', 'monero', 20]);
  const again = await importFile(store, write('monero.csv', cmc(20)), { symbol: 'xmr' });
  assert.deepEqual([again.asset.id, again.inserted, again.unchanged, again.revised], [LOCAL_ID_MIN, 0, 20, 0]);
  const b = await importFile(store, write('Zcash_1_1_2025-1_20_2025_historical_data_coinmarketcap.csv', cmc(20)));
  assert.deepEqual([b.asset.id, b.asset.symbol, b.asset.name, b.inserted], [LOCAL_ID_MIN + 1, 'ZCASH', 'zcash', 20]);
  const b2 = await importFile(store, write('zcash.csv', cmc(20)));
  assert.deepEqual([b2.asset.id, b2.inserted, b2.unchanged], [LOCAL_ID_MIN + 1, 0, 20]);
  const stored = await store.query<{ id: number; symbol: string }>('SELECT id, symbol FROM dim_assets ORDER BY id');
  assert.deepEqual(stored.map((r) => [Number(r.id), r.symbol]), [[LOCAL_ID_MIN, 'XMR'], [LOCAL_ID_MIN + 1, 'ZCASH']]);
});

engineTest('--symbol resolves a built-in coin in a fresh database', async ({ store }) => {
  const r = await importFile(store, write('btc-export.csv', cmc(3)), { symbol: 'BTC' });
  assert.deepEqual([r.asset.id, r.asset.symbol, r.asset.name], [1, 'BTC', 'bitcoin']);
});

engineTest('the wrong-asset guard: --id 1 --symbol XMR over bitcoin stops; --force passes', async ({ store }) => {
  await importFile(store, write('bitcoin.csv', cmc(30)));
  const wrong = write('monero.csv', cmc(30, 50));
  await assert.rejects(importFile(store, wrong, { id: 1, symbol: 'XMR' }), userError(/id 1 stored as BTC \(bitcoin\), not XMR.*--force/));
  // Same id without a symbol: the file name names another coin.
  await assert.rejects(importFile(store, write('ethereum.csv', cmc(30, 50)), { id: 1 }), userError(/file name says ethereum \(id 1027\)/));
  // Same asset by name, but nearly every day revised: stop.
  await assert.rejects(importFile(store, write('bitcoin.csv', cmc(30, 50))), userError(/would revise 30 of the 30 stored days of BTC \(id 1\).*--force/));
  const n = await store.query<{ n: number }>("SELECT count(*) AS n FROM price_histories WHERE id = 1 AND close > 40");
  assert.equal(Number(n[0].n), 0, 'nothing written by a refused import');
  // A few revised days are the normal case and go through.
  const few = cmc(30);
  few[3] = few[3].replace(';11.02;', ';11.5;');
  few[4] = few[4].replace(';11.03;', ';11.6;');
  const ok = await importFile(store, write('bitcoin.csv', few));
  assert.equal(ok.revised, 2);
  const forced = await importFile(store, wrong, { id: 1, symbol: 'XMR', force: true });
  assert.equal(forced.revised, 30);
  const row = await store.query<{ symbol: string }>('SELECT symbol FROM dim_assets WHERE id = 1');
  assert.equal(row[0].symbol, 'XMR');
});

engineTest('a known CoinMarketCap id refuses another symbol even before it is stored', async ({ store }) => {
  await assert.rejects(importFile(store, write('monero.csv', cmc(3)), { id: 1, symbol: 'XMR' }), userError(/id 1 is CoinMarketCap's BTC \(bitcoin\), not XMR/));
  const r = await importFile(store, write('monero.csv', cmc(3)), { id: 328, symbol: 'XMR' });
  assert.deepEqual([r.asset.id, r.asset.symbol, r.inserted], [328, 'XMR', 3]);
});

engineTest('assets: lists ids with their kind and days; rename keeps the id and refuses a taken symbol', async ({ store }) => {
  await importFile(store, write('bitcoin.csv', cmc(4)));
  await importFile(store, write('monero.csv', cmc(2)), { symbol: 'XMR' });
  const { listAssets, renameAsset } = await import('../src/importer/assets.js');
  const all = await listAssets(store);
  assert.deepEqual(all.map((a) => [a.id, a.symbol, a.name, a.local, a.days, a.firstDay, a.lastDay]), [
    [1, 'BTC', 'bitcoin', false, 4, '2025-01-01', '2025-01-04'],
    [LOCAL_ID_MIN, 'XMR', 'monero', true, 2, '2025-01-01', '2025-01-02'],
  ]);
  await assert.rejects(renameAsset(store, LOCAL_ID_MIN, { symbol: 'btc' }), userError(/symbol BTC is already held by asset 1/));
  await assert.rejects(renameAsset(store, 5, { symbol: 'X' }), userError(/asset 5 does not exist/));
  const r = await renameAsset(store, LOCAL_ID_MIN, { symbol: 'xmr2', name: 'Monero Classic' });
  assert.deepEqual([r.id, r.symbol, r.name, r.days], [LOCAL_ID_MIN, 'XMR2', 'monero classic', 2]);
  // The renamed asset is found by its new symbol on the next import.
  const again = await importFile(store, write('whatever.csv', cmc(2)), { symbol: 'XMR2' });
  assert.deepEqual([again.asset.id, again.unchanged], [LOCAL_ID_MIN, 2]);
});

engineTest('assets merge: moves the history, records the change, removes the merged asset; differing days need --force', async ({ store }) => {
  const { mergeAssets } = await import('../src/importer/merge.js');
  const { runRefresh } = await import('../src/refresh/runner.js');
  const a = await importFile(store, write('monero.csv', cmc(30)), { symbol: 'XMR' }); // local id, days 1-30
  const b = await importFile(store, write('monero.csv', cmc(10)), { id: 328, symbol: 'XMRC' }); // the same days 1-10
  assert.ok((await runRefresh(store, { components: ['bars'] })).ok);
  await assert.rejects(mergeAssets(store, 5, 328), userError(/--from 5 does not exist/));
  const r = await mergeAssets(store, a.asset.id, b.asset.id);
  assert.deepEqual([r.moved, r.overlap, r.differing, r.changedFrom], [20, 10, 0, '2025-01-11']);
  const ids = await store.query<{ id: number }>('SELECT id FROM dim_assets ORDER BY id');
  assert.deepEqual(ids.map((x) => Number(x.id)), [328]);
  const left = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_bars_1d WHERE id = $1', [a.asset.id]);
  assert.equal(Number(left[0].n), 0, 'the merged asset\'s derived rows are gone');
  assert.ok((await runRefresh(store, { components: ['bars'] })).ok);
  const bars = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_bars_1d WHERE id = 328');
  assert.equal(Number(bars[0].n), 30);

  const c = await importFile(store, write('other.csv', cmc(5, 50)), { symbol: 'XMRX' });
  await assert.rejects(mergeAssets(store, c.asset.id, 328), userError(/5 of the 5 days both .* differ \(first 2025-01-01\); nothing changed.*--force/));
  const forced = await mergeAssets(store, c.asset.id, 328, { force: true });
  assert.deepEqual([forced.moved, forced.differing, forced.changedFrom], [0, 5, null]);
  const high = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_histories WHERE close > 40');
  assert.equal(Number(high[0].n), 0, '--into keeps its own values');
});

test('assets merge CLI: --json summary; a missing id is one clear line', async () => {
  const { openStore } = await import('../src/store/open.js');
  const { registerAssets } = await import('../src/cli/assets.js');
  const { runInProcess } = await import('./helpers/cli-in-process.js');
  const db = join(tmp, 'merge-cli.duckdb');
  const store = await openStore(db);
  await importFile(store, write('monero.csv', cmc(3)), { symbol: 'XMR' });
  await importFile(store, write('monero.csv', cmc(4)), { id: 328, symbol: 'XMRC' });
  await store.close();
  const bad = await runInProcess(registerAssets, ['--db', db, 'assets', 'merge', '--from', '7', '--into', '328']);
  assert.deepEqual([bad.code, bad.out], [2, 'assets merge: --from 7 does not exist (talab assets lists them)']);
  const ok = await runInProcess(registerAssets, ['--db', db, 'assets', 'merge', '--from', String(LOCAL_ID_MIN), '--into', '328', '--json']);
  assert.equal(ok.code, 0, ok.out);
  assert.deepEqual(JSON.parse(ok.out), { from: LOCAL_ID_MIN, into: 328, moved: 0, overlap: 3, differing: 0, changed_from: null, market_cap_optional: false });
  const list = await runInProcess(registerAssets, ['--db', db, 'assets']);
  assert.doesNotMatch(list.out, /XMR\b/);
});
