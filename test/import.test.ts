// Import: every CMC variant, upsert/no-op re-import, revision and backfill detection, bad input.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { importFile } from '../src/importer/import.js';
import { assetNameFromFile } from '../src/importer/assets.js';
import { parseSourceFile } from '../src/importer/parse.js';
import { UserError } from '../src/util/errors.js';
import { engineTest, SAMPLE, SHARED_CMC } from './helpers/engines.js';

const tmp = mkdtempSync(join(tmpdir(), 'talab-import-'));
function write(name: string, content: string | Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

const CMC_HEADER = 'timeOpen;timeClose;timeHigh;timeLow;name;open;high;low;close;volume;marketCap;timestamp';
function cmcLine(day: string, o: number | string, h: number | string, l: number | string, c: number | string, v = 1000, mc = 5000): string {
  return `"${day}T00:00:00.000Z";"${day}T23:59:59.999Z";"${day}T12:00:00.000Z";"${day}T06:00:00.000Z";"2781";${o};${h};${l};${c};${v};${mc};"${day}T23:59:59.999Z"`;
}

// Row counts from shared/data/cmc/SOURCES.md ("Files in this folder").
const SOURCES_ROWS: Record<string, number> = {
  'bitcoin.csv': 5860, 'ethereum.csv': 399, 'solana.csv': 399, 'xrp.csv': 399, 'cardano.csv': 399, 'dogecoin.csv': 399,
  'bnb.csv': 399, 'chainlink.csv': 399, 'litecoin.csv': 399, 'avalanche.csv': 399, 'sui.csv': 399, 'toncoin.csv': 400,
  'mantle.csv': 290, 'arbitrum.csv': 172, 'worldcoin.csv': 49, 'sei.csv': 27, 'wrapped-bitcoin.csv': 363,
  'maidsafecoin.csv': 364,
};

test('asset names come from CMC-style and project file names', () => {
  assert.equal(assetNameFromFile('/x/Bitcoin_1_1_2010-12_31_2010_historical_data_coinmarketcap.csv'), 'bitcoin');
  assert.equal(assetNameFromFile('Wrapped Bitcoin_11_09_2022-11_09_2023_historical_data_coinmarketcap.csv'), 'wrapped bitcoin');
  assert.equal(assetNameFromFile('wrapped-bitcoin.csv'), 'wrapped bitcoin');
  assert.equal(assetNameFromFile('bitcoin__cmc_raw_circsupply_2010.csv'), 'bitcoin');
  assert.equal(assetNameFromFile('BTCUSDT-1d-2024-01.csv'), 'btcusdt');
});

test('parser: each header variant and format of shared/data/cmc', { skip: !existsSync(SHARED_CMC) && 'shared/data/cmc absent' }, async () => {
  for (const [file, rows] of Object.entries(SOURCES_ROWS)) {
    const p = await parseSourceFile(join(SHARED_CMC, file));
    assert.equal(p.rows.length + p.rejects.length, rows, file);
    assert.equal(p.rejects.length, 0, `${file}: ${JSON.stringify(p.rejects.slice(0, 2))}`);
    for (let i = 1; i < p.rows.length; i++) assert.ok(p.rows[i].day > p.rows[i - 1].day, `${file} sorted`);
    for (const r of p.rows) assert.equal(new Date(r.ts).toISOString().slice(11), '23:59:59.999Z');
  }
  const extra = join(SHARED_CMC, 'extra');
  const expect: Record<string, [number, number]> = {
    // file: [rows loaded, rejects]
    'bitcoin__cmc_comma_cleaned_2012-2018.csv': [2468, 0],
    'bitcoin__cmc_excel_rowquoted_2012-2018.csv': [2468, 0],
    'bitcoin__cmc_excel_comma_2015-2025.csv': [3952, 0],
    'bitcoin__cmc_raw_2021-02-26_2022-04-01.csv': [400, 0],
    'bitcoin__cmc_raw_circsupply_2010.csv': [172, 0],
    'bitcoin__cmc_raw_circsupply_2011.csv': [400, 0],
    // Yahoo: 4 all-null rows (2020-04-17, 2020-10-09, 2020-10-12, 2020-10-13) are reported, not dropped.
    'bitcoin__yahoo_2014-2021.csv': [2622, 4],
    'ethereum__yahoo_2015-2021.csv': [2298, 4],
  };
  for (const [file, [rows, rejects]] of Object.entries(expect)) {
    const p = await parseSourceFile(join(extra, file));
    assert.equal(p.rows.length, rows, file);
    assert.equal(p.rejects.length, rejects, file);
  }
  const wrapped = await parseSourceFile(join(extra, 'bitcoin__cmc_excel_rowquoted_2012-2018.csv'));
  const clean = await parseSourceFile(join(extra, 'bitcoin__cmc_comma_cleaned_2012-2018.csv'));
  assert.deepEqual(wrapped.rows.map((r) => [r.ts, r.close, r.volume]), clean.rows.map((r) => [r.ts, r.close, r.volume]));
  assert.ok(wrapped.warnings.some((w) => w.includes('Excel')));
  const yahoo = await parseSourceFile(join(extra, 'bitcoin__yahoo_2014-2021.csv'));
  assert.deepEqual(yahoo.rejects.map((r) => r.reason), Array(4).fill('missing open/high/low/close'));
  const mc = clean.rows.find((r) => new Date(r.ts).toISOString().startsWith('2018-06-04'));
  assert.equal(mc?.close, 7514.4702148438); // float32 artifact of that export, kept as is
  const sci = await parseSourceFile(join(extra, 'bitcoin__cmc_excel_comma_2015-2025.csv'));
  assert.equal(sci.rows[sci.rows.length - 1].marketCap, 2.28278e12);
});

engineTest('importing all 18 files of shared/data/cmc gives SOURCES.md row counts; re-import is a no-op', async ({ store }, t) => {
  if (!existsSync(SHARED_CMC)) return t.skip('shared/data/cmc absent');
  for (const [file, rows] of Object.entries(SOURCES_ROWS)) {
    const r = await importFile(store, join(SHARED_CMC, file));
    assert.equal(r.inserted, rows - r.rejected, file);
  }
  const counts = await store.query<{ symbol: string; n: number }>(
    'SELECT a.symbol, count(*) AS n FROM price_histories p JOIN dim_assets a USING (id) GROUP BY a.symbol',
  );
  assert.equal(counts.length, 18);
  const total = counts.reduce((s, c) => s + Number(c.n), 0);
  assert.equal(total, Object.values(SOURCES_ROWS).reduce((s, n) => s + n, 0));
  const before = await store.query('SELECT id, ts, close, load_ts FROM price_histories ORDER BY id, ts');
  for (const file of Object.keys(SOURCES_ROWS)) {
    const r = await importFile(store, join(SHARED_CMC, file));
    assert.equal(r.inserted + r.revised, 0, file);
    assert.equal(r.unchanged, SOURCES_ROWS[file]);
    assert.equal(r.changedFrom, null);
  }
  const after = await store.query('SELECT id, ts, close, load_ts FROM price_histories ORDER BY id, ts');
  assert.deepEqual(after, before, 're-import must not touch a single row (not even load_ts)');
  const changes = await store.query('SELECT count(*) AS n FROM price_changes');
  assert.equal(Number(changes[0].n), 0);
}, 300_000);

engineTest('a revised day, a backfill and a gap fill are recorded for the refresh', async ({ store }) => {
  const days = ['2025-01-02', '2025-01-03', '2025-01-05'];
  const f1 = write('rev_a.csv', [CMC_HEADER, ...days.map((d) => cmcLine(d, 10, 12, 9, 11))].join('\n'));
  const r1 = await importFile(store, f1, { id: 900, symbol: 'REV' });
  assert.deepEqual([r1.inserted, r1.revised, r1.unchanged, r1.changedFrom], [3, 0, 0, null]);
  // Same days, one close revised, one new day before the first (backfill), one inside a gap (gap fill).
  const f2 = write('rev_b.csv', [
    CMC_HEADER, cmcLine('2025-01-01', 10, 12, 9, 11), cmcLine('2025-01-02', 10, 12, 9, 11),
    cmcLine('2025-01-03', 10, 12, 9, 11.5), cmcLine('2025-01-04', 10, 12, 9, 11), cmcLine('2025-01-05', 10, 12, 9, 11),
  ].join('\n'));
  const r2 = await importFile(store, f2, { id: 900 });
  assert.deepEqual([r2.inserted, r2.revised, r2.unchanged], [2, 1, 2]);
  assert.equal(r2.changedFrom, '2025-01-01');
  const ch = await store.query<{ ts: number; kind: string }>('SELECT ts, kind FROM price_changes WHERE id = 900 ORDER BY ts');
  assert.deepEqual(ch.map((c) => [new Date(c.ts).toISOString().slice(0, 10), c.kind]), [
    ['2025-01-01', 'backfill'], ['2025-01-03', 'revision'], ['2025-01-04', 'gapfill'],
  ]);
  const close = await store.query<{ close: number }>(
    "SELECT close FROM price_histories WHERE id = 900 AND ts = '2025-01-03T23:59:59.999Z'::timestamptz",
  );
  assert.equal(close[0].close, 11.5);
});

engineTest('overlapping raw BTC exports: identical overlap is unchanged, nothing duplicated', async ({ store }, t) => {
  const extra = join(SHARED_CMC, 'extra');
  if (!existsSync(extra)) return t.skip('shared/data/cmc absent');
  const a = await importFile(store, join(extra, 'bitcoin__cmc_raw_circsupply_2010.csv'));
  const b = await importFile(store, join(extra, 'bitcoin__cmc_raw_circsupply_2011.csv'));
  assert.equal(a.inserted, 172);
  assert.deepEqual([b.inserted, b.unchanged, b.revised], [365, 35, 0]);
  const n = await store.query('SELECT count(*) AS n FROM price_histories WHERE id = 1');
  assert.equal(Number(n[0].n), 172 + 365);
});

engineTest('rejects are stored with file, line and reason; nothing silently dropped', async ({ store }) => {
  const f = write('bad_rows.csv', '\uFEFF' + [
    CMC_HEADER,
    cmcLine('2025-02-01', 10, 12, 9, 11),
    cmcLine('2025-02-02', 'abc', 12, 9, 11), // non-numeric
    cmcLine('2025-02-03', 10, 12, 9, -1), // negative price
    cmcLine('2025-02-04', 0, 12, 9, 11), // zero price
    cmcLine('2025-02-05', 10, 8, 9, 11), // high < low
    cmcLine('2025-02-01', 10, 12, 9, 11), // duplicate day
    cmcLine('2025-02-06', '"10.5"', 12, 9, 11), // quoted number: fine
    '"not-a-date";"x";"x";"x";"2781";1;1;1;1;1;1;"not-a-date"',
    '1;2;3', // wrong field count
  ].join('\r\n'));
  const r = await importFile(store, f, { id: 901, symbol: 'BAD' });
  assert.equal(r.inserted, 2);
  assert.equal(r.rejected, 7);
  assert.equal(r.read, r.inserted + r.rejected, 'every data line is either loaded or rejected');
  const reasons = r.rejects.map((x) => `${x.line}: ${x.reason}`);
  assert.deepEqual(reasons, [
    "3: non-numeric open 'abc'",
    '4: non-positive price (open 10, high 12, low 9, close -1)',
    '5: non-positive price (open 0, high 12, low 9, close 11)',
    '6: high 8 < low 9',
    '7: duplicate day 2025-02-01 (first at line 2)',
    "9: bad timestamp 'not-a-date' in column timestamp (not an ISO-8601 date or date-time with zone)",
    '10: expected 12 fields, found 3',
  ]);
  const stored = await store.query<{ source_line: number; reason: string }>(
    'SELECT source_line, reason FROM import_rejects WHERE id = 901 ORDER BY source_line',
  );
  assert.equal(stored.length, 7);
  const quoted = await store.query<{ open: number }>("SELECT open FROM price_histories WHERE id = 901 AND ts = '2025-02-06T23:59:59.999Z'::timestamptz");
  assert.equal(quoted[0].open, 10.5);
  // Re-import: the same rejects, not twice.
  await importFile(store, f, { id: 901 });
  const again = await store.query('SELECT count(*) AS n FROM import_rejects WHERE id = 901');
  assert.equal(Number(again[0].n), 7);
});

engineTest('out-of-order rows load sorted with a warning; plain OHLCV CSV and Parquet load', async ({ store }) => {
  const f = write('shuffled.csv', [CMC_HEADER, cmcLine('2025-03-02', 1, 2, 1, 1), cmcLine('2025-03-01', 1, 2, 1, 1), cmcLine('2025-03-03', 1, 2, 1, 1)].join('\n'));
  const r = await importFile(store, f, { id: 902, symbol: 'ORD' });
  assert.equal(r.inserted, 3);
  assert.ok(r.warnings.some((w) => w.includes('not in date order') && w.includes('line 3')), r.warnings.join('|'));
  const plain = write('plain.csv', 'date,open,high,low,close,volume,market_cap\n2025-03-01,1,2,0.5,1.5,100,1000\n2025-03-02,1.5,2,1,1.8,90,1100\n');
  const p = await importFile(store, plain, { id: 903, symbol: 'PLN' });
  assert.equal(p.inserted, 2);
  // Parquet with the same columns, written by DuckDB itself.
  const pq = join(tmp, 'plain.parquet');
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  await conn.run(`COPY (SELECT * FROM read_csv('${plain}')) TO '${pq}' (FORMAT parquet)`);
  conn.closeSync();
  const q = await importFile(store, pq, { id: 904, symbol: 'PQT' });
  assert.equal(q.inserted, 2);
  const v = await store.query<{ close: number; market_cap: number }>('SELECT close, market_cap FROM price_histories WHERE id = 904 ORDER BY ts');
  assert.deepEqual(v.map((x) => [x.close, x.market_cap]), [[1.5, 1000], [1.8, 1100]]);
});

test('file-level bad input gives a clear UserError naming the file', async () => {
  const cases: [string, RegExp][] = [
    [join(tmp, 'missing.csv'), /missing\.csv: file not found/],
    [write('empty.csv', ''), /empty\.csv: file is empty/],
    [write('blank.csv', '\n\n'), /blank\.csv: file is empty/],
    [write('unknown.csv', 'foo;bar;baz\n1;2;3\n'), /unknown\.csv: line 1: unrecognised header .*unknown columns: foo, bar, baz/],
    [write('pipes.csv', CMC_HEADER.replace(/;/g, '|') + '\n' + cmcLine('2025-01-01', 1, 1, 1, 1).replace(/;/g, '|')), /pipes\.csv: line 1: cannot find a delimiter/],
    [tmp, /is a directory/],
  ];
  for (const [path, re] of cases) {
    await assert.rejects(parseSourceFile(path), (e: Error) => e instanceof UserError && re.test(e.message), path);
  }
});

test('the bundled sample is a byte copy of shared/data/cmc', { skip: !existsSync(SHARED_CMC) && 'shared absent' }, () => {
  for (const f of readdirSync(SAMPLE).filter((x) => x.endsWith('.csv'))) {
    assert.ok(readFileSync(join(SAMPLE, f)).equals(readFileSync(join(SHARED_CMC, f))), f);
  }
});

test('CLI: bad files and bad --db values are one clear line each, never a stack trace', async () => {
  const { spawnSync } = await import('node:child_process');
  const cli = join(import.meta.dirname, '../src/cli/main.ts');
  const db = join(tmp, 'cli.duckdb');
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });
  const cases: [string[], number, RegExp][] = [
    [['--db', db, 'import', join(tmp, 'nope.csv')], 1, /nope\.csv: file not found/],
    [['--db', db, 'import', write('e2.csv', '')], 1, /e2\.csv: file is empty/],
    [['--db', db, 'import', write('u2.csv', 'a;b\n1;2\n')], 1, /u2\.csv: line 1: unrecognised header/],
    [['--db', tmp, 'status'], 2, /is a directory/],
    [['--db', join(tmp, 'no/such/dir/x.duckdb'), 'status'], 2, /directory .* does not exist/],
    [['--db', 'postgres://nobody:secret@127.0.0.1:1/db', 'status'], 3, /cannot connect to PostgreSQL at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/db/],
    [['--db', db, 'import', '--id', 'x', 'f.csv'], 2, /--id must be an integer/],
  ];
  for (const [args, code, re] of cases) {
    const r = run(args);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at |secret/, 'no stack trace, no password');
  }
  // Several files: the bad one is reported, the good one still imported.
  const good = write('good.csv', [CMC_HEADER, cmcLine('2025-05-01', 1, 2, 1, 1.5)].join('\n'));
  const r = run(['--db', db, 'import', '--id', '950', '--symbol', 'GD', join(tmp, 'nope.csv'), good]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /good\.csv → GD \(id 950\).*1 inserted/);
});
