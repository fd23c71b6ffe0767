// `talab daily`: the cron/systemd job. The steps and the inbox rules are in src/ops/daily.ts.
import type { Command } from 'commander';
import { alertsOffReason, createAlerts } from '../ops/alert.js';
import { runDaily } from '../ops/daily.js';
import { formatFreshness } from '../ops/freshness.js';
import { openDailyLog } from '../ops/log.js';
import { recordRun } from '../ops/runs.js';
import { openStore } from '../store/open.js';
import { UserError } from '../util/errors.js';
import { formatReport } from '../validate/validate.js';
import { dayArg, dbOf, dirArg, intArg } from './args.js';
import { DEFAULT_MAX_AGE_DAYS } from './freshness.js';
import { alertsJson, refreshJson, validationJson } from './json.js';
import { formatSummary } from './refresh.js';

export function registerDaily(program: Command): void {
  program
    .command('daily')
    .description(
      'The unattended job: import the files in --inbox (moved to done/ or failed/), refresh bars and EMAs, validate, '
        + 'check freshness, alert on any failure; exit 1 when a step failed',
    )
    .requiredOption('--inbox <dir>', 'folder where new exports arrive (*.csv, *.parquet); processed files move to <dir>/done/<stamp>/ or <dir>/failed/<stamp>/')
    .option('--max-age-days <n>', `freshness limit: newest source day at most this many days before today, UTC (default ${DEFAULT_MAX_AGE_DAYS})`, intArg('--max-age-days', 0))
    .option('--as-of <date>', 'judge freshness against this day instead of today (UTC)', dayArg('--as-of'))
    .option('--jobs <n>', 'assets refreshed in parallel (default: CPU cores)', intArg('--jobs', 1))
    .option('--log-dir <dir>', 'where the daily log files go', dirArg('--log-dir'), '.logs')
    .option('--json', 'one JSON document on stdout instead of the text report (docs/json.md)')
    .action(async (opts: { inbox: string; maxAgeDays?: number; asOf?: string; jobs?: number; logDir: string; json?: boolean }, cmd: Command) => {
      const startedAt = new Date();
      const log = openDailyLog({ dir: opts.logDir });
      const alerts = createAlerts(process.env, { log: log.logger });
      if (!alerts.enabled) console.error(`talab daily: alerts are off (${alertsOffReason(alerts)})`);
      const say = (s: string) => {
        if (!opts.json) console.log(s);
      };
      try {
        const store = await openStore(dbOf(cmd), { mustExist: true });
        try {
          log.logger.info({ argv: process.argv.slice(2) }, 'daily started');
          const r = await runDaily(store, {
            inbox: opts.inbox, maxAgeDays: opts.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS, asOf: opts.asOf, jobs: opts.jobs, alerts,
            onImport: (done, total, f) => {
              log.logger[f.status === 'failed' ? 'error' : 'info']({ file: f.file, moved_to: f.moved_to, error: f.error }, `import ${f.file}: ${f.status}`);
              say(`import ${done}/${total} ${f.file}: ${f.status === 'failed' ? `FAILED — ${f.error}` : `${f.inserted} inserted, ${f.revised} revised, ${f.unchanged} unchanged, ${f.rejected} rejected`} → ${f.moved_to}`);
            },
          });
          log.logger.info({ ok: r.ok }, r.ok ? 'daily ok' : 'daily failed');
          const written = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
          const problems = [
            ...r.imports.filter((i) => i.status === 'failed').map((i) => `import ${i.file}: ${i.error}`),
            ...(r.refresh.ok ? [] : ['refresh failed']), ...(r.validation.ok ? [] : [`validation: ${r.validation.errors} error(s)`]),
            ...(r.freshness.ok ? [] : [`freshness: ${r.freshness.stale} stale`]),
          ];
          await recordRun(store, {
            kind: 'daily', startedAt, status: r.ok ? 'finished' : 'failed',
            rows: r.imports.reduce((s, i) => s + i.inserted + i.revised, 0) + r.refresh.components.reduce((s, c) => s + written(c.rows), 0),
            summary: { files: r.imports.length, refresh_run_id: r.refresh.runId, detail: problems.length ? problems.join('; ') : null },
          });
          if (opts.json) {
            console.log(JSON.stringify({
              database: store.location, ok: r.ok, inbox: opts.inbox, imports: r.imports, refresh: refreshJson(r.refresh),
              validation: validationJson(r.validation), freshness: r.freshness, alerts: alertsJson(alerts),
            }, null, 2));
          } else {
            if (r.imports.length === 0) say(`inbox ${opts.inbox}: no new files`);
            say(formatSummary(r.refresh));
            say(formatReport(r.validation));
            say(formatFreshness(r.freshness));
            for (const a of alerts.sent) say(`alert ${a.channel}: ${a.sent ? 'sent' : `NOT sent (${a.error})`} — ${a.title}`);
            say(r.ok ? 'daily: ok' : 'daily: FAILED (exit 1)');
          }
          if (!r.ok) process.exitCode = 1;
        } finally {
          await store.close();
        }
      } catch (e) {
        log.logger.error({ err: e }, `daily aborted: ${(e as Error).message}`);
        // Usage errors (a missing inbox) are the operator's to see at the prompt; anything else is an outage.
        if (!(e instanceof UserError) || e.exitCode !== 2) {
          await alerts.send({ severity: 'critical', title: 'talab daily: the job stopped', lines: [(e as Error).message, 'files not yet imported stay in the inbox for the next run'] });
        }
        throw e;
      } finally {
        log.close();
      }
    });
}
