// `features build` on the bundled sample after a bars refresh, checked against an independent SQL computation
// of the pivots; the flat file round trip (CSV and Parquet); the Parquet export; the CLI — on both engines.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Command } from 'commander';
import { registerFeatures } from '../src/cli/features.js';
import { buildFeatures } from '../src/features/build.js';
import { exportMatrix } from '../src/features/export.js';
import { INPUT_COLUMNS } from '../src/features/fields.js';
import { writeFlatFile } from '../src/features/flatfile.js';
import { ingestFile, ingestRows, type SuccessReport } from '../src/features/ingest.js';
import { countMatrix, readMatrix } from '../src/features/matrix.js';
import { BUILTIN_REGIMES_CSV, loadRegimes, parseRegimeCsv } from '../src/features/regimes.js';
import { importFile } from '../src/importer/import.js';
import '../src/features/family.js'; // registers the matrix as a family of the refresh
import { runRefresh } from '../src/refresh/runner.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { UserError } from '../src/util/errors.js';
import { engineTest, SAMPLE, type TestDb } from './helpers/engines.js';

const ETH = 1027;

async function ethWithBars(store: Store): Promise<void> {
  await importFile(store, join(SAMPLE, 'ethereum.csv'));
  const s = await runRefresh(store, { components: ['bars'], ids: [ETH] });
  assert.ok(s.ok);
}

const near = (a: number | null, b: number | null, what: string) => {
  if (a === null || b === null) return assert.equal(a, b, what);
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
};

engineTest('build: pivots equal an independent SQL computation on the sample; golden zone consistent', async ({ store }) => {
  await ethWithBars(store);
  const built = await buildFeatures(store);
  assert.deepEqual(built.assets.map((a) => [a.id, a.symbol]), [[ETH, 'ETH']]);
  const col = (c: string) => INPUT_COLUMNS.indexOf(c);
  const rows = built.input.rows;
  const sql = await store.query<{ d: string; close: number; h: number | null; l: number | null; c: number | null; wh: number | null; wl: number | null; wc: number | null }>(
    `WITH b AS (SELECT ts, CAST(CAST(ts AS DATE) AS VARCHAR) AS d, CAST(date_trunc('week', CAST(ts AS DATE)) AS DATE) AS wk,
                       high, low, close FROM price_bars_1d WHERE id = $1),
          w AS (SELECT wk, max(high) AS wh, min(low) AS wl, max(ts) AS last_ts FROM b GROUP BY wk),
          wc AS (SELECT w.wk, w.wh, w.wl, b.close AS wc FROM w JOIN b ON b.ts = w.last_ts)
     SELECT b.d, b.close, LAG(b.high) OVER (ORDER BY b.ts) AS h, LAG(b.low) OVER (ORDER BY b.ts) AS l,
            LAG(b.close) OVER (ORDER BY b.ts) AS c, wc.wh, wc.wl, wc.wc
     FROM b LEFT JOIN wc ON wc.wk = CAST(b.wk - 7 AS DATE) ORDER BY b.ts`,
    [ETH],
  );
  assert.equal(rows.length, sql.length);
  assert.equal(rows.length, 399);
  let weekly = 0;
  let zones = 0;
  sql.forEach((s, i) => {
    const r = rows[i];
    assert.equal(r[col('data_date')], s.d);
    const v = (c: string) => r[col(c)] as number | null;
    if (s.h === null) {
      assert.equal(v('P'), null);
    } else {
      const P = (s.h + s.l! + s.c!) / 3;
      near(v('P'), P, `P ${s.d}`);
      near(v('R1'), 2 * P - s.l!, `R1 ${s.d}`);
      near(v('S1'), 2 * P - s.h, `S1 ${s.d}`);
      near(v('R2'), P + (s.h - s.l!), `R2 ${s.d}`);
      near(v('S2'), P - (s.h - s.l!), `S2 ${s.d}`);
      near(v('distance_to_P'), s.close - P, `dP ${s.d}`);
      assert.equal(r[col('price_above_P')], s.close > P);
      assert.ok(v('distance_to_nearest_pivot')! <= Math.abs(s.close - P) + 1e-9);
    }
    if (s.wh === null) assert.equal(v('weekly_pivot_distance'), null, s.d);
    else {
      weekly++;
      near(v('weekly_pivot_distance'), Math.abs(s.close - (s.wh + s.wl! + s.wc!) / 3), `weekly ${s.d}`);
    }
    if (v('fib_50') !== null) {
      zones++;
      assert.ok(v('swing_low')! < v('swing_high')!);
      assert.ok([0, 1, 2].includes(v('golden_zone_state')!));
      const [lo, hi] = [Math.min(v('fib_50')!, v('fib_618')!), Math.max(v('fib_50')!, v('fib_618')!)];
      if (s.close >= lo && s.close <= hi) assert.equal(v('golden_zone_state'), 1, s.d);
      assert.equal(typeof r[col('qualified_trigger')], 'boolean');
    }
  });
  assert.ok(weekly > 300 && zones > 300, `${weekly} weekly, ${zones} golden-zone rows`);
  assert.ok(rows.every((r) => r[col('trump_action_prob')] === null), 'policy has no producer: NULL, not invented');
});

engineTest('build → flat CSV and Parquet → ingest: the same matrix as ingesting directly; export keeps the nesting', async ({ store }) => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-fb-'));
  try {
    await ethWithBars(store);
    await loadRegimes(store, parseRegimeCsv(BUILTIN_REGIMES_CSV, 'builtin'));
    const built = await buildFeatures(store, { ids: [ETH] });
    const direct = await ingestRows(store, built.input) as SuccessReport;
    assert.equal(direct.status, 'success');
    assert.equal(direct.rows_loaded, 399);
    const strip = (rs: Awaited<ReturnType<typeof readMatrix>>) => rs.map(({ ingestion_ts: _x, ...r }) => r);
    const first = strip(await readMatrix(store));
    assert.equal(first.length, 399);
    assert.equal(first[0].regime_name, 'trump_anticipation_2024');
    for (const ext of ['csv', 'parquet']) {
      const f = join(dir, `eth.${ext}`);
      await writeFlatFile(built.input, f);
      // Same content → same batch ids → the ledger already has them; --force reloads through the file path.
      const viaFile = await ingestFile(store, f, { force: true }) as SuccessReport;
      assert.equal(viaFile.status, 'success', ext);
      assert.equal(viaFile.rows_loaded, 399, ext);
      assert.deepEqual(viaFile.batch_details.map((b) => b.batch_id), direct.batch_details.map((b) => b.batch_id), `${ext}: identical payload`);
      assert.deepEqual(strip(await readMatrix(store)), first, ext);
    }

    const out = join(dir, 'matrix.parquet');
    assert.deepEqual(await exportMatrix(store, out), { rows: 399, path: out });
    const inst = await DuckDBInstance.create(':memory:');
    const c = await inst.connect();
    try {
      const types = (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${out}')`)).getRowObjectsJS();
      const typeOf = new Map(types.map((t) => [t.column_name as string, t.column_type as string]));
      assert.equal(typeOf.get('data_date'), 'DATE');
      for (const g of ['market_data', 'pivots', 'policy', 'golden_zone', 'regime', 'technicals']) assert.match(typeOf.get(g)!, /^STRUCT\(/, g);
      const back = (await c.runAndReadAll(
        `SELECT symbol, CAST(data_date AS VARCHAR) AS d, pivots.P AS p, golden_zone.state AS st, regime.weight AS w, market_data.close AS cl
         FROM read_parquet('${out}') ORDER BY data_date`,
      )).getRowObjectsJS();
      assert.equal(back.length, 399);
      back.forEach((b, i) => {
        assert.equal(b.d, first[i].data_date);
        assert.equal(b.p, first[i].pivots.P);
        assert.equal(b.st, first[i].golden_zone.state);
        assert.equal(b.w, first[i].regime.weight);
        assert.equal(b.cl, first[i].market_data.close);
      });
    } finally {
      c.closeSync();
      inst.closeSync();
    }
    await assert.rejects(exportMatrix(store, join(dir, 'x.txt')), UserError);
    await assert.rejects(exportMatrix(store, join(dir, 'x.csv'), { layout: 'nested' }), /CSV cannot hold nested/);
    await assert.rejects(exportMatrix(store, join(dir, 'x.csv'), { ids: [424242] }), /no asset with id 424242/);

    // A date range, by asset id, two groups, flat: exactly those days, dotted column names, the stored values.
    const from = first[10].data_date;
    const to = first[40].data_date;
    const want = first.filter((r) => r.data_date >= from && r.data_date <= to);
    assert.equal(want.length, 31);
    const inst2 = await DuckDBInstance.create(':memory:');
    const c2 = await inst2.connect();
    for (const ext of ['csv', 'parquet']) {
      const f = join(dir, `range.${ext}`);
      const r = await exportMatrix(store, f, { ids: [ETH], from, to, groups: ['market_data', 'pivots'], layout: 'flat' });
      assert.equal(r.rows, 31, ext);
      const reader = ext === 'csv' ? `read_csv('${f}', header = true)` : `read_parquet('${f}')`;
      const cols = (await c2.runAndReadAll(`DESCRIBE SELECT * FROM ${reader}`)).getRowObjectsJS().map((x) => x.column_name as string);
      assert.deepEqual(cols.slice(0, 5), ['symbol', 'data_date', 'timestamp', 'market_data.open', 'market_data.high'], ext);
      assert.ok(cols.includes('pivots.price_above_P') && !cols.some((x) => x.startsWith('policy') || x.startsWith('golden_zone')), ext);
      const rows = (await c2.runAndReadAll(
        `SELECT CAST(data_date AS VARCHAR) AS d, "market_data.close" AS cl, "pivots.P" AS p FROM ${reader} ORDER BY data_date`,
      )).getRowObjectsJS();
      assert.deepEqual(rows.map((x) => x.d), want.map((x) => x.data_date), ext);
      rows.forEach((x, i) => {
        assert.equal(x.cl, want[i].market_data.close, ext);
        assert.equal(x.p, want[i].pivots.P, ext);
      });
    }
    c2.closeSync();
    inst2.closeSync();
    const none = await exportMatrix(store, join(dir, 'none.parquet'), { symbols: ['NOPE'], from });
    assert.equal(none.rows, 0);
    await assert.rejects(buildFeatures(store, { ids: [999999] }), /no daily bars/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** What `--db` is for the test database (Postgres: its schema through the connection's search_path). */
function cliDb(db: TestDb): string {
  return db.pgSchema
    ? `${db.dbArg}${db.dbArg.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${db.pgSchema}`)}`
    : db.dbArg;
}

/** Run `talab --db … features …args` in-process; returns stdout lines and the exit code it set. */
async function cli(db: TestDb, args: string[]): Promise<{ out: string; err: string; code: number }> {
  const dbArg = cliDb(db);
  const program = new Command().option('--db <target>').exitOverride();
  registerFeatures(program);
  const lines: string[] = [];
  const errs: string[] = [];
  const log = console.log;
  const error = console.error;
  const prev = process.exitCode;
  process.exitCode = undefined;
  console.log = (...a: unknown[]) => lines.push(a.map(String).join(' '));
  console.error = (...a: unknown[]) => errs.push(a.map(String).join(' '));
  try {
    await program.parseAsync(['node', 'talab', '--db', dbArg, 'features', ...args]);
    return { out: lines.join('\n'), err: errs.join('\n'), code: typeof process.exitCode === 'number' ? process.exitCode : 0 };
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = prev;
  }
}

/** Count through a store of its own: the CLI opens (and closes) its own connection for every command. */
async function countVia(db: TestDb, symbol?: string): Promise<number> {
  const s = await openStore(cliDb(db));
  try {
    return await countMatrix(s, symbol);
  } finally {
    await s.close();
  }
}

engineTest('CLI: features regimes / build --out / ingest / show / export / delete', async (db) => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-fc-'));
  try {
    await ethWithBars(db.store);
    // Two DuckDB instances on one file in one process do not see each other's writes: hand the file to the CLI.
    await db.store.close();
    const empty = await cli(db, ['regimes']);
    assert.match(empty.out, /regimes: 0 regime\(s\), 0 calendar day\(s\)/);
    const regFile = join(dir, 'reg.csv');
    writeFileSync(regFile, 'regime,start,end,weight\nearly,2024-01-01,2024-12-31,100\nlate,2025-01-02,2025-12-31,200\n');
    const reg = await cli(db, ['regimes', regFile]);
    assert.match(reg.out, /2 regime\(s\), 730 calendar day\(s\), 2024-01-01..2025-12-31\n  1 gap\(s\) with no regime: 2025-01-01..2025-01-01/);
    const status = await cli(db, ['regimes']);
    assert.match(status.out, /early +weight +100 +366 day\(s\) 2024-01-01..2024-12-31\n +late +weight +200 +364 day\(s\) 2025-01-02..2025-12-31/);

    const flat = join(dir, 'eth.csv');
    const b = await cli(db, ['build', '--ids', String(ETH), '--out', flat]);
    assert.match(b.out, /399 row\(s\) for 1 asset\(s\) written to/);
    // Bars only, no EMAs yet: said, not silently NULL.
    assert.match(b.err, /ETH \(1027\) has no rows for 1D:10, 1D:50, 1D:200, 7D:20, 1W_CAL_ISO:20; their technicals are NULL/);
    assert.equal(readFileSync(flat, 'utf8').split('\n')[0], INPUT_COLUMNS.join(','));

    const ing = await cli(db, ['ingest', flat, '--batch-size', '150']);
    assert.equal(ing.code, 0, ing.out);
    assert.match(ing.out, /398 enriched, 1 skipped \(no regime\)/);
    assert.match(ing.out, /row\(s\) on 1 date\(s\) without a regime were SKIPPED: row \d+ \(2025-01-01\)/);
    assert.match(ing.out, /features ingest: success — 398 row\(s\) loaded in 3 batch\(es\)/);
    assert.equal(await countVia(db, 'ETH'), 398);

    const show = await cli(db, ['show', '--symbol', 'ETH', '--limit', '1']);
    const rec = JSON.parse(show.out);
    assert.equal(rec.symbol, 'ETH');
    assert.equal(rec.regime.name, 'early');
    assert.equal(typeof rec.pivots, 'object');

    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'symbol,data_date,close\nETH,2024-06-01,abc\nETH,2024-06-01,1\n');
    const r = await cli(db, ['ingest', bad, '--report-out', join(dir, 'rep.json')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /non-numeric values: 1\n    row 1, close: 'abc' is not a number/);
    assert.match(r.out, /2 row\(s\) share a \(symbol, data_date\): row 1 \(ETH 2024-06-01\), row 2/);
    assert.match(r.out, /FAILED — validation_failed; nothing was loaded/);
    assert.equal(JSON.parse(readFileSync(join(dir, 'rep.json'), 'utf8')).reason, 'validation_failed');

    const pq = join(dir, 'm.parquet');
    assert.match((await cli(db, ['export', '--out', pq, '--symbol', 'ETH'])).out, /398 row\(s\) written/);
    assert.match((await cli(db, ['export', '--out', pq, '--symbol', 'NONE'])).out, /0 row\(s\) written/);
    assert.match((await cli(db, ['delete', '--symbol', 'ETH'])).out, /398 row\(s\) and 3 ledger batch\(es\) of ETH removed/);
    assert.equal(await countVia(db), 0);
    // build straight into the matrix, with the built-in registry covering every day.
    assert.match((await cli(db, ['regimes', '--builtin'])).out, /16 regime\(s\), 73049 calendar day\(s\), 1900-01-01..2099-12-31/);
    const direct = await cli(db, ['build', '--max-dates-per-batch', '100']);
    assert.equal(direct.code, 0, direct.out);
    assert.match(direct.out, /features ingest: success — 399 row\(s\) loaded in 4 batch\(es\)/);
    assert.equal(await countVia(db, 'ETH'), 399);
    await assert.rejects(cli(db, ['ingest', join(dir, 'missing.csv')]), /missing\.csv: file not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
