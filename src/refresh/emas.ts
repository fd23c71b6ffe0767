// EMAs for one asset: daily closes from price_bars_1d, canonical closes from the bar tables (SPEC E2),
// the six families of compute/ema, rows of the selected timeframes × periods replaced in the caller's
// transaction.
import { belongsTo, type BarFamily, type Timeframe } from '../catalog/timeframes.js';
import { emaAnchor, emaCal, emaV1, emaV2 } from '../compute/ema/index.js';
import { q } from '../schema/ddl.js';
import { BAR_TABLES, EMA_TABLES, type Table } from '../schema/tables.js';
import { concatBatches, type RowBatch } from '../store/columns.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { loadCanonicalCloses, loadDailySeries } from './load.js';

type EmaFamily = keyof typeof EMA_TABLES;

/** Which bar family feeds each EMA family (v2 needs none: it counts daily rows). */
const SOURCE: Record<EmaFamily, BarFamily | null> = {
  v1: 'multi_tf', v2: null, cal_us: 'cal_us', cal_iso: 'cal_iso', cal_anchor_us: 'cal_anchor_us',
  cal_anchor_iso: 'cal_anchor_iso',
};

export const EMA_FAMILIES = Object.keys(EMA_TABLES) as EmaFamily[];

/** Timeframes of an EMA family: the bar family's, plus 1D for the two day-horizon families. */
export function emaTimeframes(family: EmaFamily, tfs: readonly Timeframe[]): Timeframe[] {
  const bars = SOURCE[family] ?? 'multi_tf';
  return tfs.filter((t) => (bars === 'multi_tf' && t.tf === '1D') || belongsTo(t, bars));
}

export async function rebuildAssetEmas(
  store: Store, id: number, tfs: readonly Timeframe[], periods: readonly number[], whole: boolean,
): Promise<{ rows: Record<string, number> }> {
  const daily = await loadDailySeries(store, id);
  const rows: Record<string, number> = {};
  for (const family of EMA_FAMILIES) {
    const table = EMA_TABLES[family];
    const sel = emaTimeframes(family, tfs);
    const source = SOURCE[family];
    const canon = source ? await loadCanonicalCloses(store, BAR_TABLES[source].name, id) : new Map();
    const parts: RowBatch[] = [];
    for (const tf of sel) {
      if (daily.n === 0) break;
      const c = tf.tf === '1D' ? { ts: daily.ts, close: daily.close } : canon.get(tf.tf);
      if (source && !c) {
        // No canonical bar yet: the asset is younger than one full window, so no EMA can seed.
        // If bars of this timeframe were never built at all, say so instead of writing nothing silently.
        const any = await store.query(
          `SELECT 1 AS x FROM ${q(BAR_TABLES[source].name)} WHERE id = $1 AND tf = $2 LIMIT 1`, [id, tf.tf],
        );
        if (any.length === 0 && daily.n >= tf.daysMin) {
          throw new UserError(`EMAs of asset ${id}: no ${tf.tf} bars in ${BAR_TABLES[source].name}; run \`talab refresh --bars\` first`, 1);
        }
        continue;
      }
      switch (family) {
        case 'v1':
          parts.push(emaV1(daily, c!, tf, periods));
          break;
        case 'v2':
          parts.push(emaV2(daily, tf, periods));
          break;
        case 'cal_us':
        case 'cal_iso':
          parts.push(emaCal(daily, c!.ts, tf, periods));
          break;
        default:
          parts.push(emaAnchor(daily, c!, tf, periods));
      }
    }
    await deleteAssetRows(store, table, id, whole ? null : sel, periods);
    rows[table.name] = await store.append(table, concatBatches(parts));
  }
  return { rows };
}

async function deleteAssetRows(
  store: Store, table: Table, id: number, tfs: Timeframe[] | null, periods: readonly number[],
): Promise<void> {
  if (tfs === null) {
    await store.exec(`DELETE FROM ${q(table.name)} WHERE id = $1`, [id]);
    return;
  }
  if (tfs.length === 0 || periods.length === 0) return;
  const tfList = tfs.map((_, i) => `$${i + 2}`).join(', ');
  const pList = periods.map((_, i) => `$${i + 2 + tfs.length}`).join(', ');
  await store.exec(`DELETE FROM ${q(table.name)} WHERE id = $1 AND tf IN (${tfList}) AND period IN (${pList})`, [
    id, ...tfs.map((t) => t.tf), ...periods,
  ]);
}
