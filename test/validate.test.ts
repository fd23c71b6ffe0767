// `talab validate` on both engines, on real data: three CMC exports from data/sample built by the refresh pass every check
// except the source gap of wrapped-bitcoin (2022-09-30), which is a warning; then each kind of corruption made
// with SQL is reported as an error with its key, and the --ids scope, the CLI output and exit codes hold.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerValidate } from '../src/cli/validate.js';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import { q } from '../src/schema/ddl.js';
import { SNAPSHOT_BAR_COLUMNS } from '../src/schema/tables.js';
import type { Store } from '../src/store/store.js';
import { UserError } from '../src/util/errors.js';
import type { CheckResult, ValidationReport } from '../src/validate/report.js';
import { formatReport, runValidation } from '../src/validate/validate.js';
import { engineTest, type TestDb } from './helpers/engines.js';
import { diffDumps, dumpDerived, writeCsv, type Day } from './helpers/history.js';
import { samplePath, sampleSlice } from './helpers/sample.js';

// From data/sample: two short real histories (the last 27 days of mantle, 49 of solana) and wrapped-bitcoin whole.
const FILES = { mantle: () => sampleSlice('mantle', 27), solana: () => sampleSlice('solana', 49), 'wrapped-bitcoin': () => samplePath('wrapped-bitcoin') };

async function loadSample(store: Store): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const [f, path] of Object.entries(FILES)) ids[f] = (await importFile(store, path())).asset.id;
  const r = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.ok(r.ok, JSON.stringify(r.components.map((c) => c.assets.filter((a) => a.status === 'failed'))));
  return ids;
}

function check(r: ValidationReport, table: string, name: string): CheckResult {
  const c = r.checks.find((x) => x.table === table && x.check === name);
  assert.ok(c, `no check ${table}.${name}`);
  return c;
}

function failing(r: ValidationReport): string[] {
  return r.checks.filter((c) => c.status !== 'pass').map((c) => `${c.table}.${c.check}`).sort();
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Where the CLI finds the same database as the test's store (Postgres: the test schema via search_path). */
function cliDb(db: TestDb): string {
  return db.pgSchema ? `${db.dbArg}?options=-c%20search_path%3D${db.pgSchema}` : db.dbArg;
}

async function cli(args: string[]): Promise<{ out: string; code: number }> {
  const program = new Command().option('--db <target>').exitOverride();
  registerValidate(program);
  const lines: string[] = [];
  const log = console.log;
  const prev = process.exitCode;
  process.exitCode = undefined;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out: lines.join('\n'), code: typeof process.exitCode === 'number' ? process.exitCode : 0 };
  } finally {
    console.log = log;
    process.exitCode = prev;
  }
}

engineTest('validate: the real sample passes; the wrapped-bitcoin gap is a warning; corruptions are errors with keys', async (db) => {
  const { store } = db;
  const ids = await loadSample(store);
  const wbtc = ids['wrapped-bitcoin'];

  const clean = await runValidation(store);
  assert.equal(clean.ok, true, formatReport(clean));
  assert.deepEqual(failing(clean), ['price_bars_1d.gaps']);
  assert.equal(clean.errors, 0);
  assert.equal(clean.warnings, 1);
  const gaps = check(clean, 'price_bars_1d', 'gaps');
  assert.equal(gaps.severity, 'warning');
  assert.equal(gaps.status, 'warn');
  assert.equal(gaps.failures, 1);
  assert.equal(gaps.ranges, 1);
  assert.deepEqual(gaps.examples, [{ id: wbtc, first_missing: '2022-09-30', last_missing: '2022-09-30', days: 1 }]);
  // The count rules were exercised on keys with rows, not only on empty warm-ups.
  for (const table of ['ema_multi_tf', 'ema_multi_tf_v2', 'ema_multi_tf_cal_iso', 'ema_multi_tf_cal_anchor_us']) {
    const c = check(clean, table, 'row_counts');
    assert.ok(c.checked >= 17 * 3, `${table}: ${c.checked} keys`);
    const rows = await store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(table)}`);
    assert.ok(Number(rows[0].n) > 1000, `${table} has rows`);
  }
  const human = formatReport(clean);
  assert.match(human, /^WARN {2}price_bars_1d +5 check\(s\), 439 rows, 1 warning\(s\)$/m);
  assert.match(human, /^ +warn {2}gaps: 1 missing day\(s\) in 1 gap\(s\) — /m);
  assert.match(human, /^PASS {2}ema_multi_tf /m);
  assert.match(human, /id=\d+ first_missing=2022-09-30 last_missing=2022-09-30 days=1/);
  assert.match(human, /result: PASS with warnings/);

  // 1. An EMA row deleted from the middle of a series: row_counts of that (id, tf, period).
  const victim = (await store.query<{ tf: string; period: number; ts: number }>(
    `SELECT tf, period, ts FROM ema_multi_tf_cal_anchor_iso WHERE id = $1 AND tf = '1W_CAL_ANCHOR_ISO' AND period = 6
     ORDER BY ts LIMIT 1 OFFSET 10`, [wbtc],
  ))[0];
  assert.ok(victim, 'wbtc has weekly anchor EMAs');
  await store.exec(
    `DELETE FROM ema_multi_tf_cal_anchor_iso WHERE id = $1 AND tf = $2 AND period = $3 AND ts = $4::timestamptz`,
    [wbtc, victim.tf, victim.period, iso(victim.ts)],
  );
  // 2. A whole default (tf, period) series gone from v2: it is still expected, since the default refresh built it.
  const v2Before = await store.query<{ n: number }>(
    `SELECT count(*) AS n FROM ema_multi_tf_v2 WHERE id = $1 AND tf = '7D' AND period = 6`, [wbtc],
  );
  assert.ok(Number(v2Before[0].n) > 0);
  await store.exec(`DELETE FROM ema_multi_tf_v2 WHERE id = $1 AND tf = '7D' AND period = 6`, [wbtc]);
  // 3. A second canonical row for one bar: same (id, tf, bar_seq), a different time_close (the key permits it).
  const canon = (await store.query<{ tf: string; bar_seq: number; time_close: number }>(
    `SELECT tf, bar_seq, time_close FROM price_bars_multi_tf_cal_iso
     WHERE id = $1 AND tf = '1W_CAL_ISO' AND NOT is_partial_end ORDER BY time_close LIMIT 1 OFFSET 3`, [wbtc],
  ))[0];
  const cols = SNAPSHOT_BAR_COLUMNS.map((c) => q(c.name));
  const moved: Record<string, string> = {
    '"time_close"': `time_close + INTERVAL '1 hour'`, '"timestamp"': `time_close + INTERVAL '1 hour'`,
    '"last_ts_half_open"': `last_ts_half_open + INTERVAL '1 hour'`,
  };
  const sel = cols.map((c) => moved[c] ?? c);
  await store.exec(
    `INSERT INTO price_bars_multi_tf_cal_iso (${cols.join(', ')}) SELECT ${sel.join(', ')} FROM price_bars_multi_tf_cal_iso
     WHERE id = $1 AND tf = $2 AND bar_seq = $3 AND time_close = $4::timestamptz`,
    [wbtc, canon.tf, canon.bar_seq, iso(canon.time_close)],
  );
  // 4. A daily bar whose high is below its low.
  const day = (await store.query<{ ts: number }>(
    'SELECT ts FROM price_bars_1d WHERE id = $1 ORDER BY ts LIMIT 1 OFFSET 100', [wbtc],
  ))[0].ts;
  await store.exec('UPDATE price_bars_1d SET high = low * 0.5 WHERE id = $1 AND ts = $2::timestamptz', [wbtc, iso(day)]);
  // 5. A multi-tf snapshot with high < low, and an EMA value lost.
  await store.exec(
    `UPDATE price_bars_multi_tf SET high = low / 2 WHERE id = $1 AND tf = '7D' AND bar_seq = 2 AND pos_in_bar = 3`, [wbtc],
  );
  const lost = (await store.query<{ ts: number }>(
    `SELECT ts FROM ema_multi_tf WHERE id = $1 AND tf = '1D' AND period = 10 ORDER BY ts LIMIT 1 OFFSET 5`, [wbtc],
  ))[0].ts;
  await store.exec(
    `UPDATE ema_multi_tf SET ema = NULL WHERE id = $1 AND tf = '1D' AND period = 10 AND ts = $2::timestamptz`, [wbtc, iso(lost)],
  );
  // 6. Two source rows on one UTC day.
  await store.exec(
    `INSERT INTO price_histories (id, ts, open, high, low, close, volume, market_cap)
     SELECT id, ts - INTERVAL '6 hours', open, high, low, close, volume, market_cap FROM price_histories
     WHERE id = $1 AND ts = $2::timestamptz`, [wbtc, iso(day)],
  );

  const bad = await runValidation(store);
  assert.equal(bad.ok, false);
  const ex = (table: string, name: string) => check(bad, table, name).examples;

  const anchor = check(bad, 'ema_multi_tf_cal_anchor_iso', 'row_counts');
  assert.equal(anchor.status, 'fail');
  assert.equal(anchor.failures, 1);
  assert.deepEqual(
    pick(anchor.examples[0], ['id', 'tf', 'period', 'problem', 'diff']),
    { id: wbtc, tf: '1W_CAL_ANCHOR_ISO', period: 6, problem: 'missing rows', diff: -1 },
  );

  const v2 = ex('ema_multi_tf_v2', 'row_counts');
  assert.deepEqual(v2.map((e) => pick(e, ['id', 'tf', 'period', 'expected', 'actual'])), [
    { id: wbtc, tf: '7D', period: 6, expected: Number(v2Before[0].n), actual: 0 },
  ]);

  const cu = check(bad, 'price_bars_multi_tf_cal_iso', 'canonical_unique');
  assert.equal(cu.failures, 1);
  assert.deepEqual(pick(cu.examples[0], ['id', 'tf', 'bar_seq', 'canonical_rows']), {
    id: wbtc, tf: '1W_CAL_ISO', bar_seq: canon.bar_seq, canonical_rows: 2,
  });
  // The extra row is also an orphan (no daily bar at that instant) and an extra row for its (id, tf).
  assert.equal(check(bad, 'price_bars_multi_tf_cal_iso', 'orphans').failures, 1);
  assert.equal(pick(ex('price_bars_multi_tf_cal_iso', 'row_counts')[0], ['problem']).problem, 'extra rows');

  const ohlc1d = ex('price_bars_1d', 'ohlc');
  assert.deepEqual(ohlc1d.map((e) => pick(e, ['id', 'ts', 'violation'])), [
    { id: wbtc, ts: iso(day).slice(0, 10), violation: 'high_lt_low' },
  ]);
  const ohlcMt = ex('price_bars_multi_tf', 'ohlc');
  assert.deepEqual(ohlcMt.map((e) => pick(e, ['id', 'tf', 'bar_seq', 'violation'])), [
    { id: wbtc, tf: '7D', bar_seq: 2, violation: 'high_lt_low' },
  ]);

  assert.deepEqual(ex('ema_multi_tf', 'values').map((e) => pick(e, ['id', 'tf', 'period', 'ts', 'ema'])), [
    { id: wbtc, tf: '1D', period: 10, ts: iso(lost).slice(0, 10), ema: null },
  ]);

  const dup = ex('price_histories', 'duplicate_days');
  assert.deepEqual(dup.map((e) => pick(e, ['id', 'day', 'rows_that_day'])), [
    { id: wbtc, day: iso(day).slice(0, 10), rows_that_day: 2 },
  ]);
  assert.equal(check(bad, 'price_bars_1d', 'source_coverage').failures, 1);

  assert.deepEqual(failing(bad), [
    'ema_multi_tf.values',
    'ema_multi_tf_cal_anchor_iso.row_counts',
    'ema_multi_tf_v2.row_counts',
    'price_bars_1d.gaps',
    'price_bars_1d.ohlc',
    'price_bars_1d.source_coverage',
    'price_bars_multi_tf.ohlc',
    'price_bars_multi_tf_cal_iso.canonical_unique',
    'price_bars_multi_tf_cal_iso.orphans',
    'price_bars_multi_tf_cal_iso.row_counts',
    'price_histories.duplicate_days',
  ]);
  const badText = formatReport(bad);
  assert.match(badText, /^FAIL {2}price_bars_multi_tf_cal_iso +\d+ check\(s\), \d+ rows, 3 failed$/m);
  assert.match(badText, /^ +fail {2}canonical_unique: 1 of \d+ rows — at most one canonical row/m);
  assert.match(badText, new RegExp(`id=${wbtc} tf=1W_CAL_ISO bar_seq=${canon.bar_seq} canonical_rows=2`));
  assert.match(badText, /result: FAIL — 10 check\(s\) failed, 1 warning\(s\)/);

  // --ids scope: the other assets are clean, and their report says so.
  const others = await runValidation(store, { ids: [ids.mantle, ids.solana] });
  assert.equal(others.ok, true, formatReport(others));
  assert.deepEqual(failing(others), []);
  assert.deepEqual(others.ids, [ids.mantle, ids.solana].sort((a, b) => a - b));
  assert.equal(others.assets, 2);

  // The CLI: exit 1 on errors, --json is the report, --ids narrows, exit 0 when only warnings or nothing.
  await store.close();
  const j = await cli(['--db', cliDb(db), 'validate', '--json']);
  assert.equal(j.code, 1);
  const parsed = JSON.parse(j.out) as ValidationReport;
  assert.equal(parsed.ok, false);
  assert.equal(parsed.checks.find((c) => c.table === 'price_bars_1d' && c.check === 'gaps')?.status, 'warn');
  for (const c of parsed.checks) for (const k of ['table', 'check', 'status', 'failures', 'examples']) assert.ok(k in c, k);
  const scoped = await cli(['--db', cliDb(db), 'validate', '--ids', `${ids.mantle},${ids.solana}`]);
  assert.equal(scoped.code, 0, scoped.out);
  assert.match(scoped.out, /result: PASS/);
  const gapOnly = await cli(['--db', cliDb(db), 'validate', '--ids', String(wbtc)]);
  assert.equal(gapOnly.code, 1);
  await assert.rejects(cli(['--db', cliDb(db), 'validate', '--ids', '999999999']), (e: unknown) =>
    e instanceof UserError && e.exitCode === 2 && /unknown asset id\(s\) 999999999/.test(e.message));
}, 180_000);

engineTest('validate: a gap-only database exits 0, warnings listed', async (db) => {
  await importFile(db.store, samplePath('wrapped-bitcoin'));
  const r = await runRefresh(db.store, { components: ['bars', 'emas'] });
  assert.ok(r.ok);
  const none = await runValidation(db.store, { ids: [] });
  assert.deepEqual([none.ok, none.assets, none.warnings, check(none, 'ema_multi_tf', 'row_counts').checked], [true, 0, 0, 0]);
  await db.store.close();
  const out = await cli(['--db', cliDb(db), 'validate']);
  assert.equal(out.code, 0, out.out);
  assert.match(out.out, /warn {2}gaps: 1 missing day\(s\) in 1 gap\(s\)/);
  assert.match(out.out, /first_missing=2022-09-30/);
  assert.match(out.out, /result: PASS with warnings — 0 check\(s\) failed, 1 warning\(s\)/);
});

engineTest('validate: EMAs out of step with their bars are caught by the expected counts', async ({ store }) => {
  const id = (await importFile(store, sampleSlice('solana', 49))).asset.id;
  assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);
  // Un-finalise every weekly US bar: the cal EMA's canonical closes are gone, so the rows it has are extra.
  await store.exec(
    `UPDATE price_bars_multi_tf_cal_us SET is_partial_end = true WHERE id = $1 AND tf = '1W_CAL_US' AND NOT is_partial_end`,
    [id],
  );
  const r = await runValidation(store, { ids: [id] });
  assert.equal(r.ok, false);
  // No canonical weekly close left: the cal EMA expects no rows, but rows remain.
  const cal = check(r, 'ema_multi_tf_cal_us', 'row_counts');
  assert.equal(cal.status, 'fail');
  assert.ok(cal.examples.every((e) => e.tf === '1W_CAL_US' && e.expected === 0 && Number(e.actual) > 0), JSON.stringify(cal.examples));
  // The flags now contradict count_days_remaining on the rows changed.
  assert.equal(check(r, 'price_bars_multi_tf_cal_us', 'canonical_flag').status, 'fail');
  assert.deepEqual(failing(r), ['ema_multi_tf_cal_us.row_counts', 'price_bars_multi_tf_cal_us.canonical_flag']);

  // More kinds of damage, each caught by its own check with its key.
  await store.exec(`UPDATE ema_multi_tf_cal_anchor_us SET tf_days = 1 WHERE id = $1 AND tf = '1W_CAL_ANCHOR_US'`, [id]);
  await store.exec(
    `UPDATE price_bars_multi_tf SET count_missing_days = count_days WHERE id = $1 AND tf = '14D' AND bar_seq = 2 AND pos_in_bar = 4`, [id],
  );
  await store.exec(`UPDATE price_bars_multi_tf SET bar_seq = 3 WHERE id = $1 AND tf = '10D' AND bar_seq = 2 AND pos_in_bar = 1`, [id]);
  // The refresh knows the cal EMAs must be recomputed from some day: the mismatch says so.
  await store.exec(
    `UPDATE refresh_state SET dirty_from = '2023-08-01T23:59:59.999Z'::timestamptz WHERE id = $1 AND table_name = 'ema_multi_tf_cal_us'`,
    [id],
  );
  const r2 = await runValidation(store, { ids: [id] });
  assert.ok(check(r2, 'ema_multi_tf_cal_us', 'row_counts').examples.every((e) => e.pending_refresh_from === '2023-08-01'));
  assert.ok(check(r, 'ema_multi_tf_cal_us', 'row_counts').examples.every((e) => !('pending_refresh_from' in e)));
  assert.deepEqual(failing(r2), [
    'ema_multi_tf_cal_anchor_us.tf_days', 'ema_multi_tf_cal_us.row_counts', 'price_bars_multi_tf.counters',
    'price_bars_multi_tf.rolling_position', 'price_bars_multi_tf_cal_us.canonical_flag',
  ]);
  assert.deepEqual(pick(check(r2, 'ema_multi_tf_cal_anchor_us', 'tf_days').examples[0], ['tf', 'tf_days', 'expected_tf_days']), {
    tf: '1W_CAL_ANCHOR_US', tf_days: 1, expected_tf_days: 7,
  });
  assert.deepEqual(check(r2, 'price_bars_multi_tf', 'counters').examples.map((e) => pick(e, ['id', 'tf', 'bar_seq', 'violation'])), [
    { id, tf: '14D', bar_seq: 2, violation: 'no_observed_day' },
  ]);
  assert.deepEqual(check(r2, 'price_bars_multi_tf', 'rolling_position').examples.map((e) => pick(e, ['tf', 'bar_seq', 'expected_bar_seq'])), [
    { tf: '10D', bar_seq: 3, expected_bar_seq: 2 },
  ]);
});

function pick(e: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, e[k]]));
}

engineTest('validate: a duplicated EMA key is caught on DuckDB (no key constraint there); PostgreSQL refuses it', async ({ store }) => {
  const id = (await importFile(store, sampleSlice('mantle', 27))).asset.id;
  assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);
  const copy = `INSERT INTO ema_multi_tf SELECT * FROM ema_multi_tf
    WHERE id = $1 AND tf = '1D' AND period = 6 AND ts = (SELECT max(ts) FROM ema_multi_tf WHERE id = $1)`;
  if (store.dialect === 'postgres') {
    await assert.rejects(store.exec(copy, [id]), /duplicate key/);
    const r = await runValidation(store);
    assert.equal(r.checks.some((c) => c.check === 'duplicate_keys'), false, 'the constraint guarantees it');
    return;
  }
  assert.equal(check(await runValidation(store), 'ema_multi_tf', 'duplicate_keys').status, 'pass');
  await store.exec(copy, [id]);
  const bad = await runValidation(store);
  const dup = check(bad, 'ema_multi_tf', 'duplicate_keys');
  assert.equal(dup.status, 'fail');
  assert.equal(dup.failures, 1);
  assert.deepEqual(
    Object.fromEntries(Object.entries(dup.examples[0]).filter(([k]) => ['id', 'tf', 'period', 'copies'].includes(k))),
    { id, tf: '1D', period: 6, copies: 2 },
  );
});

/** A 170-day walk with one gap of each length 1–10 days, the gaps spread over the history (bar starts, middles). */
function gappedHistory(): Day[] {
  const gapAt = new Map<number, number>(); // candidate day index → gap length starting there
  for (let g = 1; g <= 10; g++) gapAt.set(9 + g * 14 + (g % 3), g);
  const out: Day[] = [];
  let px = 100;
  for (let i = 0; out.length < 170; i++) {
    const g = gapAt.get(i);
    if (g) {
      gapAt.delete(i);
      i += g - 1;
      continue;
    }
    const close = px * (1 + Math.sin(i * 0.7) * 0.03);
    out.push({ day: 19_500 + i, open: px, high: Math.max(px, close) * 1.01, low: Math.min(px, close) * 0.99, close, volume: 1000 + i, marketCap: close * 1e6 });
    px = close;
  }
  return out;
}

engineTest('validate: gaps of 1–10 days pass on every bar and EMA family; incremental across them == full build', async (db) => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-gaps-'));
  const days = gappedHistory();
  // The second import starts right after a gap: the daily path continues its carry across it.
  const cuts = [days.findIndex((d, i) => i > 0 && d.day - days[i - 1].day === 8), days.length];
  let from = 0;
  for (const [k, to] of cuts.entries()) {
    await importFile(db.store, writeCsv(dir, `g${k}.csv`, days.slice(from, to)), { id: 901, symbol: 'GAP' });
    assert.ok((await runRefresh(db.store, { components: ['bars', 'emas'] })).ok);
    from = to;
  }
  const r = await runValidation(db.store, { ids: [901] });
  // The gaps are reported as a warning, nothing fails.
  assert.deepEqual(failing(r), ['price_bars_1d.gaps']);
  assert.equal(check(r, 'price_bars_1d', 'gaps').status, 'warn');
  assert.equal(r.ok, true);
  assert.match(formatReport(r), /55 missing day\(s\) in 10 gap\(s\)/);
  // Every bar and EMA family has rows that span a gap.
  for (const t of ['price_bars_multi_tf', 'price_bars_multi_tf_cal_us', 'price_bars_multi_tf_cal_iso', 'price_bars_multi_tf_cal_anchor_us', 'price_bars_multi_tf_cal_anchor_iso']) {
    const n = await db.store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(t)} WHERE id = 901 AND count_missing_days > 0`);
    assert.ok(Number(n[0].n) > 0, `${t}: no row spans a gap`);
  }
  // The same history built in one go (ingested_at aside, the dumps compare every column).
  const incremental = await dumpDerived(db.store);
  assert.ok((await runRefresh(db.store, { components: ['bars', 'emas'], fullRebuild: true })).ok);
  const full = await dumpDerived(db.store);
  for (const t of Object.keys(full).filter((k) => k.startsWith('ema_'))) assert.ok(full[t].length > 0, `${t} empty`);
  assert.equal(diffDumps(incremental, full), null);
}, 180_000);
