// Columnar row batches: the currency between pure kernels and the storage engines.
// Kernels fill typed arrays; the engines encode them by the schema's column types (schema/tables.ts).
//
// Encoding by column type:
//   double -> Float64Array, NaN = NULL
//   int    -> Int32Array (never NULL) or Float64Array (NaN = NULL)
//   bigint -> Float64Array (NaN = NULL); values stay below 2^53
//   ts     -> Float64Array of epoch milliseconds, NaN = NULL
//   bool   -> Uint8Array 0/1, or Float64Array 0/1 with NaN = NULL
//   text / json -> (string | null)[]
// A column absent from the batch is written as NULL (or its default).

export type ColumnData = Float64Array | Int32Array | Uint8Array | (string | null)[];

export interface RowBatch {
  length: number;
  cols: Record<string, ColumnData>;
}

export function emptyBatch(): RowBatch {
  return { length: 0, cols: {} };
}

/** Concatenate batches that share the same column names. */
export function concatBatches(batches: RowBatch[]): RowBatch {
  const nonEmpty = batches.filter((b) => b.length > 0);
  if (nonEmpty.length === 0) return emptyBatch();
  if (nonEmpty.length === 1) return nonEmpty[0];
  const length = nonEmpty.reduce((s, b) => s + b.length, 0);
  const cols: Record<string, ColumnData> = {};
  for (const name of Object.keys(nonEmpty[0].cols)) {
    const first = nonEmpty[0].cols[name];
    if (Array.isArray(first)) {
      const out: (string | null)[] = new Array(length);
      let o = 0;
      for (const b of nonEmpty) for (const v of b.cols[name] as (string | null)[]) out[o++] = v;
      cols[name] = out;
    } else {
      const Ctor = first.constructor as Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;
      const out = new Ctor(length);
      let o = 0;
      for (const b of nonEmpty) {
        out.set(b.cols[name] as never, o);
        o += b.length;
      }
      cols[name] = out;
    }
  }
  return { length, cols };
}

/** A text column holding the same value on every row (e.g. `tf`). */
export function constText(value: string, length: number): string[] {
  return new Array<string>(length).fill(value);
}

/** Read row i of a batch as a plain object (tests and small reports only; not for hot paths). */
export function rowAt(batch: RowBatch, i: number): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {};
  for (const [k, col] of Object.entries(batch.cols)) {
    const v = col[i];
    out[k] = typeof v === 'number' && Number.isNaN(v) ? null : (v as number | string | null);
  }
  return out;
}

/** Rows [from, to) of a batch (a view for typed arrays, a copy for text columns). */
export function sliceBatch(batch: RowBatch, from: number, to = batch.length): RowBatch {
  if (from <= 0 && to >= batch.length) return batch;
  const cols: Record<string, ColumnData> = {};
  for (const [k, v] of Object.entries(batch.cols)) cols[k] = Array.isArray(v) ? v.slice(from, to) : v.subarray(from, to);
  return { length: Math.max(0, to - from), cols };
}

/** Only the rows whose time column is ≥ from (epoch ms); keeps the batch's row order. */
export function rowsFrom(batch: RowBatch, timeCol: string, from: number): RowBatch {
  if (batch.length === 0 || from === -Infinity) return batch;
  const t = batch.cols[timeCol] as Float64Array;
  const keep: number[] = [];
  for (let i = 0; i < batch.length; i++) if (t[i] >= from) keep.push(i);
  if (keep.length === batch.length) return batch;
  const cols: Record<string, ColumnData> = {};
  for (const [k, v] of Object.entries(batch.cols)) {
    if (Array.isArray(v)) cols[k] = keep.map((i) => v[i]);
    else {
      const Ctor = v.constructor as Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;
      const out = new Ctor(keep.length);
      for (let j = 0; j < keep.length; j++) out[j] = v[keep[j]];
      cols[k] = out;
    }
  }
  return { length: keep.length, cols };
}
