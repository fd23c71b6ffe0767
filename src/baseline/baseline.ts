// `talab baseline`: snapshot → truncate → rebuild → compare → report, with the usual hazards of such a tool
// avoided: truncation is scoped to the selected assets, their refresh state is reset
// so the rebuild really starts from nothing, and both sides are compared on the same keys.
//
// It never fails early: each phase is wrapped, its failure recorded, and the run continues wherever the
// next phase still means something. The one deliberate stop is safety: when a snapshot could not be
// taken, nothing is deleted, because rows without a copy could not be compared afterwards.
import { q } from '../schema/ddl.js';
import { DERIVED_TABLES, priceBars1dRejects, refreshState, type Table } from '../schema/tables.js';
import { runRefresh, type RefreshOptions, type RefreshSummary } from '../refresh/runner.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { acquireRunLock } from '../store/run-lock.js';
import { compareAll, type CompareMethod } from './compare-all.js';
import { compareSql, emptyTableResult, type TableResult } from './compare.js';
import { DiffSink } from './diffs.js';
import { phaseProgress } from './progress.js';
import { assetInfo, provenance, type AssetInfo } from './metadata.js';
import {
  describeMethod, diffsPath, prepareOutputDir, sortFailuresFirst, writeReport, type BaselineReport, type BaselineResult, type PhaseName, type PhaseResult, type RowCounts,
} from './report.js';
import { segmentSql } from './checksum.js';
import { DEFAULT_SAMPLE, idWhere, seriesShape, type SampleConfig } from './sample.js';
import { comparedColumns } from './tolerance.js';
import {
  createSnapshot, dropSnapshotSet, dropSnapshotSql, freeSuffix, listSnapshots, snapshotName, snapshotSql, timestampSuffix,
} from './snapshot.js';
import { CRITICAL_REL, TOLERANCES, WARNING_REL } from './tolerance.js';

export type { BaselineReport, BaselineResult, PhaseName, PhaseResult, PhaseStatus, RowCounts } from './report.js';

export interface BaselineHooks {
  /** Called before a phase runs; a throw fails that phase (tests inject failures through it). */
  beforePhase?: (phase: PhaseName) => void | Promise<void>;
  /** Called after a phase ran, whatever its outcome. */
  afterPhase?: (phase: PhaseName, result: PhaseResult) => void | Promise<void>;
}

export interface BaselineOptions {
  ids?: number[];
  dryRun?: boolean;
  /** How tables are compared (default checksum; sample when only sample settings are given). */
  method?: CompareMethod;
  /** Where the report files go (default .logs/baseline); null writes none. */
  outputDir?: string | null;
  sample?: Partial<SampleConfig>;
  topN?: number;
  /** Drop the snapshot tables after a PASS (default true; a FAIL always keeps them for investigation). */
  dropSnapshots?: boolean;
  /** Seconds to wait for a running refresh to finish (default 0: refuse at once). */
  waitSeconds?: number;
  /** Progress bars with ETA on stderr (the CLI turns them on for a terminal). */
  progress?: boolean;
  now?: Date;
  /** Directory whose git commit is recorded (default: the talab package root). */
  gitCwd?: string;
  log?: (line: string) => void;
  hooks?: BaselineHooks;
}

export const DEFAULT_OUTPUT_DIR = '.logs/baseline';

/** The derived tables a baseline covers, in build order (bars before the EMAs built from them). */
export const BASELINE_TABLES: Table[] = DERIVED_TABLES;

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function scopedCount(store: Store, table: string, ids?: number[]): Promise<number> {
  const r = await store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(table)} ${idWhere(ids)}`);
  return Number(r[0].n);
}

export async function checkIds(store: Store, ids: number[]): Promise<void> {
  if (ids.length === 0) throw new UserError('--ids: no asset ids given');
  const known = await store.query<{ id: number }>(`SELECT id FROM dim_assets ${idWhere(ids)}`);
  const have = new Set(known.map((r) => r.id));
  const unknown = ids.filter((id) => !have.has(id));
  if (unknown.length) {
    throw new UserError(`--ids: unknown asset id(s) ${unknown.join(', ')} (not in dim_assets; see \`talab status\`)`);
  }
}

export function resolveSample(s: Partial<SampleConfig> = {}): SampleConfig {
  const cfg = { ...DEFAULT_SAMPLE, ...Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) };
  for (const k of ['beginningDays', 'endDays'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 0) throw new UserError(`sample ${k} must be a whole number of days ≥ 0, got ${cfg[k]}`);
  }
  if (!(cfg.randomFraction >= 0 && cfg.randomFraction <= 1)) {
    throw new UserError(`sample random fraction must be between 0 and 1, got ${cfg.randomFraction}`);
  }
  if (!Number.isInteger(cfg.seed)) throw new UserError(`--seed must be an integer, got ${cfg.seed}`);
  return cfg;
}

/** The method the options ask for: explicit, else sample when sample settings are given, else checksum. */
export function resolveMethod(method: CompareMethod | undefined, sample: Partial<SampleConfig> | undefined): CompareMethod {
  if (method) return method;
  if (sample?.full) return 'full';
  const given = sample && Object.entries(sample).some(([k, v]) => k !== 'full' && v !== undefined);
  return given ? 'sample' : 'checksum';
}

export async function runBaseline(store: Store, opts: BaselineOptions = {}): Promise<BaselineReport> {
  const t0 = Date.now();
  const startedAt = (opts.now ?? new Date()).toISOString();
  const log = opts.log ?? (() => undefined);
  const ids = opts.ids ? [...new Set(opts.ids)].sort((a, b) => a - b) : undefined;
  const dryRun = opts.dryRun ?? false;
  const method = resolveMethod(opts.method, opts.sample);
  const sample = resolveSample(opts.sample);
  const topN = opts.topN ?? 10;
  const dropSnapshots = opts.dropSnapshots ?? true;
  if (!Number.isInteger(topN) || topN < 0) throw new UserError(`--top must be a whole number ≥ 0, got ${topN}`);
  const outputDir = opts.outputDir === undefined ? DEFAULT_OUTPUT_DIR : opts.outputDir;
  if (ids) await checkIds(store, ids);
  // Before anything is written: an unusable output directory is a usage error, not a lost report.
  if (outputDir !== null) await prepareOutputDir(outputDir);

  const unlock = dryRun ? async () => undefined : await acquireRunLock(store, 'baseline', { waitSeconds: opts.waitSeconds, onWait: log });
  try {
    return await runLocked(store, opts, { t0, startedAt, log, ids, dryRun, method, sample, topN, dropSnapshots, outputDir });
  } finally {
    await unlock();
  }
}

interface Resolved {
  t0: number;
  startedAt: string;
  log: (line: string) => void;
  ids: number[] | undefined;
  dryRun: boolean;
  method: CompareMethod;
  sample: SampleConfig;
  topN: number;
  dropSnapshots: boolean;
  outputDir: string | null;
}

async function runLocked(store: Store, opts: BaselineOptions, c: Resolved): Promise<BaselineReport> {
  const { t0, startedAt, log, ids, dryRun, method, sample, topN, dropSnapshots, outputDir } = c;
  const tables = BASELINE_TABLES;
  const problems: string[] = [];
  const phases: PhaseResult[] = [];
  const rowCounts: Record<string, RowCounts> = {};
  for (const t of tables) rowCounts[t.name] = { before: null, snapshot: null, afterTruncate: null, after: null };

  // A baseline killed while it took its snapshots leaves an incomplete set, which no comparison can use:
  // drop such sets now (complete sets are kept — one may hold the only copy of rows a killed run deleted).
  const cleanedPartialSnapshots: string[] = [];
  if (!dryRun) {
    for (const set of (await listSnapshots(store, tables)).filter((s) => !s.complete)) {
      await dropSnapshotSet(store, set);
      cleanedPartialSnapshots.push(set.suffix);
      log(`dropped the partial snapshot set ${set.suffix} (${Object.keys(set.tables).length} of ${tables.length} tables) left by an interrupted baseline`);
    }
  }
  const suffix = dryRun ? timestampSuffix(opts.now ?? new Date()) : await freeSuffix(store, tables, timestampSuffix(opts.now ?? new Date()));

  // Metadata first: a failure here is reported, never fatal.
  const { git, vers } = await provenance(store, opts.gitCwd, problems);
  let assets: AssetInfo[] = [];
  try {
    assets = await assetInfo(store, ids);
  } catch (e) {
    problems.push(`metadata: assets unknown: ${msg(e)}`);
  }
  for (const t of tables) {
    try {
      rowCounts[t.name].before = await scopedCount(store, t.name, ids);
    } catch (e) {
      problems.push(`row count of ${t.name}: ${msg(e)}`);
    }
  }
  const days = assets.flatMap((a) => [a.firstDay, a.lastDay]).filter((d): d is string => d !== null).sort();

  log(`BASELINE ${dryRun ? '(dry run) ' : ''}on ${store.location}`);
  log(`  assets: ${ids ? assets.map((a) => `${a.symbol} (${a.id})`).join(', ') : `all (${assets.length})`}`);
  log(`  snapshot suffix: ${suffix}; ${describeMethod(method, sample)}`);

  async function phase(
    name: PhaseName, body: (p: PhaseResult) => Promise<void>, skip?: string,
  ): Promise<PhaseResult> {
    const p: PhaseResult = { name, status: 'ok', ms: 0, errors: [], steps: [] };
    const ts = Date.now();
    log(`\nPHASE ${name.toUpperCase()}${dryRun && !skip ? ' (dry run)' : ''}`);
    if (skip) {
      p.status = 'skipped';
      p.reason = skip;
      log(`  skipped: ${skip}`);
    } else {
      try {
        await opts.hooks?.beforePhase?.(name);
        await body(p);
        if (p.errors.length) p.status = 'failed';
        else if (dryRun) p.status = 'dry-run';
      } catch (e) {
        p.errors.push(msg(e));
        p.status = 'failed';
      }
    }
    p.ms = Date.now() - ts;
    for (const e of p.errors) {
      log(`  [ERROR] ${e}`);
      problems.push(`${name}: ${e}`);
    }
    phases.push(p);
    await opts.hooks?.afterPhase?.(name, p);
    return p;
  }
  const step = (p: PhaseResult, s: string) => {
    p.steps.push(s);
    if (dryRun) log(`  ${s.replace(/\n/g, '\n    ')}`);
  };
  const bar = (name: string, total: number, unit: string) => phaseProgress(name, total, unit, !!opts.progress && !dryRun);

  // Snapshot every table (the selected assets' rows), keyed by the table's primary key.
  const snapshots = tables.map((t) => ({ table: t.name, snapshot: snapshotName(t, suffix), created: false, rows: null as number | null, kept: true }));
  await phase('snapshot', async (p) => {
    const pb = bar('snapshot', tables.length, 'tables');
    try {
      for (const [i, t] of tables.entries()) {
        const s = snapshots[i];
        for (const sql of snapshotSql(store.engine, t, s.snapshot, ids)) step(p, sql + ';');
        if (dryRun) continue;
        try {
          s.rows = await createSnapshot(store, t, s.snapshot, ids);
          s.created = true;
          rowCounts[t.name].snapshot = s.rows;
          log(`  [OK] ${s.snapshot}: ${s.rows} rows`);
        } catch (e) {
          p.errors.push(`${t.name}: ${msg(e)}`);
        }
        pb.tick();
      }
    } finally {
      pb.stop();
    }
  });
  const allSnapshots = dryRun || snapshots.every((s) => s.created);

  // Truncate: delete the selected assets' rows and reset their refresh state, all or nothing.
  const destructiveSkip = !allSnapshots ? 'not every table could be snapshotted; deleting rows without a copy would make them uncomparable' : undefined;
  const truncPhase = await phase('truncate', async (p) => {
    const stmts = [
      ...tables.map((t) => `DELETE FROM ${q(t.name)} ${idWhere(ids)}`.trimEnd()),
      // Derived too (rebuilt with price_bars_1d); left alone, an asset that stops rebuilding keeps stale rejects.
      `DELETE FROM ${q(priceBars1dRejects.name)} ${idWhere(ids)}`.trimEnd(),
      // Without its state an asset looks never built, so nothing can be skipped as "already current".
      `DELETE FROM ${q(refreshState.name)} ${idWhere(ids)}`.trimEnd(),
    ];
    step(p, 'BEGIN;');
    for (const s of stmts) step(p, s + ';');
    step(p, 'COMMIT;');
    if (dryRun) return;
    await store.transaction(async () => {
      for (const s of stmts) await store.exec(s);
    });
    for (const t of tables) {
      const n = await scopedCount(store, t.name, ids);
      rowCounts[t.name].afterTruncate = n;
      if (n !== 0) p.errors.push(`${t.name}: ${n} row(s) of the selected assets remain after the delete`);
    }
    log(`  [OK] ${tables.length} tables cleared for ${ids ? `asset(s) ${ids.join(', ')}` : 'all assets'}; refresh state reset`);
  }, destructiveSkip);

  // Rebuild from scratch, bars then EMAs, over the default timeframe and period selection.
  let rebuild: RefreshSummary | null = null;
  const refreshOpts: RefreshOptions = { components: ['bars', 'emas'], ids, fullRebuild: true };
  const rebuildDesc = `runRefresh({ components: ['bars', 'emas'], ids: ${ids ? `[${ids.join(', ')}]` : 'all assets with source rows'}, fullRebuild: true })`;
  await phase('rebuild', async (p) => {
    step(p, rebuildDesc);
    if (dryRun) return;
    let pb = bar('rebuild', 1, 'assets');
    try {
      rebuild = await runRefresh(store, {
        ...refreshOpts,
        onEvent: (e) => {
          if (e.kind === 'start') {
            pb.stop();
            pb = bar(`rebuild ${e.component}`, e.assets, 'assets');
            log(`  ${e.component}: ${e.assets} asset(s)`);
          } else if (e.kind === 'computed') {
            pb.tick(); // as each asset is computed, not only when its group commits
          } else if (e.kind === 'asset') {
            log(`    ${e.component} ${e.symbol} (${e.id}): ${e.status}${e.reason ? ` — ${e.reason}` : ''} [${e.ms} ms]`);
          }
        },
      });
    } finally {
      pb.stop();
    }
    for (const c of rebuild.components) {
      if (c.error) p.errors.push(`${c.component}: ${c.error}`);
      // "current" after the reset means nothing to build (no source rows); rows that should exist anyway
      // show up as missing in the comparison. Failed and skipped assets are the rebuild's own problems.
      for (const a of c.assets.filter((x) => x.status === 'failed' || x.status === 'skipped')) {
        p.errors.push(`${c.component} of asset ${a.id} (${a.symbol}) ${a.status}${a.reason ? `: ${a.reason}` : ''}`);
      }
    }
  }, destructiveSkip);
  if (truncPhase.status === 'ok' && phases[phases.length - 1].status === 'failed') {
    problems.push(
      `rebuild: the selected assets' derived rows were deleted and not fully rebuilt; restore them with ` +
        `\`talab refresh --all --full-rebuild${ids ? ` --ids ${ids.join(',')}` : ''}\` (the snapshots hold the previous rows)`,
    );
  }
  if (!dryRun) {
    for (const t of tables) {
      try {
        rowCounts[t.name].after = await scopedCount(store, t.name, ids);
      } catch (e) {
        problems.push(`row count of ${t.name}: ${msg(e)}`);
      }
    }
  }

  // Compare each table with its snapshot.
  let results: TableResult[] = [];
  const sink = !dryRun && outputDir !== null ? new DiffSink(diffsPath(outputDir, suffix)) : undefined;
  await phase('compare', async (p) => {
    if (dryRun) {
      for (const [i, t] of tables.entries()) {
        if (method === 'checksum') {
          // The first level of the bisection on each side (exact checksums); the rest depends on what differs.
          const { time, series } = seriesShape(t);
          const sql = segmentSql(store.engine, t, snapshots[i].snapshot, comparedColumns(t), series, time, { where: idWhere(ids), params: [] }, 'exact');
          step(p, `${sql};`);
          step(p, `${segmentSql(store.engine, t, t.name, comparedColumns(t), series, time, { where: idWhere(ids), params: [] }, 'exact')};`);
        }
        else for (const sql of compareSql(store, t, snapshots[i].snapshot, { ids, sample: { ...sample, full: method === 'full' }, topN })) step(p, sql + ';');
      }
      return;
    }
    const pairs = tables.map((t, i) => ({ table: t, left: { store, table: snapshots[i].snapshot }, right: { store, table: t.name } }));
    const made = pairs.filter((_, i) => snapshots[i].created);
    const pb = bar('compare', made.length, 'tables');
    try {
      const done = await compareAll(made, { method, ids, sample, topN, sink, log, onTable: () => pb.tick() });
      results = tables.map((t, i) => (snapshots[i].created ? done.shift()! : emptyTableResult(t, snapshots[i].snapshot, 'SKIPPED', 'its snapshot was not created')));
    } finally {
      pb.stop();
    }
    for (const r of results.filter((x) => x.status === 'ERROR')) p.errors.push(`${r.table}: ${r.error}`);
  });
  finishProblems(results, problems);

  const failed = phases.some((p) => p.status === 'failed') || results.some((r) => r.status !== 'PASS');
  const result: BaselineResult = dryRun ? 'DRY RUN' : failed ? 'FAIL' : 'PASS';

  // Cleanup: snapshot retention. Dropped after a PASS unless --keep-snapshots; a FAIL keeps them.
  await phase('cleanup', async (p) => {
    for (const s of snapshots) step(p, `${dropSnapshotSql(s.snapshot)};`);
    if (store.engine.checkpointSql) step(p, `${store.engine.checkpointSql};`);
    if (dryRun) return;
    const set = { suffix, takenAt: startedAt, complete: true, tables: Object.fromEntries(snapshots.filter((s) => s.created).map((s) => [s.table, s.snapshot])) };
    await dropSnapshotSet(store, set);
    for (const s of snapshots) s.kept = false;
    log(`  [OK] ${snapshots.filter((s) => s.created).length} snapshot table(s) dropped`);
  }, !dropSnapshots ? 'snapshots kept (--keep-snapshots)'
    : result === 'FAIL' ? `the run failed: snapshots kept for investigation (\`talab baseline compare --against ${suffix}\` compares again)` : undefined);
  for (const s of snapshots) if (!s.created) s.kept = false;

  const report: BaselineReport = {
    tool: 'talab baseline', reportVersion: 2, result, exitCode: result === 'FAIL' ? 1 : 0,
    startedAt, finishedAt: new Date().toISOString(), ms: Date.now() - t0, suffix,
    metadata: {
      git, versions: vers, database: { engine: store.dialect, location: store.location },
      scope: { ids: ids ?? 'all' }, assets, dateRange: { start: days[0] ?? null, end: days[days.length - 1] ?? null },
      settings: { dryRun, method, sample, topN, dropSnapshots, outputDir, rebuild: rebuildDesc },
      tolerances: TOLERANCE_META, severity: SEVERITY_META,
    },
    phases, rowCounts, snapshots, cleanedPartialSnapshots, rebuild, tables: sortFailuresFirst(results), problems,
    differingKeys: sink?.count ?? 0,
  };
  return finishReport(report, outputDir, sink);
}

export const TOLERANCE_META = { ...TOLERANCES, exact: 'IS NOT DISTINCT FROM (NULL = NULL; ints, bools, text, timestamps)' };
export const SEVERITY_META = {
  critical: `largest relative difference among mismatches > ${CRITICAL_REL * 100} %, a NULL/NaN against a value, ` +
    'an exact column differing, missing/extra rows, or a column present on one side only',
  warning: `largest relative difference among mismatches > ${WARNING_REL.toExponential()}`, info: 'otherwise',
};


export function finishProblems(results: TableResult[], problems: string[]): void {
  for (const r of results) {
    if (r.status === 'FAIL') problems.push(`${r.table}: ${tableProblem(r)}`);
    if (r.status === 'SKIPPED') problems.push(`${r.table}: not compared (${r.error})`);
  }
}

/** Write the report files; a report that cannot be saved turns a PASS into a FAIL. */
export async function finishReport(report: BaselineReport, outputDir: string | null, sink?: DiffSink): Promise<BaselineReport> {
  if (outputDir !== null) {
    try {
      const parquet = sink ? await sink.writeParquet() : undefined;
      report.files = await writeReport(report, outputDir, sink?.path, parquet);
    } catch (e) {
      report.problems.push(`report: cannot write to ${outputDir}: ${msg(e)}`);
      if (report.result === 'PASS') {
        report.result = 'FAIL';
        report.exitCode = 1;
      }
    }
  }
  return report;
}

function tableProblem(r: TableResult): string {
  const parts: string[] = [`${r.severity}`];
  if (r.missing.count) parts.push(`${r.missing.count} row(s) on the left (reference) side only`);
  if (r.extra.count) parts.push(`${r.extra.count} row(s) on the right side only`);
  if (r.columnsOnlyLeft?.length) parts.push(`column(s) only on the left: ${r.columnsOnlyLeft.join(', ')}`);
  if (r.columnsOnlyRight?.length) parts.push(`column(s) only on the right: ${r.columnsOnlyRight.join(', ')}`);
  for (const c of r.columns.filter((x) => x.mismatches > 0)) {
    parts.push(`${c.column}: ${c.mismatches} mismatch(es)${c.nullDiffs ? ` (${c.nullDiffs} NULL against a value)` : ''}, max rel diff ${c.mismatchMaxRelDiff === null ? 'n/a' : c.mismatchMaxRelDiff.toExponential(3)} (${c.severity})`);
  }
  return parts.join('; ');
}
