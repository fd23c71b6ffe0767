// Writing a RowBatch into DuckDB DataChunks whole columns at a time. The node-api's setColumnValues goes value
// by value (and through BigInt arithmetic for every validity bit); here each column is one typed-array copy into
// the vector plus a validity mask built only when the column holds NULLs. Chunks carry the table's own column
// types (TIMESTAMPTZ as microseconds, BIGINT as int64), so the appender can write into the target directly.
import type { Vector } from '@duckdb/node-bindings';
import type { DuckDBDataChunk, DuckDBType } from '@duckdb/node-api';
import { duckdbApi, duckdbBindings as duckdb } from './api.js';
import type { ColType, Table } from '../../schema/tables.js';
import type { ColumnData, RowBatch } from '../../columnar/columns.js';

/** DuckDB's standard vector size: the most rows one DataChunk holds. */
export const CHUNK_ROWS = 2048;

/** Whether the direct path can write this table (JSON columns need a cast the appender does not make). */
export function directlyAppendable(table: Table): boolean {
  return table.columns.every((c) => c.type !== 'json');
}

function duckType(t: ColType): DuckDBType {
  switch (t) {
    case 'int':
      return duckdbApi.INTEGER;
    case 'bigint':
      return duckdbApi.BIGINT;
    case 'double':
      return duckdbApi.DOUBLE;
    case 'bool':
      return duckdbApi.BOOLEAN;
    case 'ts':
      return duckdbApi.TIMESTAMPTZ;
    case 'blob':
      return duckdbApi.BLOB;
    default:
      return duckdbApi.VARCHAR;
  }
}

export function chunkTypes(table: Table): DuckDBType[] {
  return table.columns.map((c) => duckType(c.type));
}

// Scratch buffers reused across chunks and columns (one chunk is filled at a time on the JS thread).
const i64 = new Uint32Array(CHUNK_ROWS * 2); // int64 as little-endian (lo, hi) 32-bit halves
const i32 = new Int32Array(CHUNK_ROWS);
const u8 = new Uint8Array(CHUNK_ROWS);
/** Validity of the column being filled: bit i set = row i valid (DuckDB's layout, read as u64 words). */
const mask = new Uint32Array(CHUNK_ROWS / 32);
const TWO32 = 4294967296;

function setNull(i: number): void {
  mask[i >>> 5] &= ~(1 << (i & 31));
}

// One small function per column representation keeps each loop monomorphic (a loop over the ColumnData
// union ran ~3× slower).

/** Marks NaN rows of col[from, from+n) as NULL; returns how many. */
function nanNulls(col: Float64Array, from: number, n: number): number {
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = col[from + i];
    if (v !== v) {
      setNull(i);
      nulls++;
    }
  }
  return nulls;
}

// The converters below leave NULLs to nanNulls: a NaN stores as 0 in an integer array, a harmless value
// under a cleared validity bit.

function toInt32(col: Float64Array, from: number, n: number, what: string): void {
  for (let i = 0; i < n; i++) {
    const v = col[from + i];
    if (v === v && !Number.isInteger(v)) throw new Error(`${what}: non-integer value ${v}`);
    i32[i] = v;
  }
}

/** Doubles (epoch ms for a TIMESTAMPTZ: scale 1000 → µs, exact below 2^53) as int64 halves. */
function toInt64(col: Float64Array, from: number, n: number, scale: number): void {
  for (let i = 0; i < n; i++) {
    const x = Math.round(col[from + i] * scale);
    const hi = Math.floor(x / TWO32);
    i64[2 * i] = x - hi * TWO32;
    i64[2 * i + 1] = hi | 0;
  }
}

function toBool(col: Float64Array, from: number, n: number): void {
  for (let i = 0; i < n; i++) u8[i] = col[from + i] ? 1 : 0;
}

/** Copy bytes of a typed array straight into the vector, no scratch copy. */
function copyView(vec: Vector, a: Float64Array | Int32Array | Uint8Array, from: number, n: number): void {
  duckdb.copy_data_to_vector(vec, 0, a.buffer as ArrayBuffer, a.byteOffset + from * a.BYTES_PER_ELEMENT, n * a.BYTES_PER_ELEMENT);
}

/** Rows [from, from+n) as doubles, and where they start in the returned array (copies only other types). */
function doubles(col: Float64Array | Int32Array | Uint8Array, from: number, n: number): [Float64Array, number] {
  return col instanceof Float64Array ? [col, from] : [Float64Array.from(col.subarray(from, from + n)), 0];
}

/**
 * One chunk of rows [start, start+n) of `batch` in `table`'s column order. Absent columns get their default
 * (`now()` → `now`) or NULL. Throws on a non-integer in an INTEGER column (a kernel bug, never user input).
 */
export function fillChunk(table: Table, types: DuckDBType[], batch: RowBatch, start: number, n: number, now: number): DuckDBDataChunk {
  const chunk = duckdbApi.DuckDBDataChunk.create(types, n);
  table.columns.forEach((c, ci) => {
    const vec = duckdb.data_chunk_get_vector(chunk.chunk, ci);
    const given = batch.cols[c.name];
    const col = given ?? defaultColumn(c.type, c.default, n, now);
    const from = given ? start : 0;
    mask.fill(0xffffffff);
    let nulls = 0;
    if (c.type === 'blob') nulls = fillBlob(vec, col as (Uint8Array | null)[], from, n);
    else if (Array.isArray(col)) nulls = fillText(vec, col as (string | null)[], from, n);
    else if (c.type === 'int' && col instanceof Int32Array) copyView(vec, col, from, n);
    else if (c.type === 'bool' && col instanceof Uint8Array) copyView(vec, col, from, n);
    else {
      const [f, o] = doubles(col, from, n);
      nulls = nanNulls(f, o, n);
      if (c.type === 'double') copyView(vec, f, o, n);
      else if (c.type === 'int') {
        toInt32(f, o, n, `${table.name}.${c.name}`);
        duckdb.copy_data_to_vector(vec, 0, i32.buffer, 0, n * 4);
      } else if (c.type === 'bigint' || c.type === 'ts') {
        toInt64(f, o, n, c.type === 'ts' ? 1000 : 1);
        duckdb.copy_data_to_vector(vec, 0, i64.buffer, 0, n * 8);
      } else if (c.type === 'bool') {
        toBool(f, o, n);
        duckdb.copy_data_to_vector(vec, 0, u8.buffer, 0, n);
      } else throw new Error(`${table.name}.${c.name}: ${c.type} column given as numbers`);
    }
    if (nulls > 0) {
      duckdb.vector_ensure_validity_writable(vec);
      duckdb.copy_data_to_vector_validity(vec, 0, mask.buffer, 0, Math.ceil(n / 64) * 8);
    }
  });
  return chunk;
}

const strs = new Uint8Array(CHUNK_ROWS * 16);
const strsView = new DataView(strs.buffer);

/**
 * A VARCHAR column as DuckDB string_t slots (16 bytes: u32 length, then ≤ 12 bytes inline or a 4-byte prefix and
 * a pointer into the vector's string heap). Each distinct value is encoded once per chunk — inline ones here,
 * longer ones by DuckDB (assigned at their first row, their slot read back) — and its slot copied to the other
 * rows: a `tf` column repeats one value, and one native call per row cost as much as the rest of the chunk.
 */
function fillText(vec: Vector, col: (string | null)[], from: number, n: number): number {
  let nulls = 0;
  const first = new Map<string, number>();
  let prev: string | null = null;
  let prevAt = -1;
  for (let i = 0; i < n; i++) {
    const v = col[from + i];
    const o = i * 16;
    if (v === null || v === undefined) {
      setNull(i);
      nulls++;
      strs.fill(0, o, o + 16);
      continue;
    }
    let at = v === prev ? prevAt : first.get(v);
    if (at === undefined) {
      const bytes = Buffer.from(v, 'utf8');
      if (bytes.length <= 12) {
        strs.fill(0, o, o + 16);
        strsView.setUint32(o, bytes.length, true);
        strs.set(bytes, o + 4);
      } else {
        duckdb.vector_assign_string_element(vec, i, v);
        strs.set(duckdb.vector_get_data(vec, o + 16).subarray(o, o + 16), o);
      }
      first.set(v, i);
      at = i;
    } else {
      strs.copyWithin(o, at * 16, at * 16 + 16);
    }
    prev = v;
    prevAt = at;
  }
  duckdb.copy_data_to_vector(vec, 0, strs.buffer, 0, n * 16);
  return nulls;
}

/** A BLOB column: each value copied into the vector by DuckDB (carries: one per row, none repeated). */
function fillBlob(vec: Vector, col: (Uint8Array | null)[], from: number, n: number): number {
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = col[from + i];
    if (v === null || v === undefined) {
      setNull(i);
      nulls++;
    } else duckdb.vector_assign_string_element_len(vec, i, v);
  }
  return nulls;
}

/** A column the batch does not carry: its default on every row, or NULL. */
function defaultColumn(type: ColType, dflt: string | undefined, n: number, now: number): ColumnData {
  if (type === 'text' || type === 'json') return new Array<string | null>(n).fill(dflt ?? null);
  if (type === 'blob') return new Array<Uint8Array | null>(n).fill(null);
  const v = dflt === undefined ? NaN : dflt === 'now()' ? now : type === 'bool' ? (dflt === 'true' ? 1 : 0) : Number(dflt);
  return new Float64Array(n).fill(v);
}
