// Random daily histories for property tests, written as plain OHLCV CSV files that `talab import` reads,
// and a table dump for "identical to a full rebuild" comparisons.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DERIVED_TABLES, priceBars1dRejects, priceHistories } from '../../src/schema/tables.js';
import type { RowBatch } from '../../src/columnar/columns.js';
import type { SourceRow } from '../../src/importer/parse.js';
import type { Store } from '../../src/store/store.js';

export interface Day {
  day: number; // UTC day number
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  marketCap: number;
}

/** A walk with gaps: `len` candidate days from `start`, each kept with probability 1 − gapRate. */
export function historyArb(opts: { minLen: number; maxLen: number }): fc.Arbitrary<Day[]> {
  return fc
    .record({
      start: fc.integer({ min: 19_000, max: 19_400 }),
      len: fc.integer({ min: opts.minLen, max: opts.maxLen }),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
      gapRate: fc.constantFrom(0, 0, 0.03, 0.1),
    })
    .map(({ start, len, seed, gapRate }) => {
      let s = seed;
      const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const out: Day[] = [];
      let px = 50 + rnd() * 100;
      for (let i = 0; i < len; i++) {
        if (i > 0 && rnd() < gapRate) continue;
        const open = px;
        const close = Math.max(0.01, open * (1 + (rnd() - 0.5) * 0.1));
        const high = Math.max(open, close) * (1 + rnd() * 0.03);
        const low = Math.min(open, close) * (1 - rnd() * 0.03);
        out.push({ day: start + i, open, high, low, close, volume: Math.round(rnd() * 1e6) / 100, marketCap: close * 1e6 });
        px = close;
      }
      return out;
    });
}

/** A seeded random walk of `len` days from day 19,000 (no gaps): the same seed gives the same history. */
export function seededHistory(len: number, seed: number): Day[] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out: Day[] = [];
  let px = 100;
  for (let i = 0; i < len; i++) {
    const open = px;
    const close = open * (1 + (rnd() - 0.5) * 0.1);
    out.push({ day: 19_000 + i, open, close, high: Math.max(open, close) * 1.01, low: Math.min(open, close) * 0.99, volume: 1000 + i, marketCap: close * 1e6 });
    px = close;
  }
  return out;
}

export function dayStr(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

export function writeCsv(dir: string, name: string, days: Day[]): string {
  const p = join(dir, name);
  const lines = ['date,open,high,low,close,volume,market_cap'];
  for (const d of days) lines.push([dayStr(d.day), d.open, d.high, d.low, d.close, d.volume, d.marketCap].join(','));
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

const ORDER: Record<string, string> = {};
for (const t of [...DERIVED_TABLES, priceBars1dRejects]) ORDER[t.name] = t.key.join(', ');

/** Every derived table's rows (ingested_at aside), in key order. */
export async function dumpDerived(store: Store): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const name of Object.keys(ORDER)) {
    const rows = await store.query(`SELECT * FROM ${name} ORDER BY ${ORDER[name]}`);
    out[name] = rows.map((r) => {
      // Load provenance (which file, when) legitimately differs between two databases; the data may not.
      const { ingested_at: _a, rejected_at: _b, src_load_ts: _c, src_file: _d, ...rest } = r as Record<string, unknown>;
      return rest;
    });
  }
  return out;
}

/** Assert two dumps are identical, naming the first differing table and row. */
export function diffDumps(a: Record<string, unknown[]>, b: Record<string, unknown[]>): string | null {
  for (const t of Object.keys(a)) {
    const x = a[t];
    const y = b[t];
    if (x.length !== y.length) return `${t}: ${x.length} rows vs ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      const ra = x[i] as Record<string, unknown>;
      const rb = y[i] as Record<string, unknown>;
      for (const k of Object.keys(ra)) {
        const va = ra[k];
        const vb = rb[k];
        if (!(va === vb || (typeof va === 'number' && typeof vb === 'number' && Number.isNaN(va) && Number.isNaN(vb)))) {
          return `${t} row ${i} (${JSON.stringify(Object.fromEntries(Object.entries(ra).slice(0, 4)))}): ${k} ${String(va)} vs ${String(vb)}`;
        }
      }
    }
  }
  return null;
}

/**
 * Compare every derived table of two test databases inside the engine (EXCEPT ALL both ways), for data too big
 * to dump into JS. DuckDB: `other` must be closed; its file is attached read-only. Postgres: both are schemas
 * of the same database. Returns null when identical, else the first table that differs with sample rows.
 */
export async function diffDerivedSql(store: Store, self: { pgSchema?: string }, other: { dbArg: string; pgSchema?: string }): Promise<string | null> {
  let otherRef: (t: string) => string;
  let selfRef: (t: string) => string;
  if (store.dialect === 'duckdb') {
    await store.exec(`ATTACH '${other.dbArg.replace(/'/g, "''")}' AS other_db (READ_ONLY)`);
    otherRef = (t) => `other_db.main.${t}`;
    selfRef = (t) => t;
  } else {
    otherRef = (t) => `"${other.pgSchema}".${t}`;
    selfRef = (t) => `"${self.pgSchema}".${t}`;
  }
  try {
    for (const t of [...DERIVED_TABLES, priceBars1dRejects]) {
      const cols = t.columns.map((c) => c.name).filter((c) => !['ingested_at', 'rejected_at', 'src_load_ts', 'src_file'].includes(c));
      const list = cols.map((c) => `"${c}"`).join(', ');
      for (const [a, b, label] of [[selfRef, otherRef, 'only in the first'], [otherRef, selfRef, 'only in the second']] as const) {
        const rows = await store.query(
          `SELECT ${list} FROM ${a(t.name)} EXCEPT ALL SELECT ${list} FROM ${b(t.name)} LIMIT 3`,
        );
        if (rows.length) return `${t.name}: rows ${label}, e.g. ${JSON.stringify(rows[0])}`;
      }
      const n = await store.query<{ a: number; b: number }>(
        `SELECT (SELECT count(*) FROM ${selfRef(t.name)}) AS a, (SELECT count(*) FROM ${otherRef(t.name)}) AS b`,
      );
      if (Number(n[0].a) !== Number(n[0].b)) return `${t.name}: ${n[0].a} rows vs ${n[0].b}`;
    }
    return null;
  } finally {
    if (store.dialect === 'duckdb') await store.exec('DETACH other_db');
  }
}

const isoOrEmpty = (ms: number) => (Number.isNaN(ms) ? '' : new Date(ms).toISOString());

/** Parsed source rows back out as a CoinMarketCap export (every field kept), for replaying real files. */
export function writeCmcRows(path: string, rows: SourceRow[]): void {
  const head = 'timeOpen;timeClose;timeHigh;timeLow;name;open;high;low;close;volume;marketCap;timestamp';
  const num = (v: number) => (Number.isNaN(v) ? '' : String(v));
  const lines = rows.map((r) => [isoOrEmpty(r.timeOpen), isoOrEmpty(r.timeClose), isoOrEmpty(r.timeHigh), isoOrEmpty(r.timeLow),
    r.srcName ?? '', r.open, r.high, r.low, r.close, num(r.volume), num(r.marketCap), isoOrEmpty(r.ts)].join(';'));
  writeFileSync(path, [head, ...lines].join('\n') + '\n');
}

/** A synthetic universe (bench/synthetic.ts) into price_histories, with a dim_assets row per asset. */
export async function seedSynthetic(store: Store, batch: RowBatch): Promise<void> {
  await store.append(priceHistories, batch);
  for (const id of new Set(batch.cols.id as Int32Array)) {
    await store.exec('INSERT INTO dim_assets (id, symbol) VALUES ($1, $2)', [id, `S${id}`]);
  }
}
