// Entry points of the bar kernels: the 1D builder and one call per (asset, bar family).
//
// Where each concept lives:
//   daily1d.ts        price_bars_1d: validation, repairs and rejects of the raw daily rows
//   calendar.ts       the global calendar window grid (ISO / US weeks, months, years)
//   rolling.ts        rolling N-day bars (price_bars_multi_tf)
//   calendar-bars.ts  calendar bars on that grid (the cal and cal_anchor tables)
//   bar-state.ts      the running OHLCV / missing-day state of the current bar, and its output row
//   carry.ts          the carry layout and its checks
//   output.ts         the output columns (layout read off SNAPSHOT_BAR_COLUMNS)
//   input.ts          what the kernels accept of a daily series
//
// A snapshot build emits one row per available day per bar: the state of the bar as of that day, in one
// forward pass over the asset's daily typed arrays with output arrays allocated at their exact final size. A
// row only ever looks at the days before it, so building on a prefix of a history yields exactly the first
// rows of the full build.
//
// A build can also CONTINUE a previous one: `carryOut` receives the complete running state after the last
// folded day (a BAR_CARRY_LEN Float64Array, layout in carry.ts), and passing it back as `carry` together with
// only the later daily rows yields exactly the rows the full build would produce for those days, bit for bit.
// A full build is the continuation of the empty carry.

import type { BarFamily, Timeframe } from '../../catalog/timeframes.js';
import { belongsTo } from '../../catalog/timeframes.js';
import type { RowBatch } from '../../columnar/columns.js';
import { concatBatches } from '../../columnar/columns.js';
import type { DailySeries } from '../daily.js';
import { buildCalendar } from './calendar-bars.js';
import type { SnapshotBuildOptions } from './carry.js';
import { buildRolling } from './rolling.js';

export { build1d, dailyFrom1d, rawDailyFromRows, REJECT_REASONS } from './daily1d.js';
export type { Build1dCounters, Build1dOptions, Build1dResult, RawDaily, RejectReason } from './daily1d.js';
export { BAR_CARRY_LEN, type SnapshotBuildOptions } from './carry.js';
export { BAR_SINK_COLUMNS, SNAPSHOT_OUTPUT_COLUMNS } from './output.js';
export { buildRolling } from './rolling.js';
export { buildCalendar, type CalendarBuildOptions } from './calendar-bars.js';
export * from './calendar.js';

/**
 * Snapshot rows of one timeframe in the table of `family`. With `opts.carry` (a previous call's
 * `opts.carryOut` for the same asset, family and timeframe), `series` holds only the later daily rows and the
 * result is the full build's rows for those days (see carry.ts).
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
