// What "the same value" means when a rebuilt table is compared with its snapshot:
// doubles within a hybrid tolerance per column family, everything else exactly. The column families are
// read from the schema, so a column added to a derived table is compared without touching this file.
import { q } from '../schema/ddl.js';
import type { Column, Table } from '../schema/tables.js';

export type Family = 'price' | 'volume' | 'exact';

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** Prices, EMAs and their derivatives; volume and market cap are large sums, hence looser. */
export const TOLERANCES: Record<Exclude<Family, 'exact'>, Tolerance> = {
  price: { rtol: 1e-5, atol: 1e-6 },
  volume: { rtol: 1e-4, atol: 1e-2 },
};

export type Severity = 'INFO' | 'WARNING' | 'CRITICAL';
export const SEVERITY_ORDER: Severity[] = ['INFO', 'WARNING', 'CRITICAL'];

/** Severity thresholds on the largest relative difference among mismatches (strictly greater). */
export const CRITICAL_REL = 0.01;
export const WARNING_REL = 1e-5;

/** Denominator floor of the relative difference, so a baseline of 0 does not divide by zero. */
export const REL_FLOOR = 1e-10;

/** Magnitudes below this are treated as this in the SQL threshold (see matchSql); rtol·1e-100 ≪ any atol. */
const MAGNITUDE_FLOOR = 1e-100;

export interface ComparedColumn {
  name: string;
  type: Column['type'];
  family: Family;
  tol: Tolerance | null;
}

export function familyOf(col: Column): Family {
  if (col.type !== 'double') return 'exact';
  return /(^|_)(volume|market_cap)($|_)/.test(col.name) ? 'volume' : 'price';
}

/**
 * Columns of a derived table whose values are compared: every non-key column except audit columns
 * stamped by the database at write time (default now(), e.g. ingested_at), which a rebuild changes by
 * design. Key columns are compared by the join itself.
 */
export function comparedColumns(table: Table): ComparedColumn[] {
  return table.columns
    .filter((c) => !table.key.includes(c.name) && c.default !== 'now()')
    .map((c) => {
      const family = familyOf(c);
      return { name: c.name, type: c.type, family, tol: family === 'exact' ? null : TOLERANCES[family] };
    });
}

/** Columns left out of the value comparison, with the reason (shown in the report). */
export function skippedColumns(table: Table): { name: string; reason: string }[] {
  return table.columns
    .filter((c) => !table.key.includes(c.name) && c.default === 'now()')
    .map((c) => ({ name: c.name, reason: 'write-time audit stamp (default now()); a rebuild changes it by design' }));
}

// ---- the reference semantics in JS (used by the tests to check the SQL, and for single values) ----

/** |a−b| ≤ max(rtol·max(|a|,|b|), atol); NULL = NULL and NaN = NaN; NULL or NaN against a number is a mismatch. */
export function withinTolerance(a: number | null, b: number | null, tol: Tolerance): boolean {
  if (a === null || b === null) return a === b;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true; // equal infinities, whose difference is NaN
  // An infinity against anything else: the difference and the threshold would both be infinite.
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= Math.max(tol.rtol * Math.max(Math.abs(a), Math.abs(b)), tol.atol);
}

/** Difference relative to the baseline (snapshot, or left) value. */
export function relDiff(baseline: number, rebuilt: number): number {
  if (baseline === rebuilt) return 0;
  return Math.abs(baseline - rebuilt) / Math.max(Math.abs(baseline), REL_FLOOR);
}

export function severityOfRel(maxRel: number | null): Severity {
  if (maxRel === null || Number.isNaN(maxRel)) return 'CRITICAL';
  if (maxRel > CRITICAL_REL) return 'CRITICAL';
  if (maxRel > WARNING_REL) return 'WARNING';
  return 'INFO';
}

export function maxSeverity(list: Severity[]): Severity {
  let i = 0;
  for (const s of list) i = Math.max(i, SEVERITY_ORDER.indexOf(s));
  return SEVERITY_ORDER[i];
}

// ---- the same semantics as SQL over a join of snapshot `s` and live `t` (identical on both engines) ----

// Both engines read DOUBLE PRECISION and these spellings; NaN = NaN is true on both.
const NAN = `CAST('NaN' AS DOUBLE PRECISION)`;
const INF = `CAST('Infinity' AS DOUBLE PRECISION)`;

function lit(x: number): string {
  // Exponent form keeps tiny tolerances exact in SQL text; both engines read it as a double.
  return x.toExponential();
}

/** Boolean SQL: column `c` matches between aliases s and t (never NULL). */
export function matchSql(c: ComparedColumn, s = 's', t = 't'): string {
  const a = `${s}.${q(c.name)}`;
  const b = `${t}.${q(c.name)}`;
  const same = `(${a} IS NOT DISTINCT FROM ${b})`;
  if (!c.tol) return same;
  // The floor keeps Postgres from raising "underflow" on rtol × a subnormal value; below it rtol·max is far
  // under atol, so the threshold — and the result — are unchanged.
  const close = `abs(${a} - ${b}) <= greatest(${lit(c.tol.rtol)} * greatest(abs(${a}), abs(${b}), ${lit(MAGNITUDE_FLOOR)}), ${lit(c.tol.atol)})` +
    ` AND abs(${a} - ${b}) < ${INF}`;
  return `(${same} OR COALESCE(${close}, false))`;
}


/**
 * SQL for |a−b| of a double column: 0 when equal (NULL=NULL, NaN=NaN, equal infinities), NULL when the
 * difference is undefined (NULL or NaN on one side only), else the absolute difference.
 */
export function absDiffSql(c: ComparedColumn, s = 's', t = 't'): string {
  const a = `${s}.${q(c.name)}`;
  const b = `${t}.${q(c.name)}`;
  return `(CASE WHEN ${a} IS NOT DISTINCT FROM ${b} THEN 0.0 WHEN ${a} IS NULL OR ${b} IS NULL OR ${a} = ${NAN} OR ${b} = ${NAN} ` +
    `THEN NULL ELSE abs(${a} - ${b}) END)`;
}

export function relDiffSql(c: ComparedColumn, s = 's', t = 't'): string {
  return `(${absDiffSql(c, s, t)} / greatest(abs(${s}.${q(c.name)}), ${lit(REL_FLOOR)}))`;
}
