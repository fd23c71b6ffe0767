// Generic webhook alerts: one JSON POST per alert to TALAB_ALERT_WEBHOOK_URL.
//
// The body carries the same alert under the field names the common receivers read, so one URL shape works
// without per-service code: `text` (Slack and Slack-compatible incoming webhooks: Mattermost, Rocket.Chat,
// Discord's /slack endpoint), `topic` + `message` + `title` + `priority` (ntfy's JSON publishing, which
// expects the body POSTed to the server root with the topic inside), plus `severity` and `lines` for
// receivers of one's own. Receivers ignore the fields they do not know.
import pRetry, { AbortError } from 'p-retry';
import { redactSecrets } from './log.js';
import { isSeverity, SEVERITIES, SEVERITY_EMOJI, type AlertLog, type SendResult, type Severity } from './telegram.js';

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
/** ntfy priorities: 5 max/urgent, 4 high, 3 default. */
const NTFY_PRIORITY: Record<Severity, number> = { critical: 5, warning: 4, info: 3 };
const MAX_TEXT_CHARS = 4000;

export interface WebhookOptions {
  timeoutMs?: number;
  /** Attempts per send, the first included (default 3). */
  maxAttempts?: number;
  /** First backoff delay (default 500 ms, doubling). */
  baseDelayMs?: number;
  log?: AlertLog;
}

export interface WebhookBody {
  text: string;
  title: string;
  message: string;
  priority: number;
  tags: string[];
  severity: Severity;
  lines: string[];
  topic?: string;
}

/** The JSON body of one alert (exported for the tests and docs/alerts). */
export function webhookBody(severity: Severity, title: string, lines: readonly string[], topic?: string): WebhookBody {
  const message = lines.join('\n');
  let text = `${SEVERITY_EMOJI[severity]} ${title}${message ? `\n${message}` : ''}`;
  if (text.length > MAX_TEXT_CHARS) text = `${text.slice(0, MAX_TEXT_CHARS - 1)}…`;
  return {
    text, title: `${SEVERITY_EMOJI[severity]} ${title}`, message: message || title, priority: NTFY_PRIORITY[severity],
    tags: ['talab', severity], severity, lines: [...lines], ...(topic ? { topic } : {}),
  };
}

export interface WebhookAlerter {
  readonly channel: 'webhook';
  readonly enabled: boolean;
  readonly minLevel: Severity;
  readonly configErrors: readonly string[];
  send(severity: Severity, title: string, lines?: readonly string[]): Promise<SendResult>;
}

/**
 * Reads TALAB_ALERT_WEBHOOK_URL (http or https), TALAB_ALERT_WEBHOOK_TOPIC (ntfy topic, optional) and
 * TALAB_ALERT_LEVEL (lowest severity sent, default warning). Like the Telegram alerter, `send` never throws:
 * an alert that cannot be delivered is logged and reported, it does not turn a good run into a crash.
 */
export function createWebhookAlerter(env: NodeJS.ProcessEnv = process.env, opts: WebhookOptions = {}): WebhookAlerter {
  const configErrors: string[] = [];
  let url: string | undefined = env.TALAB_ALERT_WEBHOOK_URL?.trim() || undefined;
  // A webhook URL is a credential (Slack's path is the secret): never logged whole.
  const shown = (u: string) => {
    try {
      const p = new URL(u);
      return `${p.protocol}//${p.host}/***`;
    } catch {
      return '***';
    }
  };
  if (url) {
    try {
      const p = new URL(url);
      if (p.protocol !== 'http:' && p.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      configErrors.push(`TALAB_ALERT_WEBHOOK_URL '${shown(url)}' is not an http(s) URL; webhook alerts are off`);
      url = undefined;
    }
  }
  let minLevel: Severity = 'warning';
  const lvl = env.TALAB_ALERT_LEVEL?.trim().toLowerCase();
  if (lvl) {
    if (isSeverity(lvl)) minLevel = lvl;
    else configErrors.push(`TALAB_ALERT_LEVEL '${lvl}' is not one of ${SEVERITIES.join(', ')}; using warning`);
  }
  const topic = env.TALAB_ALERT_WEBHOOK_TOPIC?.trim() || undefined;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const log = opts.log;
  for (const e of configErrors) log?.warn({ component: 'webhook' }, e);
  const redact = (s: string) => redactSecrets(url ? s.split(url).join(shown(url)) : s);

  async function send(severity: Severity, title: string, lines: readonly string[] = []): Promise<SendResult> {
    if (!isSeverity(severity)) return { sent: false, attempts: 0, error: `unknown severity '${String(severity)}'` };
    if (!url) return { sent: false, attempts: 0, skipped: 'TALAB_ALERT_WEBHOOK_URL not set' };
    if (RANK[severity] < RANK[minLevel]) return { sent: false, attempts: 0, skipped: `${severity} is below TALAB_ALERT_LEVEL ${minLevel}` };
    const body = JSON.stringify(webhookBody(severity, title, lines, topic));
    let attempts = 0;
    try {
      await pRetry(async () => {
        attempts++;
        let res: Response;
        try {
          res = await fetch(url!, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (e) {
          throw new Error(`POST ${shown(url!)}: ${(e as Error).message}`);
        }
        await res.text().catch(() => '');
        if (res.ok) return;
        const msg = `POST ${shown(url!)}: HTTP ${res.status}`;
        // 4xx other than 408/429 is a wrong URL or a rejected body: retrying will not help.
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new AbortError(msg);
        throw new Error(msg);
      }, {
        retries: Math.max(0, (opts.maxAttempts ?? 3) - 1), minTimeout: opts.baseDelayMs ?? 500, factor: 2, randomize: true,
        onFailedAttempt: (e) => log?.warn({ component: 'webhook', attempt: e.attemptNumber }, `webhook send failed: ${redact(e.message)}`),
      });
      log?.debug({ component: 'webhook', severity, attempts }, `alert sent: ${title}`);
      return { sent: true, attempts };
    } catch (e) {
      return { sent: false, attempts, error: redact((e as Error).message) };
    }
  }

  return { channel: 'webhook', enabled: !!url, minLevel, configErrors, send };
}
