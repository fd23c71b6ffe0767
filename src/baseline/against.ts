// `talab baseline compare --against SUFFIX|latest` and `talab diff`: the compare phase of a baseline on its
// own, with the same tolerance rules, methods and report. compare: the current derived tables against a
// kept snapshot set, with no rebuild. diff: the derived tables (or one named table) of two databases,
// on the same engine or across DuckDB and PostgreSQL.
import { DERIVED_TABLES, type Table } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { compareAll, idsIn, type CompareMethod, type TablePair } from './compare-all.js';
import { DiffSink } from './diffs.js';
import { provenance } from './metadata.js';
import { phaseProgress } from './progress.js';
import { diffsPath, prepareOutputDir, sortFailuresFirst } from './report.js';
import {
  DEFAULT_OUTPUT_DIR, SEVERITY_META, checkIds, TOLERANCE_META, finishProblems, finishReport, resolveMethod, resolveSample,
  type BaselineReport, type PhaseResult,
} from './baseline.js';
import type { SampleConfig } from './sample.js';
import { listSnapshots, resolveSnapshot, timestampSuffix } from './snapshot.js';

export interface CompareOnlyOptions {
  ids?: number[];
  method?: CompareMethod;
  sample?: Partial<SampleConfig>;
  topN?: number;
  outputDir?: string | null;
  log?: (line: string) => void;
  progress?: boolean;
  /** Columns not compared (default for diff: src_load_ts; for compare: none). */
  ignoreColumns?: string[];
  now?: Date;
  gitCwd?: string;
}


/**
 * src_load_ts records when the source row was imported: two databases loaded at different times differ
 * there by design, so `diff` leaves it out unless told otherwise.
 */
export const DIFF_DEFAULT_IGNORE = ['src_load_ts'];

function ignoreOf(tool: BaselineReport['tool'], given: string[] | undefined): { name: string; reason: string }[] {
  if (given) return given.map((name) => ({ name, reason: 'left out with --ignore-columns' }));
  return tool === 'talab diff' ? DIFF_DEFAULT_IGNORE.map((name) => ({ name, reason: 'import time of the source row: differs between databases loaded at different times (compare it with --ignore-columns "")' })) : [];
}

/** The schema table a name belongs to: a derived table itself, or one of its snapshots. */
export function schemaTableOf(name: string): Table | undefined {
  return DERIVED_TABLES.find((t) => name === t.name) ?? DERIVED_TABLES.find((t) => name.startsWith(`${t.name}_snapshot_`));
}

async function compareOnly(
  tool: BaselineReport['tool'], left: Store, right: Store, pairs: TablePair[], suffix: string, ids: number[] | undefined,
  opts: CompareOnlyOptions,
): Promise<BaselineReport> {
  const t0 = Date.now();
  const startedAt = (opts.now ?? new Date()).toISOString();
  const log = opts.log ?? (() => undefined);
  const method = resolveMethod(opts.method, opts.sample);
  const sample = resolveSample(opts.sample);
  const topN = opts.topN ?? 10;
  if (!Number.isInteger(topN) || topN < 0) throw new UserError(`--top must be a whole number ≥ 0, got ${topN}`);
  if (method !== 'checksum' && left !== right) {
    throw new UserError(`--${method} compares inside one database; across databases only the checksum method works`);
  }
  const outputDir = opts.outputDir === undefined ? DEFAULT_OUTPUT_DIR : opts.outputDir;
  if (outputDir !== null) await prepareOutputDir(outputDir);
  const problems: string[] = [];
  const { git, vers } = await provenance(left, opts.gitCwd, problems);
  const sink = outputDir !== null ? new DiffSink(diffsPath(outputDir, suffix).replace(/baseline-([^/\\]*)$/, `${tool === 'talab diff' ? 'diff' : 'baseline'}-$1`)) : undefined;
  const p: PhaseResult = { name: 'compare', status: 'ok', ms: 0, errors: [], steps: pairs.map((x) => `${x.left.table} ⇄ ${x.right.table}`) };
  const pb = phaseProgress('compare', pairs.length, 'tables', !!opts.progress);
  const ts = Date.now();
  let results;
  try {
    results = await compareAll(pairs, { method, ids, sample, topN, sink, log, ignore: ignoreOf(tool, opts.ignoreColumns), onTable: () => pb.tick() });
  } finally {
    pb.stop();
  }
  p.ms = Date.now() - ts;
  for (const r of results.filter((x) => x.status === 'ERROR')) p.errors.push(`${r.table}: ${r.error}`);
  if (p.errors.length) p.status = 'failed';
  for (const e of p.errors) problems.push(`compare: ${e}`);
  finishProblems(results, problems);
  const failed = p.status === 'failed' || results.some((r) => r.status !== 'PASS');
  const report: BaselineReport = {
    tool, reportVersion: 2, result: failed ? 'FAIL' : 'PASS', exitCode: failed ? 1 : 0,
    startedAt, finishedAt: new Date().toISOString(), ms: Date.now() - t0, suffix,
    metadata: {
      git, versions: vers, database: { engine: left.dialect, location: left.location },
      ...(left !== right ? { right: { engine: right.dialect, location: right.location } } : {}),
      scope: { ids: ids ?? 'all' }, assets: [], dateRange: { start: null, end: null },
      settings: { dryRun: false, method, sample, topN, dropSnapshots: false, outputDir, rebuild: 'none' },
      tolerances: TOLERANCE_META, severity: SEVERITY_META,
    },
    phases: [p], rowCounts: {}, snapshots: [], cleanedPartialSnapshots: [], rebuild: null,
    tables: sortFailuresFirst(results), problems, differingKeys: sink?.count ?? 0,
  };
  return finishReport(report, outputDir, sink);
}

/**
 * The current derived tables against a kept snapshot set. The scope is the assets the snapshot holds
 * (a baseline run with --ids snapshots only those), unless ids are given.
 */
export async function compareAgainstSnapshot(store: Store, against: string, opts: CompareOnlyOptions = {}): Promise<BaselineReport> {
  if (opts.ids) await checkIds(store, opts.ids);
  const set = await resolveSnapshot(store, DERIVED_TABLES, against);
  if (!set.complete) {
    (opts.log ?? (() => undefined))(`note: snapshot set ${set.suffix} is partial (${Object.keys(set.tables).length} of ${DERIVED_TABLES.length} tables); the others are reported ERROR`);
  }
  const ids = opts.ids ?? await idsIn(store, Object.values(set.tables));
  const pairs: TablePair[] = DERIVED_TABLES.map((t) => ({
    table: t, left: { store, table: set.tables[t.name] ?? `${t.name}_snapshot_${set.suffix}` }, right: { store, table: t.name },
  }));
  (opts.log ?? (() => undefined))(`BASELINE COMPARE: current tables of ${store.location} against snapshot set ${set.suffix} (taken ${set.takenAt})`);
  return compareOnly('talab baseline compare', store, store, pairs, `${set.suffix}-compare-${timestampSuffix(opts.now ?? new Date())}`, ids, opts);
}

export interface DiffSide {
  store: Store;
  /** One table to compare; absent: every derived table. */
  table?: string;
}

export async function diffDatabases(left: DiffSide, right: DiffSide, opts: CompareOnlyOptions = {}): Promise<BaselineReport> {
  if (opts.ids) await checkIds(left.store, opts.ids);
  let pairs: TablePair[];
  if (left.table || right.table) {
    const lt = left.table ?? right.table!;
    const rt = right.table ?? left.table!;
    const schema = schemaTableOf(rt) ?? schemaTableOf(lt);
    if (!schema) {
      throw new UserError(`diff: ${rt} is not a derived table or one of its snapshots (${DERIVED_TABLES.map((t) => t.name).join(', ')})`);
    }
    pairs = [{ table: schema, left: { store: left.store, table: lt }, right: { store: right.store, table: rt } }];
  } else {
    pairs = DERIVED_TABLES.map((t) => ({ table: t, left: { store: left.store, table: t.name }, right: { store: right.store, table: t.name } }));
  }
  (opts.log ?? (() => undefined))(`DIFF: ${left.store.location}${left.table ? `:${left.table}` : ''} ⇄ ${right.store.location}${right.table ? `:${right.table}` : ''}`);
  return compareOnly('talab diff', left.store, right.store, pairs, timestampSuffix(opts.now ?? new Date()), opts.ids, opts);
}

export { listSnapshots };
