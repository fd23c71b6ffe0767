// Entry points of the bar kernels: the 1D builder and one call per (asset, bar family).

import type { BarFamily, Timeframe } from '../../catalog/timeframes.js';
import { belongsTo } from '../../catalog/timeframes.js';
import type { RowBatch } from '../../columnar/columns.js';
import { concatBatches } from '../../columnar/columns.js';
import type { DailySeries } from '../daily.js';
import { buildCalendar, buildRolling, type SnapshotBuildOptions } from './snapshots.js';

export { build1d, dailyFrom1d, rawDailyFromRows, REJECT_REASONS } from './daily1d.js';
export type { Build1dCounters, Build1dOptions, Build1dResult, RawDaily, RejectReason } from './daily1d.js';
export { BAR_CARRY_LEN, BAR_SINK_COLUMNS, buildCalendar, buildRolling, SNAPSHOT_OUTPUT_COLUMNS } from './snapshots.js';
export type { CalendarBuildOptions, SnapshotBuildOptions } from './snapshots.js';
export * from './calendar.js';

/**
 * Snapshot rows of one timeframe in the table of `family`. With `opts.carry` (a previous call's
 * `opts.carryOut` for the same asset, family and timeframe), `series` holds only the later daily rows and the
 * result is the full build's rows for those days (see snapshots.ts).
 */
export function buildBarsForTimeframe(
  series: DailySeries, family: BarFamily, tf: Timeframe, opts: SnapshotBuildOptions = {},
): RowBatch {
  // A timeframe built into the wrong table would get the wrong semantics (e.g. full windows vs partial
  // start) and the wrong rows; refuse instead of guessing.
  if (!belongsTo(tf, family)) throw new Error(`timeframe ${tf.tf} does not belong to bar family ${family}`);
  const { carry, carryOut, sink } = opts;
  if (family === 'multi_tf') return buildRolling(series, tf, { carry, carryOut, sink });
  return buildCalendar(series, tf, {
    anchored: family === 'cal_anchor_iso' || family === 'cal_anchor_us', carry, carryOut, sink,
  });
}

/** Snapshot rows of all `tfs` of one bar family for one asset, concatenated in the order of `tfs`. */
export function buildBarsForFamily(series: DailySeries, family: BarFamily, tfs: readonly Timeframe[]): RowBatch {
  return concatBatches(tfs.map((tf) => buildBarsForTimeframe(series, family, tf)));
}
