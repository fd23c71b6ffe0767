// Where the EMA family reads the bars it folds: the stored bar tables, or — in a dry run that also plans the
// bars — the stored rows as the bars' planned writes (planned.ts) would leave them: the rows a planned delete
// removes dropped, the planned new rows added. Only these reads differ; the EMA rules are the same code.
import { concatBatches, type RowBatch } from '../columnar/columns.js';
import { dailyFrom1d } from '../compute/bars/daily1d.js';
import type { DailySeries } from '../compute/daily.js';
import type { DailyCloses } from '../compute/ema/index.js';
import { BAR_TABLES, priceBars1d } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { lowerBound } from '../util/search.js';
import { closesByTf, loadCanonicalCloses, loadDailyCloses, loadDailySeries } from './load.js';
import type { PlannedDelete, PlannedWrites } from './planned.js';

/** Bar closes of one timeframe, ascending. */
export interface Canon {
  ts: Float64Array;
  close: Float64Array;
}

export interface BarReads {
  /** The asset's price_bars_1d rows. */
  dailySeries(id: number): Promise<DailySeries>;
  /** The asset's daily closes. */
  dailyCloses(id: number): Promise<DailyCloses>;
  /** The asset's canonical (not partial) bar closes of one bar table, by tf, ascending. */
  canonicalCloses(table: string, id: number): Promise<Map<string, Canon>>;
}

export function storeBarReads(store: Store): BarReads {
  return {
    dailySeries: (id) => loadDailySeries(store, id),
    dailyCloses: (id) => loadDailyCloses(store, id),
    canonicalCloses: (table, id) => loadCanonicalCloses(store, table, id),
  };
}

/** Of the bars' planned rows, what the EMAs read: every 1D row, and the canonical closes of the bar tables. */
export const EMA_PLANNED_INPUTS: ReadonlyMap<string, (b: RowBatch) => RowBatch> = new Map([
  [priceBars1d.name, (b: RowBatch) => b],
  ...Object.values(BAR_TABLES).map((t): [string, (b: RowBatch) => RowBatch] => [t.name, canonicalOnly]),
]);

function canonicalOnly(b: RowBatch): RowBatch {
  const partial = b.cols.is_partial_end as Uint8Array;
  const tf = b.cols.tf as string[];
  const time = b.cols.time_close as Float64Array;
  const close = b.cols.close as Float64Array;
  const keep: number[] = [];
  for (let i = 0; i < b.length; i++) if (!partial[i]) keep.push(i);
  return {
    length: keep.length,
    cols: {
      tf: keep.map((i) => tf[i]), time_close: Float64Array.from(keep, (i) => time[i]), close: Float64Array.from(keep, (i) => close[i]),
    },
  };
}

/** Earliest planned delete that reaches timeframe `tf` (+∞: none does). */
function cutFor(deletes: readonly PlannedDelete[] | undefined, tf?: string): number {
  let cut = Infinity;
  for (const d of deletes ?? []) if (!d.tfs || tf === undefined || d.tfs.includes(tf)) cut = Math.min(cut, d.from);
  return cut;
}

function joinSeries(a: DailySeries, keep: number, b: DailySeries): DailySeries {
  const out = { ...a, n: keep + b.n } as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(a)) {
    if (!ArrayBuffer.isView(v)) continue;
    const x = v as Float64Array;
    const y = (b as unknown as Record<string, Float64Array>)[k];
    const z = new (x.constructor as Float64ArrayConstructor)(keep + b.n);
    z.set(x.subarray(0, keep));
    z.set(y, keep);
    out[k] = z;
  }
  return out as unknown as DailySeries;
}

/**
 * The store's bars overlaid with the bars' planned writes for the asset. Each read is made once: the EMA facts
 * and a recompute ask for the same rows.
 */
export function plannedBarReads(store: Store, planned: PlannedWrites): BarReads {
  const base = storeBarReads(store);
  const once = new Map<string, Promise<unknown>>();
  const memo = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    if (!once.has(key)) once.set(key, read());
    return once.get(key) as Promise<T>;
  };
  const dailySeries = (id: number) => memo(`1d|${id}`, async () => {
    const stored = await base.dailySeries(id);
    const keep = lowerBound(stored.ts, cutFor(planned.deletes.get(priceBars1d.name)), stored.n);
    return joinSeries(stored, keep, dailyFrom1d(concatBatches(planned.appends.get(priceBars1d.name) ?? []), id));
  });
  return {
    dailySeries,
    async dailyCloses(id) {
      const s = await dailySeries(id);
      return { id, ts: s.ts, close: s.close };
    },
    canonicalCloses: (table, id) => memo(`${table}|${id}`, async () => {
      const deletes = planned.deletes.get(table);
      const rows: { tf: string; time_close: number; close: number }[] = [];
      for (const [tf, c] of await base.canonicalCloses(table, id)) {
        const keep = lowerBound(c.ts, cutFor(deletes, tf));
        for (let i = 0; i < keep; i++) rows.push({ tf, time_close: c.ts[i], close: c.close[i] });
      }
      const added = concatBatches(planned.appends.get(table) ?? []);
      for (let i = 0; i < added.length; i++) {
        rows.push({
          tf: (added.cols.tf as string[])[i], time_close: (added.cols.time_close as Float64Array)[i], close: (added.cols.close as Float64Array)[i],
        });
      }
      rows.sort((x, y) => (x.tf < y.tf ? -1 : x.tf > y.tf ? 1 : x.time_close - y.time_close));
      return closesByTf(rows);
    }),
  };
}
