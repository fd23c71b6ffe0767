// What is in the database: per asset first/last day and row counts per table, whether a refresh has work to
// do for it (behind), and which timeframes its history is still too short for.
import { BAR_FAMILIES, belongsTo, defaultTimeframes } from '../catalog/timeframes.js';
import { q } from '../schema/ddl.js';
import { BAR_TABLES, DERIVED_TABLES, EMA_TABLES, priceBars1d, priceChanges, priceHistories, refreshState } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { EMA_FAMILIES, emaTimeframes } from './emas.js';
import { BARS_STATE_TABLES, changedFrom, upstreamChange } from './state.js';

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
  /** Derived tables a refresh would write to: never built, or built from fewer days than the source now has. */
  behind: string[];
  /** Default timeframes with no row at all although the asset is not behind: its history is shorter than they need. */
  tooYoung: string[];
}

const day = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().slice(0, 10));

/** The default timeframes each derived table holds rows for. */
function expectedTfs(): Map<string, string[]> {
  const tfs = defaultTimeframes();
  const m = new Map<string, string[]>();
  for (const f of BAR_FAMILIES) m.set(BAR_TABLES[f].name, tfs.filter((t) => belongsTo(t, f)).map((t) => t.tf));
  for (const f of EMA_FAMILIES) m.set(EMA_TABLES[f].name, emaTimeframes(f, tfs).map((t) => t.tf));
  return m;
}

/**
 * "Behind" is what a refresh would do, read from its state: a table is behind when it has no state row for
 * the asset, when the source has days after the last one its component saw (bars) or the 1D table has days
 * after the last one the EMAs saw (or the bars are behind), when an import left changes pending, or when bars
 * changed under the EMAs.
 * A table that is empty for some timeframe because the history is too short is not behind: no refresh can
 * fill it until more days arrive.
 */
export async function collectStatus(store: Store, asOf = Date.now()): Promise<AssetStatus[]> {
  const assets = await store.query<{ id: number; symbol: string; lo: number | null; hi: number | null; n: number }>(
    `SELECT a.id, a.symbol, min(p.ts) AS lo, max(p.ts) AS hi, count(p.ts) AS n
     FROM dim_assets a LEFT JOIN ${priceHistories.name} p ON p.id = a.id GROUP BY a.id, a.symbol ORDER BY a.id`,
  );
  const rowCounts = new Map<string, Map<number, number>>();
  const tfsWithRows = new Map<string, Map<number, Set<string>>>();
  let dailyHi = new Map<number, number>();
  for (const t of DERIVED_TABLES) {
    if (t === priceBars1d) {
      const rows = await store.query<{ id: number; n: number; hi: number | null }>(`SELECT id, count(*) AS n, max(ts) AS hi FROM ${q(t.name)} GROUP BY id`);
      rowCounts.set(t.name, new Map(rows.map((r) => [Number(r.id), Number(r.n)])));
      dailyHi = new Map(rows.map((r) => [Number(r.id), Number(r.hi)]));
      continue;
    }
    const rows = await store.query<{ id: number; tf: string; n: number }>(`SELECT id, tf, count(*) AS n FROM ${q(t.name)} GROUP BY id, tf`);
    const counts = new Map<number, number>();
    const tfs = new Map<number, Set<string>>();
    for (const r of rows) {
      const id = Number(r.id);
      counts.set(id, (counts.get(id) ?? 0) + Number(r.n));
      if (!tfs.has(id)) tfs.set(id, new Set());
      tfs.get(id)!.add(r.tf);
    }
    rowCounts.set(t.name, counts);
    tfsWithRows.set(t.name, tfs);
  }
  const states = await store.query<{
    id: number; table_name: string; last_src_ts: number | null; dirty_from: number | null; changed_from: number | null; last_run_ts: number;
  }>(
    `SELECT id, table_name, last_src_ts, dirty_from, changed_from, last_run_ts FROM ${q(refreshState.name)}`,
  );
  const state = new Map(states.map((s) => [`${s.id}:${s.table_name}`, s]));
  const pending = new Set((await store.query<{ id: number }>(
    `SELECT DISTINCT id FROM ${q(priceChanges.name)} WHERE consumed_at IS NULL`,
  )).map((r) => Number(r.id)));
  const expected = expectedTfs();
  const barsTables = new Set(BARS_STATE_TABLES);
  return assets.map((a) => {
    const id = Number(a.id);
    const rows: Record<string, number> = {};
    const behind: string[] = [];
    const young = new Set<string>();
    const hi = a.hi === null ? null : Number(a.hi);
    for (const t of DERIVED_TABLES) {
      rows[t.name] = rowCounts.get(t.name)!.get(id) ?? 0;
      if (hi === null) continue;
      const st = state.get(`${id}:${t.name}`);
      const seen = st?.last_src_ts === null || st?.last_src_ts === undefined ? -Infinity : Number(st.last_src_ts);
      const upstream = barsTables.has(t.name) ? hi : (dailyHi.get(id) ?? hi);
      // The EMAs follow the bars: new source days reach them through the 1D table the bars step will extend.
      const barsBehind = !barsTables.has(t.name) && behind.some((b) => barsTables.has(b));
      // A rewrite of the bars the EMAs have not run since is recorded on the bars' own state.
      const bars = state.get(`${id}:${priceBars1d.name}`);
      const rewritten = !barsTables.has(t.name) && !!st && !!bars
        && upstreamChange({ ...bars, changed_from: changedFrom(bars.changed_from) }, st) !== null;
      if (seen < upstream || barsBehind || rewritten || pending.has(id) || (st?.dirty_from ?? null) !== null) behind.push(t.name);
    }
    if (behind.length === 0) {
      for (const [table, tfs] of expected) {
        const have = tfsWithRows.get(table)!.get(id);
        for (const tf of tfs) if (!have?.has(tf)) young.add(tf);
      }
    }
    const order = defaultTimeframes().map((t) => t.tf);
    return {
      id, symbol: a.symbol, firstDay: day(a.lo), lastDay: day(a.hi), sourceRows: Number(a.n), rows,
      ageDays: hi === null ? null : Math.floor((asOf - hi) / 86_400_000), behind,
      tooYoung: order.filter((tf) => young.has(tf)),
    };
  });
}
