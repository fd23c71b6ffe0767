import { existsSync, statSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { compareAgainstSnapshot } from '../baseline/against.js';
import { COMPARE_METHODS, type CompareMethod } from '../baseline/compare-all.js';
import { summaryLines } from '../baseline/report.js';
import { BASELINE_TABLES, DEFAULT_OUTPUT_DIR, runBaseline, type BaselineReport } from '../baseline/baseline.js';
import { DEFAULT_SAMPLE, type SampleConfig } from '../baseline/sample.js';
import { dropSnapshotSet, listSnapshots } from '../baseline/snapshot.js';
import { openStore } from '../store/open.js';
import { recordRun } from '../ops/runs.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { ensureDir } from '../util/paths.js';
import { dbOf, dirArg, idListArg, intArg } from './args.js';
import { baselineJson } from './json.js';

/** A fraction in [0, 1] ("0.05") or a percentage ("5%"). */
export function fractionArg(v: string): number {
  const s = v.trim();
  const m = /^(\d+(?:\.\d*)?|\.\d+)(%?)$/.exec(s);
  if (!m) throw new InvalidArgumentError(`--sample-random-pct must be a fraction such as 0.05 or a percentage such as 5%, got '${v}'`);
  const x = m[2] ? Number(m[1]) / 100 : Number(m[1]);
  if (x > 1) {
    throw new InvalidArgumentError(`--sample-random-pct ${v} is above 100 %: give a fraction between 0 and 1 (0.05 = 5 %) or a percentage such as 5%`);
  }
  return x;
}

/** An age such as 7d, 12h or 30m (a bare number is days). */
export function ageArg(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([dhm]?)$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`--older-than must be an age such as 7d, 12h or 30m, got '${v}'`);
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, '': 86_400_000 }[m[2].toLowerCase() as 'd' | 'h' | 'm' | ''];
  return Number(m[1]) * unit;
}

export interface CompareFlags {
  ids?: number[];
  outputDir: string;
  sample?: boolean;
  sampleBeginning?: number;
  sampleEnd?: number;
  sampleRandomPct?: number;
  seed?: number;
  full?: boolean;
  top: number;
  json?: boolean;
}

interface BaselineFlags extends CompareFlags {
  dryRun?: boolean;
  dropSnapshots?: boolean;
  keepSnapshots?: boolean;
  wait?: number;
  json?: boolean;
}

/** The comparison options shared by baseline, baseline compare and diff. */
export function addCompareOptions(cmd: Command): Command {
  return cmd
    .option('--output-dir <dir>', 'where the JSON, text and HTML reports and the CSV of every differing key go', dirArg('--output-dir'), DEFAULT_OUTPUT_DIR)
    .addOption(new Option('--full', 'compare every row joined in SQL instead of by checksums (one database only)').conflicts('sample'))
    .option('--sample', 'compare a sample instead of every row (one database only; see the --sample-* options)')
    .option('--sample-beginning <days>', `with --sample: days compared at the start of each series (default ${DEFAULT_SAMPLE.beginningDays})`, intArg('--sample-beginning', 0, 100_000))
    .option('--sample-end <days>', `with --sample: days compared at the end of each series (default ${DEFAULT_SAMPLE.endDays})`, intArg('--sample-end', 0, 100_000))
    .option('--sample-random-pct <fraction>', `with --sample: share of the interior compared, 0.05 or 5% (default ${DEFAULT_SAMPLE.randomFraction})`, fractionArg)
    .option('--seed <n>', `with --sample: seed of the interior sample (default ${DEFAULT_SAMPLE.seed})`, intArg('--seed'))
    .option('--top <n>', 'mismatching rows listed per column, and one-side keys per table, in the report', intArg('--top'), 10);
}

export function methodOf(o: CompareFlags): { method: CompareMethod; sample: Partial<SampleConfig> } {
  const sampleFlags = [o.sampleBeginning, o.sampleEnd, o.sampleRandomPct, o.seed].some((x) => x !== undefined);
  if (sampleFlags && !o.sample) throw new UserError('--sample-beginning, --sample-end, --sample-random-pct and --seed need --sample');
  const method: CompareMethod = o.full ? 'full' : o.sample ? 'sample' : 'checksum';
  if (!COMPARE_METHODS.includes(method)) throw new UserError(`unknown method ${method}`);
  return { method, sample: { beginningDays: o.sampleBeginning, endDays: o.sampleEnd, randomFraction: o.sampleRandomPct, seed: o.seed } };
}

export function printReport(report: BaselineReport, outputDir: string | null, json = false): void {
  // With --json the step log went to stderr: stdout carries the one document.
  if (json) console.log(JSON.stringify(baselineJson(report), null, 2));
  else for (const l of summaryLines(report)) console.log(l);
  if (!report.files && outputDir) console.error(`talab: the report could not be written to ${outputDir}`);
  process.exitCode = report.exitCode;
}

async function withStore<T>(cmd: Command, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await openStore(dbOf(cmd), { mustExist: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const progressWanted = () => process.stderr.isTTY === true;

/**
 * The options of `baseline` given to one of its subcommands: commander reads options on either side of a
 * subcommand name as the parent's, so `baseline compare --output-dir x` sets baseline's --output-dir.
 * Options that mean nothing to the subcommand are a usage error rather than silently ignored.
 */
function sharedFlags(cmd: Command, refused: string[] | 'all'): CompareFlags {
  const parent = cmd.parent!;
  const given = parent.options.map((o) => o.attributeName()).filter((k) => parent.getOptionValueSource(k) === 'cli');
  const bad = refused === 'all' ? given : given.filter((k) => refused.includes(k));
  if (bad.length) {
    const flags = bad.map((k) => parent.options.find((o) => o.attributeName() === k)!.long).join(', ');
    throw new UserError(`baseline ${cmd.name()}: ${flags} ${bad.length > 1 ? 'do' : 'does'} not apply here`);
  }
  return parent.opts() as CompareFlags;
}

export function registerBaseline(program: Command): void {
  const baseline = addCompareOptions(program
    .command('baseline')
    .description(
      'Prove a full rebuild reproduces the derived tables: snapshot the 12 bar/EMA tables, delete the selected ' +
        "assets' rows and refresh state, rebuild from scratch, compare every row (by checksums) with tolerance, " +
        'write a report. Snapshots are dropped after a PASS. Exit 0 PASS, 1 FAIL. Subcommands: compare, list, drop.',
    )
    .option('--ids <list>', 'comma-separated asset ids (default: every asset); other assets are never touched', idListArg)
    .option('--dry-run', 'print every step and SQL statement without changing the database')
    .addOption(new Option('--keep-snapshots', 'keep the snapshot tables after a PASS (a FAIL always keeps them)').conflicts('dropSnapshots'))
    .addOption(new Option('--drop-snapshots', 'drop the snapshot tables after a PASS (the default)').conflicts('keepSnapshots'))
    .option('--wait <seconds>', 'wait this long for a running refresh to finish instead of refusing at once', intArg('--wait'))
    .option('--json', 'one JSON summary on stdout (result, phases, tables, problems, report files) instead of the text (docs/json.md)')
    .action(async (opts: BaselineFlags, cmd: Command) => {
      const { method, sample } = methodOf(opts);
      if (!opts.dryRun) ensureDir('--output-dir', opts.outputDir); // the default too: fail before any change
      await withStore(cmd, async (store) => {
        const report = await runBaseline(store, {
          ids: opts.ids, dryRun: opts.dryRun, outputDir: opts.outputDir, method, sample, topN: opts.top,
          dropSnapshots: opts.keepSnapshots !== true, waitSeconds: opts.wait, progress: progressWanted(), log: (l) => (opts.json ? console.error(l) : console.log(l)),
        });
        if (!opts.dryRun) {
          const rows = report.rebuild?.components.reduce((s, c) => s + Object.values(c.rows).reduce((a, b) => a + b, 0), 0) ?? 0;
          await recordRun(store, {
            kind: 'baseline', startedAt: new Date(report.startedAt), status: report.result === 'PASS' ? 'finished' : 'failed', rows,
            summary: {
              result: report.result, suffix: report.suffix, refresh_run_id: report.rebuild?.runId ?? null,
              detail: report.problems.length ? `${report.result}: ${report.problems.length} problem(s) — ${report.problems[0].split('\n')[0]}` : null,
            },
          });
        }
        printReport(report, opts.outputDir, opts.json);
      });
    }));

  baseline
    .command('compare')
    .description(
      'Compare the current derived tables with a kept snapshot set, without rebuilding. Exit 0 PASS, 1 FAIL. ' +
        "Takes baseline's comparison options: --ids (default: the assets the snapshot holds), --output-dir, --full, " +
        '--sample and --sample-*, --seed, --top.',
    )
    .requiredOption('--against <snapshot>', "a snapshot suffix as `talab baseline list` shows it (e.g. 20260205_143022), or 'latest'")
    .action(async (own: { against: string }, cmd: Command) => {
      const opts = { ...sharedFlags(cmd, ['dryRun', 'keepSnapshots', 'dropSnapshots', 'wait']), ...own };
      const { method, sample } = methodOf(opts);
      await withStore(cmd, async (store) => {
        const report = await compareAgainstSnapshot(store, opts.against, {
          ids: opts.ids, method, sample, topN: opts.top, outputDir: opts.outputDir, progress: progressWanted(), log: (l) => console.log(l),
        });
        printReport(report, opts.outputDir);
      });
    });

  baseline
    .command('list')
    .description('List the snapshot sets kept in the database: suffix, time taken, tables, rows; partial sets are marked.')
    .action(async (_o: unknown, cmd: Command) => {
      sharedFlags(cmd, 'all');
      await withStore(cmd, async (store) => {
        const sets = await listSnapshots(store, BASELINE_TABLES, true);
        if (!sets.length) return console.log('no snapshot sets');
        console.log(`${'suffix'.padEnd(22)} ${'taken (UTC)'.padEnd(20)} ${'tables'.padStart(6)} ${'rows'.padStart(12)}`);
        for (const s of sets) {
          console.log(`${s.suffix.padEnd(22)} ${s.takenAt.replace('T', ' ').replace('Z', '').padEnd(20)} ` +
            `${String(Object.keys(s.tables).length).padStart(6)} ${String(s.rows).padStart(12)}${s.complete ? '' : '  partial'}`);
        }
      });
    });

  baseline
    .command('drop')
    .description('Drop snapshot sets: the ones named, or those older than --older-than, or --all. On DuckDB the file is checkpointed after.')
    .argument('[suffix...]', 'snapshot suffixes to drop (see `talab baseline list`)')
    .option('--older-than <age>', 'drop the sets taken more than this long ago: 7d, 12h, 30m', ageArg)
    .option('--all', 'drop every snapshot set')
    .action(async (suffixes: string[], opts: { olderThan?: number; all?: boolean }, cmd: Command) => {
      const ways = [suffixes.length > 0, opts.olderThan !== undefined, opts.all === true].filter(Boolean).length;
      sharedFlags(cmd, 'all');
      if (ways !== 1) throw new UserError('baseline drop: name the snapshot suffixes, or give --older-than <age>, or --all (exactly one of them)');
      await withStore(cmd, async (store) => {
        const sets = await listSnapshots(store, BASELINE_TABLES);
        const unknown = suffixes.filter((x) => !sets.some((s) => s.suffix === x));
        if (unknown.length) throw new UserError(`baseline drop: no snapshot set ${unknown.join(', ')} (see \`talab baseline list\`)`);
        const now = Date.now();
        const chosen = sets.filter((s) => opts.all || suffixes.includes(s.suffix) ||
          (opts.olderThan !== undefined && now - Date.parse(s.takenAt) > opts.olderThan));
        for (const s of chosen) {
          await dropSnapshotSet(store, s);
          console.log(`dropped ${s.suffix} (${Object.keys(s.tables).length} tables)`);
        }
        if (!chosen.length) console.log('nothing to drop');
        if (store.engine.checkpointSql && chosen.length) {
          const path = store.location;
          if (existsSync(path)) console.log(`${path}: ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB after the checkpoint (freed blocks are reused by later writes; the file does not shrink)`);
        }
      });
    });
}
