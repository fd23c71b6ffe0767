// Segment checksums computed inside the database, identically on DuckDB and PostgreSQL, so two tables
// (in one database or in two, on either engine) can be compared without moving their rows.
//
// Each row is rendered as canonical text — key columns and compared columns, doubles ROUNDED to a
// quantum finer than their tolerance — and hashed with md5; a segment's checksum is the row count plus
// two sums of 28-bit slices of the hashes, taken mod 2^48 so they stay exact as JS numbers.
//
// Why rounding is safe: a double x ≠ 0 is rendered as (e, m) with e = floor(log10|x|) and
// m = floor(x / 10^(e−d) + 0.5), d = digits(rtol) + 1 (7 for prices, 6 for volumes). Two values with the
// same rendering differ by less than 10^(e−d) ≤ rtol·|x| / 10, so EQUAL checksums imply every value is
// within tolerance (up to a hash collision, about 2^-56). The converse does not hold: values a hair apart
// can straddle a rounding boundary and render differently. A checksum mismatch therefore only sends the
// segment to bisection and, at the bottom, to the row-by-row tolerance test — never to a FAIL by itself.
import { q, type Dialect } from '../schema/ddl.js';
import type { Table } from '../schema/tables.js';
import type { ComparedColumn } from './tolerance.js';

/** Digits kept after the leading one: one more than the tolerance needs, so rounding stays well inside it. */
export function roundingDigits(rtol: number): number {
  return Math.ceil(-Math.log10(rtol) - 1e-9) + 1;
}

export function epochMsSql(dialect: Dialect, col: string): string {
  return dialect === 'duckdb' ? `epoch_ms(${col})` : `CAST(round(extract(epoch FROM ${col}) * 1000) AS BIGINT)`;
}

const DBL = 'DOUBLE PRECISION';

/** Canonical text of one value, the same string on both engines. */
export function valueTextSql(dialect: Dialect, col: string, type: string, rtol: number | null): string {
  if (type === 'ts') return `COALESCE(CAST(${epochMsSql(dialect, col)} AS VARCHAR), 'N')`;
  if (type === 'bool') return `(CASE WHEN ${col} IS NULL THEN 'N' WHEN ${col} THEN 't' ELSE 'f' END)`;
  if (type === 'double') {
    const x = col;
    const nan = `CAST('NaN' AS ${DBL})`;
    const inf = `CAST('Infinity' AS ${DBL})`;
    if (rtol === null) {
      // An exactly compared double (none today): the shortest round-trip text differs by engine, so render
      // it through a 17-significant-digit integer mantissa, which is exact.
      rtol = 1e-16;
    }
    const d = roundingDigits(rtol);
    const e = `floor(log10(abs(${x})))`;
    const m = `CAST(floor(${x} / power(CAST(10 AS ${DBL}), ${e} - ${d}) + 0.5) AS BIGINT)`;
    return `(CASE WHEN ${x} IS NULL THEN 'N' WHEN ${x} = ${nan} THEN 'nan' WHEN ${x} = ${inf} THEN 'inf' ` +
      `WHEN ${x} = -${inf} THEN '-inf' WHEN ${x} = 0 THEN '0' ` +
      `ELSE CAST(CAST(${e} AS BIGINT) AS VARCHAR) || 'e' || CAST(${m} AS VARCHAR) END)`;
  }
  // Integers and text: their text is the same on both engines.
  return `COALESCE(CAST(${col} AS VARCHAR), 'N')`;
}

/** The whole row as one canonical string: key columns then compared columns. */
export function rowTextSql(dialect: Dialect, table: Table, cols: ComparedColumn[], alias = ''): string {
  const a = alias ? `${alias}.` : '';
  const typeOf = (n: string) => table.columns.find((c) => c.name === n)!.type;
  const parts = [
    ...table.key.map((k) => valueTextSql(dialect, `${a}${q(k)}`, typeOf(k), null)),
    ...cols.map((c) => valueTextSql(dialect, `${a}${q(c.name)}`, c.type, c.tol?.rtol ?? null)),
  ];
  return parts.join(` || '|' || `);
}

/** Two 28-bit slices of md5(text) as BIGINT; PostgreSQL 15 reads no 0x literals, DuckDB no bit strings. */
export function hashSliceSql(dialect: Dialect, md5: string, from: number): string {
  const hex = `substr(${md5}, ${from}, 7)`;
  return dialect === 'duckdb'
    ? `CAST('0x' || ${hex} AS BIGINT)`
    : `CAST(CAST('x' || lpad(${hex}, 8, '0') AS BIT(32)) AS BIGINT)`;
}

/** Sums mod 2^48: exact in a JS number, and the same on both engines whatever the sum type (hugeint, numeric). */
export const SUM_MOD = 2 ** 48;

export interface SegmentRow {
  series: (string | number | null)[];
  bucket: number;
  n: number;
  s1: number;
  s2: number;
  lo: number;
  hi: number;
}

export interface SegmentQuery {
  /** Restrict to these series values (one segment) or to ids (the top level). */
  where: string;
  params: unknown[];
  /** Bucket the segment's time range [lo, lo + width·buckets) into equal widths; absent = one per series. */
  bucket?: { lo: number; width: number };
}

/** Per-(series[, bucket]) count, checksum and time range of one table. */
export function segmentSql(dialect: Dialect, table: Table, from: string, cols: ComparedColumn[], series: string[], time: string, sq: SegmentQuery): string {
  const ser = series.map(q).join(', ');
  const tms = epochMsSql(dialect, q(time));
  const bucket = sq.bucket ? `CAST(floor((${tms} - ${sq.bucket.lo}) / ${sq.bucket.width}) AS BIGINT)` : '0';
  return `SELECT ${ser}${ser ? ', ' : ''}b AS _b, count(*) AS n, ` +
    `CAST(sum(h1) % ${SUM_MOD} AS BIGINT) AS s1, CAST(sum(h2) % ${SUM_MOD} AS BIGINT) AS s2, min(tms) AS lo, max(tms) AS hi ` +
    `FROM (SELECT ${ser}${ser ? ', ' : ''}${bucket} AS b, ${tms} AS tms, ${hashSliceSql(dialect, 'm', 1)} AS h1, ${hashSliceSql(dialect, 'm', 8)} AS h2 ` +
    `FROM (SELECT ${ser}${ser ? ', ' : ''}${q(time)}, md5(${rowTextSql(dialect, table, cols)}) AS m FROM ${q(from)} ${sq.where}) r0) r ` +
    `GROUP BY ${ser}${ser ? ', ' : ''}b`;
}
