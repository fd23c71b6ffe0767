// Big synthetic universes for the daily-run measurements of docs/performance.md, kept on disk between runs:
//
//   node dist/bench/universe.js build --db FILE --assets 1000 --days 3000 [--shard 100] [--keep-days 60]
//   node dist/bench/universe.js daily --db FILE --assets 1000 --days 3000 [--count 3] [--jobs 2]
//
// `build` writes the seeded universe of synthetic.ts into price_histories and builds every derived table, a
// shard of assets at a time. With --keep-days it then deletes each shard's derived rows older than that many
// days (price_histories, price_bars_1d and refresh_state stay whole): a 1,000 × 3,000 universe is ~90 GB
// built whole, more than the disk of the machine the figures come from. A daily run reads only the state,
// the lookback window and the new rows, so it does the same work on the trimmed tables — except scans of the
// five bar tables for canonical closes, which then cover fewer rows (say so next to any figure taken on one).
//
// `daily` appends the universe's next day (the same seed gives the same increments), then runs and times the
// daily command itself, `talab refresh --all`, in a process of its own (start-up, open, both steps, the
// checkpoint that ends the run, close). Prints one JSON line per day.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { runRefresh, type RefreshSummary } from '../refresh/runner.js';
import { BAR_TABLES, EMA_TABLES, priceHistories } from '../schema/tables.js';
import { openStore } from '../store/open.js';
import { syntheticHistory } from './synthetic.js';

const LAST_DAY = 20_000;
const DAY_MS = 86_400_000;
const TIME = '/usr/bin/time';
/** Assets whose old rows one DELETE of --keep-days removes. */
const TRIM_ASSETS = 5;
/** Increments the seed provides beyond the built history (one per daily run). */
const EXTRA_DAYS = 10;

const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
  return n;
};

const rowsOf = (s: RefreshSummary) => s.components.reduce((n, c) => n + Object.values(c.rows).reduce((a, b) => a + b, 0), 0);

async function build(o: { db: string; assets: number; days: number; shard: number; keepDays?: number; jobs: number }): Promise<void> {
  if (existsSync(o.db)) throw new Error(`${o.db} exists: build writes a new universe`);
  // Deleting 98 % of a shard's rows leaves row groups that the next checkpoint merges (vacuum), which needed
  // more than the default 512 MB buffer pool (a failed checkpoint invalidates the database until reopened).
  if (o.keepDays !== undefined) process.env.TALAB_DUCKDB_MEMORY ??= '6GB';
  const store = await openStore(o.db);
  try {
    const { batch } = syntheticHistory(o.assets, o.days, 1, LAST_DAY, EXTRA_DAYS);
    await store.append(priceHistories, batch);
    const ids = [...new Set(batch.cols.id as Int32Array)];
    for (const id of ids) await store.exec('INSERT INTO dim_assets (id, symbol) VALUES ($1, $2)', [id, `S${id}`]);
    const cutoff = o.keepDays === undefined ? null : new Date((LAST_DAY - o.keepDays + 1) * DAY_MS).toISOString();
    for (let s = 0; s < ids.length; s += o.shard) {
      const part = ids.slice(s, s + o.shard);
      const t0 = Date.now();
      const sum = await runRefresh(store, { components: ['bars', 'emas'], ids: part, jobs: o.jobs });
      if (!sum.ok) throw new Error(`build of assets ${part[0]}…${part[part.length - 1]} failed`);
      const t1 = Date.now();
      if (cutoff) {
        // A few assets per statement, a checkpoint per table: one statement for a shard's 30M rows of an EMA
        // table ran out of memory.
        for (const t of [...Object.values(BAR_TABLES), ...Object.values(EMA_TABLES)]) {
          const col = t.columns.some((c) => c.name === 'time_close') ? 'time_close' : 'ts';
          for (let i = 0; i < part.length; i += TRIM_ASSETS) {
            const list = part.slice(i, i + TRIM_ASSETS).join(', ');
            await store.exec(`DELETE FROM ${t.name} WHERE id IN (${list}) AND ${col} < $1::timestamptz`, [cutoff]);
          }
          await store.exec('CHECKPOINT');
        }
      }
      process.stdout.write(JSON.stringify({
        shard: s / o.shard, assets: part.length, buildMs: t1 - t0, trimMs: Date.now() - t1, rows: rowsOf(sum),
        maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      }) + '\n');
    }
  } finally {
    await store.close();
  }
}

/** The seconds a summary line of `talab refresh` reports (`— 1.9 s` or `— 850 ms`), or null. */
function summaryMs(out: string, line: RegExp): number | null {
  const m = new RegExp(`${line.source}.*— ([\\d.]+) (s|ms)`, 'm').exec(out);
  return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : null;
}

async function daily(o: { db: string; assets: number; days: number; count: number; jobs: number }): Promise<void> {
  if (!existsSync(o.db)) throw new Error(`${o.db} does not exist: run build first`);
  const { more } = syntheticHistory(o.assets, o.days, 1, LAST_DAY, EXTRA_DAYS, false);
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
  const logs = mkdtempSync(join(tmpdir(), 'talab-universe-logs-'));
  try {
    for (let k = 0; k < o.count; k++) {
      const store = await openStore(o.db);
      let next: number;
      try {
        const r = await store.query<{ n: number; hi: number }>('SELECT count(DISTINCT id) AS n, max(ts) AS hi FROM price_histories');
        if (Number(r[0].n) !== o.assets) throw new Error(`${o.db} holds ${r[0].n} assets, not ${o.assets}: give the flags it was built with`);
        next = Math.round((Number(r[0].hi) + 1) / DAY_MS) - 1 - LAST_DAY;
        if (next >= EXTRA_DAYS) throw new Error(`the seed's ${EXTRA_DAYS} increments are used up: build the universe again`);
        await store.append(priceHistories, more[next]);
      } finally {
        await store.close();
      }
      // The daily command itself, in a process of its own as cron would start it: start-up, open, the refresh,
      // its checkpoint, the close.
      const args = [cli, '--db', o.db, 'refresh', '--all', '--quiet', '--jobs', String(o.jobs), '--log-dir', logs];
      // GNU time, where there is one, for the process's peak resident memory.
      const [cmd, argv] = existsSync(TIME) ? [TIME, ['-f', 'maxrss %M', process.execPath, ...args]] : [process.execPath, args];
      const t0 = Date.now();
      const run = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, TALAB_DB: undefined } });
      const ms = Date.now() - t0;
      if (run.status !== 0) throw new Error(`talab refresh exited ${run.status}: ${run.stderr || run.stdout}`);
      const rss = /maxrss (\d+)/.exec(run.stderr ?? '');
      process.stdout.write(JSON.stringify({
        day: next + 1, jobs: o.jobs, processMs: ms, barsMs: summaryMs(run.stdout, /^bars:/), emasMs: summaryMs(run.stdout, /^emas:/),
        checkpointMs: summaryMs(run.stdout, /^storage: checkpoint/) ?? 0,
        continued: Number(/^emas: \d+ built \((\d+) continued/m.exec(run.stdout)?.[1] ?? 0),
        maxRssMiB: rss ? Math.round(Number(rss[1]) / 1024) : null,
      }) + '\n');
    }
  } finally {
    rmSync(logs, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const program = new Command('universe').description('big synthetic universes for docs/performance.md');
  program.command('build').requiredOption('--db <file>').requiredOption('--assets <n>', '', positive('--assets'))
    .requiredOption('--days <n>', '', positive('--days')).option('--shard <n>', 'assets built per run', positive('--shard'), 100)
    .option('--keep-days <n>', 'keep only this many days of derived rows per shard', positive('--keep-days'))
    .option('--jobs <n>', '', positive('--jobs'), 2)
    .action((o) => build(o));
  program.command('daily').requiredOption('--db <file>').requiredOption('--assets <n>', '', positive('--assets'))
    .requiredOption('--days <n>', '', positive('--days')).option('--count <n>', 'daily runs, one new day each', positive('--count'), 1)
    .option('--jobs <n>', '', positive('--jobs'), 2)
    .action((o) => daily(o));
  await program.parseAsync(process.argv);
}

main().catch((e) => {
  console.error(`bench universe failed: ${(e as Error).message}`);
  process.exit(1);
});
