// `npm run bench`: write throughput of the project's bulk path against each engine's own ceiling,
// measured in the same run on the same row shape (an EMA table, the widest and most numerous rows).
// Prints rows/s and ratios; exits non-zero only on an error. No thresholds: figures go to docs/performance.md.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { q } from '../schema/ddl.js';
import { DERIVED_TABLES, EMA_TABLES, type Table } from '../schema/tables.js';
import { spawnSync } from 'node:child_process';
import { syntheticHistory } from './synthetic.js';
import type { RefreshFigures } from './refresh.js';
import { benchCompare, compareReport, type CompareFigure } from './compare.js';
import { benchKernels, benchVsPandas, type ComputeFigure } from './compute.js';
import { benchFeatureIngest } from './features.js';
import { duckdbFootprint, footprintReport, postgresFootprint } from './footprint.js';
import { parseSourceFile } from '../importer/parse.js';
import { fileURLToPath } from 'node:url';
import type { RowBatch } from '../columnar/columns.js';
import { openStore } from '../store/open.js';
import { copyBinary } from '../store/postgres/copy-binary.js';
import type { Store } from '../store/store.js';

const TABLE: Table = EMA_TABLES.cal_us;
const DAY = 86_400_000;
const T0 = Date.UTC(2010, 0, 1) + DAY - 1;

/** n rows of the EMA table's shape: ids × days for one tf/period, values a smooth walk. */
export function syntheticEmaRows(n: number): RowBatch {
  const days = 3000;
  const f = (g: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => g(i));
  return {
    length: n,
    cols: {
      id: Int32Array.from({ length: n }, (_, i) => 1 + Math.floor(i / days)),
      tf: new Array<string>(n).fill('1W_CAL_US'),
      period: new Int32Array(n).fill(20),
      ts: f((i) => T0 + (i % days) * DAY),
      tf_days: new Int32Array(n).fill(7),
      roll: Uint8Array.from({ length: n }, (_, i) => (i % 7 === 6 ? 0 : 1)),
      ema: f((i) => 100 + Math.sin(i / 50) * 10),
      d1: f((i) => (i % 7 === 6 ? Math.cos(i / 50) : NaN)),
      d2: f((i) => (i % 7 === 6 ? -Math.sin(i / 50) / 50 : NaN)),
      d1_roll: f((i) => Math.cos(i / 50) / 5),
      d2_roll: f((i) => -Math.sin(i / 50) / 250),
      ema_bar: f((i) => 100 + Math.sin(i / 49) * 10),
      roll_bar: Uint8Array.from({ length: n }, (_, i) => (i % 7 === 6 ? 0 : 1)),
      d1_bar: f((i) => (i % 7 === 6 ? Math.cos(i / 49) : NaN)),
      d2_bar: f((i) => (i % 7 === 6 ? -Math.sin(i / 49) / 49 : NaN)),
      d1_roll_bar: f((i) => Math.cos(i / 49) / 5),
      d2_roll_bar: f((i) => -Math.sin(i / 49) / 245),
    },
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

const KEYED_CEILING = 'reference: COPY FROM STDIN (FORMAT binary) of pre-encoded rows into a table with PRIMARY KEY';
const DEFERRED_BUILD = 'measurement only: full build';

interface Figure {
  engine: string;
  what: string;
  rows: number;
  ms: number;
}

async function freshTable(store: Store, name: string, keyed = false): Promise<void> {
  await store.exec(`DROP TABLE IF EXISTS ${q(name)}`);
  await store.exec(`CREATE TABLE ${q(name)} AS SELECT * FROM ${q(TABLE.name)} WHERE false`);
  if (keyed) await store.exec(`ALTER TABLE ${q(name)} ADD PRIMARY KEY (${TABLE.key.map(q).join(', ')})`);
}

/** The same append into a table carrying the EMA table's PRIMARY KEY: what enforcing the key costs. */
async function keyedAppend(store: Store, batch: RowBatch): Promise<number> {
  await freshTable(store, 'bench_keyed', true);
  return (await timed(() => store.append(TABLE, batch, { into: 'bench_keyed' }))).ms;
}

async function benchDuckDb(n: number): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'talab-bench-'));
  const store = await openStore(join(dir, 'bench.duckdb'));
  try {
    // Ceiling: the engine generating and inserting the same shape itself, no client involved.
    await freshTable(store, 'bench_ceiling');
    const ceiling = await timed(() =>
      store.exec(`INSERT INTO bench_ceiling SELECT (1 + i // 3000)::INTEGER, '1W_CAL_US', 20,
        TIMESTAMPTZ '2010-01-01 23:59:59.999+00' + to_days((i % 3000)::INTEGER), 7, i % 7 <> 6,
        100 + sin(i / 50) * 10, CASE WHEN i % 7 = 6 THEN cos(i / 50) END, CASE WHEN i % 7 = 6 THEN -sin(i / 50) / 50 END,
        cos(i / 50) / 5, -sin(i / 50) / 250, 100 + sin(i / 49) * 10, i % 7 <> 6,
        CASE WHEN i % 7 = 6 THEN cos(i / 49) END, CASE WHEN i % 7 = 6 THEN -sin(i / 49) / 49 END,
        cos(i / 49) / 5, -sin(i / 49) / 245, now()
        FROM range(${n}) t(i)`),
    );
    const batch = syntheticEmaRows(n);
    await freshTable(store, 'bench_project');
    const project = await timed(() => store.append(TABLE, batch, { into: 'bench_project' }));
    const keyed = await keyedAppend(store, batch);
    return [
      { engine: 'duckdb', what: 'ceiling: INSERT … SELECT generated rows', rows: n, ms: ceiling.ms },
      { engine: 'duckdb', what: 'project: Store.append (appender, typed DataChunks)', rows: n, ms: project.ms },
      { engine: 'duckdb', what: 'project: Store.append into a table with PRIMARY KEY (not how talab keeps DuckDB\'s derived tables)', rows: n, ms: keyed },
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(url: string, n: number): Promise<Figure[]> {
  const schema = `bench_${process.pid}`;
  const store = await openStore(url, { pgSchema: schema });
  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  try {
    await raw.query(`SET search_path TO "${schema}"`);
    const batch = syntheticEmaRows(n);
    const names = TABLE.columns.map((c) => c.name);
    // Ceiling: COPY of pre-encoded binary data, so only transport + server ingestion are timed.
    const binary = [...copyBinary(TABLE, batch)];
    const binaryCopy = async (name: string, keyed: boolean) => {
      await freshTable(store, name, keyed);
      return timed(() => pipeline(Readable.from(binary), raw.query(copyStreams.from(`COPY ${q(name)} FROM STDIN (FORMAT binary)`))));
    };
    const ceiling = await binaryCopy('bench_ceiling', false);
    // The same for pre-encoded text: what the text format costs the server alone.
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      lines.push(names.map((c) => {
        const col = batch.cols[c];
        if (c === 'ingested_at') return '2026-01-01T00:00:00Z';
        const v = col[i];
        if (typeof v === 'string') return v;
        if (Number.isNaN(v as number)) return '\\N';
        if (c === 'ts') return new Date(v as number).toISOString();
        if (c === 'roll' || c === 'roll_bar') return v ? 't' : 'f';
        return String(v);
      }).join('\t'));
    }
    const text = lines.join('\n') + '\n';
    await freshTable(store, 'bench_text_ceiling');
    const textCeiling = await timed(async () => {
      const s = raw.query(copyStreams.from(`COPY bench_text_ceiling FROM STDIN`));
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += 1 << 20) pieces.push(text.slice(i, i + (1 << 20)));
      await pipeline(Readable.from(pieces), s);
    });
    // The same pre-encoded rows into a table carrying the derived tables' PRIMARY KEY: the server's own
    // rate for a keyed table, the floor under any build that keeps its keys.
    const keyedCeiling = await binaryCopy('bench_keyed_ceiling', true);
    await freshTable(store, 'bench_project');
    const project = await timed(() => store.append(TABLE, batch, { into: 'bench_project' }));
    await freshTable(store, 'bench_project_text');
    const prev = process.env.TALAB_PG_COPY;
    process.env.TALAB_PG_COPY = 'text';
    const projectText = await timed(() => store.append(TABLE, batch, { into: 'bench_project_text' }));
    if (prev === undefined) delete process.env.TALAB_PG_COPY;
    else process.env.TALAB_PG_COPY = prev;
    const keyed = await keyedAppend(store, batch);
    return [
      { engine: 'postgres', what: 'ceiling: COPY FROM STDIN (FORMAT binary) of pre-encoded rows', rows: n, ms: ceiling.ms },
      { engine: 'postgres', what: 'reference: COPY FROM STDIN of pre-encoded text', rows: n, ms: textCeiling.ms },
      { engine: 'postgres', what: KEYED_CEILING, rows: n, ms: keyedCeiling.ms },
      { engine: 'postgres', what: 'project: Store.append (encode + binary COPY)', rows: n, ms: project.ms },
      { engine: 'postgres', what: 'project: Store.append with TALAB_PG_COPY=text (encode + text COPY)', rows: n, ms: projectText.ms },
      { engine: 'postgres', what: 'project: Store.append into a table with PRIMARY KEY (as talab\'s derived tables are)', rows: n, ms: keyed },
    ];
  } finally {
    await raw.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await raw.end();
    await store.close();
  }
}

/** Busy and total CPU time of the whole machine so far (Linux /proc/stat), to see how much of it a run left idle. */
function cpuTimes(): { busy: number; total: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - (f[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** Run the refresh bench (refresh.ts) in its own process, so its peak RSS is measured alone. */
function refreshRun(args: string[]): RefreshFigures {
  const script = fileURLToPath(new URL('./refresh.js', import.meta.url));
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`refresh bench (${args.join(' ')}) failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as RefreshFigures;
}

/** Full rebuild vs one-new-day incremental refreshes of the same synthetic universe. */
function benchRefresh(engineArgs: string[], assets: number, days: number, notes: string[]): Figure[] {
  const f = refreshRun([...engineArgs, '--assets', String(assets), '--days', String(days), '--increments', '2', '--jobs', '2']);
  const label = `${assets} assets × ${days} days, --jobs 2`;
  const [first, steady] = f.daily;
  notes.push(`${f.engine}: peak RSS of the refresh process (${label}, full build + 2 daily runs): ${f.maxRssMiB.toFixed(0)} MiB`);
  return [
    { engine: f.engine, what: `refresh: full build of ${label} (12 tables)`, rows: f.full.rows, ms: f.full.ms },
    { engine: f.engine, what: `refresh: +1 day right after the full build (${(f.full.ms / first.ms).toFixed(1)}× faster than full)`, rows: first.rows, ms: first.ms },
    { engine: f.engine, what: `refresh: +1 day, steady state (${(f.full.ms / steady.ms).toFixed(1)}× faster than full)`, rows: steady.rows, ms: steady.ms },
  ];
}

/**
 * PostgreSQL: the same full build on derived tables whose primary keys were dropped first, then the keys added
 * back. Not a mode of talab (a table without its key accepts duplicates from a concurrent or resumed writer):
 * it measures how much of the build's distance to the keyless ceiling is the keys' upkeep, and whether
 * building them after the writes instead would pay.
 */
function benchDeferredKeys(engineArgs: string[], assets: number, days: number, notes: string[]): Figure[] {
  const f = refreshRun([...engineArgs, '--assets', String(assets), '--days', String(days), '--jobs', '2', '--full-only', '--deferred-keys']);
  const label = `${assets} assets × ${days} days, --jobs 2`;
  notes.push(
    `${f.engine}: adding the ${DERIVED_TABLES.length} derived tables' primary keys after a keyless build took ${(f.keysMs! / 1000).toFixed(1)} s, ` +
      `${((f.keysMs! / f.full.ms) * 100).toFixed(0)} % of that build's own time`,
  );
  return [
    { engine: f.engine, what: `${DEFERRED_BUILD} of ${label}, derived tables without their PRIMARY KEY`, rows: f.full.rows, ms: f.full.ms },
    { engine: f.engine, what: `${DEFERRED_BUILD} of ${label}, without keys, then the keys added (ADD PRIMARY KEY, 2 sessions)`, rows: f.full.rows, ms: f.full.ms + f.keysMs! },
  ];
}

/** The same full build with --jobs 1 and --jobs 2: how compute and writes overlap on two cores. */
function benchJobs(engineArgs: string[], assets: number, days: number, notes: string[]): Figure[] {
  const busy: (number | null)[] = [];
  const runs = [1, 2].map((j) => {
    const before = cpuTimes();
    const f = refreshRun([...engineArgs, '--assets', String(assets), '--days', String(days), '--jobs', String(j), '--full-only']);
    const after = cpuTimes();
    busy.push(before && after ? (after.busy - before.busy) / (after.total - before.total) : null);
    return f;
  });
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(0)} %`);
  notes.push(
    `${runs[0].engine}: --jobs 2 full build takes ${((runs[1].full.ms / runs[0].full.ms) * 100).toFixed(0)} % of the --jobs 1 time; ` +
      `the machine's ${cpus().length} cores were ${pct(busy[0])} busy with --jobs 1 (database server included), ${pct(busy[1])} with --jobs 2`,
  );
  return runs.map((f) => ({ engine: f.engine, what: `refresh: full build of ${assets} × ${days} with --jobs ${f.jobs}`, rows: f.full.rows, ms: f.full.ms }));
}

/**
 * Daily runs with --jobs 1 and --jobs 2 on the same database, in turn (1, 2, 1, 2 after a first, cold day), so
 * drift in the machine hits both alike.
 */
function benchJobsDaily(engineArgs: string[], assets: number, days: number, notes: string[]): Figure[] {
  const f = refreshRun([...engineArgs, '--assets', String(assets), '--days', String(days), '--increments', '5', '--jobs', '2', '--daily-jobs', '2,1,2,1,2']);
  const runs = f.daily.slice(1);
  const mean = (j: number) => {
    const mine = runs.filter((d) => d.jobs === j);
    return { rows: mine.reduce((a, d) => a + d.rows, 0) / mine.length, ms: mine.reduce((a, d) => a + d.ms, 0) / mine.length };
  };
  const [one, two] = [mean(1), mean(2)];
  const threads = runs.find((d) => d.jobs === 2)?.threads ?? 0;
  notes.push(
    `${f.engine}: daily run of ${assets} × ${days}, --jobs 2${threads ? ` (${threads} worker threads)` : ' (sessions of one thread)'} takes ` +
      `${((two.ms / one.ms) * 100).toFixed(0)} % of the --jobs 1 time (mean of two runs each, alternated)`,
  );
  return [1, 2].map((j) => ({
    engine: f.engine, what: `refresh: +1 day on ${assets} × ${days} with --jobs ${j} (mean of 2)`, ...(j === 1 ? one : two),
  }));
}

/** Incremental cost per asset on a wide universe (many assets, short histories). */
function benchWide(engineArgs: string[], assets: number, days: number, notes: string[]): Figure[] {
  const f = refreshRun([...engineArgs, '--assets', String(assets), '--days', String(days), '--increments', '2', '--jobs', '2']);
  const steady = f.daily[1];
  notes.push(`${f.engine}: universe ${assets} × ${days}: steady daily run ${(steady.ms / assets).toFixed(1)} ms per asset; peak RSS of the refresh process ${f.maxRssMiB.toFixed(0)} MiB`);
  return [
    { engine: f.engine, what: `refresh: full build of ${assets} assets × ${days} days (--jobs 2)`, rows: f.full.rows, ms: f.full.ms },
    { engine: f.engine, what: `refresh: +1 day on ${assets} assets, steady state (--jobs 2)`, rows: steady.rows, ms: steady.ms },
  ];
}

/** Each engine's full build against the targets of docs/performance.md: its share of the engine's write ceiling. */
const FULL_BUILD_TARGET: Record<string, { pct: number; ceiling: string }> = {
  duckdb: { pct: 85, ceiling: 'its INSERT … SELECT ceiling' },
  postgres: { pct: 70, ceiling: 'the binary COPY ceiling' },
};

function ceilingTargets(figs: Figure[]): string[] {
  const rate = (f: Figure) => f.rows / (f.ms / 1000);
  const out: string[] = [];
  for (const f of figs) {
    const target = FULL_BUILD_TARGET[f.engine];
    const ceiling = figs.find((g) => g.engine === f.engine && g.what.startsWith('ceiling'));
    if (!target || !ceiling || !f.what.startsWith('refresh: full build of') || !f.what.endsWith('(12 tables)')) continue;
    const pct = (rate(f) / rate(ceiling)) * 100;
    out.push(
      `${f.engine}: full build (${f.what.slice('refresh: full build of '.length, -' (12 tables)'.length)}) writes at ` +
        `${pct.toFixed(0)} % of ${target.ceiling} (target ≥ ${target.pct} %: ${pct >= target.pct ? 'met' : 'NOT met'})`,
    );
    const keyed = figs.find((g) => g.engine === f.engine && g.what === KEYED_CEILING);
    if (keyed) out.push(`${f.engine}: the same build writes at ${((rate(f) / rate(keyed)) * 100).toFixed(0)} % of binary COPY into a keyed table (the server's rate with the key)`);
    for (const d of figs.filter((g) => g.engine === f.engine && g.what.startsWith(DEFERRED_BUILD))) {
      out.push(`${f.engine}: ${d.what} writes at ${((rate(d) / rate(ceiling)) * 100).toFixed(0)} % of ${target.ceiling}`);
    }
  }
  return out;
}

function report(figs: Figure[]): string {
  const out = ['| engine | measurement | rows | seconds | rows/s | vs ceiling |', '|---|---|---:|---:|---:|---:|'];
  for (const f of figs) {
    const ceiling = figs.find((g) => g.engine === f.engine && g.what.startsWith('ceiling'));
    const rate = f.rows / (f.ms / 1000);
    const ceilRate = ceiling ? ceiling.rows / (ceiling.ms / 1000) : NaN;
    const ratio = ceiling ? `${((rate / ceilRate) * 100).toFixed(0)} %` : '';
    out.push(`| ${f.engine} | ${f.what} | ${f.rows} | ${(f.ms / 1000).toFixed(2)} | ${Math.round(rate).toLocaleString('en-US')} | ${ratio} |`);
  }
  return out.join('\n');
}

/** `talab features ingest` of a generated CSV on each engine, against the engine's own ceiling for the matrix. */
async function featureBench(rows: number, url: string | undefined): Promise<void> {
  const rate = (ms: number) => rows / (ms / 1000);
  const fmt = (ms: number) => Math.round(rate(ms)).toLocaleString('en-US');
  console.log('\n| features ingest (CSV → ml_feature_matrix, end to end) | rows | seconds | rows/s | ceiling rows/s | vs ceiling |\n|---|---:|---:|---:|---:|---:|');
  for (const f of await benchFeatureIngest(rows, url)) {
    console.log(`| ${f.engine} | ${f.rows} | ${(f.ms / 1000).toFixed(2)} | ${fmt(f.ms)} | ${fmt(f.ceilingMs)} | ${((rate(f.ms) / rate(f.ceilingMs)) * 100).toFixed(0)} % |`);
  }
  console.log('ceiling: the engine generating as many matrix rows itself, one INSERT … SELECT into an empty ml_feature_matrix');
}

/** Full compare (checksum bisection) against count(*), on a table generated in each engine. */
async function compareBench(rows: number, url: string | undefined): Promise<void> {
  const figs: CompareFigure[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'talab-bench-cmp-'));
  try {
    const d = await openStore(join(dir, 'cmp.duckdb'));
    try {
      figs.push(...(await benchCompare(d, rows)));
    } finally {
      await d.close();
    }
    if (url) {
      const p = await openStore(url, { pgSchema: `bench_cmp_${process.pid}` });
      try {
        figs.push(...(await benchCompare(p, rows)));
        await p.exec(`DROP SCHEMA ${q(`bench_cmp_${process.pid}`)} CASCADE`);
      } finally {
        await p.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nfull compare of two ${rows}-row price_bars_1d-shaped tables (${cpus().length} cores)`);
  console.log(compareReport(figs));
}

async function main(): Promise<void> {
  const program = new Command()
    .name('npm run bench --')
    .option('--rows <n>', 'rows per write measurement', (v) => Number(v), 500_000)
    .option('--pg <url>', 'PostgreSQL URL (default: $TALAB_TEST_PG, else $TALAB_BENCH_PG; skipped when absent)')
    .option('--assets <n>', 'synthetic universe for the refresh measurement: assets', (v) => Number(v), 5)
    .option('--days <n>', 'synthetic universe: days per asset', (v) => Number(v), 3000)
    .option('--jobs-assets <n>', '--jobs 1 vs 2 full builds: assets (0 = skip)', (v) => Number(v), 4)
    .option('--jobs-days <n>', '--jobs 1 vs 2 full builds: days per asset', (v) => Number(v), 1500)
    .option('--jobs-daily-assets <n>', '--jobs 1 vs 2 daily runs: assets (0 = skip)', (v) => Number(v), 40)
    .option('--jobs-daily-days <n>', '--jobs 1 vs 2 daily runs: days per asset', (v) => Number(v), 1500)
    .option('--wide-assets <n>', 'a second, wider universe for the per-asset daily cost: assets (0 = skip)', (v) => Number(v), 0)
    .option('--wide-days <n>', 'wider universe: days per asset', (v) => Number(v), 3000)
    .option('--compare-rows <n>', 'full-compare measurement: rows of the generated table (0 = skip)', (v) => Number(v), 2_000_000)
    .option('--compare-only', 'run only the full-compare measurement')
    .option('--writes-only', 'run only the bulk-write measurements (each engine against its ceiling)')
    .option('--footprint-assets <n>', 'storage footprint: assets of the universe built on each engine (0 = skip)', (v) => Number(v), 3)
    .option('--footprint-days <n>', 'storage footprint: days per asset', (v) => Number(v), 2000)
    .option('--footprint-only', 'run only the storage-footprint measurement')
    .option('--feature-rows <n>', 'feature-matrix ingest, end to end from a CSV: rows (0 = skip)', (v) => Number(v), 100_000)
    .option('--features-only', 'run only the feature-matrix ingest measurement')
    .option('--no-deferred-keys', 'PostgreSQL: skip the measurement of the full build with its primary keys built after the writes')
    .parse(process.argv);
  const opts = program.opts<{
    rows: number; pg?: string; assets: number; days: number; jobsAssets: number; jobsDays: number;
    jobsDailyAssets: number; jobsDailyDays: number; wideAssets: number; wideDays: number; compareRows: number; compareOnly?: boolean; writesOnly?: boolean; footprintAssets: number; footprintDays: number; footprintOnly?: boolean; featureRows: number; featuresOnly?: boolean; deferredKeys: boolean;
  }>();
  for (const [flag, v, min] of [
    ['--rows', opts.rows, 1], ['--assets', opts.assets, 1], ['--days', opts.days, 1], ['--jobs-assets', opts.jobsAssets, 0],
    ['--jobs-days', opts.jobsDays, 1], ['--jobs-daily-assets', opts.jobsDailyAssets, 0], ['--jobs-daily-days', opts.jobsDailyDays, 1],
    ['--wide-assets', opts.wideAssets, 0], ['--wide-days', opts.wideDays, 1], ['--compare-rows', opts.compareRows, 0], ['--feature-rows', opts.featureRows, 0],
    ['--footprint-assets', opts.footprintAssets, 0], ['--footprint-days', opts.footprintDays, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < min) {
      console.error(`npm run bench: ${flag} must be an integer ≥ ${min}, got ${v}`);
      process.exit(2);
    }
  }
  const url0 = opts.pg ?? process.env.TALAB_TEST_PG ?? process.env.TALAB_BENCH_PG;
  if (opts.featuresOnly) {
    if (!url0) console.log('PostgreSQL part skipped: pass --pg URL or set TALAB_TEST_PG');
    await featureBench(Math.max(1, opts.featureRows), url0);
    return;
  }
  if (opts.footprintAssets > 0 && !opts.writesOnly && !opts.compareOnly) {
    const a = opts.footprintAssets;
    const d = opts.footprintDays;
    const runs = [await duckdbFootprint(a, d)];
    if (url0) runs.push(await postgresFootprint(url0, a, d), await postgresFootprint(url0, a, d, 8));
    console.log(`\nstorage footprint after a full build of ${a} synthetic assets × ${d} days (--jobs 1)\n${footprintReport(runs)}\n`);
    if (opts.footprintOnly) return;
  }
  if (opts.compareRows > 0 && !opts.writesOnly) await compareBench(opts.compareRows, url0);
  if (opts.compareOnly) return;
  const figs: Figure[] = [];
  console.log(`talab bench: ${opts.rows} rows of ${TABLE.name}'s shape (${TABLE.columns.length} columns)`);
  const notes: string[] = [];
  const url = url0;
  const engines: string[][] = [[]];
  figs.push(...(await benchDuckDb(opts.rows)));
  if (url) {
    figs.push(...(await benchPostgres(url, opts.rows)));
    engines.push(['--pg', url]);
  } else console.log('PostgreSQL part skipped: pass --pg URL or set TALAB_TEST_PG');
  if (opts.writesOnly) {
    console.log(report(figs));
    return;
  }
  for (const e of engines) {
    figs.push(...benchRefresh(e, opts.assets, opts.days, notes));
    if (opts.jobsAssets > 0) figs.push(...benchJobs(e, opts.jobsAssets, opts.jobsDays, notes));
    if (opts.jobsDailyAssets > 0) figs.push(...benchJobsDaily(e, opts.jobsDailyAssets, opts.jobsDailyDays, notes));
    if (opts.wideAssets > 0) figs.push(...benchWide(e, opts.wideAssets, opts.wideDays, notes));
    if (e.length && opts.deferredKeys) figs.push(...benchDeferredKeys(e, opts.assets, opts.days, notes));
  }
  figs.sort((a, b) => (a.engine < b.engine ? -1 : a.engine > b.engine ? 1 : 0));
  console.log(report(figs));
  for (const n of notes) console.log(n);
  for (const line of ceilingTargets(figs)) console.log(line);

  if (opts.featureRows > 0) await featureBench(opts.featureRows, url);

  const compute: ComputeFigure[] = benchKernels(syntheticHistory(1, opts.days).batch, 1000);
  const btc = await parseSourceFile(fileURLToPath(new URL('../../data/sample/bitcoin.csv', import.meta.url)));
  const vs = benchVsPandas(Float64Array.from(btc.rows, (r) => r.close));
  if (typeof vs === 'string') console.log(vs);
  else compute.push(...vs);
  console.log('\n| compute only (no database) | rows | seconds | rows/s |\n|---|---:|---:|---:|');
  for (const c of compute) {
    console.log(`| ${c.what} | ${c.rows} | ${(c.ms / 1000).toFixed(3)} | ${Math.round(c.rows / (c.ms / 1000)).toLocaleString('en-US')} |`);
  }
  if (typeof vs !== 'string') console.log(`pandas ewm takes ${(vs[1].ms / vs[0].ms).toFixed(1)}× as long as the EMA kernel on the same work`);
  console.log(`peak RSS of this bench process (write measurements, kernels; refresh runs are separate): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
