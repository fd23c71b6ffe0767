// Bars for one asset: price_histories → price_bars_1d (+ rejects) → the five snapshot tables.
// The asset's rows of the selected timeframes are replaced inside the caller's transaction.
import { BAR_FAMILIES, belongsTo, type Timeframe } from '../catalog/timeframes.js';
import { build1d, type Build1dCounters } from '../compute/bars/daily1d.js';
import { dailyFrom1d } from '../compute/bars/daily1d.js';
import { buildBarsForFamily } from '../compute/bars/index.js';
import { q } from '../schema/ddl.js';
import { BAR_TABLES, priceBars1d, priceBars1dRejects } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { loadRawDaily } from './load.js';

export interface AssetBarsResult {
  rows: Record<string, number>;
  counters: Build1dCounters;
  /** Last source day (epoch ms of its close), NaN when the asset has no rows. */
  lastSrcTs: number;
  firstSrcTs: number;
  /** Calendar days missing between the first and last accepted day. */
  gaps: number;
}

/**
 * Rebuild every bar table for one asset. `tfs` is the timeframe selection; `whole` means the selection is
 * the full configured one, so the asset's rows of other timeframes are removed too (they would be stale).
 */
export async function rebuildAssetBars(
  store: Store, id: number, tfs: readonly Timeframe[], whole: boolean,
): Promise<AssetBarsResult> {
  const raw = await loadRawDaily(store, id);
  const built = build1d(raw);
  const rows: Record<string, number> = {};
  await store.exec(`DELETE FROM ${q(priceBars1d.name)} WHERE id = $1`, [id]);
  await store.exec(`DELETE FROM ${q(priceBars1dRejects.name)} WHERE id = $1`, [id]);
  rows[priceBars1d.name] = await store.append(priceBars1d, built.bars);
  rows[priceBars1dRejects.name] = await store.append(priceBars1dRejects, built.rejects);
  const series = dailyFrom1d(built.bars, id);
  for (const family of BAR_FAMILIES) {
    const table = BAR_TABLES[family];
    const sel = tfs.filter((t) => belongsTo(t, family));
    if (whole) await store.exec(`DELETE FROM ${q(table.name)} WHERE id = $1`, [id]);
    else if (sel.length) {
      await store.exec(
        `DELETE FROM ${q(table.name)} WHERE id = $1 AND tf IN (${sel.map((_, i) => `$${i + 2}`).join(', ')})`,
        [id, ...sel.map((t) => t.tf)],
      );
    }
    rows[table.name] = sel.length ? await store.append(table, buildBarsForFamily(series, family, sel)) : 0;
  }
  let gaps = 0;
  for (let i = 1; i < series.n; i++) gaps += series.day[i] - series.day[i - 1] - 1;
  return {
    rows, counters: built.counters, gaps,
    lastSrcTs: raw.n ? raw.ts[raw.n - 1] : NaN, firstSrcTs: raw.n ? raw.ts[0] : NaN,
  };
}
