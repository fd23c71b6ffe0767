// Compact, lossless storage form of a kernel carry (refresh_state.carry). A carry is a run of fixed-size records
// (one per timeframe for the bars, one per (timeframe, period) for the EMAs) and much of it repeats: family
// tags, the timeframe's last ts and row counts in every period's record, the period itself in every
// timeframe, NaN slots of the families without _bar twins. Each double is stored as a 2-bit code — a literal,
// NaN, the same bits as the previous record's slot, or as the slot one group (one timeframe's periods) back —
// and only the literals are kept. An asset's carries shrink to about a third of their raw size, and the bits
// that come back are exactly the bits that went in (−0 included).
const VERSION = 1;
const HEADER = 16; // u8 version, u8 unused, u16 unused, u32 stride, u32 group stride (in doubles), u32 length

const LITERAL = 0;
const IS_NAN = 1;
const PREV_RECORD = 2;
const PREV_GROUP = 3;

/** Reused output buffer of packCarry (a daily run packs six carries per asset; see below). */
let scratch = new Uint8Array(0);

/**
 * Pack `a`, a run of `stride`-double records in groups of `group` records (any stride/group is lossless).
 * Doubles are compared and copied as pairs of 32-bit words, and codes written a byte at a time, into a buffer
 * reused from call to call: the result is a copy of just the packed bytes.
 */
export function packCarry(a: Float64Array, stride: number, group: number): Uint8Array {
  const n = a.length;
  const back1 = Math.max(1, stride);
  const back2 = back1 * Math.max(1, group);
  const bits = new Int32Array(a.buffer, a.byteOffset, 2 * n);
  const codesLen = Math.ceil(n / 4);
  const litStart = HEADER + Math.ceil(codesLen / 8) * 8;
  if (scratch.byteLength < litStart + 8 * n) scratch = new Uint8Array(litStart + 8 * n + 65536);
  const out = scratch;
  const lits = new Int32Array(out.buffer, litStart, 2 * n);
  let m = 0;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const lo = bits[2 * i];
    const hi = bits[2 * i + 1];
    let code = LITERAL;
    // NaN: exponent all ones, mantissa not zero (any payload; it comes back as the canonical NaN).
    if ((hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) !== 0 || lo !== 0)) code = IS_NAN;
    else if (i >= back1 && lo === bits[2 * (i - back1)] && hi === bits[2 * (i - back1) + 1]) code = PREV_RECORD;
    else if (i >= back2 && lo === bits[2 * (i - back2)] && hi === bits[2 * (i - back2) + 1]) code = PREV_GROUP;
    else {
      lits[2 * m] = lo;
      lits[2 * m + 1] = hi;
      m++;
    }
    acc |= code << ((i & 3) * 2);
    if ((i & 3) === 3) {
      out[HEADER + (i >> 2)] = acc;
      acc = 0;
    }
  }
  if ((n & 3) !== 0) out[HEADER + (n >> 2)] = acc;
  out.fill(0, HEADER + codesLen, litStart);
  const head = new DataView(out.buffer, 0, HEADER);
  head.setUint32(0, 0);
  head.setUint8(0, VERSION);
  head.setUint32(4, back1, true);
  head.setUint32(8, back2, true);
  head.setUint32(12, n, true);
  return out.slice(0, litStart + 8 * m);
}

/** The carry packed by packCarry; undefined when `bytes` is not one (wrong version, truncated). */
export function unpackCarry(bytes: Uint8Array): Float64Array | undefined {
  if (bytes.byteLength < HEADER) return undefined;
  // Literals are read as 32-bit words: copy to an aligned buffer when the input is not aligned (Buffer pools).
  const b = bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
  const head = new DataView(b.buffer, b.byteOffset, HEADER);
  if (head.getUint8(0) !== VERSION) return undefined;
  const back1 = head.getUint32(4, true);
  const back2 = head.getUint32(8, true);
  const n = head.getUint32(12, true);
  const codesLen = Math.ceil(n / 4);
  const litStart = HEADER + Math.ceil(codesLen / 8) * 8;
  if (b.byteLength < litStart || (b.byteLength - litStart) % 8 !== 0 || back1 < 1 || back2 < back1) return undefined;
  const codes = b.subarray(HEADER, HEADER + codesLen);
  const nLits = (b.byteLength - litStart) / 8;
  const lits = new Int32Array(b.buffer, b.byteOffset + litStart, 2 * nLits);
  const out = new Float64Array(n);
  const bits = new Int32Array(out.buffer);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const code = (codes[i >> 2] >> ((i & 3) * 2)) & 3;
    if (code === LITERAL) {
      if (m >= nLits) return undefined;
      bits[2 * i] = lits[2 * m];
      bits[2 * i + 1] = lits[2 * m + 1];
      m++;
    } else if (code === IS_NAN) out[i] = NaN;
    else {
      const j = i - (code === PREV_RECORD ? back1 : back2);
      if (j < 0) return undefined;
      bits[2 * i] = bits[2 * j];
      bits[2 * i + 1] = bits[2 * j + 1];
    }
  }
  return m === nLits ? out : undefined;
}
