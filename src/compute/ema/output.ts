// Output rows of the EMA families: the layout of the six EMA tables (read off EMA_TABLES) and the batch a call
// fills, period by period.

import type { RowBatch } from '../../columnar/columns.js';
import { allocColumns, type RowSink, type SinkColumn } from '../../columnar/columns.js';
import { sinkLayout } from '../../columnar/layout.js';
import { EMA_TABLES } from '../../schema/tables.js';
import type { TfSpec } from './inputs.js';
import type { Scratch } from './scratch.js';

const SINGLE = sinkLayout(EMA_TABLES.v1.columns);
const DUAL = sinkLayout(EMA_TABLES.cal_us.columns);

/**
 * Column kinds of an EMA table's rows (a RowSink), in the table's order: the single layout (v1, v2) or the
 * dual one with the _bar twins (cal, cal_anchor); without ingested_at, which the store sets.
 */
export function emaSinkColumns(dual: boolean): Readonly<Record<string, SinkColumn>> {
  return dual ? DUAL : SINGLE;
}

type OutCols = Record<string, Float64Array | Int32Array | Uint8Array>;

// Rows [lo, lo + len) of src into dst from row o. A daily run emits one or two rows per period: a plain loop
// then beats making a subarray view to copy from.
function put(dst: Float64Array, src: Float64Array, o: number, lo: number, len: number): void {
  if (len <= 8) for (let i = 0; i < len; i++) dst[o + i] = src[lo + i];
  else dst.set(src.subarray(lo, lo + len), o);
}

function putFlags(dst: Uint8Array, src: Uint8Array, o: number, lo: number, len: number): void {
  if (len <= 8) for (let i = 0; i < len; i++) dst[o + i] = src[lo + i];
  else dst.set(src.subarray(lo, lo + len), o);
}

/**
 * Batch writer for a whole (asset, tf) call, filled period by period: into its own columns allocated at the
 * final size, or into rows claimed from `opts.sink` (then the returned batch is a view of them).
 */
export class EmaBatchBuilder {
  private off: number;
  private readonly base: number;
  private readonly c: OutCols;
  private readonly own?: RowBatch;

  constructor(
    private readonly id: number,
    private readonly tf: TfSpec,
    private readonly dual: boolean,
    private readonly length: number,
    private readonly sink?: RowSink,
  ) {
    const at = sink !== undefined ? sink.claim(length) : 0;
    // Read the sink's columns after claiming: claiming may have grown them into new buffers. Own columns are in
    // the table's order (the layout's), so a reader of the batch sees the schema's layout.
    const cols = sink !== undefined ? sink.cols : allocColumns(emaSinkColumns(dual), length);
    const c = cols as OutCols;
    c.id.fill(id, at, at + length);
    c.tf_days.fill(tf.daysNominal, at, at + length);
    (cols.tf as string[]).fill(tf.tf, at, at + length);
    this.c = c;
    this.base = at;
    this.off = at;
    if (sink === undefined) this.own = { length, cols: cols as RowBatch['cols'] };
  }

  /** Copy rows [lo, n) of a computed period from scratch into the batch. */
  emit(period: number, dailyTs: Float64Array, s: Scratch, lo: number, n: number): void {
    const len = n - lo;
    if (len <= 0) return;
    const o = this.off;
    const c = this.c;
    (c.period as Int32Array).fill(period, o, o + len);
    put(c.ts as Float64Array, dailyTs, o, lo, len);
    putFlags(c.roll as Uint8Array, s.roll, o, lo, len);
    put(c.ema as Float64Array, s.ema, o, lo, len);
    put(c.d1 as Float64Array, s.d1, o, lo, len);
    put(c.d2 as Float64Array, s.d2, o, lo, len);
    put(c.d1_roll as Float64Array, s.d1r, o, lo, len);
    put(c.d2_roll as Float64Array, s.d2r, o, lo, len);
    if (this.dual) {
      put(c.ema_bar as Float64Array, s.emaBar, o, lo, len);
      putFlags(c.roll_bar as Uint8Array, s.rollBar, o, lo, len);
      put(c.d1_bar as Float64Array, s.d1b, o, lo, len);
      put(c.d2_bar as Float64Array, s.d2b, o, lo, len);
      put(c.d1_roll_bar as Float64Array, s.d1rb, o, lo, len);
      put(c.d2_roll_bar as Float64Array, s.d2rb, o, lo, len);
    }
    this.off = o + len;
  }

  done(): RowBatch {
    if (this.off - this.base !== this.length) {
      throw new Error(`internal: EMA batch for ${this.tf.tf} (id ${this.id}) filled ${this.off - this.base} of ${this.length} rows`);
    }
    return this.own ?? this.sink!.lazyView(this.base, this.base + this.length);
  }
}
