// Telegram alerts for the daily refresh, with a severity filter, HTML escaping and retries. An alert is a side channel: it must never fail the
// refresh nor hold it up, so `send` never throws and gives up at a bounded total deadline, and the bot
// token (a credential that grants control of the bot) never appears in a result, an error or a log line.
import { redactSecrets } from './log.js';

export type Severity = 'critical' | 'warning' | 'info';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];
const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
export const SEVERITY_EMOJI: Record<Severity, string> = { critical: '🔴', warning: '🟡', info: '🔵' };

export const DEFAULT_API_BASE = 'https://api.telegram.org';
/** Telegram rejects messages longer than this (characters after entity parsing; we count before, to be safe). */
export const MAX_MESSAGE_CHARS = 4096;

/** Minimal logger shape (a pino Logger fits). */
export interface AlertLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AlerterOptions {
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** Total time one `send` may take, retries and waits included (default 30 s). */
  deadlineMs?: number;
  /** Attempts per send, the first included (default 4). */
  maxAttempts?: number;
  /** First backoff delay; doubles per attempt, capped at maxDelayMs, with jitter (defaults 500 ms, 8 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  log?: AlertLog;
  /** Injection points for tests. */
  fetch?: typeof fetch;
  random?: () => number;
}

export interface SendResult {
  sent: boolean;
  attempts: number;
  /** Why it was not sent (token-free). */
  error?: string;
  /** Set when nothing was attempted on purpose: not configured, or below TELEGRAM_ALERT_LEVEL. */
  skipped?: string;
}

export interface Alerter {
  /** Token and chat id are both set. */
  readonly enabled: boolean;
  readonly minLevel: Severity;
  /** Problems found in the environment (bad TELEGRAM_ALERT_LEVEL, bad base URL); the alerter still works. */
  readonly configErrors: readonly string[];
  /** Send `<emoji> <b>title</b>` and the lines, each HTML-escaped. Never throws, never rejects. */
  send(severity: Severity, title: string, lines?: readonly string[]): Promise<SendResult>;
}

/** Escape the three characters Telegram's HTML parse mode treats as markup. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}

/** The message body: emoji, bold title, blank line, lines; cut at a line boundary to fit Telegram's limit. */
export function formatAlertText(severity: Severity, title: string, lines: readonly string[] = []): string {
  const head = `${SEVERITY_EMOJI[severity]} <b>${escapeHtml(title)}</b>`;
  if (lines.length === 0) return head.slice(0, MAX_MESSAGE_CHARS);
  const body = lines.map(escapeHtml);
  let text = `${head}\n\n${body.join('\n')}`;
  if (text.length <= MAX_MESSAGE_CHARS) return text;
  // Cutting inside an escaped entity (&amp;) would make Telegram reject the whole message, so cut between lines.
  let kept = body.length;
  const more = (k: number) => `\n… ${body.length - k} more line(s) not shown`;
  while (kept > 0) {
    kept--;
    text = `${head}\n\n${body.slice(0, kept).join('\n')}${more(kept)}`;
    if (text.length <= MAX_MESSAGE_CHARS) return text;
  }
  return `${head}${more(0)}`.slice(0, MAX_MESSAGE_CHARS);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Failure {
  constructor(readonly message: string, readonly retriable: boolean, readonly waitMs?: number) {}
}

/**
 * An alerter from the environment: TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID (both needed to send),
 * TELEGRAM_API_BASE (default https://api.telegram.org; tests point it at a local server) and
 * TELEGRAM_ALERT_LEVEL (info | warning | critical: the least severe alert that is sent; default warning).
 */
export function createAlerter(env: NodeJS.ProcessEnv = process.env, opts: AlerterOptions = {}): Alerter {
  const token = env.TELEGRAM_BOT_TOKEN?.trim() || undefined;
  const chatId = env.TELEGRAM_CHAT_ID?.trim() || undefined;
  const configErrors: string[] = [];
  // The literal path segment first: redactSecrets ignores very short secrets, a bot token is never logged.
  const redact = (s: string) => redactSecrets(token ? s.split(`bot${token}`).join('bot***') : s, token ? [token] : []);

  let minLevel: Severity = 'warning';
  const lvl = env.TELEGRAM_ALERT_LEVEL?.trim().toLowerCase();
  if (lvl) {
    if (isSeverity(lvl)) minLevel = lvl;
    else configErrors.push(`TELEGRAM_ALERT_LEVEL '${redact(lvl)}' is not one of ${SEVERITIES.join(', ')}; using warning`);
  }
  let base = (env.TELEGRAM_API_BASE?.trim() || DEFAULT_API_BASE).replace(/\/+$/, '');
  try {
    const u = new URL(base);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    configErrors.push(`TELEGRAM_API_BASE '${redact(base)}' is not an http(s) URL; using ${DEFAULT_API_BASE}`);
    base = DEFAULT_API_BASE;
  }
  const enabled = !!token && !!chatId;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadlineMs = opts.deadlineMs ?? 30_000;
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const maxDelayMs = opts.maxDelayMs ?? 8_000;
  const doFetch = opts.fetch ?? fetch;
  const random = opts.random ?? Math.random;
  const log = opts.log;
  for (const e of configErrors) log?.warn({ component: 'telegram' }, e);

  async function attempt(url: string, body: string, timeout: number): Promise<true | Failure> {
    let res: Response;
    let text: string;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeout),
      });
      text = await res.text();
    } catch (e) {
      const err = e as Error & { cause?: { message?: string; code?: string } };
      const why = err.name === 'TimeoutError' || err.name === 'AbortError'
        ? `no answer within ${timeout} ms`
        : `${err.message}${err.cause?.code ? ` (${err.cause.code})` : err.cause?.message ? ` (${err.cause.message})` : ''}`;
      return new Failure(`network error: ${why}`, true);
    }
    let json: { ok?: boolean; description?: string; parameters?: { retry_after?: number } } = {};
    try {
      json = JSON.parse(text);
    } catch {
      // Proxies and outages answer with HTML; the status code alone decides then.
    }
    const desc = json.description ?? text.slice(0, 200);
    if (res.ok && json.ok !== false) return true;
    if (res.status === 429) {
      const header = Number(res.headers.get('retry-after'));
      const after = Number(json.parameters?.retry_after ?? (Number.isFinite(header) ? header : NaN));
      return new Failure(`HTTP 429: ${desc}`, true, Number.isFinite(after) && after >= 0 ? after * 1000 : undefined);
    }
    return new Failure(`HTTP ${res.status}: ${desc}`, res.status >= 500);
  }

  async function send(severity: Severity, title: string, lines: readonly string[] = []): Promise<SendResult> {
    try {
      if (!isSeverity(severity)) return { sent: false, attempts: 0, error: `unknown severity '${String(severity)}'` };
      if (!enabled) return { sent: false, attempts: 0, skipped: 'TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID not both set' };
      if (RANK[severity] < RANK[minLevel]) {
        return { sent: false, attempts: 0, skipped: `${severity} is below TELEGRAM_ALERT_LEVEL ${minLevel}` };
      }
      const url = `${base}/bot${token}/sendMessage`;
      const body = JSON.stringify({
        chat_id: chatId, text: formatAlertText(severity, title, lines), parse_mode: 'HTML',
        disable_web_page_preview: true,
      });
      const deadline = Date.now() + deadlineMs;
      let attempts = 0;
      let last = 'no attempt made';
      while (attempts < maxAttempts) {
        const left = deadline - Date.now();
        if (left <= 0) {
          last = `${last}; gave up at the ${deadlineMs} ms deadline`;
          break;
        }
        attempts++;
        const r = await attempt(url, body, Math.min(timeoutMs, left));
        if (r === true) {
          log?.debug({ component: 'telegram', severity, attempts }, `alert sent: ${redact(title)}`);
          return { sent: true, attempts };
        }
        last = redact(r.message);
        log?.warn({ component: 'telegram', attempt: attempts, retriable: r.retriable }, `telegram send failed: ${last}`);
        if (!r.retriable || attempts >= maxAttempts) break;
        // Exponential backoff with jitter in [½, 1] of the step, so that simultaneous senders spread out; a
        // retry_after from a 429 is a floor set by Telegram, not a suggestion.
        const step = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1));
        const wait = Math.max(r.waitMs ?? 0, step * (0.5 + random() / 2));
        if (Date.now() + wait >= deadline) {
          last = `${last}; next retry in ${Math.round(wait)} ms would pass the ${deadlineMs} ms deadline`;
          break;
        }
        await sleep(wait);
      }
      return { sent: false, attempts, error: last };
    } catch (e) {
      // Nothing above should throw; this keeps the promise from ever rejecting into the refresh.
      return { sent: false, attempts: 0, error: `internal error: ${redact(String((e as Error)?.message ?? e))}` };
    }
  }

  return { enabled, minLevel, configErrors, send };
}

// ---------------------------------------------------------------------------------------------------------------
// Message formatters. Each returns what `send` takes; the caller decides whether to send.

export interface AlertMessage {
  severity: Severity;
  title: string;
  lines: string[];
}

/**
 * The part of a refresh summary an alert needs. Structural, so run.ts's RefreshSummary can be passed as is:
 * per component, the assets with status 'failed' and their reason, and `error` when the step failed as a whole.
 */
export interface RefreshOutcome {
  components: {
    component: string;
    assets: { id: number; symbol?: string; status: string; reason?: string }[];
    error?: string;
  }[];
  /** A failure that stopped the run as a whole (database unreachable, lock held, bad configuration). */
  fatal?: string;
  /** Where the data lives (passed through redactSecrets anyway). */
  database?: string;
  host?: string;
}

const MAX_LISTED = 10;

/**
 * Refresh failure: which components failed, and per failed asset its symbol, id and reason (first 10 per
 * component), plus how many assets were skipped because of a failure. Any failure is critical: the assets
 * named are not fresh. A summary without failures gives an info message (callers normally do not send it).
 */
export function formatRefreshFailure(o: RefreshOutcome): AlertMessage {
  const lines: string[] = [];
  if (o.database) lines.push(`database: ${redactSecrets(o.database)}`);
  if (o.host) lines.push(`host: ${o.host}`);
  if (o.fatal) lines.push(`run aborted: ${redactSecrets(oneLine(o.fatal))}`);
  const failing = o.components
    .map((c) => ({ ...c, failed: c.assets.filter((a) => a.status === 'failed') }))
    .filter((c) => c.failed.length > 0 || c.error);
  if (failing.length) {
    lines.push(`components failed: ${failing.map((c) => `${c.component} (${c.error ? 'step failed' : `${c.failed.length} asset(s)`})`).join(', ')}`);
  }
  for (const c of failing) {
    lines.push('', `${c.component}:`);
    if (c.error) lines.push(`  step failed: ${redactSecrets(oneLine(c.error))}`);
    for (const f of c.failed.slice(0, MAX_LISTED)) {
      lines.push(`  ${f.symbol ? `${f.symbol} (${f.id})` : `asset ${f.id}`}: ${redactSecrets(oneLine(f.reason || 'failed'))}`);
    }
    if (c.failed.length > MAX_LISTED) lines.push(`  … and ${c.failed.length - MAX_LISTED} more`);
    const skipped = c.assets.filter((a) => a.status === 'skipped').length;
    if (skipped) lines.push(`  skipped: ${skipped} asset(s)`);
  }
  const bad = !!o.fatal || failing.length > 0;
  if (!bad) lines.push('no component failed');
  return { severity: bad ? 'critical' : 'info', title: bad ? 'talab refresh failed' : 'talab refresh ok', lines };
}

/** The part of a validation report an alert needs (see validate/report.ts). */
export interface ValidationOutcome {
  ok: boolean;
  checks: { table: string; check: string; status: 'pass' | 'warn' | 'fail'; failures: number; examples?: unknown[] }[];
}

/**
 * Validation failure: counts per failing (error) and warning check. critical when an error-level check
 * failed, warning when only warnings (data gaps) were found, info when everything passed.
 */
export function formatValidationFailure(r: ValidationOutcome): AlertMessage {
  const fail = r.checks.filter((c) => c.status === 'fail');
  const warn = r.checks.filter((c) => c.status === 'warn');
  const pass = r.checks.length - fail.length - warn.length;
  const lines = [`checks: ${r.checks.length} (${pass} passed, ${fail.length} failed, ${warn.length} warnings)`];
  const list = (title: string, cs: typeof fail) => {
    if (!cs.length) return;
    lines.push('', title);
    for (const c of cs.slice(0, 2 * MAX_LISTED)) lines.push(`  ${c.table} ${c.check}: ${c.failures}`);
    if (cs.length > 2 * MAX_LISTED) lines.push(`  … and ${cs.length - 2 * MAX_LISTED} more`);
  };
  list('failed:', fail);
  list('warnings:', warn);
  lines.push('', 'run `talab validate` for the full report');
  const severity: Severity = fail.length ? 'critical' : warn.length ? 'warning' : 'info';
  const title = fail.length ? 'talab validation failed' : warn.length ? 'talab validation: warnings' : 'talab validation passed';
  return { severity, title, lines };
}

function oneLine(s: string): string {
  const l = s.split('\n')[0];
  return l.length > 300 ? `${l.slice(0, 300)}…` : l;
}
