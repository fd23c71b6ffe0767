// PostgreSQL's binary COPY format, written straight from the typed columns of a RowBatch: no number is
// formatted as text and parsed back by the server (the text format spends most of a bulk write doing that).
// Layout: an 11-byte signature, flags and header-extension length, then per row a 16-bit field count and
// per field a 32-bit length (-1 = NULL) and the value in network byte order; a -1 field count ends the data.
import type { ColumnData, RowBatch } from '../../columnar/columns.js';
import type { Column, Table } from '../../schema/tables.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** timestamptz counts microseconds from 2000-01-01 UTC. */
const PG_EPOCH_MS = 946_684_800_000;
const PIECE_BYTES = 1 << 20;
const TWO_32 = 4_294_967_296;

type Encode = (w: Writer, i: number) => void;

/**
 * Whether every column of the batch can be sent in binary form: text arrays only in text, json and blob
 * columns, and defaults that are `now()` or plain literals. Where not, the caller keeps the text format.
 */
export function binaryCopyPossible(table: Table, batch: RowBatch): boolean {
  return table.columns.every((c) => {
    const data = batch.cols[c.name];
    if (data === undefined) return c.default === undefined || defaultValue(c) !== undefined;
    return Array.isArray(data) === (c.type === 'text' || c.type === 'json' || c.type === 'blob');
  });
}

/** The batch as binary COPY data, in pieces of about a megabyte. Check binaryCopyPossible first. */
export function* copyBinary(table: Table, batch: RowBatch): Generator<Buffer> {
  const w = new Writer();
  w.bytes(SIGNATURE);
  w.int32(0);
  w.int32(0);
  const encoders = table.columns.map((c) => encoder(c, batch.cols[c.name]));
  const n = table.columns.length;
  for (let i = 0; i < batch.length; i++) {
    w.int16(n);
    for (let k = 0; k < n; k++) encoders[k](w, i);
    if (w.pos >= PIECE_BYTES) yield w.take();
  }
  w.int16(-1);
  yield w.take();
}

function encoder(c: Column, data: ColumnData | undefined): Encode {
  if (data === undefined) {
    const v = defaultValue(c);
    if (v === undefined || v === null) return (w) => w.int32(-1);
    // now() is taken once per batch, as the server does once per statement.
    const enc = encoder(c, typeof v[0] === 'number' ? Float64Array.of(v[0]) : (v as string[]));
    return (w) => enc(w, 0);
  }
  if (Array.isArray(data)) {
    if (c.type === 'blob') {
      const d = data as (Uint8Array | null)[];
      return (w, i) => {
        const v = d[i];
        if (v === null || v === undefined) return w.int32(-1);
        w.int32(v.byteLength);
        w.bytes(v);
      };
    }
    const d = data as (string | null)[];
    // jsonb's binary form is a version byte (1) followed by the JSON text.
    const prefix = c.type === 'json' ? 1 : 0;
    return (w, i) => {
      const v = d[i];
      if (v === null || v === undefined) return w.int32(-1);
      const len = Buffer.byteLength(v, 'utf8');
      w.int32(len + prefix);
      if (prefix) w.uint8(1);
      w.utf8(v, len);
    };
  }
  const d = data;
  switch (c.type) {
    case 'double':
      return (w, i) => {
        const v = d[i];
        if (Number.isNaN(v)) return w.int32(-1);
        w.int32(8);
        w.float64(v);
      };
    case 'int':
      return (w, i) => {
        const v = d[i];
        if (Number.isNaN(v)) return w.int32(-1);
        w.int32(4);
        w.int32(v);
      };
    case 'bigint':
      return (w, i) => {
        const v = d[i];
        if (Number.isNaN(v)) return w.int32(-1);
        w.int32(8);
        w.int64(v);
      };
    case 'ts':
      return (w, i) => {
        const v = d[i];
        if (Number.isNaN(v)) return w.int32(-1);
        w.int32(8);
        w.int64(Math.round((v - PG_EPOCH_MS) * 1000));
      };
    case 'bool':
      return (w, i) => {
        const v = d[i];
        if (Number.isNaN(v)) return w.int32(-1);
        w.int32(1);
        w.uint8(v !== 0 ? 1 : 0);
      };
    default:
      throw new Error(`binary COPY: column ${c.name} of type ${c.type} holds numbers`);
  }
}

/**
 * The value a column's SQL default gives, in the batch's encoding: `now()` as epoch milliseconds, numeric and
 * boolean literals as numbers, quoted text as the string; undefined for any other default (text COPY then).
 */
function defaultValue(c: Column): number[] | string[] | null | undefined {
  const d = c.default;
  if (d === undefined) return null;
  const num = (x: number): number[] => [x];
  if (d === 'now()' && c.type === 'ts') return num(Date.now());
  if ((c.type === 'int' || c.type === 'bigint' || c.type === 'double') && /^-?\d+(\.\d+)?$/.test(d)) return num(Number(d));
  if (c.type === 'bool' && /^(true|false)$/i.test(d)) return num(/^true$/i.test(d) ? 1 : 0);
  if ((c.type === 'text' || c.type === 'json') && /^'([^']|'')*'$/.test(d)) return [d.slice(1, -1).replace(/''/g, "'")];
  return undefined;
}

/** A growing byte buffer written in network byte order. */
class Writer {
  private buf = Buffer.allocUnsafe(PIECE_BYTES + 65_536);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }

  uint8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  int16(v: number): void {
    this.room(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    this.room(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** An integer below 2^53 in magnitude as a signed 64-bit value. */
  int64(v: number): void {
    this.room(8);
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 4);
    this.pos += 8;
  }

  float64(v: number): void {
    this.room(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  bytes(v: Uint8Array): void {
    this.room(v.byteLength);
    this.buf.set(v, this.pos);
    this.pos += v.byteLength;
  }

  utf8(s: string, len: number): void {
    this.room(len);
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }
}
