// The operator surface of the daily job through the real CLI: freshness (exit 1 and a webhook alert when a
// source stops), `talab daily` moving inbox files to done/ or failed/ and alerting on a failed import, the
// webhook alerter's retries, and the --json outputs held to docs/schemas.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { importFile } from '../src/importer/import.js';
import { runRefresh, type RefreshEvent } from '../src/refresh/runner.js';
import { webhookBody, createWebhookAlerter } from '../src/ops/webhook.js';
import { engineTest, SAMPLE, type TestDb } from './helpers/engines.js';
import { validateJson } from './helpers/json-schema.js';

const CLI = resolve(import.meta.dirname, '../src/cli/main.ts');
const TSX = import.meta.resolve('tsx');
const SCHEMAS = resolve(import.meta.dirname, '../docs/schemas');
const schema = (name: string) => JSON.parse(readFileSync(join(SCHEMAS, `${name}.schema.json`), 'utf8'));
// mantle.csv's newest day.
const MANTLE_LAST = '2024-05-01';

interface Run { code: number | null; out: string; err: string }

function talab(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      env: { ...process.env, TZ: 'UTC', TELEGRAM_BOT_TOKEN: '', TELEGRAM_CHAT_ID: '', TALAB_ALERT_WEBHOOK_URL: '', ...env },
      cwd: tmpdir(),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => res({ code, out, err }));
  });
}

const dbOf = (db: TestDb) => (db.pgSchema
  ? `${db.dbArg}${db.dbArg.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${db.pgSchema}`)}`
  : db.dbArg);

/** A local HTTP receiver on a free port; `statuses` are answered in turn (then 200). */
async function receiver(statuses: number[] = []) {
  const bodies: unknown[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      bodies.push(JSON.parse(data));
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, bodies, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('webhook body: Slack text and ntfy fields for the same alert', () => {
  const b = webhookBody('critical', 'talab freshness: 1 of 1 stale', ['mantle (27075): newest day 2024-05-01'], 'ops');
  assert.match(b.text, /^🔴 talab freshness: 1 of 1 stale\nmantle/);
  assert.equal(b.topic, 'ops');
  assert.equal(b.priority, 5);
  assert.equal(b.message, 'mantle (27075): newest day 2024-05-01');
  assert.equal(webhookBody('warning', 't', []).topic, undefined);
});

test('webhook alerter: retries a 5xx, gives up at once on a 404, honours the level, never throws', async () => {
  const rx = await receiver([503, 200, 404]);
  try {
    const a = createWebhookAlerter({ TALAB_ALERT_WEBHOOK_URL: rx.url }, { baseDelayMs: 10 });
    assert.deepEqual(await a.send('critical', 'first'), { sent: true, attempts: 2 });
    const r = await a.send('warning', 'second');
    assert.equal(r.sent, false);
    assert.equal(r.attempts, 1);
    assert.match(r.error!, /HTTP 404/);
    assert.doesNotMatch(r.error!, /\/hook/, 'the webhook path is a secret');
    assert.equal((await a.send('info', 'below the level')).skipped, 'info is below TALAB_ALERT_LEVEL warning');
    assert.equal(rx.bodies.length, 3);
    const bad = createWebhookAlerter({ TALAB_ALERT_WEBHOOK_URL: 'ftp://x' });
    assert.equal(bad.enabled, false);
    assert.match(bad.configErrors[0], /not an http\(s\) URL/);
  } finally {
    await rx.close();
  }
  const down = createWebhookAlerter({ TALAB_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/x' }, { baseDelayMs: 5, maxAttempts: 2 });
  const r = await down.send('critical', 'nobody listens');
  assert.equal(r.sent, false);
  assert.equal(r.attempts, 2);
});

engineTest('freshness: ok when recent, exit 1 and a webhook alert when the newest day is too old; --json fits its schema', async (db) => {
  await db.store.close();
  const rx = await receiver();
  try {
    const imp = await talab(['--db', dbOf(db), 'import', '--json', join(SAMPLE, 'mantle.csv'), join(SAMPLE, 'missing.csv')]);
    assert.equal(imp.code, 1, imp.err);
    const ij = JSON.parse(imp.out);
    assert.deepEqual(validateJson(ij, schema('import')), []);
    assert.equal(ij.totals.imported, 1);
    assert.equal(ij.files[0].last_day, MANTLE_LAST);
    assert.match(ij.failures[0].file, /missing\.csv/);

    const rf = await talab(['--db', dbOf(db), 'refresh', '--all', '--jobs', '2', '--validate', '--max-age-days', '100000', '--json', '--log-dir', join(tmpdir(), 'talab-logs')]);
    assert.equal(rf.code, 0, rf.err);
    const rfj = JSON.parse(rf.out);
    assert.deepEqual(validateJson(rfj, schema('refresh')), []);
    assert.equal(rfj.refresh.components[1].counts.built, 1);
    assert.equal(rfj.freshness.ok, true);

    // validate and status --json: one key style everywhere (their shapes are described in docs/json.md).
    for (const cmd of ['validate', 'status']) {
      const r = await talab(['--db', dbOf(db), cmd, '--json']);
      assert.equal(r.code, 0, r.err);
      const camel: string[] = [];
      const walk = (v: unknown, path: string): void => {
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) {
          if (!/^[a-z0-9_]+$/.test(k)) camel.push(`${path}.${k}`);
          walk(x, `${path}.${k}`);
        }
      };
      walk(JSON.parse(r.out), '$');
      assert.deepEqual(camel, [], `${cmd} --json keys`);
    }

    const bl = await talab(['--db', dbOf(db), 'baseline', '--json', '--output-dir', mkdtempSync(join(tmpdir(), 'talab-bl-'))]);
    assert.equal(bl.code, 0, bl.err);
    const blj = JSON.parse(bl.out);
    assert.deepEqual(validateJson(blj, schema('baseline')), []);
    assert.equal(blj.result, 'PASS');
    assert.equal(blj.tables.length, 12);

    const ok = await talab(['--db', dbOf(db), 'freshness', '--max-age-days', '2', '--as-of', '2024-05-03', '--alert'], { TALAB_ALERT_WEBHOOK_URL: rx.url });
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /freshness: ok/);
    assert.equal(rx.bodies.length, 0);

    const stale = await talab(['--db', dbOf(db), 'freshness', '--max-age-days', '2', '--as-of', '2024-05-04', '--alert', '--json'], { TALAB_ALERT_WEBHOOK_URL: rx.url });
    assert.equal(stale.code, 1, stale.err);
    const j = JSON.parse(stale.out);
    assert.deepEqual(validateJson(j, schema('freshness')), []);
    assert.equal(j.stale, 1);
    assert.deepEqual(j.results[0], { id: j.results[0].id, symbol: j.results[0].symbol, last_day: MANTLE_LAST, age_days: 3, stale: true });
    assert.deepEqual(j.alerts.map((a: { channel: string; sent: boolean }) => [a.channel, a.sent]), [['webhook', true]]);
    assert.equal(rx.bodies.length, 1);
    const body = rx.bodies[0] as { text: string; severity: string };
    assert.equal(body.severity, 'critical');
    assert.match(body.text, /1 of 1 asset\(s\) older than 2 day\(s\) on 2024-05-04/);
    assert.match(body.text, /newest day 2024-05-01, 3 day\(s\) old/);

    const bad = await talab(['--db', dbOf(db), 'freshness', '--max-age-days', 'x']);
    assert.equal(bad.code, 2);
  } finally {
    await rx.close();
  }
});

engineTest('daily: inbox files to done/ and failed/, refresh, validate, freshness; a failed import alerts and exits 1', async (db) => {
  await db.store.close();
  const inbox = mkdtempSync(join(tmpdir(), 'talab-inbox-'));
  copyFileSync(join(SAMPLE, 'mantle.csv'), join(inbox, 'mantle.csv'));
  writeFileSync(join(inbox, 'broken.csv'), 'this is not,an export\n1,2\n');
  writeFileSync(join(inbox, 'notes.txt'), 'not a source file');
  const rx = await receiver();
  try {
    const r = await talab(['--db', dbOf(db), 'daily', '--inbox', inbox, '--as-of', '2024-05-02', '--jobs', '2', '--log-dir', join(inbox, '.logs'), '--json'],
      { TALAB_ALERT_WEBHOOK_URL: rx.url });
    assert.equal(r.code, 1, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(validateJson(j, schema('daily')), []);
    assert.deepEqual(j.imports.map((i: { file: string; status: string }) => [i.file, i.status]), [['broken.csv', 'failed'], ['mantle.csv', 'imported']]);
    assert.ok(j.imports[1].inserted > 200);
    assert.equal(j.refresh.ok, true);
    assert.equal(j.refresh.components[0].counts.built, 1);
    assert.equal(j.freshness.ok, true);
    assert.deepEqual(readdirSync(inbox).sort(), ['.logs', 'done', 'failed', 'notes.txt']);
    const [stamp] = readdirSync(join(inbox, 'done'));
    assert.match(stamp, /^\d{8}T\d{6}Z$/);
    assert.ok(existsSync(join(inbox, 'done', stamp, 'mantle.csv')));
    assert.ok(existsSync(join(inbox, 'failed', stamp, 'broken.csv')));
    const texts = rx.bodies.map((b) => (b as { text: string }).text);
    assert.ok(texts.some((t) => /1 inbox file\(s\) failed to import/.test(t) && /broken\.csv/.test(t)), texts.join('\n---\n'));

    // Nothing new, the data still fresh enough: a clean run, exit 0; then the same data judged later is stale.
    const again = await talab(['--db', dbOf(db), 'daily', '--inbox', inbox, '--as-of', '2024-05-03', '--log-dir', join(inbox, '.logs')]);
    assert.equal(again.code, 0, again.out + again.err);
    assert.match(again.out, /no new files/);
    assert.match(again.out, /daily: ok/);
    const late = await talab(['--db', dbOf(db), 'daily', '--inbox', inbox, '--as-of', '2024-05-10', '--log-dir', join(inbox, '.logs')], { TALAB_ALERT_WEBHOOK_URL: rx.url });
    assert.equal(late.code, 1);
    assert.match(late.out, /STALE/);
    assert.match((rx.bodies.at(-1) as { text: string }).text, /older than 2 day/);

    const runs = await talab(['--db', dbOf(db), 'runs', '--json']);
    assert.equal(runs.code, 0, runs.err);
    const rj = JSON.parse(runs.out);
    assert.deepEqual(validateJson(rj, schema('runs')), []);
    assert.deepEqual(rj.runs.map((x: { kind: string; status: string }) => `${x.kind}:${x.status}`),
      // Newest start first: each daily run started before the refresh it ran.
      ['refresh:finished', 'daily:failed', 'refresh:finished', 'daily:finished', 'refresh:finished', 'daily:failed']);
    assert.ok(rj.runs[4].rows > 0);
    assert.ok(rj.runs[5].rows > rj.runs[4].rows, 'a daily run counts imported and refreshed rows');
    assert.match(rj.runs[5].detail, /import broken\.csv/);

    const missing = await talab(['--db', dbOf(db), 'daily', '--inbox', join(inbox, 'nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no such directory/);
  } finally {
    await rx.close();
  }
});

engineTest('refresh events: each asset reported when its computation finishes, before the group commit, then a commit event', async (db) => {
  await importFile(db.store, join(SAMPLE, 'mantle.csv'));
  await importFile(db.store, join(SAMPLE, 'ethereum.csv'));
  for (const jobs of [1, 2]) {
    const events: RefreshEvent[] = [];
    const s = await runRefresh(db.store, { components: ['bars', 'emas'], fullRebuild: true, jobs, onEvent: (e) => events.push(e) });
    assert.ok(s.ok);
    for (const c of ['bars', 'emas'] as const) {
      const mine = events.filter((e) => e.component === c);
      const computed = mine.filter((e) => e.kind === 'computed').map((e) => (e as { id: number }).id).sort();
      const reported = mine.filter((e) => e.kind === 'asset').map((e) => (e as { id: number }).id).sort();
      assert.deepEqual(computed, reported, `${c}: every asset computed once`);
      for (const e of mine.filter((x) => x.kind === 'asset')) {
        const id = (e as { id: number }).id;
        assert.ok(mine.findIndex((x) => x.kind === 'computed' && x.id === id) < mine.indexOf(e), `${c} ${id}: computed before committed`);
      }
      const commits = mine.filter((e) => e.kind === 'commit') as Extract<RefreshEvent, { kind: 'commit' }>[];
      assert.ok(commits.length >= 1, `${c}: a commit event`);
      assert.equal(commits.reduce((n, e) => n + e.assets, 0), reported.length);
      assert.equal(commits.reduce((n, e) => n + e.rows, 0), Object.values(s.components.find((x) => x.component === c)!.rows).reduce((a, b) => a + b, 0));
    }
  }
});
