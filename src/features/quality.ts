// Data-quality checks on a flat feature input, tightened: besides required fields, date range
// and duplicates, every cell is typed strictly and each non-finite, non-numeric or otherwise invalid value is
// reported with its row number (rows are 1-based data rows; in a CSV, row N is on line N + 1).
// The report keeps the original's shapes and messages and adds fields; nothing is coerced silently.
import { INPUT_COLUMNS, INPUT_FIELDS, type FieldType } from './fields.js';
import type { FlatInput, RawValue } from './flatfile.js';
import { dayNumber, isoDate } from './dates.js';
import { DAY_MS } from '../compute/daily.js';

/** Lists in the report stop after this many entries; the counts are always complete. */
export const MAX_LISTED = 1000;

export interface CellRef {
  row: number;
  column: string;
  value: string;
}

export interface InvalidCell extends CellRef {
  problem: string;
}

export interface KeyRef {
  row: number;
  symbol: string;
  data_date: string;
}

export interface RequiredFieldsCheck {
  missing_fields: string[];
  null_counts: Record<string, number>;
  null_rows: { row: number; column: string }[];
  is_valid: boolean;
}

export type DateRangeCheck =
  | {
      min_date: string | null;
      max_date: string | null;
      date_range_days: number;
      bounds: { min: string | null; max: string | null };
      out_of_range_count: number;
      out_of_range_rows: KeyRef[];
      is_valid: boolean;
    }
  | { is_valid: false; error: string };

export type DuplicatesCheck =
  | { duplicate_count: number; duplicate_rows: KeyRef[]; is_valid: boolean }
  | { is_valid: false; error: string };

export interface CellsCheck<T> {
  count: number;
  cells: T[];
  is_valid: boolean;
}

export interface QualityReport {
  required_fields: RequiredFieldsCheck;
  date_range: DateRangeCheck;
  duplicates: DuplicatesCheck;
  non_finite: CellsCheck<CellRef>;
  non_numeric: CellsCheck<InvalidCell>;
  invalid_values: CellsCheck<InvalidCell>;
  /** Input columns that are not among the recognised ones (INPUT_COLUMNS); their values are not loaded. */
  ignored_columns: string[];
  overall_valid: boolean;
}

/** One input row, typed. `values` is aligned with INPUT_FIELDS; null = NULL. */
export interface ParsedRow {
  row: number;
  symbol: string | null;
  date: string | null;
  /** Epoch ms, or null when the input has none. */
  timestamp: number | null;
  values: (number | boolean | null)[];
}

export interface QualityOptions {
  /** Optional bounds on data_date (inclusive, YYYY-MM-DD); the original had none. */
  minDate?: string;
  maxDate?: string;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;
const DATETIME = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

function show(v: RawValue): string {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  return String(v);
}

type Cell<T> = { ok: T } | { nonFinite: true } | { nonNumeric: string } | { invalid: string };

function parseNumber(v: RawValue, type: FieldType): Cell<number | null> {
  let n: number;
  if (v === null) return { ok: null };
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return { ok: null };
    if (NON_FINITE.test(s)) return { nonFinite: true };
    if (!NUMBER.test(s)) return { nonNumeric: `'${v}' is not a number` };
    n = Number(s);
  } else if (typeof v === 'boolean') return { nonNumeric: `${v} is a boolean, not a number` };
  else return { nonNumeric: `${show(v)} is a date, not a number` };
  if (!Number.isFinite(n)) return { nonFinite: true };
  if (type === 'int' || type === 'bigint') {
    // Strict: 2.7 is an error, not 2.
    if (!Number.isInteger(n)) return { invalid: `${show(v)} is not an integer` };
    if (!Number.isSafeInteger(n) || (type === 'int' && Math.abs(n) > 2_147_483_647)) {
      return { invalid: `${show(v)} is out of the integer range` };
    }
  }
  return { ok: n };
}

function parseBool(v: RawValue): Cell<boolean | null> {
  if (v === null) return { ok: null };
  if (typeof v === 'boolean') return { ok: v };
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isFinite(v)) return { nonFinite: true };
    if (Number(v) === 0 || Number(v) === 1) return { ok: Number(v) === 1 };
    return { invalid: `${show(v)} is not a boolean (use true/false or 1/0)` };
  }
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === '') return { ok: null };
    // Strict: the original's truthiness made "false" true.
    if (s === 'true' || s === 't' || s === '1') return { ok: true };
    if (s === 'false' || s === 'f' || s === '0') return { ok: false };
    return { invalid: `'${v}' is not a boolean (use true/false or 1/0)` };
  }
  return { invalid: `${show(v)} is not a boolean` };
}

/** Epoch ms of an ISO date or date-time; a time without an offset is UTC. */
function parseInstant(s: string): number {
  const m = DATETIME.exec(s.trim());
  if (!m || Number.isNaN(dayNumber(m[1]))) return NaN;
  if (m[2] === undefined) return dayNumber(m[1]) * DAY_MS;
  const [hh, mm, ss] = [Number(m[2]), Number(m[3]), Number(m[4] ?? 0)];
  if (hh > 23 || mm > 59 || ss > 59) return NaN;
  const zone = m[6] === undefined ? 'Z' : m[6].toUpperCase() === 'Z' ? 'Z' : m[6].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  return Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4] ?? '00'}${m[5] ?? ''}${zone}`);
}

function parseDate(v: RawValue): Cell<string | null> {
  if (v === null) return { ok: null };
  if (v instanceof Date) {
    const t = v.getTime();
    return Number.isNaN(t) ? { invalid: 'invalid date' } : { ok: isoDate(Math.floor(t / DAY_MS)) };
  }
  if (typeof v === 'string') {
    if (v.trim() === '') return { ok: null };
    const t = parseInstant(v);
    if (Number.isNaN(t)) return { invalid: `'${v}' is not a date (YYYY-MM-DD or an ISO-8601 date-time)` };
    return { ok: isoDate(Math.floor(t / DAY_MS)) };
  }
  return { invalid: `${show(v)} is not a date (YYYY-MM-DD or an ISO-8601 date-time)` };
}

function parseTimestamp(v: RawValue): Cell<number | null> {
  if (v === null) return { ok: null };
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? { invalid: 'invalid timestamp' } : { ok: v.getTime() };
  if (typeof v === 'string') {
    if (v.trim() === '') return { ok: null };
    const t = parseInstant(v);
    return Number.isNaN(t) ? { invalid: `'${v}' is not an ISO-8601 date-time` } : { ok: t };
  }
  return { invalid: `${show(v)} is not an ISO-8601 date-time` };
}

function parseSymbol(v: RawValue): Cell<string | null> {
  if (v === null) return { ok: null };
  if (typeof v === 'string') return { ok: v.trim() === '' ? null : v };
  if (typeof v === 'number' || typeof v === 'bigint') return { ok: String(v) };
  return { invalid: `${show(v)} is not a symbol` };
}

class Cells<T> {
  count = 0;
  cells: T[] = [];
  add(c: T): void {
    this.count++;
    if (this.cells.length < MAX_LISTED) this.cells.push(c);
  }
  done(): CellsCheck<T> {
    return { count: this.count, cells: this.cells, is_valid: this.count === 0 };
  }
}

/** Every row with at least one problem, with what is wrong in it (complete, unlike the capped lists above). */
export type BadRows = Map<number, string[]>;

export function checkQuality(
  input: FlatInput, opts: QualityOptions = {},
): { report: QualityReport; rows: ParsedRow[]; badRows: BadRows } {
  const badRows: BadRows = new Map();
  const bad = (row: number, problem: string) => {
    const l = badRows.get(row);
    if (l) l.push(problem);
    else badRows.set(row, [problem]);
  };
  const colIdx = new Map(input.columns.map((c, i) => [c, i]));
  const recognised = new Set(INPUT_COLUMNS);
  const ignored = input.columns.filter((c) => !recognised.has(c));
  const missing = ['symbol', 'data_date'].filter((c) => !colIdx.has(c));
  const nonFinite = new Cells<CellRef>();
  const nonNumeric = new Cells<InvalidCell>();
  const invalid = new Cells<InvalidCell>();
  const nullCounts: Record<string, number> = {};
  for (const c of ['symbol', 'data_date']) if (colIdx.has(c)) nullCounts[c] = 0;
  const nullRows: { row: number; column: string }[] = [];
  const rows: ParsedRow[] = [];

  const iSym = colIdx.get('symbol');
  const iDate = colIdx.get('data_date');
  const iTs = colIdx.get('timestamp');
  const fieldIdx = INPUT_FIELDS.map((x) => colIdx.get(x.column));

  const take = <T>(cell: Cell<T>, row: number, column: string, raw: RawValue): T | null => {
    if ('ok' in cell) return cell.ok;
    if ('nonFinite' in cell) {
      nonFinite.add({ row, column, value: show(raw) });
      bad(row, `${column}: non-finite value '${show(raw)}'`);
    } else if ('nonNumeric' in cell) {
      nonNumeric.add({ row, column, value: show(raw), problem: cell.nonNumeric });
      bad(row, `${column}: ${cell.nonNumeric}`);
    } else {
      invalid.add({ row, column, value: show(raw), problem: cell.invalid });
      bad(row, `${column}: ${cell.invalid}`);
    }
    return null;
  };

  // A file has far fewer distinct dates than rows, and a date's parse does not depend on its row.
  const dateCells = new Map<string, Cell<string | null>>();
  const dateCell = (v: RawValue): Cell<string | null> => {
    if (typeof v !== 'string') return parseDate(v);
    let c = dateCells.get(v);
    if (c === undefined) dateCells.set(v, (c = parseDate(v)));
    return c;
  };

  input.rows.forEach((raw, i) => {
    const row = i + 1;
    const symbol = iSym === undefined ? null : take(parseSymbol(raw[iSym]), row, 'symbol', raw[iSym]);
    const date = iDate === undefined ? null : take(dateCell(raw[iDate]), row, 'data_date', raw[iDate]);
    for (const [c, idx] of [['symbol', iSym], ['data_date', iDate]] as const) {
      if (idx === undefined) continue;
      const v = raw[idx];
      if (v === null || (typeof v === 'string' && v.trim() === '')) {
        nullCounts[c]++;
        if (nullRows.length < MAX_LISTED) nullRows.push({ row, column: c });
        bad(row, `${c} is empty`);
      }
    }
    const timestamp = iTs === undefined ? null : take(parseTimestamp(raw[iTs]), row, 'timestamp', raw[iTs]);
    const values = INPUT_FIELDS.map((x, k) => {
      const idx = fieldIdx[k];
      if (idx === undefined) return null;
      const v = raw[idx];
      // The common cells decided without building a Cell (the same answers parseNumber and parseBool give).
      if (typeof v === 'string') {
        if (x.field.type === 'double' && NUMBER.test(v)) {
          const n = Number(v);
          if (Number.isFinite(n)) return n;
        } else if (x.field.type === 'bool') {
          if (v === 'true') return true;
          if (v === 'false') return false;
        }
      }
      const cell = x.field.type === 'bool' ? parseBool(v) : parseNumber(v, x.field.type);
      const out = take<number | boolean | null>(cell, row, x.column, v);
      if (x.column === 'golden_zone_state' && out !== null && out !== 0 && out !== 1 && out !== 2) {
        invalid.add({ row, column: x.column, value: show(v), problem: `${show(v)} is not a golden-zone state (0, 1 or 2)` });
        bad(row, `${x.column}: ${show(v)} is not a golden-zone state (0, 1 or 2)`);
        return null;
      }
      return out;
    });
    rows.push({ row, symbol, date, timestamp, values });
  });

  const required: RequiredFieldsCheck = {
    missing_fields: missing, null_counts: nullCounts, null_rows: nullRows,
    is_valid: missing.length === 0 && Object.values(nullCounts).every((n) => n === 0),
  };

  let dateRange: DateRangeCheck;
  if (iDate === undefined || rows.length === 0) {
    dateRange = { is_valid: false, error: 'No data_date column or empty input' };
  } else {
    const dates = rows.map((r) => r.date).filter((d): d is string => d !== null).sort();
    const min = dates[0] ?? null;
    const max = dates.at(-1) ?? null;
    const out: KeyRef[] = [];
    let outCount = 0;
    for (const r of rows) {
      if (r.date === null) continue;
      if ((opts.minDate && r.date < opts.minDate) || (opts.maxDate && r.date > opts.maxDate)) {
        outCount++;
        bad(r.row, `data_date ${r.date} is outside ${opts.minDate ?? '…'}..${opts.maxDate ?? '…'}`);
        if (out.length < MAX_LISTED) out.push({ row: r.row, symbol: r.symbol ?? '', data_date: r.date });
      }
    }
    dateRange = {
      min_date: min, max_date: max,
      date_range_days: min && max ? dayNumber(max) - dayNumber(min) : 0,
      bounds: { min: opts.minDate ?? null, max: opts.maxDate ?? null },
      out_of_range_count: outCount, out_of_range_rows: out, is_valid: outCount === 0,
    };
  }

  let duplicates: DuplicatesCheck;
  if (iSym === undefined || iDate === undefined || rows.length === 0) {
    duplicates = { is_valid: false, error: 'Missing required columns' };
  } else {
    // On the normalised date: two rows of one day collide on the matrix key even when their raw values differ.
    const groups = new Map<string, ParsedRow[]>();
    for (const r of rows) {
      if (r.symbol === null || r.date === null) continue;
      const k = `${r.symbol}\u0000${r.date}`;
      const g = groups.get(k);
      if (g) g.push(r);
      else groups.set(k, [r]);
    }
    const flagged: KeyRef[] = [];
    let count = 0;
    for (const g of groups.values()) {
      if (g.length < 2) continue;
      count += g.length;
      // Which of the colliding rows is right cannot be told from the file: all of them are bad.
      for (const r of g) bad(r.row, `(${r.symbol}, ${r.date}) also on row(s) ${g.filter((o) => o !== r).map((o) => o.row).join(', ')}`);
      for (const r of g) if (flagged.length < MAX_LISTED) flagged.push({ row: r.row, symbol: r.symbol!, data_date: r.date! });
    }
    flagged.sort((a, b) => a.row - b.row);
    duplicates = { duplicate_count: count, duplicate_rows: flagged, is_valid: count === 0 };
  }

  const report: QualityReport = {
    required_fields: required, date_range: dateRange, duplicates,
    non_finite: nonFinite.done(), non_numeric: nonNumeric.done(), invalid_values: invalid.done(),
    ignored_columns: ignored, overall_valid: false,
  };
  report.overall_valid = required.is_valid && dateRange.is_valid && duplicates.is_valid && report.non_finite.is_valid &&
    report.non_numeric.is_valid && report.invalid_values.is_valid;
  return { report, rows, badRows };
}
