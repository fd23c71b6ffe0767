// `talab refresh` through the real CLI process: every flag shows its effect, bad values are usage errors,
// a failing asset skips only its own EMAs and raises an alert, locks and shards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { importFile } from '../src/importer/import.js';
import { runRefresh, shardOf, type RefreshEvent } from '../src/refresh/runner.js';
import { registerExport } from '../src/cli/export.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { runInProcess } from './helpers/cli-in-process.js';
import { sampleSlice } from './helpers/sample.js';

const CLI = resolve(import.meta.dirname, '../src/cli/main.ts');
// Resolved here: the CLI runs with another working directory, where a bare 'tsx' would not be found.
const TSX = import.meta.resolve('tsx');
const MNT = 27075; // mantle, last 27 days of data/sample
const SOL = 5426; // solana, last 49 days of data/sample

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function talab(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      env: { ...process.env, TZ: 'UTC', ...env }, cwd: cwd ?? tmpdir(),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => res({ code, out, err }));
  });
}

/** A DuckDB file with mantle and solana imported (nothing built yet). */
async function sampleDb(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'talab-cli-'));
  const path = join(dir, 'db.duckdb');
  const store = await openStore(path);
  await importFile(store, sampleSlice('mantle', 27));
  await importFile(store, sampleSlice('solana', 49));
  await store.close();
  return path;
}

async function withStore<T>(path: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore(path);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const count = (s: Store, sql: string, p: unknown[] = []) => s.query<{ n: number }>(sql, p).then((r) => Number(r[0].n));

test('usage errors: missing or double mode, bad flag values → exit 2 with a message, no stack trace', async () => {
  const db = await sampleDb();
  const cases: [string[], RegExp][] = [
    [['refresh'], /exactly one of --all, --bars, --emas/],
    [['refresh', '--all', '--bars'], /exactly one of/],
    [['refresh', '--all', '--ids', 'x'], /--ids: 'x' is not an asset id/],
    [['refresh', '--all', '--tfs', '7X'], /--tfs: unknown timeframe '7X'/],
    [['refresh', '--all', '--periods', '0'], /--periods: '0' is not a positive integer/],
    [['refresh', '--all', '--tf-period-combos', '7D-10'], /is not TF:PERIOD/],
    [['refresh', '--all', '--tf-period-combos', '7D:10', '--periods', '5'], /replaces --tfs\/--periods/],
    [['refresh', '--all', '--jobs', '0'], /--jobs must be ≥ 1/],
    [['refresh', '--all', '--shard', '2/2'], /need n ≥ 1 and 0 ≤ k < n/],
    [['refresh', '--all', '--shard', 'a'], /--shard must be k\/n/],
    [['refresh', '--all', '--staleness-hours', '-1'], /--staleness-hours must be a number ≥ 0/],
    [['refresh', '--all', '--lookback-days', 'x'], /--lookback-days must be an integer/],
    [['refresh', '--all', '--verbose', '--quiet'], /exclude each other/],
    [['refresh', '--all', '--nope'], /unknown option '--nope'/],
  ];
  for (const [args, re] of cases) {
    const r = await talab(['--db', db, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.match(r.err, re, args.join(' '));
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  const bad = await talab(['--db', 'mysql://x', 'refresh', '--all']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unsupported database URL/);
});

test('--dry-run writes nothing and prints the plan; --quiet prints only the summary; --verbose one line per asset', async () => {
  const db = await sampleDb();
  const dry = await talab(['--db', db, 'refresh', '--all', '--dry-run']);
  assert.equal(dry.code, 0, dry.err);
  assert.match(dry.out, /REFRESH PLAN \(dry run: nothing was written\)/);
  assert.match(dry.out, /would build MNT \(27075\) from all: first build/);
  assert.match(dry.out, /timeframes: 1D, 2D, 3D, 5D, 7D/);
  assert.match(dry.out, /periods: 6, 9, 10, 12/);
  assert.match(dry.out, /tables: price_bars_1d, .*ema_multi_tf_cal_anchor_iso/);
  await withStore(db, async (s) => {
    assert.equal(await count(s, 'SELECT count(*) AS n FROM price_bars_1d'), 0);
    assert.equal(await count(s, 'SELECT count(*) AS n FROM refresh_runs'), 0);
  });
  const quiet = await talab(['--db', db, 'refresh', '--all', '--quiet']);
  assert.equal(quiet.code, 0, quiet.err);
  assert.match(quiet.out, /^REFRESH SUMMARY/);
  assert.doesNotMatch(quiet.out, /asset\(s\)\n|: built —/);
  const verbose = await talab(['--db', db, 'refresh', '--all', '--verbose']);
  assert.match(verbose.out, /bars MNT \(27075\): current — already current/);
  assert.match(verbose.out, /emas SOL \(5426\): current — already current/);
  // The phase times: present and in the order the run passes them (their values depend on the machine).
  const PHASES = ['startup', 'open', 'migration_check', 'plan', 'bars', 'emas', 'finish', 'checkpoint', 'close'];
  const line = /^phases: (.*)$/m.exec(verbose.out);
  assert.ok(line, verbose.out);
  assert.deepEqual(line[1].split(', ').map((p) => p.replace(/ \d+ ms$/, '').replace(/ /g, '_')), PHASES);
  assert.doesNotMatch(quiet.out, /^phases:/m);
  const json = await talab(['--db', db, 'refresh', '--all', '--json']);
  assert.equal(json.code, 0, json.err);
  const phases = JSON.parse(json.out).phases_ms as Record<string, number>;
  assert.deepEqual(Object.keys(phases), PHASES);
  assert.ok(Object.values(phases).every((ms) => Number.isInteger(ms) && ms >= 0), json.out);
  const log = readdirSync(join(tmpdir(), '.logs')).filter((f) => /^refresh-\d{4}-\d{2}-\d{2}\.log$/.test(f));
  assert.ok(log.length >= 1, 'a dated log file is written');
});

test('--ids, --tfs, --periods, --tf-period-combos narrow what is written', async () => {
  const db = await sampleDb();
  const r = await talab(['--db', db, 'refresh', '--all', '--ids', String(MNT), '--tfs', '1D,7D,1W_CAL_ISO', '--periods', '6,9']);
  assert.equal(r.code, 0, r.out + r.err);
  await withStore(db, async (s) => {
    assert.equal(await count(s, 'SELECT count(DISTINCT id) AS n FROM price_bars_1d'), 1);
    assert.deepEqual((await s.query<{ tf: string }>('SELECT DISTINCT tf FROM price_bars_multi_tf ORDER BY tf')).map((x) => x.tf), ['7D']);
    assert.deepEqual((await s.query<{ tf: string }>('SELECT DISTINCT tf FROM price_bars_multi_tf_cal_iso ORDER BY tf')).map((x) => x.tf), ['1W_CAL_ISO']);
    assert.deepEqual((await s.query<{ p: number }>('SELECT DISTINCT period AS p FROM ema_multi_tf ORDER BY p')).map((x) => x.p), [6, 9]);
    assert.equal(await count(s, 'SELECT count(*) AS n FROM refresh_state'), 0, 'narrowed runs leave the state alone');
  });
  const c = await talab(['--db', db, 'refresh', '--emas', '--ids', String(MNT), '--tf-period-combos', '1D:10,7D:6', '--skip-stale-check']);
  assert.equal(c.code, 0, c.out + c.err);
  await withStore(db, async (s) => {
    const pairs = await s.query<{ tf: string; period: number }>("SELECT DISTINCT tf, period FROM ema_multi_tf WHERE tf IN ('1D', '7D') ORDER BY tf, period");
    // 1D:10 added; 1D:6 and 1D:9 from the earlier run untouched; 7D:6 cannot seed (27 days = 3 weekly bars).
    assert.deepEqual(pairs.map((p) => `${p.tf}:${p.period}`), ['1D:6', '1D:9', '1D:10']);
  });
});

test('--full-rebuild rebuilds current assets; a hand edit is seen by the source fingerprint, and by the lookback within its days', async () => {
  const db = await sampleDb();
  await talab(['--db', db, 'refresh', '--all', '--quiet']);
  const again = await talab(['--db', db, 'refresh', '--bars', '--verbose']);
  assert.match(again.out, /bars MNT \(27075\): current/);
  const full = await talab(['--db', db, 'refresh', '--bars', '--full-rebuild', '--ids', String(MNT), '--verbose']);
  assert.match(full.out, /bars MNT \(27075\): built — full rebuild/);
  // An edit made in the database, 2 days before the watermark, not through `talab import`.
  await withStore(db, (s) => s.exec(
    "UPDATE price_histories SET close = close * 1.01, high = high * 1.01 WHERE id = $1 AND ts = (SELECT max(ts) FROM price_histories WHERE id = $1) - INTERVAL 2 DAY", [MNT],
  ));
  // Outside a 1-day lookback, the source fingerprint still sees it; within a 3-day one, both do.
  const seen = await talab(['--db', db, 'refresh', '--bars', '--lookback-days', '1', '--verbose', '--ids', String(MNT)]);
  assert.match(seen.out, /bars MNT \(27075\): built — source changed outside import/, seen.out);
  await withStore(db, (s) => s.exec(
    "UPDATE price_histories SET close = close * 1.01, high = high * 1.01 WHERE id = $1 AND ts = (SELECT max(ts) FROM price_histories WHERE id = $1) - INTERVAL 2 DAY", [MNT],
  ));
  const both = await talab(['--db', db, 'refresh', '--bars', '--lookback-days', '3', '--verbose', '--ids', String(MNT)]);
  assert.match(both.out, /bars MNT \(27075\): built — changed within lookback, source changed outside import/, both.out);
  const after = await talab(['--db', db, 'refresh', '--bars', '--lookback-days', '3', '--verbose', '--ids', String(MNT)]);
  assert.match(after.out, /bars MNT \(27075\): current/, after.out);
});

test('stale check: EMAs wait for bars that lag the source; --staleness-hours and --skip-stale-check', async () => {
  const db = await sampleDb();
  await talab(['--db', db, 'refresh', '--all', '--quiet']);
  // One more source day for mantle, bars not refreshed: its bars lag the source by 24 h.
  await withStore(db, (s) => s.exec(
    `INSERT INTO price_histories (id, ts, time_open, time_close, time_high, time_low, open, high, low, close, volume, market_cap)
     SELECT id, ts + INTERVAL 1 DAY, time_open + INTERVAL 1 DAY, time_close + INTERVAL 1 DAY, time_high + INTERVAL 1 DAY,
            time_low + INTERVAL 1 DAY, open, high, low, close, volume, market_cap
     FROM price_histories WHERE id = $1 ORDER BY ts DESC LIMIT 1`, [MNT],
  ));
  const strict = await talab(['--db', db, 'refresh', '--emas', '--staleness-hours', '12']);
  assert.equal(strict.code, 0);
  assert.match(strict.out, /skipped MNT \(27075\): bars stale: 24 h behind the source's last day \(limit 12 h\)/);
  const lenient = await talab(['--db', db, 'refresh', '--emas', '--staleness-hours', '48', '--verbose']);
  assert.doesNotMatch(lenient.out, /skipped MNT/);
  const forced = await talab(['--db', db, 'refresh', '--emas', '--staleness-hours', '1', '--skip-stale-check', '--verbose']);
  assert.doesNotMatch(forced.out, /skipped MNT/);
});

test('one asset whose bars fail: only its EMAs are skipped, exit 1, named in summary and Telegram alert; --validate reports', async () => {
  const db = await sampleDb();
  const received: { path: string; body: { chat_id: string; text: string } }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, result: {} }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    // A second source row on one of mantle's days (an edit outside talab import): its 1D build cannot work.
    await withStore(db, (s) => s.exec(
      `INSERT INTO price_histories (id, ts, time_open, time_close, open, high, low, close, volume, market_cap)
       SELECT id, ts - INTERVAL 12 HOUR, time_open, time_close, open, high, low, close, volume, market_cap
       FROM price_histories WHERE id = $1 ORDER BY ts LIMIT 1`, [MNT],
    ));
    const env = { TELEGRAM_BOT_TOKEN: '123:SECRET', TELEGRAM_CHAT_ID: '42', TELEGRAM_API_BASE: `http://127.0.0.1:${port}` };
    const r = await talab(['--db', db, 'refresh', '--all', '--alert-on-error', '--validate'], env);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /FAILED MNT \(27075\): .*two rows on/);
    assert.match(r.out, /skipped MNT \(27075\): its bars failed in this run/);
    assert.match(r.out, /emas: 1 built, 0 current, 1 skipped, 0 failed/);
    assert.match(r.out, /refresh: FAILED \(exit 1\)/);
    assert.match(r.out, /FAIL|WARN/, 'the validation report follows');
    await withStore(db, async (s) => {
      assert.ok((await count(s, 'SELECT count(*) AS n FROM ema_multi_tf WHERE id = $1', [SOL])) > 0);
      assert.equal(await count(s, 'SELECT count(*) AS n FROM ema_multi_tf WHERE id = $1', [MNT]), 0);
    });
    assert.ok(received.length >= 1, 'an alert was sent');
    assert.equal(received[0].path, '/bot123:SECRET/sendMessage');
    assert.equal(received[0].body.chat_id, '42');
    assert.match(received[0].body.text, /talab refresh failed/);
    assert.match(received[0].body.text, /MNT \(27075\)/);
    const logs = readdirSync(join(tmpdir(), '.logs')).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(tmpdir(), '.logs', f), 'utf8')).join('');
    assert.doesNotMatch(logs, /SECRET/, 'the token never reaches the log');
  } finally {
    server.close();
  }
});

test('--jobs 2 gives the same tables as --jobs 1; --shard k/n splits the assets disjointly', async () => {
  const a = await sampleDb();
  const b = await sampleDb();
  assert.equal((await talab(['--db', a, 'refresh', '--all', '--quiet', '--jobs', '2'])).code, 0);
  assert.equal((await talab(['--db', b, 'refresh', '--all', '--quiet', '--jobs', '1'])).code, 0);
  const dump = (p: string) => withStore(p, (s) => s.query('SELECT id, tf, period, ts, ema, ema_bar FROM ema_multi_tf_cal_anchor_us ORDER BY id, tf, period, ts'));
  assert.deepEqual(await dump(a), await dump(b));
  const c = await sampleDb();
  const n = 3; // with 3 shards mantle and solana fall in different ones, so the split shows
  const expected = [MNT, SOL].filter((id) => shardOf(id, n) === 0).sort((x, y) => x - y);
  assert.equal(expected.length, 1);
  const s0 = await talab(['--db', c, 'refresh', '--bars', '--shard', `0/${n}`, '--verbose']);
  assert.equal(s0.code, 0);
  await withStore(c, async (s) => {
    const ids = (await s.query<{ id: number }>('SELECT DISTINCT id FROM price_bars_1d ORDER BY id')).map((x) => x.id);
    assert.deepEqual(ids, expected);
  });
  for (let k = 1; k < n; k++) await talab(['--db', c, 'refresh', '--bars', '--shard', `${k}/${n}`]);
  await withStore(c, async (s) => assert.equal(await count(s, 'SELECT count(DISTINCT id) AS n FROM price_bars_1d'), 2));
});

test('--resume continues an unfinished --full-rebuild run, skipping the assets it completed', async () => {
  const path = await sampleDb();
  await withStore(path, async (s) => {
    await runRefresh(s, { components: ['bars', 'emas'] });
    // A run that rebuilt mantle, then died: mark it running again as if the process was killed there.
    const r = await runRefresh(s, { components: ['bars', 'emas'], fullRebuild: true, ids: [MNT] });
    await s.exec("UPDATE refresh_runs SET status = 'running', finished_at = NULL WHERE run_id = $1", [r.runId]);
    const resumed = await runRefresh(s, { components: ['bars', 'emas'], fullRebuild: true, ids: [MNT], resume: true });
    assert.equal(resumed.runId, r.runId);
    assert.deepEqual(resumed.components.map((c) => c.assets[0].reason), ['done earlier in the resumed run', 'done earlier in the resumed run']);
    const fresh = await runRefresh(s, { components: ['bars'], fullRebuild: true, ids: [MNT], resume: true });
    assert.notEqual(fresh.runId, r.runId, 'a finished run is not resumed');
    assert.equal(fresh.components[0].assets[0].status, 'built');
  });
});

test('--continue-on-error: a step that fails as a whole stops the run unless given', async () => {
  const path = await sampleDb();
  await withStore(path, async (real) => {
    // A session whose connection "drops" once the EMA step starts reading.
    let emaStarted = false;
    const flaky: Store = Object.create(real);
    flaky.query = async (sql, params) => {
      if (emaStarted && /price_bars_1d/.test(sql)) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
      return real.query(sql, params);
    };
    const events: string[] = [];
    const stop = await runRefresh(flaky, {
      components: ['bars', 'emas'],
      onEvent: (e) => { if (e.kind === 'start') { emaStarted = e.component === 'emas'; events.push(e.component); } },
    });
    assert.equal(stop.ok, false);
    assert.match(stop.components[1].error ?? '', /Connection terminated/);
    assert.equal(stop.components[1].assets.filter((a) => a.status === 'failed').length, 0, 'not blamed on an asset');
    // With bars first failing as a whole, the EMA step is not run without --continue-on-error …
    let barsRunning = false;
    const broken: Store = Object.create(real);
    broken.query = async (sql, params) => {
      if (barsRunning && /FROM price_histories WHERE id/.test(sql)) throw Object.assign(new Error('Connection terminated'), { code: '57P01' });
      return real.query(sql, params);
    };
    const onEvent = (e: RefreshEvent) => { if (e.kind === 'start') barsRunning = e.component === 'bars'; };
    const halted = await runRefresh(broken, { components: ['bars', 'emas'], fullRebuild: true, onEvent });
    assert.match(halted.components[1].error ?? '', /not run: the bars step failed/);
    // … and is with it.
    const goOn = await runRefresh(broken, { components: ['bars', 'emas'], fullRebuild: true, continueOnError: true, skipStaleCheck: true, onEvent });
    assert.equal(goOn.components[1].error, undefined);
    assert.ok(goOn.components[1].assets.length === 2);
  });
});

test('DuckDB: a refresh while another process reads the file fails fast, naming that process; other readers go on', async () => {
  const db = await sampleDb();
  // Another process holding the database open read-only, as a notebook would.
  const holder = spawn(process.execPath, ['--import', TSX, '-e', `
    const { openStore } = await import(${JSON.stringify(resolve(import.meta.dirname, '../src/store/open.ts'))});
    await openStore(${JSON.stringify(db)}, { readOnlyRetryMs: 0 });
    console.log('open');
    setTimeout(() => process.exit(0), 60000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res) => holder.stdout.on('data', (d) => String(d).includes('open') && res()));
  try {
    const t0 = Date.now();
    const r = await talab(['--db', db, 'refresh', '--all']);
    assert.equal(r.code, 3, r.out + r.err); // locked database: exit 3, not a component failure
    assert.match(r.err, new RegExp(`is in use by another process \\(pid ${holder.pid}, [^)]+\\): talab can write only while no other program has the file open\\. Close it there`));
    assert.doesNotMatch(r.err, /one writer/);
    assert.ok(Date.now() - t0 < 15_000, 'fails fast');
    // Readers share the file: an export runs beside the holder.
    const x = await runInProcess(registerExport, ['--db', db, 'export', '--tf', '1D', '--symbol', 'MNT']);
    assert.equal(x.code, 0, x.out);
    assert.match(x.out, /^family,id,symbol,tf,day,ts,/);
  } finally {
    holder.kill('SIGKILL');
  }
});
