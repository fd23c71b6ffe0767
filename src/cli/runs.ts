// `talab runs`: the run history, newest first.
import { InvalidArgumentError, type Command } from 'commander';
import { listRuns, RUN_KINDS, type RunKind } from '../ops/runs.js';
import { openStore } from '../store/open.js';
import { dbOf, intArg } from './args.js';

function kindArg(v: string): RunKind {
  if (!(RUN_KINDS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--kind must be one of ${RUN_KINDS.join(', ')}, got '${v}'`);
  return v as RunKind;
}

const dur = (ms: number | null) => (ms === null ? '-' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('Run history (refresh, import, daily, baseline), newest first: outcome, rows written, duration')
    .option('--limit <n>', 'how many runs (default 20)', intArg('--limit', 1))
    .option('--kind <kind>', `only one kind: ${RUN_KINDS.join(', ')}`, kindArg)
    .option('--json', 'machine-readable list (docs/json.md)')
    .action(async (opts: { limit?: number; kind?: RunKind; json?: boolean }, cmd: Command) => {
      const store = await openStore(dbOf(cmd), { mustExist: true });
      try {
        const runs = await listRuns(store, { limit: opts.limit ?? 20, kind: opts.kind });
        if (opts.json) {
          console.log(JSON.stringify({ database: store.location, runs }, null, 2));
          return;
        }
        if (runs.length === 0) {
          console.log(`no runs recorded in ${store.location}`);
          return;
        }
        const rows = runs.map((r) => [r.started_at.slice(0, 19).replace('T', ' '), r.kind, r.status, r.rows === null ? '-' : String(r.rows), dur(r.duration_ms), r.detail ?? '']);
        const head = ['started (UTC)', 'kind', 'outcome', 'rows', 'duration', 'detail'];
        const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        const fmt = (r: string[]) => r.map((v, i) => (i === 3 || i === 4 ? v.padStart(w[i]) : i === 5 ? v : v.padEnd(w[i]))).join('  ').trimEnd();
        console.log(fmt(head));
        for (const r of rows) console.log(fmt(r));
      } finally {
        await store.close();
      }
    });
}
