// Storage footprint of the derived tables: rows and bytes per table after a full build of a synthetic
// universe, on DuckDB and PostgreSQL. DuckDB's bytes are those of a file holding only that table (copied with
// its compression); PostgreSQL's are the table with its indexes and TOAST, summed over its partitions.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runRefresh } from '../refresh/runner.js';
import { DERIVED_TABLES, priceHistories } from '../schema/tables.js';
import { q } from '../schema/ddl.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { syntheticHistory } from './synthetic.js';

export interface FootprintRow {
  engine: string;
  table: string;
  rows: number;
  bytes: number;
}

export interface Footprint {
  assets: number;
  days: number;
  /** Wall and process CPU time of the full build (PostgreSQL: the client's CPU only; the server's is not counted). */
  buildMs: number;
  cpuMs: number;
  tables: FootprintRow[];
}

const TABLES = [priceHistories, ...DERIVED_TABLES];

async function seed(store: Store, assets: number, days: number): Promise<{ ms: number; cpuMs: number }> {
  const { batch } = syntheticHistory(assets, days, 7, 20_000, 0);
  await store.append(priceHistories, batch);
  for (const id of new Set(batch.cols.id as Int32Array)) await store.exec('INSERT INTO dim_assets (id, symbol) VALUES ($1, $2)', [id, `S${id}`]);
  const t = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const r = await runRefresh(store, { components: ['bars', 'emas'], jobs: 1 });
  if (!r.ok) throw new Error('footprint: the full build failed');
  const used = process.cpuUsage(cpu);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, cpuMs: (used.user + used.system) / 1000 };
}

async function countRows(store: Store, table: string): Promise<number> {
  return Number((await store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(table)}`))[0].n);
}

export async function duckdbFootprint(assets: number, days: number): Promise<Footprint> {
  const dir = mkdtempSync(join(tmpdir(), 'talab-footprint-'));
  const store = await openStore(join(dir, 'all.duckdb'));
  try {
    const built = await seed(store, assets, days);
    const tables: FootprintRow[] = [];
    for (const t of TABLES) {
      const file = join(dir, `${t.name}.duckdb`);
      await store.exec(`ATTACH '${file}' AS one`);
      await store.exec(`CREATE TABLE one.${q(t.name)} AS SELECT * FROM ${q(t.name)} ORDER BY ${t.key.map(q).join(', ')}`);
      await store.exec('DETACH one');
      tables.push({ engine: 'duckdb', table: t.name, rows: await countRows(store, t.name), bytes: statSync(file).size });
    }
    return { assets, days, buildMs: built.ms, cpuMs: built.cpuMs, tables };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function postgresFootprint(url: string, assets: number, days: number, partitions = 0): Promise<Footprint> {
  const schema = `bench_footprint_${process.pid}_${partitions}`;
  const store = await openStore(url, { pgSchema: schema, pgPartitions: partitions });
  try {
    const built = await seed(store, assets, days);
    await store.exec('VACUUM ANALYZE').catch(() => undefined); // outside a transaction: settles the visibility map
    const tables: FootprintRow[] = [];
    for (const t of TABLES) {
      const b = await store.query<{ b: number }>(
        `SELECT COALESCE((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree($1::regclass) WHERE isleaf),
                         pg_total_relation_size($1::regclass))::bigint AS b`, [t.name],
      );
      tables.push({ engine: partitions ? `postgres (${partitions} partitions)` : 'postgres', table: t.name, rows: await countRows(store, t.name), bytes: Number(b[0].b) });
    }
    return { assets, days, buildMs: built.ms, cpuMs: built.cpuMs, tables };
  } finally {
    await store.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
}

/** Markdown table: rows, bytes and bytes per row per table, engines side by side. */
export function footprintReport(runs: Footprint[]): string {
  const out = ['| engine | table | rows | MB | bytes/row |', '|---|---|---:|---:|---:|'];
  for (const r of runs) {
    let rows = 0;
    let bytes = 0;
    const assetDays = r.tables.find((t) => t.table === priceHistories.name)?.rows ?? r.assets * r.days;
    for (const t of r.tables) {
      out.push(`| ${t.engine} | ${t.table} | ${t.rows} | ${(t.bytes / 1e6).toFixed(1)} | ${t.rows ? (t.bytes / t.rows).toFixed(0) : '-'} |`);
      if (t.table !== priceHistories.name) {
        rows += t.rows;
        bytes += t.bytes;
      }
    }
    const eng = r.tables[0]?.engine ?? '?';
    out.push(`| ${eng} | **12 derived tables** | ${rows} | ${(bytes / 1e6).toFixed(1)} | ${(bytes / rows).toFixed(0)} |`);
    out.push(
      `| ${eng} | full build of ${r.assets} × ${r.days}: ${(r.buildMs / 1000).toFixed(1)} s wall, ${(r.cpuMs / 1000).toFixed(1)} s talab CPU; ` +
        `per source day ${(rows / assetDays).toFixed(0)} rows, ${(bytes / assetDays).toFixed(0)} bytes | | | |`,
    );
  }
  return out.join('\n');
}
