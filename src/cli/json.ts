// The --json shapes shared by several commands. One key style (snake_case) whatever the internal names;
// docs/json.md and docs/schemas/*.json describe them, and the tests hold the outputs to those schemas.
import type { BaselineReport } from '../baseline/baseline.js';
import type { Alerts } from '../ops/alert.js';
import type { RefreshSummary } from '../refresh/runner.js';
import type { ValidationReport } from '../validate/report.js';

export function refreshJson(s: RefreshSummary) {
  return {
    run_id: s.runId, dry_run: s.dryRun, ok: s.ok, interrupted: !!s.interrupted, tables: s.tables, timeframes: s.timeframes, periods: s.periods,
    threads: s.threads, checkpoint_ms: s.checkpointMs,
    components: s.components.map((c) => ({
      component: c.component, ms: c.ms, rows: c.rows, repairs: c.repairs, rejects: c.rejects, missing_days: c.gaps,
      error: c.error ?? null,
      counts: {
        built: c.assets.filter((a) => a.status === 'built').length,
        planned: c.assets.filter((a) => a.status === 'planned').length,
        current: c.assets.filter((a) => a.status === 'current').length,
        skipped: c.assets.filter((a) => a.status === 'skipped').length,
        failed: c.assets.filter((a) => a.status === 'failed').length,
      },
      assets: c.assets.map((a) => ({
        id: a.id, symbol: a.symbol, status: a.status, reason: a.reason, from: a.from ?? null, continued: a.continued ?? false, ms: a.ms,
      })),
    })),
  };
}

/** The validation verdict with the checks that did not pass (the whole report is `talab validate --json`). */
export function validationJson(r: ValidationReport) {
  return {
    ok: r.ok, assets: r.assets, errors: r.errors, warnings: r.warnings, ms: r.ms,
    problems: r.checks.filter((c) => c.status !== 'pass').map((c) => ({
      table: c.table, check: c.check, severity: c.severity, status: c.status, failures: c.failures,
    })),
  };
}

export function alertsJson(a: Alerts | null) {
  return (a?.sent ?? []).map((s) => ({ channel: s.channel, severity: s.severity, title: s.title, sent: s.sent, error: s.error ?? null }));
}

/** The verdict of a baseline run; the full report (every finding) is the JSON file it names. */
export function baselineJson(r: BaselineReport) {
  return {
    result: r.result, ok: r.exitCode === 0, exit_code: r.exitCode, started_at: r.startedAt, finished_at: r.finishedAt, ms: r.ms,
    database: r.metadata.database.location, engine: r.metadata.database.engine,
    phases: r.phases.map((p) => ({ name: p.name, status: p.status, ms: p.ms, errors: p.errors.length, reason: p.reason ?? null })),
    tables: r.tables.map((t) => ({ table: t.table, status: t.status, severity: t.severity, compared: t.compared, error: t.error ?? null })),
    problems: r.problems,
    report_files: r.files ? { json: r.files.json, text: r.files.text, html: r.files.html, diffs: r.files.diffs ?? null, diffs_parquet: r.files.diffsParquet ?? null } : null,
  };
}

/**
 * Object keys camelCase → snake_case, recursively. For documents whose shape belongs to another module
 * (validation report, status): fields added there come out in the one key style without touching this file.
 */
export function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase(), snakeKeys(x)]));
}
