// Output rows of the snapshot bar kernels: the layout of the five snapshot tables (read off
// SNAPSHOT_BAR_COLUMNS) and the columns one build fills.

import type { RowBatch } from '../../columnar/columns.js';
import { allocColumns, type RowSink, type SinkColumn } from '../../columnar/columns.js';
import { sinkLayout } from '../../columnar/layout.js';
import { SNAPSHOT_BAR_COLUMNS } from '../../schema/tables.js';

/** Column kinds of a snapshot bar table's rows (a RowSink): SNAPSHOT_BAR_COLUMNS without ingested_at (set by the store). */
export const BAR_SINK_COLUMNS: Readonly<Record<string, SinkColumn>> = sinkLayout(SNAPSHOT_BAR_COLUMNS);

/** Output column names of the snapshot builders, in the table's order. */
export const SNAPSHOT_OUTPUT_COLUMNS: readonly string[] = Object.keys(BAR_SINK_COLUMNS);

/**
 * Output columns; the builders fill row base + r in place. Allocated at their exact final size (base = 0), or
 * rows claimed from a RowSink (the many one-row calls of a daily run then allocate nothing per call). Each
 * column is also a field of its own so the per-row writes stay monomorphic.
 */
export class SnapshotOut {
  readonly base: number;
  private readonly cols: Record<string, unknown>;
  readonly barSeq: Int32Array;
  readonly timeClose: Float64Array;
  readonly tfDays: Int32Array;
  readonly timeOpen: Float64Array;
  readonly timeHigh: Float64Array;
  readonly timeLow: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
  readonly marketCap: Float64Array;
  readonly lastTsHalfOpen: Float64Array;
  readonly posInBar: Int32Array;
  readonly partialStart: Uint8Array;
  readonly partialEnd: Uint8Array;
  readonly missingFlag: Uint8Array;
  readonly countDays: Int32Array;
  readonly countRemaining: Int32Array;
  readonly countMissing: Int32Array;
  readonly missingStart: Int32Array;
  /** always 0: a row exists only when its own day has data */
  readonly missingEnd: Int32Array;
  readonly missingInterior: Int32Array;
  readonly missingWhere: (string | null)[];
  readonly firstMissing: Float64Array;
  readonly lastMissing: Float64Array;

  constructor(readonly length: number, private readonly sink?: RowSink) {
    const at = sink !== undefined ? sink.claim(length) : 0;
    // Read the sink's columns after claiming: claiming may have grown them into new buffers.
    const cols = sink !== undefined ? sink.cols : allocColumns(BAR_SINK_COLUMNS, length);
    const c = cols as Record<string, never>;
    this.cols = cols;
    this.base = at;
    this.barSeq = c.bar_seq;
    this.timeClose = c.time_close;
    this.tfDays = c.tf_days;
    this.timeOpen = c.time_open;
    this.timeHigh = c.time_high;
    this.timeLow = c.time_low;
    this.open = c.open;
    this.high = c.high;
    this.low = c.low;
    this.close = c.close;
    this.volume = c.volume;
    this.marketCap = c.market_cap;
    this.lastTsHalfOpen = c.last_ts_half_open;
    this.posInBar = c.pos_in_bar;
    this.partialStart = c.is_partial_start;
    this.partialEnd = c.is_partial_end;
    this.missingFlag = c.is_missing_days;
    this.countDays = c.count_days;
    this.countRemaining = c.count_days_remaining;
    this.countMissing = c.count_missing_days;
    this.missingStart = c.count_missing_days_start;
    this.missingEnd = c.count_missing_days_end;
    this.missingInterior = c.count_missing_days_interior;
    this.missingWhere = c.missing_days_where;
    // Only rows with missing days set these; the rest are NULL.
    this.firstMissing = (c.first_missing_day as Float64Array).fill(NaN, at, at + length);
    this.lastMissing = (c.last_missing_day as Float64Array).fill(NaN, at, at + length);
  }

  /** The rows, with the columns every row of one (asset, timeframe) build shares: id, tf, timestamp. */
  toBatch(id: number, tf: string): RowBatch {
    const n = this.length;
    const at = this.base;
    const c = this.cols;
    (c.id as Int32Array).fill(id, at, at + n);
    (c.tf as string[]).fill(tf, at, at + n);
    (c.timestamp as Float64Array).set(this.timeClose.subarray(at, at + n), at);
    if (this.sink !== undefined) return this.sink.lazyView(at, at + n);
    // Columns in the table's order (the layout's), so writers can take Object.keys as the column list.
    return { length: n, cols: c as RowBatch['cols'] };
  }
}
