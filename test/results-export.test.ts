// The tidy views, the data dictionary in the catalog, and `talab export` on both engines, on real sample data:
// every table, view and column carries a comment; the Parquet export read back by DuckDB equals the views'
// rows for the same filters; CSV and JSON go to stdout; bad input is a usage error before anything is written;
// and `day` is the UTC date for a reader in Asia/Tokyo.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getTimeframe } from '../src/catalog/timeframes.js';
import { registerExport } from '../src/cli/export.js';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import { VIEW_PERIODS } from '../src/schema/view-sources.js';
import { test } from 'node:test';
import { DuckDbStore, lockMessage } from '../src/store/duckdb/store.js';
import type { Row, Store } from '../src/store/store.js';
import { runInProcess } from './helpers/cli-in-process.js';
import { engineTest, type TestDb } from './helpers/engines.js';
import { sampleSlice } from './helpers/sample.js';

const TFS = ['1D', '7D', '1W_CAL_ANCHOR_ISO'];

async function load(store: Store): Promise<void> {
  for (const [coin, days] of [['solana', 120], ['mantle', 40]] as const) await importFile(store, sampleSlice(coin, days));
  const r = await runRefresh(store, { components: ['bars', 'emas'], tfs: TFS.map((t) => getTimeframe(t)!), periods: [6, 10, 20] });
  assert.ok(r.ok);
}

const cliDb = (db: TestDb) => (db.pgSchema ? `${db.dbArg}?options=-c%20search_path%3D${db.pgSchema}` : db.dbArg);
const exportCli = (db: TestDb, args: string[]) => runInProcess(registerExport, ['--db', cliDb(db), 'export', ...args]);

/** Every relation of the database's schema with its comment, and every column with its comment. */
async function comments(store: Store): Promise<{ relations: Row[]; columns: Row[] }> {
  if (store.dialect === 'duckdb') {
    const where = 'database_name = current_database() AND schema_name = current_schema()';
    return {
      relations: await store.query(`SELECT table_name AS name, comment FROM duckdb_tables() WHERE ${where}
        UNION ALL SELECT view_name, comment FROM duckdb_views() WHERE ${where} AND NOT internal`),
      columns: await store.query(`SELECT table_name AS name, column_name AS col, comment FROM duckdb_columns() WHERE ${where}`),
    };
  }
  const rel = `FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition`; // a partitioned table's parent, not its partitions
  return {
    relations: await store.query(`SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS comment ${rel}`),
    columns: await store.query(`SELECT c.relname AS name, a.attname AS col, col_description(c.oid, a.attnum) AS comment
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition`),
  };
}

/** The views joined for one family's timeframes, as the export should give them (default periods). */
async function fromViews(store: Store, barFamily: string, emaFamily: string, tf: string, id: number, from: string, to: string) {
  const emas = VIEW_PERIODS.map((p) => `e.ema_${p}`).join(', ');
  const bars = VIEW_PERIODS.map((p) => `e.ema_bar_${p}`).join(', ');
  return store.query(
    `SELECT b.id, b.symbol, b.tf, CAST(b.day AS VARCHAR) AS day, b.ts, b.bar_seq, b.open, b.high, b.low, b.close, b.volume, b.market_cap, ${emas}, ${bars}
     FROM v_bars b LEFT JOIN v_ema e ON e.family = $1 AND e.id = b.id AND e.tf = b.tf AND e.ts = b.ts
     WHERE b.family = $2 AND b.tf = $3 AND b.id = $4 AND b.day BETWEEN CAST($5 AS DATE) AND CAST($6 AS DATE)
     ORDER BY b.ts`,
    [emaFamily, barFamily, tf, id, from, to],
  );
}

engineTest('views, comments and talab export', async (db) => {
  const { store } = db;
  await load(store);

  // Data dictionary: nothing in the schema without a comment.
  const { relations, columns } = await comments(store);
  assert.ok(relations.some((r) => r.name === 'v_bars') && relations.some((r) => r.name === 'v_ema'));
  assert.ok(columns.length > 200);
  assert.deepEqual(relations.filter((r) => !r.comment).map((r) => r.name), []);
  assert.deepEqual(columns.filter((r) => !r.comment).map((r) => `${r.name}.${r.col}`), []);

  // Views: finished bars only, day = the UTC date of ts.
  const partial = await store.query(`SELECT count(*) AS n FROM v_bars b JOIN price_bars_multi_tf m
    ON m.id = b.id AND m.tf = b.tf AND m.time_close = b.ts AND m.is_partial_end WHERE b.family = 'multi_tf'`);
  assert.equal(Number(partial[0].n), 0);
  const days = await store.query<{ day: string; ts: number }>(`SELECT CAST(day AS VARCHAR) AS day, ts FROM v_bars`);
  assert.ok(days.length > 150);
  for (const r of days) assert.equal(r.day, new Date(r.ts).toISOString().slice(0, 10));

  // Parquet round trip: the file read back by DuckDB equals the views' rows for the same filters.
  const dir = mkdtempSync(join(tmpdir(), 'talab-export-'));
  const file = join(dir, 'sol.parquet');
  const from = '2025-04-01';
  const to = '2025-06-30';
  const r = await exportCli(db, ['--symbol', 'SOL', '--tf', TFS.join(','), '--from', from, '--to', to, '--out', file]);
  assert.equal(r.code, 0, r.out);
  const mem = await DuckDbStore.open(':memory:');
  try {
    for (const [barFamily, emaFamily, tf] of [['1d', 'v1', '1D'], ['multi_tf', 'v1', '7D'], ['cal_anchor_iso', 'cal_anchor_iso', '1W_CAL_ANCHOR_ISO']]) {
      const want = await fromViews(store, barFamily, emaFamily, tf, 5426, from, to);
      const got = await mem.query(`SELECT * EXCLUDE (family, time_open, day), CAST(day AS VARCHAR) AS day FROM read_parquet($1)
        WHERE tf = $2 ORDER BY ts`, [file, tf]);
      assert.ok(want.length > 5, `${tf}: ${want.length} rows`);
      assert.equal(got.length, want.length, tf);
      for (let i = 0; i < want.length; i++) for (const k of Object.keys(want[i])) assert.equal(got[i][k], want[i][k], `${tf} row ${i} ${k}`);
      assert.ok(got.some((x) => x.ema_10 !== null), `${tf}: some ema_10`);
    }
    const types = await mem.query(`SELECT name, type FROM parquet_schema($1) WHERE name IN ('day', 'ts')`, [file]);
    assert.deepEqual(types.map((t) => `${t.name}:${t.type}`).sort(), ['day:INT32', 'ts:INT64']);
  } finally {
    await mem.close();
  }

  // CSV and JSON on stdout hold the same rows.
  const csv = await exportCli(db, ['--ids', '5426', '--tf', '7D', '--periods', '10,20', '--from', from, '--to', to]);
  assert.equal(csv.code, 0, csv.out);
  const lines = csv.out.split('\n');
  assert.equal(lines[0], 'family,id,symbol,tf,day,ts,bar_seq,time_open,open,high,low,close,volume,market_cap,ema_10,ema_20');
  const want7 = await fromViews(store, 'multi_tf', 'v1', '7D', 5426, from, to);
  assert.equal(lines.length - 1, want7.length);
  const cells = lines.slice(1).map((l) => l.split(','));
  const num = (x: string) => (x === '' ? null : Number(x));
  assert.deepEqual(cells.map((c) => [c[4], num(c[11]), num(c[14])]), want7.map((x) => [x.day, x.close, x.ema_10]));
  assert.ok(want7.some((x) => x.ema_10 !== null));
  const json = await exportCli(db, ['--symbol', 'sol', '--tf', '7D', '--periods', '10', '--from', from, '--to', to, '--format', 'json']);
  assert.equal(json.code, 0, json.out);
  const parsed = JSON.parse(json.out) as Record<string, unknown>[];
  assert.deepEqual(parsed.map((x) => [x.day, x.close, x.ema_10]), want7.map((x) => [x.day, x.close, x.ema_10]));

  // Bad input: a usage error naming what is wrong, and nothing written.
  const bad = join(dir, 'bad.parquet');
  const cases: [string[], RegExp][] = [
    [['--symbol', 'NOPE', '--tf', '1D'], /--symbol NOPE: no such asset/],
    [['--ids', '999', '--tf', '1D'], /--ids: no asset with id 999/],
    [['--tf', '9Q'], /unknown timeframe '9Q'/],
    [['--tf', '1D', '--family', 'cal_us'], /--tf 1D is not in --family cal_us/],
    [['--tf', '1D', '--family', 'v3'], /--family/],
    [['--tf', '1D', '--periods', '10,x'], /--periods: 'x'/],
    [['--tf', '1D', '--from', '2025-02-30'], /--from must be a date/],
    [['--tf', '1D', '--from', '2025-03-01', '--to', '2025-02-01'], /--from 2025-03-01 is after --to/],
    [['--tf', '1D', '--format', 'parquet'], /needs --out FILE/],
    [['--tf', '1D', '--format', 'csv', '--out', bad], /does not match --out/],
    [['--tf', '1D', '--out', join(dir, 'missing', 'x.csv')], /directory .* does not exist/],
  ];
  for (const [args, msg] of cases) {
    const b = await exportCli(db, args);
    assert.equal(b.code, 2, `${args.join(' ')}: ${b.out}`);
    assert.match(b.out, msg);
  }
  assert.equal(existsSync(bad), false);

  if (store.dialect === 'postgres') {
    // A session east of UTC still reads each bar on its own day.
    await store.exec("SET TIME ZONE 'Asia/Tokyo'");
    const tokyo = await store.query<{ day: string; local: string; ts: number }>(
      `SELECT CAST(day AS VARCHAR) AS day, CAST(CAST(ts AS DATE) AS VARCHAR) AS local, ts FROM v_bars WHERE tf = '1D'`);
    for (const x of tokyo) assert.equal(x.day, new Date(x.ts).toISOString().slice(0, 10));
    assert.ok(tokyo.every((x) => x.local !== x.day), 'the session zone was in effect');
    return;
  }
  // DuckDB: a reader process in Asia/Tokyo (its own session zone), on the file and on the export.
  await store.close();
  const seen = JSON.parse(execFileSync(process.execPath, [join(import.meta.dirname, 'fixtures/tz-reader.mjs'), db.dbArg, file], {
    env: { ...process.env, TZ: 'Asia/Tokyo' }, encoding: 'utf8',
  })) as { zone: string; view: { day: string; local_day: string; utc_day: string }[]; file: { day: string; utc_day: string }[] };
  assert.equal(seen.zone, 'Asia/Tokyo');
  assert.ok(seen.view.length > 0 && seen.file.length > 0);
  for (const v of seen.view) {
    assert.equal(v.day, v.utc_day);
    assert.notEqual(v.local_day, v.day, 'a plain cast in Tokyo gives the next day: the zone was in effect');
  }
  for (const f of seen.file) assert.equal(f.day, f.utc_day);
});

test('a lock held by another process is reported with its pid and program, and what to do', () => {
  const duck = 'IO Error: Could not set lock on file "/d/t.duckdb": Conflicting lock is held in /usr/bin/python3.11 (PID 4242) by user ana.';
  const writer = lockMessage('/d/t.duckdb', duck, false);
  assert.match(writer, /^\/d\/t\.duckdb is in use by another process \(pid 4242, \/usr\/bin\/python3\.11\): .*con\.close\(\)/);
  assert.match(lockMessage('/d/t.duckdb', duck, true), /\(pid 4242, \/usr\/bin\/python3\.11\) that has it open for writing; run again when it has finished$/);
  assert.match(lockMessage('/d/t.duckdb', 'Could not set lock on file: held (PID 7)', false), /\(pid 7\)/);
});
