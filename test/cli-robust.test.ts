// The unattended command line: what --db may name, refusing a missing database, exit codes (0 ok, 1 failure,
// 2 usage, 3 database unreachable/locked), one-line usage errors checked before any write, a log that cannot
// be written, and passwords kept out of every message.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { redactSecrets } from '../src/ops/log.js';
import { redactUrl } from '../src/util/redact.js';
import { printable } from '../src/util/text.js';
import { PG_URL, SAMPLE } from './helpers/engines.js';

const CLI = resolve(import.meta.dirname, '../src/cli/main.ts');
const TSX = import.meta.resolve('tsx');

interface Run { code: number | null; out: string; err: string }

function talab(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { env: { ...process.env, TZ: 'UTC', TALAB_DB: '', ...env }, cwd: cwd ?? tmpdir() });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => res({ code, out, err }));
  });
}

/** A usage error: exit 2, a short message, no stack trace. */
function usage(r: Run, what: RegExp): void {
  assert.equal(r.code, 2, `exit 2 expected, got ${r.code}: ${r.err}`);
  assert.match(r.err, what);
  assert.doesNotMatch(r.err, /\n\s+at .+:\d+:\d+/, `no stack trace: ${r.err}`);
  assert.doesNotMatch(r.err, /internal error/);
}

const dir = mkdtempSync(join(tmpdir(), 'talab-robust-'));
const DB = join(dir, 'db.duckdb');

test('a database is made by import (or init) only; --db must name a DuckDB file or a postgres URL', async () => {
  const csv = join(dir, 'prices.csv');
  writeFileSync(csv, 'a,b\n1,2\n');
  usage(await talab(['--db', csv, 'import', join(SAMPLE, 'mantle.csv')]), /not a DuckDB database/);
  usage(await talab(['--db', join(dir, 'new.parquet'), 'init']), /must be named \*\.duckdb or \*\.db/);
  const refused = await Promise.all([['status'], ['validate'], ['refresh', '--all'], ['baseline'], ['features', 'show']]
    .map((cmd) => talab(['--db', join(dir, 'missing.duckdb'), ...cmd])));
  for (const r of refused) usage(r, /no database at .*missing\.duckdb.*talab init/);
  assert.ok(!existsSync(join(dir, 'missing.duckdb')), 'a refused command creates nothing');
  // Run from a directory without a database and TALAB_DB unset: refused, not a new empty database.
  const empty = mkdtempSync(join(tmpdir(), 'talab-cwd-'));
  usage(await talab(['refresh', '--all'], {}, empty), /no database at/);
  assert.deepEqual(readdirSync(empty).filter((f) => f.endsWith('.duckdb')), []);

  const imp = await talab(['--db', DB, 'import', join(SAMPLE, 'mantle.csv')]);
  assert.equal(imp.code, 0, imp.err);
  const init = await talab(['--db', join(dir, 'empty.duckdb'), 'init']);
  assert.equal(init.code, 0, init.err);
  // An empty database: nothing to refresh or validate is a failure (exit 1), not "ok".
  const r = await talab(['--db', join(dir, 'empty.duckdb'), 'refresh', '--all']);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /no assets with price history/);
  const v = await talab(['--db', join(dir, 'empty.duckdb'), 'validate']);
  assert.equal(v.code, 1, v.err);
  // Unknown ids are a usage error, as in validate and baseline.
  usage(await talab(['--db', DB, 'refresh', '--all', '--ids', '999999']), /unknown asset id\(s\) 999999/);
});

test('out-of-range numbers and unwritable outputs: one-line usage errors before any write', async () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const before = readdirSync(dir).sort();
  const cases: [string[], RegExp][] = [
    [['import', '--id', '2147483648', join(SAMPLE, 'mantle.csv')], /--id must be ≤ 2147483647/],
    [['validate', '--examples', '99999999999999999999'], /--examples must be ≤/],
    [['features', 'show', '--limit', '99999999999999999999'], /--limit must be ≤/],
    [['refresh', '--all', '--lookback-days', '99999999999'], /--lookback-days must be ≤/],
    [['refresh', '--emas', '--periods', '10,99999999999'], /period 99999999999 is beyond/],
    [['baseline', '--sample-beginning', '99999999999'], /--sample-beginning must be ≤/],
    [['import', '--rejects-out', join(dir, 'no/such/dir/r.csv'), join(SAMPLE, 'mantle.csv')], /directory .* does not exist/],
    [['features', 'build', '--report-out', join(dir, 'nodir/r.json')], /does not exist/],
    [['features', 'build', '--out', join(dir, 'nodir/f.csv')], /does not exist/],
    [['refresh', '--all', '--log-dir', file], /is a file, not a directory/],
    [['refresh', '--all', '--log-dir', '/proc/x'], /cannot create directory \/proc\/x/],
    [['baseline', '--output-dir', '/proc/x'], /cannot create directory \/proc\/x/],
  ];
  // Two at a time: each is a process start, and none may touch what another reads.
  for (let i = 0; i < cases.length; i += 2) {
    const batch = cases.slice(i, i + 2);
    const runs = await Promise.all(batch.map(([args]) => talab(['--db', DB, ...args])));
    runs.forEach((r, k) => usage(r, batch[k][1]));
  }
  assert.deepEqual(readdirSync(dir).sort(), before, 'nothing was written');
  const st = await talab(['--db', DB, 'status']);
  assert.equal(st.code, 0, st.err);
  assert.match(st.out, /MNT/);
  assert.doesNotMatch(st.out, /bars_1d\s+[1-9]/, 'no refresh ran');
});

test('a log that cannot be written warns once; the refresh still completes', async () => {
  const logs = join(dir, 'logs-full');
  mkdirSync(logs);
  symlinkSync('/dev/full', join(logs, `refresh-${new Date().toISOString().slice(0, 10)}.log`));
  const t0 = Date.now();
  const r = await talab(['--db', DB, 'refresh', '--bars', '--quiet', '--log-dir', logs]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /refresh: ok/);
  assert.equal(r.err.match(/cannot write the log/g)?.length, 1, r.err);
  assert.ok(Date.now() - t0 < 60_000);
});

test('passwords are hidden in every URL form the driver accepts', () => {
  const forms: [string, string][] = [
    ['postgres://u:s3cret@h:5432/db', 'postgres://u:***@h:5432/db'],
    ['postgres://u:pa@ss3cret@h/db', 'postgres://u:***@h/db'],
    ['postgres://u@h/db?password=s3cret&sslmode=disable', 'postgres://u@h/db?password=***&sslmode=disable'],
    ['postgresql://h/db?sslmode=disable&password=s3cret', 'postgresql://h/db?sslmode=disable&password=***'],
    ["host=h user=u password='s3 cret' dbname=db", 'host=h user=u password=*** dbname=db'],
  ];
  for (const [url, want] of forms) {
    assert.equal(redactUrl(url), want);
    assert.doesNotMatch(redactSecrets(`failed: ${url} gone`), /s3cret|s3 cret|ss3cret/);
  }
  assert.equal(printable('bad \u001b[2J\u0000byte'), 'bad \\x1b[2J\\x00byte');
});

test('PostgreSQL URL mistakes are usage errors; an unreachable server is exit 3', { skip: !PG_URL && 'TALAB_TEST_PG not set' }, async () => {
  const u = new URL(PG_URL!);
  const abc = `${u.protocol}//${u.username}${u.password ? ':' + u.password : ''}@${u.hostname}:abc${u.pathname}`;
  usage(await talab(['--db', abc, 'status']), /invalid PostgreSQL URL/);
  const sep = PG_URL!.includes('?') ? '&' : '?';
  usage(await talab(['--db', `${PG_URL}${sep}options=${encodeURIComponent('-c search_path=no_such_schema_x')}`, 'init']), /search_path .* names no existing schema/);
  const down = await talab(['--db', `${u.protocol}//${u.username}:s3cretpw@127.0.0.1:1${u.pathname}`, 'status']);
  assert.equal(down.code, 3, down.err);
  assert.match(down.err, /cannot connect to PostgreSQL/);
  assert.doesNotMatch(down.err, /s3cretpw/);
});
