// The validation report: one result per (table, check), machine-readable as is (`talab validate --json`)
// and rendered for people by formatReport.
//
// Severity policy: a gap in the daily history is a fact about the source (CMC has no row for that day), so it
// is a warning — reported, listed, but not a failure. Everything else is something our pipeline wrote wrong
// (or someone edited by hand) and is an error; only errors make `ok` false and the exit code 1.

export type CheckSeverity = 'error' | 'warning';
export type CheckStatus = 'pass' | 'warn' | 'fail';
export type ExampleValue = string | number | boolean | null;
/** One failing key with the values that show why; timestamps are ISO strings (a bare date for day closes). */
export type Example = Record<string, ExampleValue>;

export interface CheckResult {
  table: string;
  check: string;
  severity: CheckSeverity;
  status: CheckStatus;
  /** What the check is about, in one line. */
  description: string;
  /** How many things were examined, in `unit`s. */
  checked: number;
  unit: string;
  /** How many of them failed (for gaps: missing days). */
  failures: number;
  /** gaps only: how many runs of consecutive missing days; each example is one run. */
  ranges?: number;
  /** The first failures, ordered by key (at most ValidationOptions.maxExamples). */
  examples: Example[];
}

export interface ValidationReport {
  ok: boolean;
  database: string;
  /** The --ids scope, or null for every asset. */
  ids: number[] | null;
  assets: number;
  startedAt: string;
  ms: number;
  /** Checks that failed (error severity) and that warned. */
  errors: number;
  warnings: number;
  checks: CheckResult[];
}

const DAY_MS = 86_400_000;

/** A stored instant as text: the bare date for a day close (23:59:59.999Z), the full ISO instant otherwise. */
export function fmtTs(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return null;
  const iso = new Date(ms).toISOString();
  return ((ms % DAY_MS) + DAY_MS) % DAY_MS === DAY_MS - 1 ? iso.slice(0, 10) : iso;
}

export function statusOf(severity: CheckSeverity, failures: number): CheckStatus {
  if (failures === 0) return 'pass';
  return severity === 'error' ? 'fail' : 'warn';
}

function fmtValue(v: ExampleValue): string {
  if (typeof v === 'number' && !Number.isInteger(v)) return String(Number(v.toPrecision(10)));
  return String(v);
}

export function fmtExample(e: Example): string {
  return Object.entries(e).map(([k, v]) => `${k}=${fmtValue(v)}`).join(' ');
}

function checkLine(c: CheckResult): string {
  if (c.status === 'pass') return `${c.check}: ${c.checked} ${c.unit}`;
  if (c.ranges !== undefined) return `${c.check}: ${c.failures} missing day(s) in ${c.ranges} gap(s)`;
  return `${c.check}: ${c.failures} of ${c.checked} ${c.unit}`;
}

/**
 * Human report: one line per table (PASS / WARN / FAIL, checks, rows), then every check that did not pass
 * with its rule and first examples; `verbose` lists the passing checks too.
 */
export function formatReport(r: ValidationReport, opts: { examples?: number; verbose?: boolean } = {}): string {
  const show = opts.examples ?? 5;
  const out: string[] = [];
  const scope = r.ids ? `asset(s) ${r.ids.join(',')}` : `${r.assets} asset(s)`;
  out.push(`validation of ${r.database}: ${scope}, ${r.checks.length} checks in ${(r.ms / 1000).toFixed(1)} s`);
  const tables = [...new Set(r.checks.map((c) => c.table))];
  const width = Math.max(...tables.map((t) => t.length), 10);
  for (const table of tables) {
    const cs = r.checks.filter((c) => c.table === table);
    const failed = cs.filter((c) => c.status === 'fail').length;
    const warned = cs.filter((c) => c.status === 'warn').length;
    const tag = failed ? 'FAIL' : warned ? 'WARN' : 'PASS';
    const rows = Math.max(0, ...cs.filter((c) => c.unit === 'rows').map((c) => c.checked));
    const parts = [`${cs.length} check(s)`, `${rows} rows`];
    if (failed) parts.push(`${failed} failed`);
    if (warned) parts.push(`${warned} warning(s)`);
    out.push(`${tag}  ${table.padEnd(width)}  ${parts.join(', ')}`);
    for (const c of cs) {
      if (c.status === 'pass') {
        if (opts.verbose) out.push(`      pass  ${checkLine(c)}`);
        continue;
      }
      out.push(`      ${c.status}  ${checkLine(c)} — ${c.description}`);
      for (const e of c.examples.slice(0, show)) out.push(`            ${fmtExample(e)}`);
      const shown = Math.min(show, c.examples.length);
      const more = (c.ranges ?? c.failures) - shown;
      if (more > 0) out.push(`            … ${more} more${c.ranges !== undefined ? ' gap(s)' : ''}`);
    }
  }
  const verdict = r.ok ? (r.warnings ? 'PASS with warnings' : 'PASS') : 'FAIL';
  out.push(`result: ${verdict} — ${r.errors} check(s) failed, ${r.warnings} warning(s), ` +
    `${r.checks.length - r.errors - r.warnings} passed`);
  return out.join('\n');
}
