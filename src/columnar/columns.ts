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
//   blob   -> (Uint8Array | null)[]
// A column absent from the batch is written as NULL (or its default).

export type ColumnData = Float64Array | Int32Array | Uint8Array | (string | null)[] | (Uint8Array | null)[];

export interface RowBatch {
  length: number;
  cols: Record<string, ColumnData>;
}

export function emptyBatch(): RowBatch {
  return { length: 0, cols: {} };
}

type Typed = Float64Array | Int32Array | Uint8Array;
type TypedCtor = Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;

/**
 * Typed columns that lie end to end in one buffer (consecutive views of a RowSink) as one view over them;
 * undefined when they do not.
 */
function adjacentView(parts: Typed[]): Typed | undefined {
  const first = parts[0];
  let end = first.byteOffset + first.byteLength;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i];
    if (p.buffer !== first.buffer || p.byteOffset !== end || p.constructor !== first.constructor) return undefined;
    end += p.byteLength;
  }
  const Ctor = first.constructor as TypedCtor;
  return new Ctor(first.buffer as ArrayBuffer, first.byteOffset, (end - first.byteOffset) / first.BYTES_PER_ELEMENT);
}

/**
 * Concatenate batches that share the same column names. Typed columns that are consecutive views of one
 * buffer (a RowSink's rows, recorded asset by asset) are joined as a view, without copying.
 */
export function concatBatches(batches: RowBatch[]): RowBatch {
  const nonEmpty = batches.filter((b) => b.length > 0);
  if (nonEmpty.length === 0) return emptyBatch();
  if (nonEmpty.length === 1) return nonEmpty[0];
  const joined = LazyView.join(nonEmpty);
  if (joined) return joined;
  const length = nonEmpty.reduce((s, b) => s + b.length, 0);
  const cols: Record<string, ColumnData> = {};
  for (const name of Object.keys(nonEmpty[0].cols)) {
    const first = nonEmpty[0].cols[name];
    const joined = Array.isArray(first) ? undefined : adjacentView(nonEmpty.map((b) => b.cols[name] as Typed));
    if (joined) cols[name] = joined;
    else if (Array.isArray(first)) {
      const out: (string | null)[] = new Array(length);
      let o = 0;
      for (const b of nonEmpty) for (const v of b.cols[name] as (string | null)[]) out[o++] = v;
      cols[name] = out;
    } else {
      const Ctor = first.constructor as TypedCtor;
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

/** Column kinds of a RowSink. */
export type SinkColumn = 'f64' | 'i32' | 'u8' | 'text';

const SINK_CTOR = { f64: Float64Array, i32: Int32Array, u8: Uint8Array } as const;

/**
 * Fresh columns of `length` rows in a sink layout's order: typed ones zeroed, text ones null, like the rows a
 * RowSink claims (a kernel fills either the same way).
 */
export function allocColumns(spec: Readonly<Record<string, SinkColumn>>, length: number): Record<string, Typed | (string | null)[]> {
  // fromEntries, not ~30 keyed stores into {}: those would leave the object in V8's slow dictionary mode, and
  // every reader of the batch would pay for it (~10 % of a full bar build).
  return Object.fromEntries(Object.entries(spec).map(([name, kind]) => [
    name, kind === 'text' ? new Array<string | null>(length).fill(null) : new SINK_CTOR[kind](length),
  ]));
}

/**
 * Rows of one table appended by many kernel calls into one set of growing columns, so that a daily run's
 * hundreds of one-row calls per asset neither allocate their own columns nor get concatenated twice (per
 * asset, then per group commit): a call claims rows and fills them in place, and the rows of an asset, or of
 * a whole group, are views of the sink (concatBatches joins consecutive views without copying). Views stay
 * valid until reset(); growing moves later rows to new buffers and leaves earlier views intact.
 */
export class RowSink {
  length = 0;
  private capacity: number;
  private readonly typed: [string, SinkColumn][];
  private readonly texts: string[];
  /** The columns, in the spec's order; typed ones are replaced when claim() grows them, so read them after claiming. */
  cols: Record<string, Typed | (string | null)[]>;

  constructor(spec: Readonly<Record<string, SinkColumn>>, capacity = 4096) {
    this.capacity = capacity;
    this.cols = {};
    for (const [name, kind] of Object.entries(spec)) this.cols[name] = kind === 'text' ? [] : new SINK_CTOR[kind](capacity);
    this.typed = Object.entries(spec).filter(([, k]) => k !== 'text');
    this.texts = Object.keys(spec).filter((k) => spec[k] === 'text');
  }

  /** Room for n more rows, zero (typed) or null (text) like fresh columns; returns the index of the first. */
  claim(n: number): number {
    const at = this.length;
    const end = at + n;
    for (let k = 0; k < this.texts.length; k++) {
      const col = this.cols[this.texts[k]] as (string | null)[];
      for (let i = at; i < end; i++) col.push(null);
    }
    if (end > this.capacity) {
      this.capacity = Math.max(2 * this.capacity, end);
      for (const [name, kind] of this.typed) {
        // Rows before `at` stay in the old buffer for the views already taken; new views use the new one.
        const grown = new SINK_CTOR[kind as 'f64'](this.capacity);
        grown.set((this.cols[name] as Typed).subarray(0, at));
        this.cols[name] = grown;
      }
    }
    this.length = end;
    return at;
  }

  /** Rows [from, to): typed columns as views, text columns copied. */
  view(from: number, to = this.length): RowBatch {
    const cols: Record<string, ColumnData> = {};
    for (const [name, col] of Object.entries(this.cols)) {
      cols[name] = Array.isArray(col) ? col.slice(from, to) : col.subarray(from, to);
    }
    return { length: to - from, cols };
  }

  /** view(from, to), made only if its columns are read (a kernel's per-call result the caller may not need). */
  lazyView(from: number, to = this.length): RowBatch {
    return new LazyView(this, from, to);
  }

  /** Forget every row (the views taken so far then see the next rows written); the columns are zeroed again. */
  reset(): void {
    for (const [name] of this.typed) (this.cols[name] as Typed).fill(0, 0, this.length);
    for (const name of this.texts) (this.cols[name] as (string | null)[]).length = 0;
    this.length = 0;
  }
}

class LazyView implements RowBatch {
  private made?: Record<string, ColumnData>;

  constructor(private readonly sink: RowSink, private readonly from: number, private readonly to: number) {}

  /** Consecutive lazy views of one sink as one view of it (their columns never made); else undefined. */
  static join(parts: RowBatch[]): RowBatch | undefined {
    const first = parts[0];
    if (!(first instanceof LazyView)) return undefined;
    let to = first.to;
    for (let i = 1; i < parts.length; i++) {
      const p = parts[i];
      if (!(p instanceof LazyView) || p.sink !== first.sink || p.from !== to) return undefined;
      to = p.to;
    }
    return first.sink.lazyView(first.from, to);
  }

  get length(): number {
    return this.to - this.from;
  }

  get cols(): Record<string, ColumnData> {
    return (this.made ??= this.sink.view(this.from, this.to).cols);
  }
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
    if (Array.isArray(v)) cols[k] = keep.map((i) => v[i]) as ColumnData;
    else {
      const Ctor = v.constructor as Float64ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;
      const out = new Ctor(keep.length);
      for (let j = 0; j < keep.length; j++) out[j] = v[keep[j]];
      cols[k] = out;
    }
  }
  return { length: keep.length, cols };
}
