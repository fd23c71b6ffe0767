// The Telegram alerter against a local stand-in for the Bot API (node:http on 127.0.0.1, port 0; no external
// network): delivery, retries on 5xx / 429 / network errors but not on other 4xx, retry_after, a server that
// never answers (bounded by the deadline), the severity filter, HTML escaping, and the token kept out of
// every result, error and log line.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  createAlerter, escapeHtml, formatAlertText, formatRefreshFailure, formatValidationFailure, MAX_MESSAGE_CHARS,
  type AlertLog, type AlerterOptions,
} from '../src/ops/telegram.js';

const TOKEN = '123456789:AAHk-SECRET_token_value_abcdefghijklmno';
const CHAT = '-100200300';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
interface Seen {
  method: string;
  url: string;
  body: Record<string, unknown>;
}

let server: Server;
let base: string;
let handlers: Handler[] = [];
let seen: Seen[] = [];
/** Requests left hanging by the "never answers" handler, released at the end. */
const hanging: ServerResponse[] = [];

const reply = (status: number, json: unknown, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(json));
};
const OK = reply(200, { ok: true, result: { message_id: 1 } });
const hang: Handler = (_req, res) => {
  hanging.push(res);
};

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body: body ? JSON.parse(body) : {} });
      const h = handlers.shift() ?? reply(599, { ok: false, description: 'test server: no handler left' });
      h(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const r of hanging) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  handlers = [];
  seen = [];
});

/** Everything the alerter logged, as text, to search for the token. */
function capture(): { log: AlertLog; lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (obj: object, msg: string) => lines.push(`${level} ${JSON.stringify(obj)} ${msg}`);
  return { log: { debug: rec('debug'), info: rec('info'), warn: rec('warn') }, lines };
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: CHAT, TELEGRAM_API_BASE: base, ...extra };
}

const fast: AlerterOptions = { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 2_000, deadlineMs: 5_000 };
const allText: string[] = [];
function noToken(...texts: (string | undefined)[]): void {
  for (const t of texts) {
    if (t === undefined) continue;
    allText.push(t);
    assert.ok(!t.includes(TOKEN), `token leaked: ${t}`);
    assert.ok(!t.includes(TOKEN.split(':')[1]), `token secret part leaked: ${t}`);
  }
}

describe('telegram alerter', () => {
  test('sends one POST to /bot<token>/sendMessage with the Bot API JSON body', async () => {
    handlers = [OK];
    const { log, lines } = capture();
    const a = createAlerter(env(), { ...fast, log });
    assert.equal(a.enabled, true);
    const r = await a.send('critical', 'refresh failed', ['bars: 2 asset(s)']);
    assert.deepEqual(r, { sent: true, attempts: 1 });
    assert.equal(seen.length, 1);
    assert.equal(seen[0].method, 'POST');
    assert.equal(seen[0].url, `/bot${TOKEN}/sendMessage`);
    assert.deepEqual(seen[0].body, {
      chat_id: CHAT, text: '🔴 <b>refresh failed</b>\n\nbars: 2 asset(s)', parse_mode: 'HTML', disable_web_page_preview: true,
    });
    noToken(...lines);
  });

  test('retries 500 twice, then succeeds: 3 attempts', async () => {
    handlers = [reply(500, { ok: false, description: 'Internal Server Error' }), reply(502, 'bad gateway'), OK];
    const { log, lines } = capture();
    const r = await createAlerter(env(), { ...fast, log }).send('warning', 't', []);
    assert.deepEqual(r, { sent: true, attempts: 3 });
    assert.equal(seen.length, 3);
    assert.equal(lines.filter((l) => l.startsWith('warn')).length, 2);
    assert.match(lines[0], /HTTP 500: Internal Server Error/);
    noToken(...lines);
  });

  test('a 400 is not retried', async () => {
    handlers = [reply(400, { ok: false, error_code: 400, description: 'Bad Request: chat not found' }), OK];
    const { log, lines } = capture();
    const r = await createAlerter(env(), { ...fast, log }).send('critical', 't', ['x']);
    assert.equal(r.sent, false);
    assert.equal(r.attempts, 1);
    assert.equal(r.error, 'HTTP 400: Bad Request: chat not found');
    assert.equal(seen.length, 1);
    noToken(r.error, ...lines);
  });

  test('a 401 (revoked token) is not retried and the error does not show the token', async () => {
    handlers = [reply(401, { ok: false, description: 'Unauthorized' })];
    const r = await createAlerter(env(), fast).send('critical', 't');
    assert.deepEqual([r.sent, r.attempts, r.error], [false, 1, 'HTTP 401: Unauthorized']);
  });

  test('429 waits retry_after seconds, then retries', async () => {
    handlers = [reply(429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } }), OK];
    const t0 = Date.now();
    const r = await createAlerter(env(), fast).send('warning', 't');
    const ms = Date.now() - t0;
    assert.deepEqual(r, { sent: true, attempts: 2 });
    assert.ok(ms >= 950, `waited only ${ms} ms`);
    assert.ok(ms < 3_000, `waited ${ms} ms`);
  });

  test('429 with a retry_after beyond the deadline gives up at once', async () => {
    handlers = [reply(429, { ok: false, description: 'Too Many Requests', parameters: { retry_after: 120 } }, { 'retry-after': '120' })];
    const t0 = Date.now();
    const r = await createAlerter(env(), { ...fast, deadlineMs: 2_000 }).send('critical', 't');
    assert.equal(r.sent, false);
    assert.equal(r.attempts, 1);
    assert.match(r.error!, /HTTP 429.*would pass the 2000 ms deadline/);
    assert.ok(Date.now() - t0 < 1_000);
  });

  test('a server that never answers: each attempt times out, send resolves within the total deadline', async () => {
    handlers = [hang, hang, hang, hang, hang, hang];
    const { log, lines } = capture();
    const t0 = Date.now();
    const r = await createAlerter(env(), { timeoutMs: 300, deadlineMs: 1_000, baseDelayMs: 20, maxDelayMs: 40, maxAttempts: 10, log })
      .send('critical', 'stuck');
    const ms = Date.now() - t0;
    assert.equal(r.sent, false);
    assert.ok(r.attempts >= 2, `attempts ${r.attempts}`);
    assert.match(r.error!, /network error: no answer within \d+ ms/);
    assert.ok(ms >= 900 && ms < 1_600, `took ${ms} ms`);
    noToken(r.error, ...lines);
  });

  test('network errors are retried and reported without the token', async () => {
    // A port nobody listens on: connection refused on every attempt.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { log, lines } = capture();
    const r = await createAlerter(env({ TELEGRAM_API_BASE: `http://127.0.0.1:${port}` }), { ...fast, maxAttempts: 3, log })
      .send('critical', 't');
    assert.equal(r.sent, false);
    assert.equal(r.attempts, 3);
    assert.match(r.error!, /network error: .*ECONNREFUSED/);
    noToken(r.error, ...lines);
  });

  test('an error message that quotes the request URL is redacted to bot***', async () => {
    const fetchThatLeaks = (async (url: string | URL | Request) => {
      throw new TypeError(`Failed to parse URL from ${String(url)}`);
    }) as typeof fetch;
    const short = 'abc';
    const { log, lines } = capture();
    for (const token of [TOKEN, short]) {
      const r = await createAlerter({ ...env(), TELEGRAM_BOT_TOKEN: token }, { ...fast, maxAttempts: 2, fetch: fetchThatLeaks, log })
        .send('critical', 't');
      assert.equal(r.sent, false);
      assert.match(r.error!, /bot\*\*\*\/sendMessage/);
      assert.ok(!r.error!.includes(`bot${token}`), r.error);
      for (const l of lines) assert.ok(!l.includes(`bot${token}`), l);
    }
    noToken(...lines);
  });

  test('the severity filter: TELEGRAM_ALERT_LEVEL is the least severe alert sent (default warning)', async () => {
    handlers = [OK, OK, OK];
    const dflt = createAlerter(env(), fast);
    assert.equal(dflt.minLevel, 'warning');
    assert.deepEqual(await dflt.send('info', 'i'), { sent: false, attempts: 0, skipped: 'info is below TELEGRAM_ALERT_LEVEL warning' });
    assert.equal((await dflt.send('warning', 'w')).sent, true);
    const crit = createAlerter(env({ TELEGRAM_ALERT_LEVEL: 'CRITICAL' }), fast);
    assert.equal(crit.minLevel, 'critical');
    assert.equal((await crit.send('warning', 'w')).sent, false);
    assert.equal((await crit.send('critical', 'c')).sent, true);
    const info = createAlerter(env({ TELEGRAM_ALERT_LEVEL: 'info' }), fast);
    assert.equal((await info.send('info', 'i')).sent, true);
    assert.deepEqual(seen.map((s) => (s.body.text as string).slice(0, 2)), ['🟡', '🔴', '🔵']);
    const bad = createAlerter(env({ TELEGRAM_ALERT_LEVEL: 'loud' }), fast);
    assert.equal(bad.minLevel, 'warning');
    assert.match(bad.configErrors[0], /TELEGRAM_ALERT_LEVEL 'loud' is not one of info, warning, critical/);
  });

  test('not configured: disabled, nothing sent, no error', async () => {
    for (const e of [{}, { TELEGRAM_BOT_TOKEN: TOKEN }, { TELEGRAM_CHAT_ID: CHAT, TELEGRAM_BOT_TOKEN: '  ' }]) {
      const a = createAlerter({ ...e, TELEGRAM_API_BASE: base }, fast);
      assert.equal(a.enabled, false);
      const r = await a.send('critical', 't');
      assert.equal(r.sent, false);
      assert.equal(r.attempts, 0);
      assert.match(r.skipped!, /not both set/);
    }
    assert.equal(seen.length, 0);
  });

  test('a bad TELEGRAM_API_BASE falls back to the real API and says so', () => {
    const a = createAlerter(env({ TELEGRAM_API_BASE: 'ftp://example' }), fast);
    assert.match(a.configErrors[0], /TELEGRAM_API_BASE 'ftp:\/\/example' is not an http\(s\) URL/);
  });

  test('send never rejects, even for a nonsense severity', async () => {
    const r = await createAlerter(env(), fast).send('loud' as never, 't');
    assert.equal(r.sent, false);
    assert.match(r.error!, /unknown severity 'loud'/);
  });

  test('HTML: dynamic text is escaped; long messages are cut between lines', async () => {
    handlers = [OK];
    await createAlerter(env(), fast).send('warning', '<b>x</b> & y', ['a < b > c & d', 'asset <script>']);
    assert.equal(
      seen[0].body.text,
      '🟡 <b>&lt;b&gt;x&lt;/b&gt; &amp; y</b>\n\na &lt; b &gt; c &amp; d\nasset &lt;script&gt;',
    );
    assert.equal(escapeHtml('&amp;'), '&amp;amp;');
    const lines = Array.from({ length: 600 }, (_, i) => `line ${i} & more`);
    const text = formatAlertText('info', 'big', lines);
    assert.ok(text.length <= MAX_MESSAGE_CHARS, String(text.length));
    assert.match(text, /\n… \d+ more line\(s\) not shown$/);
    // Every kept line is whole: its entity is not cut.
    for (const l of text.split('\n').slice(2, -1)) assert.match(l, /^line \d+ &amp; more$/);
  });
});

describe('alert formatters', () => {
  test('refresh failure: components and failed assets with reasons, passwords redacted, critical', () => {
    const m = formatRefreshFailure({
      database: 'postgres://talab:hunter2@db/prod',
      components: [
        {
          component: 'bars',
          assets: [
            { id: 1, symbol: 'BTC', status: 'built', reason: '' },
            { id: 2, symbol: 'ETH', status: 'failed', reason: 'connection to postgres://talab:hunter2@db lost\nstack…' },
            { id: 3, symbol: 'XRP', status: 'failed', reason: 'daily series id 3: two rows on day 2024-01-02' },
          ],
        },
        { component: 'emas', assets: [{ id: 2, symbol: 'ETH', status: 'skipped', reason: 'its bars failed in this run' }] },
      ],
    });
    assert.equal(m.severity, 'critical');
    assert.equal(m.title, 'talab refresh failed');
    assert.deepEqual(m.lines, [
      'database: postgres://talab:***@db/prod',
      'components failed: bars (2 asset(s))',
      '',
      'bars:',
      '  ETH (2): connection to postgres://talab:***@db lost',
      '  XRP (3): daily series id 3: two rows on day 2024-01-02',
    ]);
    const ok = formatRefreshFailure({ components: [{ component: 'bars', assets: [{ id: 1, status: 'built' }] }] });
    assert.equal(ok.severity, 'info');
    const fatal = formatRefreshFailure({ components: [], fatal: 'cannot connect' });
    assert.deepEqual([fatal.severity, fatal.lines], ['critical', ['run aborted: cannot connect']]);
  });

  test('validation failure: counts per check; critical on errors, warning on gaps only', () => {
    const checks = [
      { table: 'price_bars_1d', check: 'gaps', status: 'warn' as const, failures: 1 },
      { table: 'ema_multi_tf', check: 'row_counts', status: 'fail' as const, failures: 3 },
      { table: 'price_bars_1d', check: 'ohlc', status: 'pass' as const, failures: 0 },
    ];
    const m = formatValidationFailure({ ok: false, checks });
    assert.equal(m.severity, 'critical');
    assert.equal(m.title, 'talab validation failed');
    assert.deepEqual(m.lines, [
      'checks: 3 (1 passed, 1 failed, 1 warnings)', '', 'failed:', '  ema_multi_tf row_counts: 3', '', 'warnings:',
      '  price_bars_1d gaps: 1', '', 'run `talab validate` for the full report',
    ]);
    assert.equal(formatValidationFailure({ ok: true, checks: [checks[0], checks[2]] }).severity, 'warning');
    assert.equal(formatValidationFailure({ ok: true, checks: [checks[2]] }).severity, 'info');
  });

  test('no result, error or log line of this file contained the token', () => {
    assert.ok(allText.length > 5);
    noToken(...allText);
  });
});
