// Feature-matrix ingest, end to end: a flat CSV of every recognised column (read, typed and checked, regimes
// joined, batched, written and recorded in the ledger) into a fresh matrix on each engine. Rows/s is what a
// user sees from `talab features ingest FILE`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { INPUT_FIELDS } from '../features/fields.js';
import { ingestFile, type IngestReport } from '../features/ingest.js';
import { BUILTIN_REGIMES_CSV, loadRegimes, parseRegimeCsv } from '../features/regimes.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';

export interface FeatureIngestFigure {
  engine: string;
  rows: number;
  ms: number;
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
      out.push({ engine: 'duckdb', rows, ms: await one(duck, file, rows) });
    } finally {
      await duck.close();
    }
    if (pgUrl) {
      const schema = `bench_feat_${process.pid}`;
      const store = await openStore(pgUrl, { pgSchema: schema });
      try {
        out.push({ engine: 'postgres', rows, ms: await one(store, file, rows) });
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
