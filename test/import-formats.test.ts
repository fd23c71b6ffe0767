// Sources without market cap build bars; multi-asset long files; Parquet equal to CSV; rejects numbered by
// line (text) or row (Parquet); unknown columns reported. Fixtures: test/fixtures/{yahoo,long}.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { registerImport } from '../src/cli/import.js';
import { importFile, importSource } from '../src/importer/import.js';
import { LOCAL_ID_MIN } from '../src/importer/assets.js';
import { parseSourceFile } from '../src/importer/parse.js';
import { runRefresh } from '../src/refresh/runner.js';
import { BAR_TABLES, EMA_TABLES } from '../src/schema/tables.js';
import type { Store } from '../src/store/store.js';
import { UserError } from '../src/util/errors.js';
import { formatReport, runValidation } from '../src/validate/validate.js';
import { runInProcess } from './helpers/cli-in-process.js';
import { engineTest } from './helpers/engines.js';
import { validateJson } from './helpers/json-schema.js';

const FIX = join(import.meta.dirname, 'fixtures');
const YAHOO = join(FIX, 'yahoo/BTC-USD.csv');
const YAHOO_PQ = join(FIX, 'yahoo/BTC-USD.parquet');
const LONG = join(FIX, 'long/prices-long.csv');
const LONG_PQ = join(FIX, 'long/prices-long.parquet');
const tmp = mkdtempSync(join(tmpdir(), 'talab-formats-'));
const write = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};
const count = async (store: Store, sql: string, params: unknown[] = []) => Number((await store.query<{ n: number }>(sql, params))[0].n);

engineTest('a Yahoo file (no market cap) yields daily bars, every bar family and EMAs, incrementally too; validate passes', async ({ store }) => {
  // The first 20 days, a refresh, then the whole file: the second refresh continues from stored state.
  const lines = readFileSync(YAHOO, 'utf8').trimEnd().split('\n');
  const first = await importFile(store, write('BTC-USD.csv', lines.slice(0, 21).join('\n') + '\n'));
  assert.deepEqual([first.asset.id, first.asset.symbol, first.marketCapOptional, first.format], [LOCAL_ID_MIN, 'BTCUSD', true, 'yahoo csv,']);
  assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);
  const r = await importFile(store, YAHOO);
  assert.deepEqual([r.asset.id, r.inserted, r.unchanged, r.rejected], [LOCAL_ID_MIN, 44, 20, 0]);
  assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);

  const id = LOCAL_ID_MIN;
  assert.equal(await count(store, 'SELECT count(*) AS n FROM price_bars_1d WHERE id = $1 AND market_cap IS NULL', [id]), 64);
  assert.equal(await count(store, 'SELECT count(*) AS n FROM price_bars_1d_rejects WHERE id = $1', [id]), 0);
  for (const t of [...Object.values(BAR_TABLES), ...Object.values(EMA_TABLES)]) {
    assert.ok(await count(store, `SELECT count(*) AS n FROM ${t.name} WHERE id = $1`, [id]) > 0, `${t.name} has rows`);
  }
  const v = await runValidation(store);
  assert.equal(v.errors, 0, formatReport(v));
  assert.equal(v.ok, true, formatReport(v));
});

engineTest('market cap: a CMC row missing one value stays a reject; a file without market cap over such an asset stops unless --force', async ({ store }) => {
  const cmc = ['timeOpen;timeClose;timeHigh;timeLow;name;open;high;low;close;volume;marketCap;timestamp'];
  for (let i = 1; i <= 5; i++) {
    const d = `2021-01-0${i}`;
    cmc.push(`"${d}T00:00:00.000Z";"${d}T23:59:59.999Z";"${d}T12:00:00.000Z";"${d}T06:00:00.000Z";"x";10;12;9;11;1000;${i === 3 ? '' : 5000};"${d}T23:59:59.999Z"`);
  }
  const a = await importFile(store, write('zcash.csv', cmc.join('\n') + '\n'));
  assert.equal(a.marketCapOptional, false);
  await runRefresh(store, { components: ['bars'] });
  const rej = await store.query<{ reason: string }>('SELECT reason FROM price_bars_1d_rejects WHERE id = $1', [a.asset.id]);
  assert.deepEqual(rej.map((x) => x.reason), ['null_market_cap']);

  const yahoo = write('zcash-yahoo.csv', readFileSync(YAHOO, 'utf8'));
  await assert.rejects(importFile(store, yahoo, { symbol: 'ZCASH' }),
    (e: Error) => e instanceof UserError && /no market cap for ZCASH, but its stored days .* have one.*--force/.test(e.message));
  assert.equal(await count(store, 'SELECT count(*) AS n FROM price_histories WHERE id = $1', [a.asset.id]), 5, 'nothing written');
  const forced = await importFile(store, yahoo, { symbol: 'ZCASH', force: true });
  assert.deepEqual([forced.marketCapOptional, forced.changedFrom], [true, '2021-01-01']);
  await runRefresh(store, { components: ['bars'] });
  assert.equal(await count(store, 'SELECT count(*) AS n FROM price_bars_1d_rejects WHERE id = $1', [a.asset.id]), 0);
  assert.equal(await count(store, 'SELECT count(*) AS n FROM price_bars_1d WHERE id = $1', [a.asset.id]), 64);
});

engineTest('a multi-asset long file creates or resolves each asset in one call; re-import is a no-op; Parquet equals the CSV', async ({ store }) => {
  const reps = await importSource(store, LONG);
  assert.deepEqual(reps.map((r) => [r.asset.id, r.asset.symbol, r.inserted, r.rejected, r.marketCapOptional]), [
    [1, 'BTC', 12, 0, false],
    [LOCAL_ID_MIN, 'BTC-USD', 12, 0, true],
    [1027, 'ETH', 12, 0, true],
  ]);
  assert.equal(reps[0].format, 'multi-asset ohlcv csv,');
  const again = await importSource(store, LONG);
  assert.deepEqual(again.map((r) => [r.asset.id, r.inserted, r.unchanged, r.revised]), [[1, 0, 12, 0], [LOCAL_ID_MIN, 0, 12, 0], [1027, 0, 12, 0]]);
  // The same columns in Parquet (written by DuckDB from the CSV): every value equal, nothing written.
  const pq = await importSource(store, LONG_PQ);
  assert.deepEqual(pq.map((r) => [r.asset.id, r.format, r.inserted, r.unchanged, r.revised, r.rejected]), [
    [1, 'multi-asset ohlcv parquet', 0, 12, 0, 0], [LOCAL_ID_MIN, 'multi-asset ohlcv parquet', 0, 12, 0, 0], [1027, 'multi-asset ohlcv parquet', 0, 12, 0, 0],
  ]);
  // A Yahoo file in Parquet equals its CSV too (into the asset the long file created for BTC-USD).
  const yCsv = await importFile(store, YAHOO, { symbol: 'BTC-USD' });
  const yPq = await importFile(store, YAHOO_PQ, { symbol: 'BTC-USD' });
  assert.deepEqual([yCsv.inserted, yCsv.unchanged, yPq.format, yPq.inserted, yPq.revised, yPq.unchanged], [59, 5, 'yahoo parquet', 0, 0, 64]);
  await assert.rejects(importSource(store, LONG, { symbol: 'BTC' }), (e: Error) => e instanceof UserError && /symbol column.*--id and --symbol do not apply/.test(e.message));

  await runRefresh(store, { components: ['bars'] });
  const bars = await store.query<{ id: number; n: number }>('SELECT id, count(*) AS n FROM price_bars_1d GROUP BY id ORDER BY id');
  assert.deepEqual(bars.map((b) => [Number(b.id), Number(b.n)]), [[1, 12], [1027, 12], [LOCAL_ID_MIN, 71]]);
});

test('bad rows of every new format are numbered rejects: lines in text files, data rows in Parquet', async () => {
  const long = readFileSync(LONG, 'utf8').trimEnd().split('\n');
  long[2] = long[2].replace(',ETH,', ',,'); // line 3: no symbol
  long[4] = long[4].replace(/,BTC,[^,]+,/, ',BTC,abc,'); // line 5: BTC open not a number
  long.push(long[1]); // line 38: BTC 2021-03-01 again
  long.push('2021-03-20,BAD SYMBOL!,1,2,1,1,1,'); // line 39
  const bad = write('long-bad.csv', long.join('\n') + '\n');
  const p = await parseSourceFile(bad);
  assert.deepEqual(p.rejects.map((r) => [r.line, r.symbol ?? null, r.reason]), [
    [3, null, 'missing symbol'],
    [5, 'BTC', "non-numeric open 'abc'"],
    [38, 'BTC', 'duplicate day 2021-03-01 of BTC (first at line 2)'],
    [39, null, "bad symbol 'BAD SYMBOL!' (1-32 letters, digits, '.', '_' or '-')"],
  ]);
  assert.equal(p.rows.length, 36 - 2);

  const yahoo = readFileSync(YAHOO, 'utf8').trimEnd().split('\n');
  yahoo[5] = yahoo[5].replace(/^(\S+?),[^,]+,/, '$1,-5,'); // line 6: negative open
  yahoo[9] = '2021-02-30' + yahoo[9].slice(10); // line 10: no such date
  const py = await parseSourceFile(write('yahoo-bad.csv', yahoo.join('\n') + '\n'));
  assert.deepEqual(py.rejects.map((r) => r.line), [6, 10]);
  assert.match(py.rejects[1].reason, /no such calendar date/);

  // Parquet: a duplicate and a NULL close, at data rows 3 and 37 (the header is no row).
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  const pq = join(tmp, 'bad.parquet');
  await conn.run(`COPY (
    SELECT * FROM (SELECT date, symbol, open, high, low, CASE WHEN rn = 3 THEN NULL ELSE close END AS close, volume, market_cap, rn
      FROM (SELECT *, row_number() OVER () AS rn FROM read_csv('${LONG}'))
      UNION ALL SELECT date, symbol, open, high, low, close, volume, market_cap, 37 FROM read_csv('${LONG}') WHERE symbol = 'ETH' AND date = DATE '2021-03-05')
    ORDER BY rn) TO '${pq}' (FORMAT parquet)`);
  conn.closeSync();
  inst.closeSync();
  const pp = await parseSourceFile(pq);
  assert.equal(pp.unit, 'row');
  assert.deepEqual(pp.rejects.map((r) => [r.line, r.reason]), [
    [3, 'missing open/high/low/close'],
    [37, 'duplicate day 2021-03-05 of ETH (first at row 14)'],
  ]);
  assert.deepEqual(pp.unknownColumns, ['rn']);
});

test('unknown columns are reported: a warning line naming them, and --json unknown_columns; Parquet rejects print as rows', async () => {
  const f = write('ohlcv-extra.csv', 'date,open,high,low,close,volume,Dividends,Stock Splits\n2021-01-01,10,12,9,11,100,0,0\n2021-01-02,11,13,10,12,100,0.5,0\n');
  const p = await parseSourceFile(f);
  assert.deepEqual(p.unknownColumns, ['Dividends', 'Stock Splits']);
  const db = join(mkdtempSync(join(tmpdir(), 'talab-formats-cli-')), 'cli.duckdb');
  const text = await runInProcess(registerImport, ['--db', db, 'import', '--symbol', 'AAPL', f]);
  assert.equal(text.code, 0, text.out);
  assert.match(text.out, /warning: ignored unknown columns: Dividends, Stock Splits/);
  assert.match(text.out, /market cap: optional for this asset \(its source has none\); days without it still build bars/);
  const json = await runInProcess(registerImport, ['--db', db, 'import', '--json', '--symbol', 'AAPL', f]);
  const doc = JSON.parse(json.out);
  assert.deepEqual([doc.files[0].unknown_columns, doc.files[0].market_cap_optional, doc.files[0].unchanged], [['Dividends', 'Stock Splits'], true, 2]);

  const pq = join(tmp, 'neg.parquet');
  copyFileSync(LONG_PQ, join(tmp, 'long.parquet'));
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  await conn.run(`COPY (SELECT date, symbol, CASE WHEN symbol = 'ETH' AND date = DATE '2021-03-02' THEN -1 ELSE open END AS open, high, low, close, volume, market_cap
    FROM read_parquet('${join(tmp, 'long.parquet')}')) TO '${pq}' (FORMAT parquet)`);
  conn.closeSync();
  inst.closeSync();
  const multi = await runInProcess(registerImport, ['--db', db, 'import', '--json', pq]);
  const m = JSON.parse(multi.out);
  const schema = JSON.parse(readFileSync(join(import.meta.dirname, '../docs/schemas/import.schema.json'), 'utf8'));
  assert.deepEqual([validateJson(m, schema), validateJson(doc, schema)], [[], []]);
  assert.deepEqual(m.totals.assets, 3);
  const eth = m.files.find((x: { symbol: string }) => x.symbol === 'ETH');
  assert.deepEqual(eth.rejects, [{ row: 5, reason: 'non-positive price (open -1, high 1597.610107, low 1461.325439, close 1492.608765)' }]);
  const human = await runInProcess(registerImport, ['--db', db, 'import', '--dry-run', pq]);
  assert.match(human.out, /reject .*neg\.parquet row 5: non-positive price/);
  assert.match(human.out, /1 file\(s\) imported \(3 assets\), 0 failed/);
});
