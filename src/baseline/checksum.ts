// Segment checksums computed inside the database, so two tables (in one database or in two, on either
// engine) can be compared without moving their rows. A segment's checksum is its row count and the sum of
// its rows' hashes; three encodings of the values feed that hash:
//
// * exact (same engine): the raw values, hashed by the engine's own 64-bit hash. Equal raw values are equal
//   under any tolerance, so equal exact checksums settle a segment; unequal ones prove nothing (a rebuild's
//   float noise changes every hash) and send the segment to the tolerance-aware checksums below. No
//   per-value work besides the hash: this is what an unchanged table costs.
// * tolerant (same engine): each double replaced by its log-scale code (below), the rest raw, same hash.
// * portable (a DuckDB ⇄ PostgreSQL comparison): every value becomes an integer in [0, M), M = 2^31 − 1 (a
//   prime), by the same arithmetic on both engines; a row's integers are folded by two polynomial hashes
//   mod M (Horner, different bases), each squared once mod M so that a value moved between two rows does
//   not cancel out in the sum; the checksum is the two sums mod 2^48. Only BIGINT arithmetic is used
//   (every product stays below 2^62), so both engines compute the same numbers. Text that is not part of
//   the series key (file and source names, the 1D table's tf) goes through md5.
//
// Doubles are rounded on a log scale for the tolerant and portable checksums: a value x ≠ 0 becomes
//   q = floor(ln|x| · K + 0.5),  K = 10 / rtol of its column family (10^6 for prices, 10^5 for volumes),
// with its sign. Two values with the same q differ by less than a factor e^(1/K), i.e. by less than
// rtol / 10 relative: EQUAL checksums imply every value is within tolerance (up to a hash collision,
// about 1 in 2^60 per differing segment). The converse does not hold: two values a hair apart can sit on
// either side of a rounding boundary. A checksum mismatch therefore only sends the segment to bisection
// and, at the bottom, to the row-by-row tolerance test — never to a FAIL by itself.
import { q } from '../schema/ddl.js';
import type { Engine } from '../store/engine.js';
import type { Table } from '../schema/tables.js';
import type { ComparedColumn } from './tolerance.js';

/** The hash modulus: a prime below 2^31, so (h · B + u) and h² stay below 2^62. */
export const HASH_MOD = 2147483647;
const B1 = 1000003;
const B2 = 999983;
/** Sums mod 2^48: exact as JS numbers, and the same on both engines whatever their sum type (hugeint, numeric). */
export const SUM_MOD = 2 ** 48;

/** Log-scale rounding steps per unit of ln|x|: ten per tolerance width. */
export function logScale(rtol: number): number {
  return Math.round(10 / rtol);
}

export function epochMsSql(engine: Engine, col: string): string {
  return engine.epochMs(col);
}

const DBL = 'DOUBLE PRECISION';

/**
 * One value as a non-negative BIGINT below 2^44, the same on both engines; NULL has its own code. (Below
 * 2^44, h · B + u with h < 2^31 and B < 2^20 stays below 2^62: no overflow, no modulo needed per value.)
 */
export function valueIntSql(engine: Engine, col: string, type: string, rtol: number | null): string {
  // Epoch milliseconds, offset by 2^42 so dates before 1970 stay positive.
  if (type === 'ts') return `COALESCE(${epochMsSql(engine, col)} + ${2 ** 42}, 7)`;
  if (type === 'bool') return `(CASE WHEN ${col} IS NULL THEN 2 WHEN ${col} THEN 1 ELSE 0 END)`;
  if (type === 'double') {
    const x = col;
    const k = logScale(rtol ?? 1e-15);
    const lnq = `CAST(floor(ln(abs(${x})) * ${k} + 0.5) AS BIGINT)`;
    // NULL, NaN, ±Infinity and 0 get codes below 8; a number 8 + 2·(q + 2^40) + sign (|q| < 2^30 for any double).
    return `(CASE WHEN ${x} IS NULL THEN 1 WHEN ${x} = CAST('NaN' AS ${DBL}) THEN 2 WHEN ${x} = CAST('Infinity' AS ${DBL}) THEN 3 ` +
      `WHEN ${x} = CAST('-Infinity' AS ${DBL}) THEN 4 WHEN ${x} = 0 THEN 5 ` +
      `WHEN ${x} > 0 THEN ${8 + 2 * 2 ** 40} + 2 * ${lnq} ELSE ${9 + 2 * 2 ** 40} + 2 * ${lnq} END)`;
  }
  if (type === 'text') throw new Error('text values are hashed together (textIntSql)');
  // Integer columns are 32-bit: offset by 2^40 to stay positive.
  return `COALESCE(CAST(${col} AS BIGINT) + ${2 ** 40}, 11)`;
}

/** Text columns together: 28 bits of md5 over a canonical rendering (NULL distinct from ''). */
export function textIntSql(engine: Engine, cols: string[]): string {
  const text = cols.map((c) => `(CASE WHEN ${c} IS NULL THEN 'N' ELSE 'v' || ${c} END)`).join(` || '|' || `);
  const hex = `substr(md5(${text}), 1, 7)`;
  return engine.hexToBigint(hex);
}

/**
 * The per-value integers of a row (u0, u1, …): every key column outside the series (the series is the
 * GROUP BY of every checksum query, so its values are compared as segment identities) and every compared
 * column. Returned as select-list items of an inner query.
 */
export function rowIntsSql(engine: Engine, table: Table, cols: ComparedColumn[], series: string[]): string[] {
  const typeOf = (n: string) => table.columns.find((c) => c.name === n)!.type;
  const items: { name: string; type: string; rtol: number | null }[] = [
    ...table.key.filter((k) => !series.includes(k)).map((k) => ({ name: k, type: typeOf(k), rtol: null })),
    ...cols.map((c) => ({ name: c.name, type: c.type, rtol: c.tol?.rtol ?? null })),
  ];
  const out = items.filter((i) => i.type !== 'text').map((i) => valueIntSql(engine, q(i.name), i.type, i.rtol));
  const texts = items.filter((i) => i.type === 'text').map((i) => q(i.name));
  if (texts.length) out.push(textIntSql(engine, texts));
  return out.map((e, i) => `${e} AS u${i}`);
}

/**
 * A double's log-scale code for the same-engine hash, as a double: positive x → q (|q| < 2^30),
 * negative x → −10^12 − q, and every other value (0, −0, NaN on an engine that does not order it
 * above every number, NULL) → x + 3·10^12, so 0 gets its own code and NULL stays NULL. +Infinity codes
 * as +Infinity and −Infinity as −Infinity; NaN, which both engines order above every number, codes as
 * NaN. The ranges do not overlap, and all are exact in a double, so equal codes imply values within
 * the tolerance exactly as with the portable encoding.
 */
export function nativeDoubleSql(col: string, rtol: number): string {
  const k = logScale(rtol);
  return `(CASE WHEN ${col} > 0 THEN floor(ln(${col}) * ${k} + 0.5) WHEN ${col} < 0 THEN -1e12 - floor(ln(-${col}) * ${k} + 0.5) ELSE ${col} + 3e12 END)`;
}

/**
 * Which values feed a segment's checksum: `exact` the raw values (same engine; equal checksums mean equal
 * values), `tolerant` doubles by their log-scale code (same engine), `portable` the encoding both engines
 * compute identically (a DuckDB ⇄ PostgreSQL comparison).
 */
export type ChecksumMode = 'exact' | 'tolerant' | 'portable';

/** The same-engine row hash: a 64-bit hash of the row's key-outside-series and compared values. */
export function nativeRowHashSql(engine: Engine, table: Table, cols: ComparedColumn[], series: string[], time: string, exact: boolean): string {
  const typeOf = (n: string) => table.columns.find((c) => c.name === n)!.type;
  const vals = [
    ...table.key.filter((k) => !series.includes(k)).map((k) => ({ name: k, type: typeOf(k), rtol: null as number | null })),
    ...cols.map((c) => ({ name: c.name, type: c.type, rtol: c.tol?.rtol ?? null })),
  ].map((v) => (v.type === 'double' && !exact ? nativeDoubleSql(q(v.name), v.rtol ?? 1e-15) : q(v.name)));
  return engine.checksumRowHash(vals.join(', '), epochMsSql(engine, q(time)));
}

function hornerSql(n: number, base: number): string {
  let h = 'CAST(0 AS BIGINT)';
  for (let i = 0; i < n; i++) h = `(${h} * ${base} + u${i}) % ${HASH_MOD}`;
  return h;
}

/** One squaring: a row's contribution to the sum is no longer linear in its values. */
const squareSql = (h: string) => `(${h} * ${h} + 12345) % ${HASH_MOD}`;

export interface SegmentQuery {
  /** Restrict to these series values (one segment) or to ids (the top level). */
  where: string;
  params: unknown[];
  /** Bucket the segment's time range [lo, lo + width·buckets) into equal widths; absent = one per series. */
  bucket?: { lo: number; width: number };
}

/**
 * Per-(series[, bucket]) count `n`, checksum `s1` (text, compared as is) and time range `lo`, `hi` (epoch ms)
 * of one table.
 */
export function segmentSql(engine: Engine, table: Table, from: string, cols: ComparedColumn[], series: string[], time: string, sq: SegmentQuery, mode: ChecksumMode = 'portable'): string {
  const ser = series.map(q);
  const serList = ser.map((s) => `${s}, `).join('');
  const tms = epochMsSql(engine, q(time));
  // Division of doubles: PostgreSQL's integer division would truncate toward zero where DuckDB's floors.
  const bucketOf = (t: string) => (sq.bucket ? `CAST(floor(CAST(${t} - ${sq.bucket.lo} AS ${DBL}) / ${sq.bucket.width}) AS BIGINT)` : '0');
  if (mode !== 'portable') {
    // One aggregate of the hash (an exact 128-bit or numeric sum, read as text): no subquery to compute it
    // once for two aggregates, and the time range taken on the raw column, converted once per segment.
    return `SELECT ${serList}_b, n, s1, ${engine.epochMs('lo')} AS lo, ${engine.epochMs('hi')} AS hi FROM (` +
      `SELECT ${serList}${bucketOf(tms)} AS _b, count(*) AS n, CAST(sum(${nativeRowHashSql(engine, table, cols, series, time, mode === 'exact')}) AS VARCHAR) AS s1, ` +
      `min(${q(time)}) AS lo, max(${q(time)}) AS hi FROM ${q(from)} ${sq.where} GROUP BY ${serList}_b) g`;
  }
  // Each inner query is computed once, not inlined into its parent (which would evaluate each value twice).
  const o = engine.optimisationFence;
  const ints = rowIntsSql(engine, table, cols, series);
  return `SELECT ${serList}${bucketOf('tms')} AS _b, count(*) AS n, ` +
    `CAST(CAST(sum(${squareSql('h1')}) % ${SUM_MOD} AS BIGINT) AS VARCHAR) || ':' || CAST(CAST(sum(${squareSql('h2')}) % ${SUM_MOD} AS BIGINT) AS VARCHAR) AS s1, ` +
    `min(tms) AS lo, max(tms) AS hi ` +
    `FROM (SELECT ${serList}tms, ${hornerSql(ints.length, B1)} AS h1, ${hornerSql(ints.length, B2)} AS h2 ` +
    `FROM (SELECT ${serList}${tms} AS tms, ${ints.join(', ')} FROM ${q(from)} ${sq.where}${o}) r0${o}) r ` +
    `GROUP BY ${serList}_b`;
}
