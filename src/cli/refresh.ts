// `talab refresh`: flag parsing, progress and the summary. The work is src/refresh/runner.ts.
import { availableParallelism } from 'node:os';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { getTimeframe, type Timeframe } from '../catalog/timeframes.js';
import { runRefresh, type Component, type RefreshEvent, type RefreshOptions, type RefreshSummary, type Shard } from '../refresh/runner.js';
import { openDailyLog } from '../ops/log.js';
import { openStore } from '../store/open.js';
import { migrate, schemaIsCurrent } from '../store/migrate.js';
import { formatPhases, PhaseTimer } from '../util/phases.js';
import { selectAssets } from '../refresh/load.js';
import { allComponents, loadFeaturesFamily } from '../features/enabled.js';
import type { Store } from '../store/store.js';
import { EXIT, UserError } from '../util/errors.js';
import { progressLine } from '../util/progress.js';
import { dayArg, dbOf, dirArg, idListArg, intArg } from './args.js';
import { refreshJson, validationJson } from './json.js';

export function parseTf(n: string, flag: string): Timeframe {
  const tf = getTimeframe(n) ?? getTimeframe(n.toUpperCase());
  if (!tf) throw new InvalidArgumentError(`${flag}: unknown timeframe '${n}' (see dim_timeframe, e.g. 7D, 1W_CAL_ISO, 1M_CAL)`);
  return tf;
}

/** Longer than any daily history (≈ 270 years): a larger period is a typo, not a request. */
const MAX_PERIOD = 100_000;

export function parsePeriod(p: string, flag: string): number {
  if (!/^\d+$/.test(p) || Number(p) < 1) throw new InvalidArgumentError(`${flag}: '${p}' is not a positive integer period`);
  if (Number(p) > MAX_PERIOD) throw new InvalidArgumentError(`${flag}: period ${p} is beyond ${MAX_PERIOD} days`);
  return Number(p);
}

export function list(v: string, flag: string, example: string): string[] {
  const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new InvalidArgumentError(`${flag} needs a comma-separated list such as ${example}`);
  return parts;
}

export const tfListArg = (v: string) => list(v, '--tfs', '7D,1W_CAL_ISO').map((n) => parseTf(n, '--tfs'));
export const periodListArg = (v: string) => list(v, '--periods', '10,20,50').map((p) => parsePeriod(p, '--periods'));

export function comboListArg(v: string): { tf: Timeframe; period: number }[] {
  return list(v, '--tf-period-combos', '7D:10,7D:20').map((item) => {
    const m = /^([^:]+):([^:]+)$/.exec(item);
    if (!m) throw new InvalidArgumentError(`--tf-period-combos: '${item}' is not TF:PERIOD (e.g. 7D:10)`);
    return { tf: parseTf(m[1], '--tf-period-combos'), period: parsePeriod(m[2], '--tf-period-combos') };
  });
}

export function shardArg(v: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`--shard must be k/n (e.g. 0/4), got '${v}'`);
  const k = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || k >= n) throw new InvalidArgumentError(`--shard ${v}: need n ≥ 1 and 0 ≤ k < n`);
  return { k, n };
}

function hoursArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`--staleness-hours must be a number ≥ 0, got '${v}'`);
  return n;
}

const fmtMs = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

export function formatSummary(s: RefreshSummary): string {
  const out: string[] = [];
  out.push(s.dryRun ? 'REFRESH PLAN (dry run: nothing was written)' : `REFRESH SUMMARY (run ${s.runId}${s.threads ? `, ${s.threads} worker threads` : ''})`);
  for (const c of s.components) {
    const by = (st: string) => c.assets.filter((a) => a.status === st);
    const built = by(s.dryRun ? 'planned' : 'built');
    const continued = built.filter((a) => a.continued).length;
    out.push(
      `${c.component}: ${built.length} ${s.dryRun ? 'to build' : 'built'}` +
        (continued ? ` (${continued} continued from their carry)` : '') + `, ${by('current').length} current, ` +
        `${by('skipped').length} skipped, ${by('failed').length} failed — ${fmtMs(c.ms)}` +
        (c.component === 'bars' ? `; repairs ${c.repairs}, rejects ${c.rejects}, missing days ${c.gaps}` : ''),
    );
    if (c.error) out.push(`  STEP FAILED: ${c.error}`);
    for (const [t, n] of Object.entries(c.rows)) out.push(`  ${t.padEnd(36)} ${String(n).padStart(10)} rows ${s.dryRun ? 'to write' : 'written'}`);
    if (s.dryRun) for (const a of built) out.push(`  would build ${a.symbol} (${a.id}) from ${a.from}: ${a.reason}`);
    for (const a of by('skipped')) out.push(`  skipped ${a.symbol} (${a.id}): ${a.reason}`);
    for (const a of by('failed')) out.push(`  FAILED ${a.symbol} (${a.id}): ${a.reason}`);
  }
  if (s.ledgerError) out.push(`run ledger: the run could not be recorded (${s.ledgerError}); the next refresh marks it abandoned`);
  if (s.checkpointMs > 0) out.push(`storage: checkpoint of the run's writes into the database file — ${fmtMs(s.checkpointMs)}`);
  out.push(s.interrupted ? 'refresh: INTERRUPTED (the run stopped on a signal)' : s.ok ? 'refresh: ok' : 'refresh: FAILED (exit 1)');
  return out.join('\n');
}

interface CliOpts {
  all?: boolean; bars?: boolean; emas?: boolean; features?: boolean; ids?: number[]; tfs?: Timeframe[]; periods?: number[];
  tfPeriodCombos?: { tf: Timeframe; period: number }[]; fullRebuild?: boolean; from?: string; resume?: boolean; dryRun?: boolean;
  verbose?: boolean; quiet?: boolean; continueOnError?: boolean; skipStaleCheck?: boolean; stalenessHours: number;
  lookbackDays: number; jobs?: number; shard?: Shard; validate?: boolean; maxAgeDays?: number; json?: boolean; alertOnError?: boolean; logDir: string;
}

/**
 * Progress on a terminal (stdout and stderr both TTYs, so a cron log or a pipe never gets control codes): one
 * line per component redrawn as each asset's computation finishes — counts, rate, ETA ('—' until the first
 * asset has finished) — cut to the terminal width (at most 80 columns); each group commit is a line of its own
 * above it. Otherwise plain lines: failures, skips, and each asset of small runs (every event with --verbose).
 */
function reporter(opts: CliOpts): (e: RefreshEvent) => void {
  if (opts.quiet) return () => undefined;
  const tty = !!process.stdout.isTTY && !!process.stderr.isTTY && !opts.verbose;
  const width = () => Math.min(80, process.stderr.columns || 80) - 1;
  let component = '';
  let computed = 0;
  let committed = 0;
  let total = 0;
  let t0 = 0;
  let last = '';
  let drawn = false;
  const bar = () => {
    const line = progressLine({ label: component.padEnd(5), done: computed, total, elapsedMs: Date.now() - t0, extra: `computed, ${committed} committed`, last }, width());
    process.stderr.write(`\r${line.padEnd(width())}`);
    drawn = true;
  };
  const above = (text: string) => {
    if (drawn) process.stderr.write(`\r${' '.repeat(width())}\r`);
    process.stderr.write(`${text.slice(0, width())}\n`);
    if (drawn) bar();
  };
  return (e) => {
    if (e.kind === 'start') {
      ({ component } = e);
      total = e.assets;
      computed = 0;
      committed = 0;
      t0 = Date.now();
      last = '';
      if (tty) bar();
      else console.log(`${e.component}: ${e.assets} asset(s)`);
      return;
    }
    if (e.kind === 'end') {
      if (tty && drawn) process.stderr.write('\n');
      drawn = false;
      return;
    }
    if (e.kind === 'computed') {
      computed++;
      last = `${e.symbol} ${e.status}`;
      if (tty) bar();
      else if (opts.verbose) console.log(`  ${e.component} ${e.symbol} (${e.id}): computed, ${e.status} [${fmtMs(e.ms)}] ${computed}/${total}`);
      return;
    }
    if (e.kind === 'retry') {
      const text = `  ${e.component}: database error (${e.why}): ${e.error}; attempt ${e.attempt} of ${e.attempts} failed, ` +
        `reconnecting to redo ${e.remaining} asset(s)`;
      if (tty) above(text);
      else console.log(text);
      return;
    }
    if (e.kind === 'commit') {
      committed += e.assets;
      const text = `  ${e.component}: committed ${e.assets} asset(s), ${e.rows} rows [${fmtMs(e.ms)}] ${committed}/${total}`;
      if (tty) above(text);
      else if (opts.verbose) console.log(text);
      return;
    }
    if (tty) {
      if (e.status === 'failed') above(`  ${e.component} ${e.symbol} (${e.id}): FAILED — ${e.reason ?? ''}`);
    } else if (opts.verbose || e.status === 'failed' || (e.status === 'built' && total <= 50) || e.status === 'skipped') {
      console.log(`  ${e.component} ${e.symbol} (${e.id}): ${e.status}${e.reason ? ` — ${e.reason}` : ''} [${fmtMs(e.ms)}, ${e.rows} rows] ${committed}/${total}`);
    }
  };
}

/** Unknown --ids are a usage error (as in validate and baseline); nothing at all to refresh is a failure. */
async function checkSelection(store: Store, ids?: number[]): Promise<void> {
  const have = new Set((await selectAssets(store)).map((a) => a.id));
  if (ids) {
    const known = new Set((await store.query<{ id: number }>('SELECT id FROM dim_assets')).map((r) => Number(r.id)));
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length) throw new UserError(`--ids: unknown asset id(s) ${unknown.join(', ')} (not in dim_assets of ${store.location}; see \`talab status\`)`);
    if (!ids.some((id) => have.has(id))) throw new UserError(`--ids: no price history for asset(s) ${ids.join(', ')} in ${store.location}: nothing to refresh`, EXIT.failure);
  } else if (have.size === 0) {
    throw new UserError(`no assets with price history in ${store.location}: nothing to refresh (import data first: talab import FILE…)`, EXIT.failure);
  }
}

export function registerRefresh(program: Command): void {
  program
    .command('refresh')
    .description('The daily job: bars (price_bars_1d + five snapshot tables), then EMAs (six tables), then the feature matrix once `features build` wrote one, incrementally')
    .option('--all', 'bars, then EMAs, then the feature matrix once `features build` wrote one')
    .option('--bars', 'bar tables only')
    .option('--emas', 'EMA tables only (from the bars already built)')
    .option('--features', 'the feature matrix only: bring the rows `talab features build` wrote up to date (--all does this after the EMAs)')
    .option('--ids <list>', 'comma-separated asset ids (default: every asset with data)', idListArg)
    .option('--tfs <list>', 'only these timeframes, e.g. 7D,1W_CAL_ISO,1M_CAL (default: the selection `npx talab timeframes --default` lists)', tfListArg)
    .option('--periods <list>', 'only these EMA periods (default: the 17 `npx talab timeframes` lists)', periodListArg)
    .option('--tf-period-combos <list>', 'only these timeframe:period pairs for EMAs, e.g. 7D:10,7D:20', comboListArg)
    .option('--full-rebuild', 'delete and rebuild the selected assets, whatever their state')
    .option('--from <date>', 'recompute every derived table of the selected assets from this day (YYYY-MM-DD) on, whatever their state', dayArg('--from'))
    .option('--resume', 'continue the last unfinished run with the same options, skipping assets it completed')
    .option('--dry-run', 'print the plan (tables, assets, timeframes, periods, why, and the rows each table would get); only reads the database')
    .option('--verbose', 'one line per asset and component')
    .option('--quiet', 'only the summary and errors')
    .option('--continue-on-error', 'when a whole step fails (e.g. the database drops), still run the next one')
    .option('--skip-stale-check', 'run EMAs even for assets whose bars are behind their source')
    .addOption(new Option('--staleness-hours <h>', "how far an asset's bars may lag its source's last day before its EMAs are skipped").default(48).argParser(hoursArg))
    .addOption(new Option('--lookback-days <n>', 'days before the watermark the 1D builder re-reads and compares').default(3).argParser(intArg('--lookback-days', 0, 100_000)))
    .addOption(new Option('--jobs <n>', 'assets in flight at once, each on its own database session (PostgreSQL builds: each on its own worker thread)').default(availableParallelism(), 'the number of CPU cores').argParser(intArg('--jobs', 1)))
    .option('--shard <k/n>', 'process only assets with hash(id) mod n = k', shardArg)
    .option('--validate', 'run `talab validate` on the refreshed assets afterwards; exit 1 if it finds errors')
    .option('--max-age-days <n>', "with --validate: also check that every asset's newest source day is at most this many days old (UTC); exit 1 and alert when not", intArg('--max-age-days', 0))
    .option('--alert-on-error', 'alert on failures, validation errors and stale sources: Telegram (TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID) and/or a webhook (TALAB_ALERT_WEBHOOK_URL)')
    .option('--json', 'one JSON document on stdout (summary, validation, freshness) instead of the text report; progress stays off (docs/json.md)')
    .option('--log-dir <dir>', 'where refresh-YYYY-MM-DD.log files go (files older than 30 days are removed)', dirArg('--log-dir'), '.logs')
    .action(async (opts: CliOpts, cmd: Command) => {
      const phases = new PhaseTimer();
      phases.lap('startup');
      const modes = [opts.all, opts.bars, opts.emas, opts.features].filter(Boolean).length;
      if (modes !== 1) throw new UserError('refresh needs exactly one of --all, --bars, --emas, --features (see talab refresh --help)', 2);
      if (opts.verbose && opts.quiet) throw new UserError('--verbose and --quiet exclude each other', 2);
      if (opts.tfPeriodCombos && (opts.tfs || opts.periods)) throw new UserError('--tf-period-combos replaces --tfs/--periods; give one or the other', 2);
      if (opts.from !== undefined && opts.fullRebuild) throw new UserError('--from and --full-rebuild exclude each other (--full-rebuild recomputes everything)', 2);
      if (opts.maxAgeDays !== undefined && !opts.validate) throw new UserError('--max-age-days is part of --validate; give both (or run talab freshness)', 2);
      let components: Component[] = opts.all ? ['bars', 'emas'] : opts.bars ? ['bars'] : opts.features ? ['features'] : ['emas'];
      const log = openDailyLog({ dir: opts.logDir });
      // Every alert goes to each configured channel (Telegram, TALAB_ALERT_WEBHOOK_URL).
      // Alerts, validation and the freshness check are loaded only when asked for: a plain daily refresh does
      // not pay their start-up.
      const ops = opts.alertOnError ? await import('../ops/alert.js') : null;
      const alerts = ops ? ops.createAlerts(process.env, { log: log.logger }) : null;
      if (ops && alerts && !alerts.enabled) console.error(`talab: --alert-on-error: alerts are off (${ops.alertsOffReason(alerts)})`);
      const telegram = alerts ? await import('../ops/telegram.js') : null;
      const progress = reporter(opts.json ? { ...opts, quiet: true } : opts);
      const say = (text: string) => {
        if (!opts.json) console.log(text);
      };
      const doc: Record<string, unknown> = {};
      log.logger.info({ argv: process.argv.slice(2) }, 'refresh started');
      // Ctrl-C or a stop from the scheduler: the run stops at the next asset, drops the groups not yet committed
      // (every group commits whole or not at all), records itself `interrupted` and prints its summary. A
      // second signal leaves at once; the run row is then marked `abandoned` by the next start.
      const stop = new AbortController();
      let caught: NodeJS.Signals | undefined;
      const resumeHint = 'completed groups are kept; run the same command again to continue ' +
        '(with --resume it keeps this run id and skips the assets it finished)';
      const onSignal = (sig: NodeJS.Signals) => {
        if (process.stderr.isTTY) process.stderr.write('\x1b[?25h\n');
        if (caught) {
          log.logger.warn({ signal: sig }, 'refresh left at once');
          log.close();
          process.stderr.write(`talab: refresh stopped at once by a second ${sig}; ${resumeHint}.\n`);
          process.exit(sig === 'SIGINT' ? 130 : 143);
        }
        caught = sig;
        log.logger.warn({ signal: sig }, 'refresh interrupted');
        process.stderr.write(`talab: ${sig}: stopping after the asset in flight (again to leave at once)\n`);
        stop.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let location = '';
      try {
        // A dry run only reads: a DuckDB file is opened read-only (readers such as `talab serve` may hold it too), and the
        // schema must already be this version's, since upgrading it would be a write.
        const store = await openStore(dbOf(cmd), { mustExist: true, migrate: false, readOnlyRetryMs: opts.dryRun ? 3000 : undefined });
        phases.lap('open');
        location = store.location;
        try {
          if (!opts.dryRun) await migrate(store);
          else if (!(await schemaIsCurrent(store))) {
            throw new UserError(`${store.location}: its schema is older than this talab's; a dry run writes nothing, not even the upgrade: run \`npx talab init\` first`);
          }
          // The matrix is opt-in: --all keeps it current once `features build` has written some (ml_feature_state).
          if (opts.all) components = await allComponents(store, components);
          else await loadFeaturesFamily(components);
          phases.lap('migration_check');
          const ro: RefreshOptions = {
            components, ids: opts.ids, tfs: opts.tfs, periods: opts.periods, combos: opts.tfPeriodCombos,
            fullRebuild: opts.fullRebuild, from: opts.from === undefined ? undefined : Date.parse(`${opts.from}T00:00:00Z`), resume: opts.resume, dryRun: opts.dryRun, lookbackDays: opts.lookbackDays,
            skipStaleCheck: opts.skipStaleCheck, stalenessHours: opts.stalenessHours, continueOnError: opts.continueOnError,
            jobs: opts.jobs, shard: opts.shard, signal: stop.signal, phases,
            onEvent: (e) => {
              progress(e);
              if (e.kind === 'computed') return;
              if (e.kind === 'asset') {
                const level = e.status === 'failed' ? 'error' : 'info';
                log.logger[level]({ component: e.component, id: e.id, symbol: e.symbol, status: e.status, reason: e.reason, ms: e.ms, rows: e.rows }, `${e.component} ${e.symbol}: ${e.status}`);
              } else if (e.kind === 'commit') log.logger.info({ component: e.component, event: 'commit', assets: e.assets, rows: e.rows, ms: e.ms }, `${e.component} commit`);
              else log.logger.info({ component: e.component, event: e.kind }, `${e.component} ${e.kind}`);
            },
          };
          await checkSelection(store, opts.ids);
          if (opts.dryRun && !opts.quiet) {
            say(`database: ${store.location}`);
            say(`components: ${components.join(' then ')}${opts.shard ? `, shard ${opts.shard.k}/${opts.shard.n}` : ''}`);
          }
          const summary = await runRefresh(store, ro);
          if (opts.dryRun) {
            say(`tables: ${summary.tables.join(', ')}`);
            say(`timeframes: ${summary.timeframes.join(', ')}`);
            if (components.includes('emas')) say(`periods: ${summary.periods.join(', ')}`);
          }
          say(formatSummary(summary));
          doc.database = store.location;
          doc.refresh = refreshJson(summary);
          log.logger.info({ summary }, summary.ok ? 'refresh ok' : 'refresh failed');
          if (summary.interrupted) {
            process.stderr.write(`talab: refresh interrupted by ${caught ?? 'a signal'}; the run is recorded interrupted; ${resumeHint}.\n`);
            process.exitCode = caught === 'SIGTERM' ? 143 : 130;
          } else if (!summary.ok) {
            process.exitCode = 1;
            if (alerts) {
              const m = telegram!.formatRefreshFailure({ ...summary, database: store.location });
              await alerts.send(m);
            }
          }
          if (opts.validate && !opts.dryRun && !summary.interrupted) {
            const { formatReport, runValidation } = await import('../validate/validate.js');
            const report = await runValidation(store, { ids: opts.ids });
            say(formatReport(report));
            doc.validation = validationJson(report);
            log.logger.info({ errors: report.errors, warnings: report.warnings }, report.ok ? 'validation ok' : 'validation failed');
            if (!report.ok) process.exitCode = 1;
            if (alerts && (report.errors > 0 || report.warnings > 0)) {
              const m = telegram!.formatValidationFailure(report);
              await alerts.send(m);
            }
            if (opts.maxAgeDays !== undefined) {
              const { checkFreshness, formatFreshness, formatFreshnessAlert } = await import('../ops/freshness.js');
              const fr = await checkFreshness(store, { maxAgeDays: opts.maxAgeDays, ids: opts.ids });
              say(formatFreshness(fr));
              doc.freshness = fr;
              log.logger.info({ stale: fr.stale, assets: fr.assets }, fr.ok ? 'freshness ok' : 'freshness failed');
              if (!fr.ok) {
                process.exitCode = 1;
                if (alerts) await alerts.send(formatFreshnessAlert(fr, store.location));
              }
            }
            phases.lap('validate');
          }
        } finally {
          await store.close();
          phases.lap('close');
        }
        if (opts.verbose) say(formatPhases(phases.ms));
        if (opts.json) console.log(JSON.stringify({ ok: process.exitCode !== 1, ...doc, phases_ms: phases.ms }, null, 2));
      } catch (e) {
        log.logger.error({ err: e }, `refresh aborted: ${(e as Error).message}`);
        if (alerts) {
          const m = telegram!.formatRefreshFailure({ components: [], fatal: (e as Error).message, database: location || dbOf(cmd) });
          await alerts.send(m);
        }
        throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        log.close();
      }
    });
}
