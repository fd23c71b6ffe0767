// Feature-matrix ingest, end to end: a flat CSV of every recognised column (read, typed and checked, regimes
// joined, batched, written and recorded in the ledger) into a fresh matrix on each engine. Rows/s is what a
// user sees from `talab features ingest FILE`. Against it, in the same run, the engine's own ceiling for the
// same table: the engine generating as many matrix rows itself and inserting them in one statement.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { INPUT_FIELDS } from '../features/fields.js';
import { GROUPS, MATRIX_TABLE } from '../features/fields.js';
import { ingestFile, type IngestReport } from '../features/ingest.js';
import { ensureFeatureSchema, groupType } from '../features/schema.js';
import { q } from '../schema/ddl.js';
import { BUILTIN_REGIMES_CSV, loadRegimes, parseRegimeCsv } from '../features/regimes.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';

export interface FeatureIngestFigure {
  engine: string;
  rows: number;
  /** The ingest, end to end. */
  ms: number;
  /** The engine's ceiling: INSERT … SELECT of as many generated rows into an empty matrix. */
  ceilingMs: number;
}

const DAY = 86_400_000;

/** `rows` rows: 20 symbols × consecutive days from 2015, every recognised column filled. */
function syntheticCsv(rows: number): string {
  const symbols = 20;
  const days = Math.ceil(rows / symbols);
  const t0 = Date.UTC(2015, 0, 1);
  const lines = [['symbol', 'data_date', ...INPUT_FIELDS.map((x) => x.column)].join(',')];
  for (let i = 0; i < rows; i++) {
    const s = Math.floor(i / days);
    const d = i % days;
    const date = new Date(t0 + d * DAY).toISOString().slice(0, 10);
    const vals = INPUT_FIELDS.map((x, k) => {
      const t = x.field.type;
      if (t === 'bool') return (d + k) % 2 === 0 ? 'true' : 'false';
      if (x.column === 'golden_zone_state') return String(d % 3);
      if (t === 'int' || t === 'bigint') return String((d * 7 + k) % 1000);
      return (100 + Math.sin(d / 10 + k) * 5 + s).toFixed(6);
    });
    lines.push([`S${s}`, date, ...vals].join(','));
  }
  return lines.join('\n') + '\n';
}

/** The engine filling an empty matrix with `rows` rows it generates (no client, no parsing): its own ceiling. */
async function ceiling(store: Store, rows: number): Promise<number> {
  await ensureFeatureSchema(store);
  const e = store.engine;
  const value = (type: string, k: number) =>
    type === 'bool' ? `((i + ${k}) % 2 = 0)` : type === 'text' ? `'r' || CAST(i % 5 AS ${e.type('text')})`
      : type === 'double' ? `CAST(100 + (i + ${k}) % 997 AS ${e.type('double')}) / 8` : `CAST((i + ${k}) % 3 AS ${e.type(type as 'int')})`;
  const groups = GROUPS.map((g) => e.nested.pack(groupType(g), g.fields.map((f, k) => value(f.type, k))));
  const sql = `INSERT INTO ${q(MATRIX_TABLE)} (symbol, data_date, ${q('timestamp')}, ${GROUPS.map((g) => q(g.name)).join(', ')}, regime_name, ingestion_ts)
    SELECT 'S' || CAST(i % 20 AS ${e.type('text')}), DATE '2015-01-01' + CAST(floor(i / 20.0) AS INTEGER), now(), ${groups.join(', ')}, 'r', now()
    FROM generate_series(0, ${rows - 1}) t(i)`;
  const t = performance.now();
  await store.exec(sql);
  const ms = performance.now() - t;
  await store.exec(`DELETE FROM ${q(MATRIX_TABLE)}`);
  return ms;
}

async function one(store: Store, file: string, rows: number): Promise<number> {
  await loadRegimes(store, parseRegimeCsv(BUILTIN_REGIMES_CSV, 'built-in registry'), 'built-in registry');
  const t = performance.now();
  const r: IngestReport = await ingestFile(store, file);
  const ms = performance.now() - t;
  if (r.status !== 'success' || r.rows_loaded !== rows) throw new Error(`features ingest bench: ${JSON.stringify(r).slice(0, 300)}`);
  return ms;
}

export async function benchFeatureIngest(rows: number, pgUrl?: string): Promise<FeatureIngestFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'talab-bench-feat-'));
  const out: FeatureIngestFigure[] = [];
  try {
    const file = join(dir, 'features.csv');
    writeFileSync(file, syntheticCsv(rows));
    const duck = await openStore(join(dir, 'bench.duckdb'));
    try {
      const ceilingMs = await ceiling(duck, rows);
      out.push({ engine: 'duckdb', rows, ms: await one(duck, file, rows), ceilingMs });
    } finally {
      await duck.close();
    }
    if (pgUrl) {
      const schema = `bench_feat_${process.pid}`;
      const store = await openStore(pgUrl, { pgSchema: schema });
      try {
        const ceilingMs = await ceiling(store, rows);
        out.push({ engine: 'postgres', rows, ms: await one(store, file, rows), ceilingMs });
      } finally {
        await store.close();
        const raw = new pg.Client({ connectionString: pgUrl });
        await raw.connect();
        await raw.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
        await raw.end();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
