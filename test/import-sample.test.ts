// Import of the five bundled exports (data/sample): their header variants and formats (BOM, CRLF, quoted
// strings, descending order, no final newline), upsert with a no-op re-import, overlapping exports, and the
// wrapped-bitcoin gap. Runs in any clone; the larger real collection has its own tests in import.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { importFile } from '../src/importer/import.js';
import { parseSourceFile } from '../src/importer/parse.js';
import { engineTest } from './helpers/engines.js';
import { samplePath, SAMPLE_IDS, type SampleCoin } from './helpers/sample.js';

// Rows and day ranges as listed in data/sample/SOURCES.md.
const SAMPLE_ROWS: Record<SampleCoin, [number, string, string]> = {
  bitcoin: [5860, '2010-07-13', '2026-07-28'],
  ethereum: [399, '2024-05-28', '2025-06-30'],
  solana: [399, '2024-05-28', '2025-06-30'],
  mantle: [290, '2023-07-17', '2024-05-01'],
  'wrapped-bitcoin': [363, '2022-09-12', '2023-09-10'],
};
const COINS = Object.keys(SAMPLE_ROWS) as SampleCoin[];
const day = (ts: number) => new Date(ts).toISOString().slice(0, 10);

test('parser: every bundled export parses whole, sorted by day, closing at 23:59:59.999Z', async () => {
  for (const coin of COINS) {
    const [rows, first, last] = SAMPLE_ROWS[coin];
    const p = await parseSourceFile(samplePath(coin));
    assert.equal(p.rejects.length, 0, `${coin}: ${JSON.stringify(p.rejects.slice(0, 2))}`);
    assert.equal(p.rows.length, rows, coin);
    for (let i = 1; i < p.rows.length; i++) assert.ok(p.rows[i].day > p.rows[i - 1].day, `${coin} sorted`);
    for (const r of p.rows) assert.equal(new Date(r.ts).toISOString().slice(11), '23:59:59.999Z');
    assert.deepEqual([day(p.rows[0].ts), day(p.rows[p.rows.length - 1].ts)], [first, last], coin);
  }
});

engineTest('importing the five bundled exports: row counts, ids from the file names, re-import is a no-op', async ({ store }) => {
  for (const coin of COINS) {
    const r = await importFile(store, samplePath(coin));
    assert.equal(r.asset.id, SAMPLE_IDS[coin], coin);
    assert.deepEqual([r.inserted, r.rejected], [SAMPLE_ROWS[coin][0], 0], coin);
  }
  const before = await store.query('SELECT id, ts, close, load_ts FROM price_histories ORDER BY id, ts');
  assert.equal(before.length, COINS.reduce((s, c) => s + SAMPLE_ROWS[c][0], 0));
  for (const coin of COINS) {
    const r = await importFile(store, samplePath(coin));
    assert.deepEqual([r.inserted, r.revised, r.unchanged, r.changedFrom], [0, 0, SAMPLE_ROWS[coin][0], null], coin);
  }
  const after = await store.query('SELECT id, ts, close, load_ts FROM price_histories ORDER BY id, ts');
  assert.deepEqual(after, before, 're-import must not touch a single row (not even load_ts)');
  const changes = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_changes');
  assert.equal(Number(changes[0].n), 0);
  // wrapped-bitcoin's export has no row for 2022-09-30: the gap stays a gap.
  const gap = await store.query<{ n: number }>(
    "SELECT count(*) AS n FROM price_histories WHERE id = $1 AND ts >= '2022-09-29T00:00:00Z'::timestamptz AND ts < '2022-10-02T00:00:00Z'::timestamptz",
    [SAMPLE_IDS['wrapped-bitcoin']],
  );
  assert.equal(Number(gap[0].n), 2);
});

engineTest('overlapping bitcoin exports: the identical overlap is unchanged, nothing duplicated', async ({ store }) => {
  // Two exports cut from the bundled bitcoin file (same format), days 1–400 and 366–800: 35 days overlap.
  const lines = readFileSync(samplePath('bitcoin'), 'utf8').trimEnd().split('\n');
  const dir = mkdtempSync(join(tmpdir(), 'talab-overlap-'));
  const a = join(dir, 'bitcoin__2010.csv');
  const b = join(dir, 'bitcoin__2011.csv');
  writeFileSync(a, [lines[0], ...lines.slice(1, 401)].join('\n') + '\n');
  writeFileSync(b, [lines[0], ...lines.slice(366, 801)].join('\n') + '\n');
  const ra = await importFile(store, a);
  const rb = await importFile(store, b);
  assert.equal(ra.asset.id, 1);
  assert.equal(ra.inserted, 400);
  assert.deepEqual([rb.inserted, rb.unchanged, rb.revised, rb.changedFrom], [400, 35, 0, null]);
  const n = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_histories WHERE id = 1');
  assert.equal(Number(n[0].n), 800);
});
