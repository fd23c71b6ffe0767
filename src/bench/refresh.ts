// The refresh part of `npm run bench`, run in its own process so its peak RSS is the refresh's alone:
// a seeded synthetic universe, a full build of the 12 derived tables, then daily increments (one new day per
// asset, a refresh after each). Prints one JSON object on stdout; main.ts spawns it and reports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pg from 'pg';
import { q } from '../schema/ddl.js';
import { DERIVED_TABLES, priceHistories } from '../schema/tables.js';
import { runRefresh, type RefreshSummary } from '../refresh/runner.js';
import { openStore } from '../store/open.js';
import { syntheticHistory } from './synthetic.js';

export interface RefreshFigures {
  engine: string;
  assets: number;
  days: number;
  jobs: number;
  full: { rows: number; ms: number };
  /** One entry per daily increment: the first right after the full build, then steady-state days. */
  daily: { rows: number; ms: number; jobs: number; threads: number }[];
  maxRssMiB: number;
  /**
   * --deferred-keys (PostgreSQL): the full build ran on derived tables whose PRIMARY KEYs were dropped first,
   * and this is the time taken to add them back afterwards.
   */
  keysMs?: number;
  /** Peak RSS reached by the end of the full build (the daily runs can only raise it). */
  maxRssAfterFullMiB: number;
  /** V8 heap and typed-array memory at the end. */
  heapUsedMiB: number;
  arrayBuffersMiB: number;
}

const mib = (bytes: number) => bytes / 1024 / 1024;

const rowsOf = (s: RefreshSummary) => s.components.reduce((n, c) => n + Object.values(c.rows).reduce((a, b) => a + b, 0), 0);

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--pg <url>')
    .option('--assets <n>', '', Number, 5)
    .option('--days <n>', '', Number, 3000)
    .option('--increments <n>', '', Number, 2)
    .option('--jobs <n>', '', Number, 1)
    .option('--daily-jobs <list>', '--jobs of each daily increment in turn (default: --jobs)', (v) => v.split(',').map(Number))
    .option('--full-only')
    .option('--deferred-keys', 'PostgreSQL: drop the derived tables\' primary keys before the full build, add them back after it (timed apart)')
    .parse(process.argv)
    .opts<{
      pg?: string; assets: number; days: number; increments: number; jobs: number; dailyJobs?: number[]; fullOnly?: boolean;
      deferredKeys?: boolean;
    }>();
  if (o.deferredKeys && (!o.pg || !o.fullOnly)) throw new Error('--deferred-keys needs --pg and --full-only');
  const dir = o.pg ? null : mkdtempSync(join(tmpdir(), 'talab-bench-'));
  const schema = o.pg ? `bench_refresh_${process.pid}` : undefined;
  const store = await openStore(o.pg ?? join(dir!, 'refresh.duckdb'), { pgSchema: schema });
  try {
    const { batch, more } = syntheticHistory(o.assets, o.days, 1, 20_000, o.fullOnly ? 0 : o.increments);
    await store.append(priceHistories, batch);
    for (const id of new Set(batch.cols.id as Int32Array)) {
      await store.exec('INSERT INTO dim_assets (id, symbol) VALUES ($1, $2)', [id, `S${id}`]);
    }
    if (o.deferredKeys) await dropDerivedKeys(o.pg!, schema!);
    const full = await timed(() => runRefresh(store, { components: ['bars', 'emas'], jobs: o.jobs }));
    const keys = o.deferredKeys ? await timed(() => addDerivedKeys(o.pg!, schema!)) : undefined;
    const maxRssAfterFullMiB = process.resourceUsage().maxRSS / 1024;
    const daily: RefreshFigures['daily'] = [];
    for (const [k, day] of more.entries()) {
      await store.append(priceHistories, day);
      const jobs = o.dailyJobs?.[k % o.dailyJobs.length] ?? o.jobs;
      const inc = await timed(() => runRefresh(store, { components: ['bars', 'emas'], jobs }));
      daily.push({ rows: rowsOf(inc.value), ms: inc.ms, jobs, threads: inc.value.threads });
    }
    const fig: RefreshFigures = {
      engine: store.dialect, assets: o.assets, days: o.days, jobs: o.jobs, full: { rows: rowsOf(full.value), ms: full.ms }, daily,
      keysMs: keys?.ms,
      maxRssMiB: process.resourceUsage().maxRSS / 1024, maxRssAfterFullMiB,
      heapUsedMiB: mib(process.memoryUsage().heapUsed), arrayBuffersMiB: mib(process.memoryUsage().arrayBuffers),
    };
    process.stdout.write(JSON.stringify(fig) + '\n');
  } finally {
    await store.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (schema) {
      const c = new pg.Client({ connectionString: o.pg });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  }
}

/**
 * A measurement only, never how talab runs: the writes of a build into tables with no key to maintain. The
 * refresh writes derived rows by delete + append, so it runs unchanged on them.
 */
async function dropDerivedKeys(url: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ rel: string; con: string }>(
      `SELECT r.relname AS rel, k.conname AS con FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = $1 AND k.contype = 'p' AND r.relname = ANY($2)`,
      [schema, DERIVED_TABLES.map((t) => t.name)],
    );
    if (rows.length !== DERIVED_TABLES.length) throw new Error(`expected ${DERIVED_TABLES.length} derived primary keys, found ${rows.length}`);
    for (const r of rows) await c.query(`ALTER TABLE ${q(schema)}.${q(r.rel)} DROP CONSTRAINT ${q(r.con)}`);
  } finally {
    await c.end();
  }
}

/** The keys built after the writes, on two sessions (the machine's two cores), with room to sort in memory. */
async function addDerivedKeys(url: string, schema: string): Promise<void> {
  const queue = [...DERIVED_TABLES];
  await Promise.all([0, 1].map(async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`SET maintenance_work_mem = '1GB'`);
      for (let t = queue.shift(); t; t = queue.shift()) {
        await c.query(`ALTER TABLE ${q(schema)}.${q(t.name)} ADD PRIMARY KEY (${t.key.map(q).join(', ')})`);
      }
    } finally {
      await c.end();
    }
  }));
}

main().catch((e) => {
  console.error(`bench refresh failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
