// One alert interface over every configured channel (Telegram, webhook): callers send once, each channel
// decides by its own configuration and level whether to deliver. A channel's failure never hides another's.
import { createAlerter, type AlerterOptions, type AlertLog, type AlertMessage, type SendResult, type Severity } from './telegram.js';
import { createWebhookAlerter } from './webhook.js';

export type AlertChannel = 'telegram' | 'webhook';

export interface ChannelResult extends SendResult {
  channel: AlertChannel;
}

export interface Alerts {
  /** At least one channel is configured. */
  readonly enabled: boolean;
  readonly channels: readonly AlertChannel[];
  readonly configErrors: readonly string[];
  /** Every delivery attempted so far, in order (for summaries and --json). */
  readonly sent: readonly (ChannelResult & { title: string; severity: Severity })[];
  send(m: AlertMessage): Promise<ChannelResult[]>;
}

export function createAlerts(env: NodeJS.ProcessEnv = process.env, opts: { log?: AlertLog; telegram?: AlerterOptions } = {}): Alerts {
  const telegram = createAlerter(env, { log: opts.log, ...opts.telegram });
  const webhook = createWebhookAlerter(env, { log: opts.log });
  const all = [
    { channel: 'telegram' as const, a: telegram },
    { channel: 'webhook' as const, a: webhook },
  ].filter((c) => c.a.enabled);
  const sent: (ChannelResult & { title: string; severity: Severity })[] = [];
  return {
    enabled: all.length > 0,
    channels: all.map((c) => c.channel),
    configErrors: [...telegram.configErrors, ...webhook.configErrors],
    sent,
    async send(m) {
      const results = await Promise.all(all.map(async (c) => ({ channel: c.channel, ...(await c.a.send(m.severity, m.title, m.lines)) })));
      for (const r of results) if (!r.skipped) sent.push({ ...r, title: m.title, severity: m.severity });
      return results;
    },
  };
}

/** Why alerts are off, for a one-line notice when the user asked for them. */
export function alertsOffReason(a: Alerts): string {
  return a.configErrors.join('; ')
    || 'set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID, or TALAB_ALERT_WEBHOOK_URL';
}
