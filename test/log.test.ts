// The refresh log file: dated name, JSON lines, on disk before a hard exit, rotation of old files only,
// credentials redacted from keys, messages and errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createFileLogger, logFileName, openDailyLog, redactSecrets, rotateLogs } from '../src/ops/log.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'talab-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('file logger', () => {
  test('writes JSON lines to <dir>/refresh-YYYY-MM-DD.log (UTC date), appending', () => {
    const logDir = join(dir, 'nested', '.logs');
    const date = new Date('2024-03-05T23:30:00Z');
    const a = createFileLogger({ dir: logDir, date, base: { cmd: 'refresh' } });
    assert.equal(a.file, join(logDir, 'refresh-2024-03-05.log'));
    a.logger.info({ component: 'bars', assets: 3 }, 'bars: start');
    a.logger.debug('detail');
    a.logger.error(new Error('boom'), 'asset 7 failed');
    a.close();
    a.close();
    a.logger.info('after close is dropped');
    const b = createFileLogger({ dir: logDir, date, level: 'info' });
    b.logger.debug('not at info');
    b.logger.warn('second run');
    b.close();
    const got = lines(a.file);
    assert.deepEqual(got.map((l) => [l.level, l.msg]), [[30, 'bars: start'], [20, 'detail'], [50, 'asset 7 failed'], [40, 'second run']]);
    assert.equal(got[0].component, 'bars');
    assert.equal(got[0].assets, 3);
    assert.equal(got[0].cmd, 'refresh');
    assert.equal(typeof got[0].time, 'number');
    assert.equal((got[2].err as { message: string }).message, 'boom');
    assert.equal(logFileName(new Date('2024-12-31T23:59:59.999Z'), 'x-'), 'x-2024-12-31.log');
  });

  test('defaults to .logs under the current directory', () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const l = createFileLogger();
      l.logger.info('here');
      l.close();
      assert.equal(l.file, join(dir, '.logs', logFileName()));
      assert.equal(lines(l.file)[0].msg, 'here');
    } finally {
      process.chdir(cwd);
    }
  });

  test('a line logged right before process.exit is on disk', () => {
    const script = join(dir, 'exit.mjs');
    const logUrl = pathToFileURL(join(import.meta.dirname, '../src/ops/log.ts')).href;
    writeFileSync(script, [
      `const { createFileLogger } = await import(${JSON.stringify(logUrl)});`,
      `const l = createFileLogger({ dir: ${JSON.stringify(dir)}, date: new Date('2024-01-02T00:00:00Z') });`,
      `for (let i = 0; i < 200; i++) l.logger.info({ i }, 'line ' + i);`,
      `l.logger.fatal('last words');`,
      'process.exit(3);',
    ].join('\n'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' });
    assert.equal(r.status, 3, r.stderr);
    const got = lines(join(dir, 'refresh-2024-01-02.log'));
    assert.equal(got.length, 201);
    assert.equal(got[200].msg, 'last words');
  });

  test('optionally mirrors info and above to stderr as human lines', () => {
    const err: string[] = [];
    const l = createFileLogger({ dir, mirrorToStderr: 'info', stderr: { write: (s: string) => err.push(s) } });
    l.logger.debug('quiet');
    l.logger.info({ id: 5 }, 'loud');
    l.logger.warn('louder');
    l.close();
    assert.equal(err.length, 2);
    assert.match(err[0], /^\d\d:\d\d:\d\d INFO loud id=5\n$/);
    assert.match(err[1], /WARN louder/);
    assert.equal(lines(l.file).length, 3);
  });

  test('credentials are redacted from keys, messages, objects and errors; lines stay JSON', () => {
    const token = '987654321:AAF-very_secret_bot_token_0123456789';
    const prev = process.env.TELEGRAM_BOT_TOKEN;
    process.env.TELEGRAM_BOT_TOKEN = token;
    try {
      const l = createFileLogger({ dir, secrets: ['s3cr3t-extra'] });
      const url = 'postgres://talab:hunter2@db.example:5432/prod';
      l.logger.info({ db: url, password: 'hunter2', conn: { password: 'hunter2', host: 'db' } }, `opened ${url}`);
      l.logger.error(new Error(`connect ${url} failed: password authentication failed`), 'refresh aborted');
      l.logger.warn({ url: `https://api.telegram.org/bot${token}/sendMessage` }, `telegram token ${token} rejected`);
      l.logger.info({ token }, 'host=db password=hunter2 dbname=prod and s3cr3t-extra');
      l.logger.info({ q: 'quote " inside', tricky: 'password=abc\\" x' }, 'escapes');
      l.close();
      const text = readFileSync(l.file, 'utf8');
      for (const secret of ['hunter2', token, token.split(':')[1], 's3cr3t-extra', 'abc']) {
        assert.ok(!text.includes(secret), `${secret} leaked:\n${text}`);
      }
      const got = lines(l.file);
      assert.equal(got.length, 5);
      assert.equal(got[0].db, 'postgres://talab:***@db.example:5432/prod');
      assert.equal(got[0].msg, 'opened postgres://talab:***@db.example:5432/prod');
      assert.equal(got[0].password, '***');
      assert.deepEqual(got[0].conn, { password: '***', host: 'db' });
      assert.match((got[1].err as { message: string }).message, /connect postgres:\/\/talab:\*\*\*@db\.example:5432\/prod failed/);
      assert.match((got[1].err as { stack: string }).stack, /talab:\*\*\*@/);
      assert.equal(got[2].url, 'https://api.telegram.org/bot***/sendMessage');
      assert.equal(got[2].msg, 'telegram token *** rejected');
      assert.equal(got[3].token, '***');
      assert.equal(got[3].msg, 'host=db password=*** dbname=prod and ***');
      assert.equal(got[4].q, 'quote " inside');
    } finally {
      if (prev === undefined) delete process.env.TELEGRAM_BOT_TOKEN;
      else process.env.TELEGRAM_BOT_TOKEN = prev;
    }
  });

  test('redactSecrets on plain text', () => {
    assert.equal(redactSecrets('postgresql://u:p%40ss@h/db and mysql://a:b@c', []), 'postgresql://u:***@h/db and mysql://a:***@c');
    assert.equal(redactSecrets('postgres://u@h/db http://127.0.0.1:8080/x', []), 'postgres://u@h/db http://127.0.0.1:8080/x');
    assert.equal(redactSecrets("password='a b' user=x", []), 'password=*** user=x');
    assert.equal(redactSecrets('POST /bot12345:abc/sendMessage', []), 'POST /bot***/sendMessage');
    assert.equal(redactSecrets('token 1234567:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123 end', []), 'token bot*** end');
    assert.equal(redactSecrets('literal MySecret here', ['MySecret', '', undefined, 'ab']), 'literal *** here');
  });
});

describe('rotateLogs', () => {
  const DAY = 86_400_000;
  const touch = (name: string, ageDays: number, now: number) => {
    const p = join(dir, name);
    writeFileSync(p, 'x\n');
    const t = new Date(now - ageDays * DAY);
    utimesSync(p, t, t);
    return p;
  };

  test('removes only <prefix>*.log files older than maxAgeDays, by mtime', () => {
    const now = Date.now();
    touch('refresh-2020-01-01.log', 40, now);
    touch('refresh-2024-05-01.log', 31, now);
    touch('refresh-recent-but-old-name-2019-01-01.log', 2, now);
    touch('refresh-29-days.log', 29, now);
    touch('other-2020-01-01.log', 90, now);
    touch('refresh-2020-01-01.txt', 90, now);
    touch('refresh-2020-01-01.log.gz', 90, now);
    mkdirSync(join(dir, 'refresh-dir.log'));
    const old = new Date(now - 90 * DAY);
    utimesSync(join(dir, 'refresh-dir.log'), old, old);
    const r = rotateLogs(dir);
    assert.deepEqual(r.removed.map((p) => p.slice(dir.length + 1)).sort(), ['refresh-2020-01-01.log', 'refresh-2024-05-01.log']);
    assert.deepEqual(r.failed, []);
    assert.deepEqual(readdirSync(dir).sort(), [
      'other-2020-01-01.log', 'refresh-2020-01-01.log.gz', 'refresh-2020-01-01.txt', 'refresh-29-days.log', 'refresh-dir.log',
      'refresh-recent-but-old-name-2019-01-01.log',
    ]);
  });

  test('prefix and age are parameters; a missing directory removes nothing; a bad age is an error', () => {
    const now = Date.now();
    touch('ingest-a.log', 8, now);
    touch('ingest-b.log', 6, now);
    touch('refresh-c.log', 8, now);
    const r = rotateLogs(dir, 'ingest-', 7, now);
    assert.deepEqual(r.removed, [join(dir, 'ingest-a.log')]);
    assert.ok(existsSync(join(dir, 'refresh-c.log')));
    assert.deepEqual(rotateLogs(join(dir, 'nope')), { removed: [], failed: [] });
    assert.throws(() => rotateLogs(dir, 'refresh-', 0), /maxAgeDays must be a positive number/);
    assert.throws(() => rotateLogs(dir, 'refresh-', Number.NaN), /maxAgeDays/);
  });

  test('openDailyLog rotates, opens today\'s file and records what it removed', () => {
    const now = Date.now();
    const old = touch('refresh-2000-01-01.log', 45, now);
    const l = openDailyLog({ dir, date: new Date('2024-06-01T10:00:00Z') });
    l.close();
    assert.deepEqual(l.rotated.removed, [old]);
    assert.equal(l.file, join(dir, 'refresh-2024-06-01.log'));
    assert.equal(lines(l.file)[0].msg, 'log rotation removed 1 old file(s)');
  });
});
