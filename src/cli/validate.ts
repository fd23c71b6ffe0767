import type { Command } from 'commander';
import { openStore } from '../store/open.js';
import { UserError } from '../util/errors.js';
import { formatReport, runValidation } from '../validate/validate.js';
import { dbOf, idListArg, intArg } from './args.js';
import { snakeKeys } from './json.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(
      'Check the stored data: gaps, duplicates, OHLC integrity, bar invariants, EMA row counts (exit 1 on an error; '
        + 'gaps are warnings)',
    )
    .option('--ids <list>', 'comma-separated asset ids (default: every asset)', idListArg)
    .option('--json', 'machine-readable report: {ok, started_at, checks: [{table, check, status, failures, examples}], …} (docs/json.md)')
    .option('--examples <n>', 'failing keys shown per check (default 5; --json keeps 20)', intArg('--examples', 0))
    .option('--verbose', 'describe every check, not only the failing ones')
    .action(async (opts: { ids?: number[]; json?: boolean; examples?: number; verbose?: boolean }, cmd) => {
      const store = await openStore(dbOf(cmd), { mustExist: true, readOnlyRetryMs: 3000 });
      try {
        if (opts.ids) {
          const known = await store.query<{ id: number }>('SELECT id FROM dim_assets');
          const have = new Set(known.map((r) => Number(r.id)));
          const unknown = opts.ids.filter((id) => !have.has(id));
          if (unknown.length) throw new UserError(`--ids: unknown asset id(s) ${unknown.join(', ')} (not in dim_assets of ${store.location})`);
        }
        const report = await runValidation(store, { ids: opts.ids, maxExamples: opts.examples ?? (opts.json ? 20 : 5) });
        if (opts.json) console.log(JSON.stringify(snakeKeys(report), null, 2));
        else {
          console.log(formatReport(report, { examples: opts.examples ?? 5, verbose: opts.verbose }));
        }
        if (!report.ok) process.exitCode = 1;
        // Nothing checked is not a pass: a job pointed at an empty database must not report success.
        if (report.assets === 0) {
          console.error(`talab: no assets in ${store.location}: nothing was validated (import data first: talab import FILE…)`);
          process.exitCode = 1;
        }
      } finally {
        await store.close();
      }
    });
}
