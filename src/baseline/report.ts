// The baseline report in three forms: JSON (everything, for tools), text (for people, also the log of
// record) and a small self-contained HTML page. File names carry the snapshot suffix, so a report is
// found next to the snapshot tables it describes.
import { constants } from 'node:fs';
import { access, mkdir, stat, writeFile } from 'node:fs/promises';
import { UserError } from '../util/errors.js';
import { dirname, join, resolve } from 'node:path';
import type { ColumnResult, KeyValue, Mismatch, TableResult } from './compare.js';
import { mismatchPlot, type PlotPoint } from './plot.js';
import { escapeHtml, PAGE_CSS } from '../web/style.js';
import type { RefreshSummary } from '../refresh/types.js';
import type { CompareMethod } from './compare-all.js';
import type { AssetInfo, GitInfo, Versions } from './metadata.js';
import type { SampleConfig } from './sample.js';
import type { TOLERANCES } from './tolerance.js';
import type { Store } from '../store/store.js';

export type PhaseName = 'snapshot' | 'truncate' | 'rebuild' | 'compare' | 'cleanup';
export type PhaseStatus = 'ok' | 'failed' | 'skipped' | 'dry-run';

export interface PhaseResult {
  name: PhaseName;
  status: PhaseStatus;
  ms: number;
  /** Every failure of the phase (one per table or asset where that applies). */
  errors: string[];
  /** Why a skipped phase did not run. */
  reason?: string;
  /** The statements and actions the phase ran, or would run under --dry-run. */
  steps: string[];
  details?: Record<string, unknown>;
}

export interface RowCounts {
  /** Live rows of the selected assets when the run started. */
  before: number | null;
  snapshot: number | null;
  afterTruncate: number | null;
  /** Live rows of the selected assets after the rebuild. */
  after: number | null;
}

export type BaselineResult = 'PASS' | 'FAIL' | 'DRY RUN';

export interface BaselineReport {
  /** Which command wrote the report. */
  tool: 'talab baseline' | 'talab baseline compare' | 'talab diff';
  reportVersion: 2;
  result: BaselineResult;
  /** 0 PASS or dry run, 1 FAIL. */
  exitCode: 0 | 1;
  startedAt: string;
  finishedAt: string;
  ms: number;
  suffix: string;
  metadata: {
    git: GitInfo;
    versions: Versions | null;
    database: { engine: Store['dialect']; location: string };
    scope: { ids: number[] | 'all' };
    assets: AssetInfo[];
    dateRange: { start: string | null; end: string | null };
    /** `talab diff` only: the right-hand database (the left one is `database`). */
    right?: { engine: Store['dialect']; location: string };
    settings: {
      dryRun: boolean;
      /** checksum (every row, by checksum bisection), sample, or full (every row joined in SQL). */
      method: CompareMethod;
      /** The sample settings; used by the sample method only. */
      sample: SampleConfig;
      topN: number;
      dropSnapshots: boolean;
      outputDir: string | null;
      rebuild: string;
    };
    tolerances: typeof TOLERANCES & { exact: string };
    severity: { critical: string; warning: string; info: string };
  };
  phases: PhaseResult[];
  rowCounts: Record<string, RowCounts>;
  snapshots: { table: string; snapshot: string; created: boolean; rows: number | null; kept: boolean }[];
  /** Partial snapshot sets (left by a killed baseline) dropped when this run started. */
  cleanedPartialSnapshots: string[];
  rebuild: RefreshSummary | null;
  tables: TableResult[];
  /** Every problem of the run in one list: phase failures, failed tables, their worst findings. */
  problems: string[];
  /** Differing keys written to the CSV beside the report (all of them, not only the top N). */
  differingKeys: number;
  files?: WrittenReport;
}

export function describeMethod(method: CompareMethod, sample: SampleConfig): string {
  if (method === 'checksum') return 'comparing every row by checksum bisection';
  if (method === 'full') return 'comparing every row joined in SQL (--full)';
  return `sample: first ${sample.beginningDays} d + last ${sample.endDays} d + ${(sample.randomFraction * 100).toFixed(2)} % of the interior (seed ${sample.seed})`;
}

export interface WrittenReport {
  json: string;
  text: string;
  html: string;
  /** Every differing key (CSV), when the comparison ran. */
  diffs?: string;
  /** The same rows as Parquet. */
  diffsParquet?: string;
}

/** Create the output directory now, so an unusable one stops the run before it changes anything. */
export async function prepareOutputDir(dir: string): Promise<void> {
  try {
    // One level at a time: a recursive mkdir under /proc keeps retrying instead of failing.
    const missing: string[] = [];
    let at = resolve(dir);
    while (!(await stat(at).then(() => true, () => false))) {
      missing.unshift(at);
      const up = dirname(at);
      if (up === at) break;
      at = up;
    }
    for (const d of missing) await mkdir(d);
    if (!(await stat(resolve(dir))).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    await access(resolve(dir), constants.W_OK);
  } catch (e) {
    throw new UserError(`--output-dir ${dir}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function diffsPath(dir: string, suffix: string): string {
  return join(resolve(dir), `baseline-${suffix}-diffs.csv`);
}

const STATUS_ORDER = { FAIL: 0, ERROR: 1, SKIPPED: 2, PASS: 3 } as const;

/** Failed tables first, then errors and skips, then passes; otherwise in build order. */
export function sortFailuresFirst(tables: TableResult[]): TableResult[] {
  return tables.map((t, i) => ({ t, i })).sort((a, b) => STATUS_ORDER[a.t.status] - STATUS_ORDER[b.t.status] || a.i - b.i).map((x) => x.t);
}

const RULE = '='.repeat(70);
const LINE = '-'.repeat(70);

/** JSON has no NaN or Infinity; write them as strings rather than silently as null. */
function replacer(_k: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

export function renderJson(r: BaselineReport): string {
  return JSON.stringify(r, replacer, 2) + '\n';
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
/** Tolerances in exponent form: 1e-5, not 0.00001. */
const tolText = (x: number | null) => (x === null ? '-' : x.toExponential());
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
function sci(x: number | null): string {
  if (x === null) return 'n/a';
  if (!Number.isFinite(x)) return String(x);
  return x === 0 ? '0' : x.toExponential(3);
}
function val(v: Mismatch['baseline']): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(12);
  return String(v);
}
export function keyText(k: KeyValue): string {
  return Object.entries(k).map(([c, v]) => `${c}=${v === null ? 'NULL' : v}`).join(' ');
}

function tableLine(t: TableResult): string {
  const head = `[${t.status}] ${t.table}`;
  if (t.status === 'ERROR' || t.status === 'SKIPPED') return `${head} — ${t.error}`;
  const strata = Object.entries(t.keys.strata).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${head} — ${pct(t.matchRate)} of ${t.keys.sampled} sampled key(s) match (${t.severity}); ` +
    `${t.keys.union} key(s) in the union${strata ? `; ${strata}` : ''}`;
}

function columnLine(c: ColumnResult): string {
  const tol = c.rtol === null ? 'exact' : `${c.family}, rtol ${tolText(c.rtol)} atol ${tolText(c.atol)}`;
  let s = `  ${c.column.padEnd(18)} ${tol.padEnd(26)} ${String(c.compared).padStart(8)} compared  ` +
    `${pct(c.matchRate).padStart(9)}  mismatches ${String(c.mismatches).padStart(6)}`;
  if (c.rtol !== null) s += `  max abs ${sci(c.maxAbsDiff).padStart(10)}  max rel ${sci(c.maxRelDiff).padStart(10)}`;
  if (c.mismatches > 0) s += `  ${c.severity}`;
  return s;
}

export function renderText(r: BaselineReport): string {
  const m = r.metadata;
  const o: string[] = [RULE, 'BASELINE CAPTURE REPORT', RULE, ''];
  o.push(`Result:          ${r.result}`);
  o.push(`Started:         ${r.startedAt} (${sec(r.ms)})`);
  o.push(`Snapshot suffix: ${r.suffix}`);
  o.push(`Database:        ${m.database.engine} ${m.database.location}${m.versions ? ` — ${m.versions.engine}` : ''}`);
  o.push(`Git commit:      ${m.git.commit ?? `unknown (${m.git.error})`}${m.git.branch ? ` on ${m.git.branch}` : ''}` +
    `${m.git.dirty === null ? '' : m.git.dirty ? ' (dirty: uncommitted changes)' : ' (clean)'}`);
  if (m.versions) {
    o.push(`Versions:        talab ${m.versions.talab}, Node ${m.versions.node}, ` +
      Object.entries(m.versions.drivers).map(([k, v]) => `${k} ${v}`).join(', '));
  }
  o.push(`Scope:           ${m.scope.ids === 'all' ? 'all assets' : `asset id(s) ${m.scope.ids.join(', ')}`}` +
    `; source days ${m.dateRange.start ?? '-'} .. ${m.dateRange.end ?? '-'}`);
  for (const a of m.assets) o.push(`                 ${a.symbol} (${a.id}): ${a.firstDay ?? '-'} .. ${a.lastDay ?? '-'}, ${a.sourceRows} source rows`);
  const s = m.settings.sample;
  o.push(`Comparison:      ${describeMethod(m.settings.method, s)}; top ${m.settings.topN} mismatches kept in this report` +
    `${r.files?.diffs ? `, all ${r.differingKeys} in ${r.files.diffs}` : ''}`);
  o.push(`Tolerances:      |a−b| ≤ max(rtol·max(|a|,|b|), atol); price/EMA rtol ${tolText(m.tolerances.price.rtol)} atol ` +
    `${tolText(m.tolerances.price.atol)}; volume/market cap rtol ${tolText(m.tolerances.volume.rtol)} atol ` +
    `${tolText(m.tolerances.volume.atol)}; other columns exact`);
  o.push(`Severity:        CRITICAL ${m.severity.critical}; WARNING ${m.severity.warning}; INFO ${m.severity.info}`);
  o.push(`Settings:        dry run ${m.settings.dryRun}, drop snapshots after a PASS ${m.settings.dropSnapshots}`);

  o.push('', 'PHASES', LINE);
  for (const p of r.phases) {
    const tag = `[${p.status.toUpperCase()}]`.padEnd(10);
    o.push(`${tag}${p.name.padEnd(10)} ${sec(p.ms)}${p.reason ? ` — ${p.reason}` : ''}`);
    for (const e of p.errors) o.push(`  Error: ${e}`);
  }
  if (r.rebuild) {
    for (const c of r.rebuild.components) {
      const by = (st: string) => c.assets.filter((a) => a.status === st).length;
      o.push(`  rebuild ${c.component}: ${by('built')} asset(s) built, ${by('failed')} failed, ${by('skipped')} skipped in ${sec(c.ms)}` +
        `${c.error ? ` — step error: ${c.error}` : ''}`);
    }
  }

  o.push('', 'ROW COUNTS (selected assets)', LINE);
  o.push(`  ${'table'.padEnd(36)} ${'before'.padStart(9)} ${'snapshot'.padStart(9)} ${'truncated'.padStart(9)} ${'after'.padStart(9)}`);
  const n = (x: number | null) => (x === null ? '-' : String(x)).padStart(9);
  for (const [t, c] of Object.entries(r.rowCounts)) o.push(`  ${t.padEnd(36)} ${n(c.before)} ${n(c.snapshot)} ${n(c.afterTruncate)} ${n(c.after)}`);

  if (r.result === 'DRY RUN') {
    o.push('', 'PLANNED STEPS', LINE);
    for (const p of r.phases) {
      o.push(`-- ${p.name}${p.reason ? ` (skipped: ${p.reason})` : ''}`);
      for (const st of p.steps) o.push(st);
    }
  }

  o.push('', 'COMPARISON RESULTS', LINE);
  if (r.tables.length === 0) o.push('  (no comparison ran)');
  for (const t of r.tables) {
    o.push(tableLine(t));
    if (t.status === 'ERROR' || t.status === 'SKIPPED') continue;
    const rebuilt = r.tool === 'talab baseline';
    const [missingLabel, extraLabel] = rebuilt ? ['missing from the rebuild:', 'extra in the rebuild:    '] : ['on the left side only:   ', 'on the right side only:  '];
    if (t.missing.count) o.push(`  ${missingLabel} ${t.missing.count} row(s), e.g. ${t.missing.top.slice(0, 3).map(keyText).join(' | ')}`);
    if (t.extra.count) o.push(`  ${extraLabel} ${t.extra.count} row(s), e.g. ${t.extra.top.slice(0, 3).map(keyText).join(' | ')}`);
    if (t.columnsOnlyLeft?.length) o.push(`  columns on the left side only (not compared):  ${t.columnsOnlyLeft.join(', ')}`);
    if (t.columnsOnlyRight?.length) o.push(`  columns on the right side only (not compared): ${t.columnsOnlyRight.join(', ')}`);
    for (const c of t.columns.filter((x) => x.nullDiffs > 0)) o.push(`  ${c.column}: ${c.nullDiffs} NULL(s) against a value`);
    if (t.checksum) o.push(`  checksums: ${t.checksum.queries} queries, ${t.checksum.differingSegments} differing segment(s), ${t.checksum.rowsPulled} row(s) pulled`);
    const shown = t.columns.filter((c) => c.rtol !== null || c.mismatches > 0);
    for (const c of shown) o.push(columnLine(c));
    const exactOk = t.columns.filter((c) => c.rtol === null && c.mismatches === 0).length;
    if (exactOk) o.push(`  ${exactOk} exact column(s) equal on every compared row`);
    for (const c of t.columns.filter((x) => x.top.length)) {
      o.push(`  top mismatches of ${c.column}:`);
      for (const x of c.top) {
        o.push(`    ${keyText(x.key)}: ${r.tool === 'talab diff' ? 'left' : 'snapshot'} ${val(x.baseline)}, ${r.tool === 'talab diff' ? 'right' : rebuilt ? 'rebuilt' : 'current'} ${val(x.rebuilt)}` +
          (x.absDiff !== null || x.relDiff !== null ? `, abs ${sci(x.absDiff)}, rel ${sci(x.relDiff)}` : ''));
      }
    }
  }

  o.push('', 'SNAPSHOTS', LINE);
  for (const sn of r.snapshots) {
    o.push(`  ${sn.snapshot}: ${sn.created ? `${sn.rows} rows, ${sn.kept ? 'kept' : 'dropped'}` : r.result === 'DRY RUN' ? 'planned' : 'not created'}`);
  }

  o.push('', 'OVERALL RESULT', LINE);
  if (r.result === 'PASS') o.push(`[PASS] All ${r.tables.length} tables match within tolerance; every phase succeeded`);
  else if (r.result === 'DRY RUN') o.push('[DRY RUN] Nothing was changed; the steps above are what a real run would do');
  else {
    o.push('[FAIL] Some comparisons failed or a phase reported errors');
    const bad = r.tables.filter((t) => t.status !== 'PASS').length;
    if (bad) o.push(`       ${bad}/${r.tables.length} tables did not pass`);
  }
  if (r.problems.length) {
    o.push('', 'Problems:');
    for (const p of r.problems) o.push(`  - ${p}`);
  }
  o.push(RULE);
  return o.join('\n') + '\n';
}

const esc = escapeHtml;

/** How many of a table's mismatches (largest differences first) the plot shows. */
const PLOTTED = 40;

function tablePlot(t: TableResult, xLabel: string, yLabel: string): string {
  const pts: (PlotPoint & { d: number })[] = [];
  for (const c of t.columns) {
    for (const x of c.top) {
      if (typeof x.baseline !== 'number' || typeof x.rebuilt !== 'number') continue;
      pts.push({ x: x.baseline, y: x.rebuilt, label: `${c.column} ${keyText(x.key)}`, d: x.relDiff ?? x.absDiff ?? 0 });
    }
  }
  pts.sort((a, b) => b.d - a.d);
  const svg = mismatchPlot(pts.slice(0, PLOTTED), xLabel, yLabel);
  return svg ? `<figure>${svg}<figcaption class="muted">The ${Math.min(PLOTTED, pts.length)} largest mismatches; points on the dashed diagonal would agree.</figcaption></figure>` : '';
}

export function renderHtml(r: BaselineReport): string {
  const cls = (s: string) => (s === 'PASS' ? 'pass' : s === 'DRY RUN' || s === 'SKIPPED' ? 'muted' : 'fail');
  const [left, right] = r.tool === 'talab diff' ? ['left', 'right'] : ['snapshot', r.tool === 'talab baseline' ? 'rebuilt' : 'current'];
  // Failed tables first: they are what the reader came for.
  const rows = sortFailuresFirst(r.tables).map((t) => {
    const cols = t.columns.filter((c) => c.rtol !== null || c.mismatches > 0).map((c) =>
      `<tr${c.mismatches ? ' class="fail"' : ''}><td>${esc(c.column)}</td><td>${c.family}</td><td class="num">${c.compared}</td><td class="num">${pct(c.matchRate)}</td><td class="num">${c.mismatches}</td>` +
      `<td class="num">${sci(c.maxAbsDiff)}</td><td class="num">${sci(c.maxRelDiff)}</td><td>${c.mismatches ? c.severity : ''}</td></tr>`).join('');
    const tops = t.columns.flatMap((c) => c.top.map((x) =>
      `<tr><td>${esc(c.column)}</td><td>${esc(keyText(x.key))}</td><td class="num">${esc(val(x.baseline))}</td><td class="num">${esc(val(x.rebuilt))}</td>` +
      `<td class="num">${sci(x.absDiff)}</td><td class="num">${sci(x.relDiff)}</td></tr>`)).join('');
    const side = (label: string, s: TableResult['missing']) =>
      s.count ? `<p class="fail">${label}: ${s.count} row(s), e.g. ${s.top.map((k) => esc(keyText(k))).join('; ')}</p>` : '';
    return `<h3 class="${cls(t.status)}">[${t.status}] ${esc(t.table)} — ${pct(t.matchRate)} of ${t.keys.sampled} keys, ${t.severity}</h3>` +
      (t.error ? `<p class="fail">${esc(t.error)}</p>` : '') + side(`Only in the ${left}`, t.missing) + side(`Only in the ${right}`, t.extra) +
      (cols ? `<table><tr><th>column</th><th>family</th><th>compared</th><th>match</th><th>mismatches</th><th>max abs</th><th>max rel</th><th>severity</th></tr>${cols}</table>` : '') +
      tablePlot(t, left, right) +
      (tops ? `<table><tr><th>column</th><th>key</th><th>${left}</th><th>${right}</th><th>abs</th><th>rel</th></tr>${tops}</table>` : '');
  }).join('\n');
  const phases = r.phases.map((p) =>
    `<tr${p.status === 'failed' ? ' class="fail"' : ''}><td>${p.name}</td><td>${p.status}</td><td class="num">${sec(p.ms)}</td><td>${esc([p.reason ?? '', ...p.errors].filter(Boolean).join('; '))}</td></tr>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>talab baseline ${esc(r.suffix)}: ${r.result}</title>
<style>${PAGE_CSS}</style></head><body>
<header><h1 class="${cls(r.result)}">Baseline ${r.result}</h1><span class="muted">${esc(r.tool)} · ${esc(r.suffix)} · ${esc(r.startedAt)}</span></header>
<main>
${r.problems.length ? `<h2>Problems</h2><ul>${r.problems.map((p) => `<li class="fail">${esc(p)}</li>`).join('')}</ul>` : ''}
<h2>Tables</h2>${rows || '<p>(no comparison ran)</p>'}
<h2>Phases</h2><table><tr><th>phase</th><th>status</th><th>time</th><th>notes</th></tr>${phases}</table>
<h2>Run</h2><pre>${esc(renderText(r).split('\nPHASES')[0])}</pre>
</main>
</body></html>
`;
}

export async function writeReport(r: BaselineReport, dir: string, diffs?: string, diffsParquet?: string): Promise<WrittenReport> {
  const abs = resolve(dir);
  await mkdir(abs, { recursive: true });
  const base = join(abs, `${r.tool === 'talab diff' ? 'diff' : 'baseline'}-${r.suffix}${r.result === 'DRY RUN' ? '-dry-run' : ''}`);
  const files: WrittenReport = { json: `${base}.json`, text: `${base}.txt`, html: `${base}.html`, ...(diffs ? { diffs } : {}), ...(diffsParquet ? { diffsParquet } : {}) };
  // The JSON names its sibling files, so it is written last with them filled in.
  const withFiles = { ...r, files };
  await writeFile(files.text, renderText(withFiles));
  await writeFile(files.html, renderHtml(withFiles));
  await writeFile(files.json, renderJson(withFiles));
  return files;
}

/** The few lines printed at the end of a run. */
export function summaryLines(r: BaselineReport): string[] {
  const out = ['', 'BASELINE SUMMARY', LINE];
  for (const t of r.tables) out.push(tableLine(t));
  for (const p of r.phases.filter((x) => x.status === 'failed')) out.push(`[FAILED] phase ${p.name}: ${p.errors.length} error(s)`);
  if (r.result === 'FAIL') {
    out.push(`RESULT: FAIL (${r.problems.length} problem(s))`);
    for (const p of r.problems.slice(0, 20)) out.push(`  - ${p}`);
    if (r.problems.length > 20) out.push(`  … ${r.problems.length - 20} more in the report`);
  } else out.push(`RESULT: ${r.result}`);
  if (r.files) {
    out.push(`report: ${r.files.text}`, `        ${r.files.json}`, `        ${r.files.html}`);
    if (r.files.diffs) out.push(`        ${r.files.diffs} (${r.differingKeys} differing key(s))`);
    if (r.files.diffsParquet) out.push(`        ${r.files.diffsParquet} (the same rows as Parquet)`);
  }
  return out;
}
