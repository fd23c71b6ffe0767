// What is in the database: per asset first/last day and row counts per table, and how fresh it is.
import { DERIVED_TABLES, priceHistories } from '../schema/tables.js';
import type { Store } from '../store/store.js';

export interface AssetStatus {
  id: number;
  symbol: string;
  firstDay: string | null;
  lastDay: string | null;
  sourceRows: number;
  /** Rows per derived table. */
  rows: Record<string, number>;
  /** Whole days between the last source day and `asOf`. */
  ageDays: number | null;
  /** Derived tables whose last day is behind the source's last day. */
  behind: string[];
}

const day = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().slice(0, 10));

export async function collectStatus(store: Store, asOf = Date.now()): Promise<AssetStatus[]> {
  const assets = await store.query<{ id: number; symbol: string; lo: number | null; hi: number | null; n: number }>(
    `SELECT a.id, a.symbol, min(p.ts) AS lo, max(p.ts) AS hi, count(p.ts) AS n
     FROM dim_assets a LEFT JOIN ${priceHistories.name} p ON p.id = a.id GROUP BY a.id, a.symbol ORDER BY a.id`,
  );
  const perTable = new Map<string, Map<number, { n: number; hi: number | null }>>();
  for (const t of DERIVED_TABLES) {
    const tsCol = t.columns.some((c) => c.name === 'ts') ? 'ts' : 'time_close';
    const rows = await store.query<{ id: number; n: number; hi: number | null }>(
      `SELECT id, count(*) AS n, max(${tsCol}) AS hi FROM ${t.name} GROUP BY id`,
    );
    perTable.set(t.name, new Map(rows.map((r) => [r.id, { n: Number(r.n), hi: r.hi }])));
  }
  return assets.map((a) => {
    const rows: Record<string, number> = {};
    const behind: string[] = [];
    for (const t of DERIVED_TABLES) {
      const s = perTable.get(t.name)!.get(a.id);
      rows[t.name] = s?.n ?? 0;
      if (a.hi !== null && (s?.hi ?? -Infinity) < a.hi) behind.push(t.name);
    }
    return {
      id: a.id, symbol: a.symbol, firstDay: day(a.lo), lastDay: day(a.hi), sourceRows: Number(a.n), rows,
      ageDays: a.hi === null ? null : Math.floor((asOf - a.hi) / 86_400_000), behind,
    };
  });
}
