import { InvalidArgumentError, Option, type Command } from 'commander';
import { summaryLines } from '../baseline/report.js';
import { DEFAULT_OUTPUT_DIR, runBaseline } from '../baseline/run.js';
import { DEFAULT_SAMPLE } from '../baseline/sample.js';
import { openStore } from '../store/open.js';
import { baselineJson } from './json.js';
import { dbOf, idListArg, intArg } from './args.js';

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

interface BaselineFlags {
  ids?: number[];
  dryRun?: boolean;
  skipRebuild?: boolean;
  outputDir: string;
  sampleBeginning?: number;
  sampleEnd?: number;
  sampleRandomPct?: number;
  seed?: number;
  full?: boolean;
  dropSnapshots?: boolean;
  keepSnapshots?: boolean;
  top: number;
  json?: boolean;
}

export function registerBaseline(program: Command): void {
  program
    .command('baseline')
    .description(
      'Prove a full rebuild reproduces the derived tables: snapshot the 12 bar/EMA tables, delete the selected ' +
        "assets' rows and refresh state, rebuild from scratch, compare with tolerance, write a report. Exit 0 PASS, 1 FAIL.",
    )
    .option('--ids <list>', 'comma-separated asset ids (default: every asset); other assets are never touched', idListArg)
    .option('--dry-run', 'print every step and SQL statement without changing the database')
    .option('--skip-rebuild', 'snapshot and compare only (no delete, no rebuild)')
    .option('--output-dir <dir>', 'where the JSON, text and HTML reports go', DEFAULT_OUTPUT_DIR)
    .option('--sample-beginning <days>', `days compared at the start of each series (default ${DEFAULT_SAMPLE.beginningDays})`, intArg('--sample-beginning'))
    .option('--sample-end <days>', `days compared at the end of each series (default ${DEFAULT_SAMPLE.endDays})`, intArg('--sample-end'))
    .option('--sample-random-pct <fraction>', `share of the interior compared, 0.05 or 5% (default ${DEFAULT_SAMPLE.randomFraction})`, fractionArg)
    .option('--seed <n>', `seed of the interior sample (default ${DEFAULT_SAMPLE.seed})`, intArg('--seed'))
    .option('--full', 'compare every row instead of a sample')
    .addOption(new Option('--keep-snapshots', 'keep the snapshot tables (default)').conflicts('dropSnapshots'))
    .addOption(new Option('--drop-snapshots', 'drop the snapshot tables after a PASS (a FAIL keeps them)').conflicts('keepSnapshots'))
    .option('--json', 'one JSON summary on stdout (result, phases, tables, problems, report files) instead of the text (docs/json.md)')
    .option('--top <n>', 'mismatching rows listed per column, and missing/extra keys per table', intArg('--top'), 10)
    .action(async (opts: BaselineFlags, cmd: Command) => {
      const store = await openStore(dbOf(cmd));
      try {
        const report = await runBaseline(store, {
          ids: opts.ids, dryRun: opts.dryRun, skipRebuild: opts.skipRebuild, outputDir: opts.outputDir,
          sample: {
            full: opts.full, beginningDays: opts.sampleBeginning, endDays: opts.sampleEnd,
            randomFraction: opts.sampleRandomPct, seed: opts.seed,
          },
          // With --json the step log goes to stderr: stdout carries the one document.
          topN: opts.top, dropSnapshots: opts.dropSnapshots === true, log: (l) => (opts.json ? console.error(l) : console.log(l)),
        });
        if (opts.json) console.log(JSON.stringify(baselineJson(report), null, 2));
        else for (const l of summaryLines(report)) console.log(l);
        if (!report.files && opts.outputDir) console.error(`talab: the report could not be written to ${opts.outputDir}`);
        process.exitCode = report.exitCode;
      } finally {
        await store.close();
      }
    });
}
