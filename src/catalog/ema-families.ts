// The six EMA families and the bar family each one is computed on: what the refresh builds, the views show
// and the export reads. Their tables are in schema/tables.ts (EMA_TABLES, keyed by these names).
import { belongsTo, type BarFamily, type Timeframe } from './timeframes.js';

/** Which bar family feeds each EMA family (v2 needs none: it counts daily rows). Order is run order. */
const SOURCE = {
  v1: 'multi_tf', v2: null, cal_us: 'cal_us', cal_iso: 'cal_iso', cal_anchor_us: 'cal_anchor_us',
  cal_anchor_iso: 'cal_anchor_iso',
} as const satisfies Record<string, BarFamily | null>;

export type EmaFamily = keyof typeof SOURCE;

export const EMA_FAMILIES = Object.keys(SOURCE) as EmaFamily[];

/** The bar family whose canonical closes an EMA family reads, or null (v2: daily rows only). */
export function emaBarSource(family: EmaFamily): BarFamily | null {
  return SOURCE[family];
}

/** Timeframes of an EMA family: the bar family's, plus 1D for the two day-horizon families. */
export function emaTimeframes(family: EmaFamily, tfs: readonly Timeframe[]): Timeframe[] {
  const bars: BarFamily = SOURCE[family] ?? 'multi_tf';
  return tfs.filter((t) => (bars === 'multi_tf' && t.tf === '1D') || belongsTo(t, bars));
}
