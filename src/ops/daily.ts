// The unattended daily job: import what arrived in the inbox, refresh, validate, check freshness, alert.
//
// Inbox files are moved after their import so that a file is imported once and a failed file is kept for a
// person to look at: `done/<stamp>/<name>` when the import succeeded (rejected lines included: they are in
// the log and the alert), `failed/<stamp>/<name>` when the file could not be imported at all. The stamp is the
// job's start (UTC, e.g. 20261204T051500Z), so every run's files stay together and the name is unchanged
// (importing a moved file again by hand still finds the asset from its name). A database error during an
// import stops the job with the file left in the inbox: the next run retries it.
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { importSource } from '../importer/import.js';
import { runRefresh, type Component, type RefreshEvent, type RefreshSummary } from '../refresh/runner.js';
import { allComponents } from '../features/enabled.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import type { ValidationReport } from '../validate/report.js';
import { runValidation } from '../validate/validate.js';
import type { Alerts } from './alert.js';
import { checkFreshness, formatFreshnessAlert, type FreshnessReport } from './freshness.js';
import { formatRefreshFailure, formatValidationFailure, type AlertMessage } from './telegram.js';

const SOURCE_FILE = /\.(csv|parquet)$/i;

export interface InboxFileResult {
  file: string;
  status: 'imported' | 'failed';
  moved_to: string;
  asset_id: number | null;
  symbol: string | null;
  inserted: number;
  revised: number;
  unchanged: number;
  rejected: number;
  error: string | null;
}

export interface DailyOptions {
  inbox: string;
  maxAgeDays: number;
  asOf?: string;
  jobs?: number;
  alerts: Alerts;
  onEvent?: (e: RefreshEvent) => void;
  /** Per-file progress of the import step. */
  onImport?: (done: number, total: number, r: InboxFileResult) => void;
  now?: Date;
}

export interface DailyResult {
  ok: boolean;
  imports: InboxFileResult[];
  refresh: RefreshSummary;
  validation: ValidationReport;
  freshness: FreshnessReport;
}

export function inboxFiles(inbox: string): string[] {
  let names: string[];
  try {
    if (!statSync(inbox).isDirectory()) throw new UserError(`--inbox ${inbox} is not a directory`, 2);
    names = readdirSync(inbox);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`--inbox ${inbox}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`, 2);
  }
  return names.filter((n) => SOURCE_FILE.test(n) && statSync(join(inbox, n)).isFile()).sort();
}

export const stampOf = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

function moveTo(inbox: string, sub: 'done' | 'failed', stamp: string, name: string): string {
  const dir = join(inbox, sub, stamp);
  mkdirSync(dir, { recursive: true });
  const to = join(dir, name);
  renameSync(join(inbox, name), to);
  return to;
}

export async function runDaily(store: Store, opts: DailyOptions): Promise<DailyResult> {
  const stamp = stampOf(opts.now ?? new Date());
  const names = inboxFiles(opts.inbox);
  const imports: InboxFileResult[] = [];
  for (const name of names) {
    let r: InboxFileResult;
    try {
      // A multi-asset file gives one report per asset: summed here, its symbols listed, asset_id null.
      const reps = await importSource(store, join(opts.inbox, name));
      const sum = (k: 'inserted' | 'revised' | 'unchanged' | 'rejected') => reps.reduce((s, x) => s + x[k], 0);
      const rejecting = reps.find((x) => x.rejected > 0);
      const rejected = sum('rejected');
      r = {
        file: name, status: 'imported', moved_to: moveTo(opts.inbox, 'done', stamp, name), asset_id: reps.length === 1 ? reps[0].asset.id : null,
        symbol: reps.map((x) => x.asset.symbol).join(','), inserted: sum('inserted'), revised: sum('revised'), unchanged: sum('unchanged'),
        rejected,
        error: rejecting
          ? `${rejected} ${rejecting.unit}(s) rejected, first: ${rejecting.unit} ${rejecting.rejects[0].line}: ${rejecting.rejects[0].reason}`
          : null,
      };
    } catch (e) {
      // Not the file's fault (the database failed): the caller alerts, the file waits for the next run.
      if (!(e instanceof UserError)) throw e;
      r = {
        file: name, status: 'failed', moved_to: moveTo(opts.inbox, 'failed', stamp, name), asset_id: null, symbol: null,
        inserted: 0, revised: 0, unchanged: 0, rejected: 0, error: e.message,
      };
    }
    imports.push(r);
    opts.onImport?.(imports.length, names.length, r);
  }
  const failedImports = imports.filter((i) => i.status === 'failed');
  const rejecting = imports.filter((i) => i.status === 'imported' && i.rejected > 0);
  if (failedImports.length || rejecting.length) {
    const m: AlertMessage = {
      severity: failedImports.length ? 'critical' : 'warning',
      title: `talab daily: ${failedImports.length} inbox file(s) failed to import, ${rejecting.length} with rejected lines`,
      lines: [...failedImports, ...rejecting].slice(0, 10).map((i) => `${i.file}: ${i.error} (moved to ${i.status === 'failed' ? 'failed' : 'done'}/${stamp}/)`),
    };
    await opts.alerts.send(m);
  }

  // As `refresh --all`: the feature matrix follows the EMAs once `features build` has written some.
  const components: Component[] = await allComponents(store, ['bars', 'emas'] as const);
  const refresh = await runRefresh(store, { components, jobs: opts.jobs, onEvent: opts.onEvent });
  if (!refresh.ok) await opts.alerts.send(formatRefreshFailure({ ...refresh, database: store.location }));
  const validation = await runValidation(store, {});
  if (validation.errors > 0 || validation.warnings > 0) await opts.alerts.send(formatValidationFailure(validation));
  const freshness = await checkFreshness(store, { maxAgeDays: opts.maxAgeDays, asOf: opts.asOf });
  if (!freshness.ok) await opts.alerts.send(formatFreshnessAlert(freshness, store.location));
  return {
    ok: failedImports.length === 0 && refresh.ok && validation.ok && freshness.ok,
    imports, refresh, validation, freshness,
  };
}
