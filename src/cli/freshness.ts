// `talab freshness`: exit 1 and alert when an asset's newest source day is too old.
import type { Command } from 'commander';
import { alertsOffReason, createAlerts } from '../ops/alert.js';
import { checkFreshness, formatFreshness, formatFreshnessAlert } from '../ops/freshness.js';
import { openStore } from '../store/open.js';
import { alertsJson } from './json.js';
import { dayArg, dbOf, idListArg, intArg } from './args.js';

export const DEFAULT_MAX_AGE_DAYS = 2;

export function registerFreshness(program: Command): void {
  program
    .command('freshness')
    .description("Check that every asset's newest day in price_histories is recent; exit 1 (and alert) when one is older")
    .option('--max-age-days <n>', `oldest acceptable newest day, in whole days before today (UTC) (default ${DEFAULT_MAX_AGE_DAYS})`, intArg('--max-age-days', 0))
    .option('--as-of <date>', 'judge against this day instead of today (UTC), e.g. to replay a past check', dayArg('--as-of'))
    .option('--ids <list>', 'comma-separated asset ids (default: every asset)', idListArg)
    .option('--alert', 'send an alert (Telegram and/or TALAB_ALERT_WEBHOOK_URL) when an asset is stale')
    .option('--json', 'machine-readable report (docs/json.md)')
    .action(async (opts: { maxAgeDays?: number; asOf?: string; ids?: number[]; alert?: boolean; json?: boolean }, cmd: Command) => {
      const alerts = opts.alert ? createAlerts(process.env) : null;
      if (alerts && !alerts.enabled) console.error(`talab: --alert: alerts are off (${alertsOffReason(alerts)})`);
      const store = await openStore(dbOf(cmd), { mustExist: true });
      try {
        const report = await checkFreshness(store, { maxAgeDays: opts.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS, asOf: opts.asOf, ids: opts.ids });
        if (!report.ok && alerts) await alerts.send(formatFreshnessAlert(report, store.location));
        if (opts.json) {
          console.log(JSON.stringify({
            database: store.location, ...report,
            alerts: alertsJson(alerts),
          }, null, 2));
        } else console.log(formatFreshness(report));
        if (!report.ok) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
