// Reads one source file into validated daily rows plus line-numbered rejects. Recognised formats:
// CoinMarketCap exports (header variants A–D, `;` or `,`, BOM, quoted or bare, either order, the Excel
// "whole row in one quoted field" damage), Yahoo daily CSV, plain OHLCV CSV, and Parquet with the same
// column names (read through DuckDB). CSV tokenising is csv-parse's; this file only maps and validates.
import { readFileSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DuckDBInstance } from '@duckdb/node-api';
import { DAY_MS, dayCloseMs } from '../compute/daily.js';
import { UserError } from '../util/errors.js';

export interface SourceRow {
  line: number;
  /** UTC day number and the day's close instant (the row key). */
  day: number;
  ts: number;
  timeOpen: number;
  timeClose: number;
  timeHigh: number;
  timeLow: number;
  srcName: string | null;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  marketCap: number;
  circulatingSupply: number;
}

export interface Reject {
  line: number;
  reason: string;
  raw: string;
}

export interface ParsedFile {
  path: string;
  format: string;
  rows: SourceRow[];
  rejects: Reject[];
  warnings: string[];
  /** Data lines read (rows + rejects). */
  lines: number;
}

type Field =
  | 'timeopen' | 'timeclose' | 'timehigh' | 'timelow' | 'name' | 'open' | 'high' | 'low' | 'close' | 'volume'
  | 'marketcap' | 'circulatingsupply' | 'timestamp' | 'date' | 'adjclose';

const ALIASES: Record<string, Field> = {
  timeopen: 'timeopen', timeclose: 'timeclose', timehigh: 'timehigh', timelow: 'timelow', name: 'name',
  open: 'open', high: 'high', low: 'low', close: 'close', volume: 'volume', marketcap: 'marketcap',
  market_cap: 'marketcap', circulatingsupply: 'circulatingsupply', circulating_supply: 'circulatingsupply',
  timestamp: 'timestamp', ts: 'timestamp', date: 'date', day: 'date', adjclose: 'adjclose', 'adj close': 'adjclose',
  adj_close: 'adjclose',
};

const EXPECTED =
  'CoinMarketCap (timeOpen;timeClose;timeHigh;timeLow;[name;]open;high;low;close;volume;marketCap;[circulatingSupply;]timestamp) ' +
  'or OHLCV (date,open,high,low,close,volume[,market_cap])';

function normHeader(h: string): string {
  return h.replace(/^\uFEFF/, '').trim().toLowerCase().replace(/\s+/g, ' ');
}

function detectDelimiter(headerLine: string): string | null {
  const counts = [';', ',', '\t'].map((d) => [d, headerLine.split(d).length - 1] as const);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0][1] > 0 ? counts[0][0] : null;
}

function parseTime(s: string): number {
  // ISO-8601 with zone, or a bare date (taken as UTC). Anything else is NaN.
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return Date.parse(s + 'T00:00:00Z');
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(s)) return NaN;
  return Date.parse(s.replace(' ', 'T'));
}

const NULLS = new Set(['', 'null', 'nan', 'na', 'n/a', '-']);

/** A number, NaN for an explicit null, or undefined when the text is not a number at all. */
function parseNumber(s: string): number | undefined {
  const t = s.trim();
  if (NULLS.has(t.toLowerCase())) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function fmtDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export async function parseSourceFile(path: string): Promise<ParsedFile> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`${path}: file not found`);
  }
  if (st.isDirectory()) throw new UserError(`${path}: is a directory, not a file`);
  if (st.size === 0) throw new UserError(`${path}: file is empty`);
  if (/\.parquet$/i.test(path)) return parseRecords(path, 'parquet', await readParquet(path), 1);

  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') throw new UserError(`${path}: file is empty`);
  const headerLine = text.slice(0, text.search(/\r?\n|$/));
  const delimiter = detectDelimiter(headerLine);
  if (!delimiter) {
    throw new UserError(
      `${path}: line 1: cannot find a delimiter (; , or tab) in the header '${headerLine.slice(0, 80)}'; expected ${EXPECTED}`,
    );
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter, info: true, relax_column_count: true, skip_empty_lines: true, trim: false, relax_quotes: true,
    }) as unknown as typeof records;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new UserError(`${path}: line ${err.lines ?? '?'}: cannot read as CSV: ${err.message}`);
  }
  const rows = records.map((r) => ({ fields: r.record, line: r.info.lines }));
  return parseRecords(path, delimiter === ';' ? 'csv;' : delimiter === ',' ? 'csv,' : 'tsv', rows, 0, delimiter);
}

async function readParquet(path: string): Promise<{ fields: string[]; line: number }[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet($1)`, [path]);
    const names = reader.columnNames();
    const out = [{ fields: names, line: 1 }];
    reader.getRowsJS().forEach((r, i) => {
      out.push({
        fields: r.map((v) => (v === null ? '' : v instanceof Date ? v.toISOString() : String(v))),
        line: i + 2, // row number counting the header as 1, like a CSV
      });
    });
    return out;
  } catch (e) {
    throw new UserError(`${path}: cannot read Parquet: ${(e as Error).message}`);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

function parseRecords(
  path: string, format: string, records: { fields: string[]; line: number }[], _base: number, delimiter?: string,
): ParsedFile {
  const header = records[0].fields.map(normHeader);
  const col = new Map<Field, number>();
  const unknown: string[] = [];
  header.forEach((h, i) => {
    const f = ALIASES[h] ?? ALIASES[h.replace(/ /g, '')];
    if (f) col.set(f, i);
    else if (h !== '') unknown.push(records[0].fields[i].trim());
  });
  const timeCol = col.get('timestamp') ?? col.get('timeclose') ?? col.get('date');
  const missing = (['open', 'high', 'low', 'close'] as Field[]).filter((f) => !col.has(f));
  if (timeCol === undefined || missing.length > 0) {
    const what = [timeCol === undefined ? 'a timestamp/timeClose/date column' : null, ...missing].filter(Boolean);
    throw new UserError(
      `${path}: line 1: unrecognised header '${records[0].fields.join(delimiter ?? ',').slice(0, 120)}'` +
        ` (missing ${what.join(', ')}${unknown.length ? `; unknown columns: ${unknown.join(', ')}` : ''}); expected ${EXPECTED}`,
    );
  }
  const warnings: string[] = [];
  if (unknown.length) warnings.push(`ignored unknown columns: ${unknown.join(', ')}`);
  const isCmc = col.has('timeopen') && col.has('timeclose');
  if (!col.has('volume')) warnings.push('no volume column: every day will be rejected by the 1D builder (null_volume)');
  if (!col.has('marketcap')) warnings.push('no market cap column: every day will be rejected by the 1D builder (null_market_cap)');

  const rows: SourceRow[] = [];
  const rejects: Reject[] = [];
  const seen = new Map<number, number>();
  let excelWrapped = 0;
  for (let r = 1; r < records.length; r++) {
    let { fields } = records[r];
    const { line } = records[r];
    // Excel damage: the whole row sits in one quoted field with its own delimiters inside.
    if (fields.length === 1 && delimiter && header.length > 1 && fields[0].includes(delimiter)) {
      try {
        fields = parse(fields[0], { delimiter, relax_quotes: true, relax_column_count: true })[0] as string[];
        excelWrapped++;
      } catch {
        /* falls through to the column-count reject below */
      }
    }
    const raw = fields.join(delimiter ?? ',');
    if (fields.length === 1 && fields[0].trim() === '') continue; // blank line
    if (fields.length !== header.length) {
      rejects.push({ line, reason: `expected ${header.length} fields, found ${fields.length}`, raw });
      continue;
    }
    const get = (f: Field) => (col.has(f) ? fields[col.get(f)!].trim() : '');
    const tsText = fields[timeCol].trim();
    const tsMs = parseTime(tsText);
    if (Number.isNaN(tsMs)) {
      rejects.push({ line, reason: `bad timestamp '${tsText}' in column ${records[0].fields[timeCol].trim()}`, raw });
      continue;
    }
    const day = Math.floor(tsMs / DAY_MS);
    const nums: Partial<Record<Field, number>> = {};
    let bad: string | null = null;
    for (const f of ['open', 'high', 'low', 'close', 'volume', 'marketcap', 'circulatingsupply'] as Field[]) {
      if (!col.has(f)) {
        nums[f] = NaN;
        continue;
      }
      const v = parseNumber(get(f));
      if (v === undefined) {
        bad = `non-numeric ${f} '${get(f)}'`;
        break;
      }
      if (!Number.isFinite(v) && !Number.isNaN(v)) {
        bad = `non-finite ${f} '${get(f)}'`;
        break;
      }
      nums[f] = v;
    }
    if (!bad) {
      const o = nums.open!, h = nums.high!, l = nums.low!, c = nums.close!;
      if ([o, h, l, c].some(Number.isNaN)) bad = 'missing open/high/low/close';
      else if (o <= 0 || h <= 0 || l <= 0 || c <= 0) bad = `non-positive price (open ${o}, high ${h}, low ${l}, close ${c})`;
      else if (h < l) bad = `high ${h} < low ${l}`;
      else if (nums.volume! < 0) bad = `negative volume ${nums.volume}`;
      else if (nums.marketcap! < 0) bad = `negative market cap ${nums.marketcap}`;
    }
    const times: Record<string, number> = {};
    if (!bad) {
      for (const f of ['timeopen', 'timeclose', 'timehigh', 'timelow'] as Field[]) {
        const t = get(f);
        if (t === '' || NULLS.has(t.toLowerCase())) {
          times[f] = NaN;
          continue;
        }
        const v = parseTime(t);
        if (Number.isNaN(v)) {
          bad = `bad timestamp '${t}' in column ${f}`;
          break;
        }
        times[f] = v;
      }
    }
    if (bad) {
      rejects.push({ line, reason: bad, raw });
      continue;
    }
    const first = seen.get(day);
    if (first !== undefined) {
      rejects.push({ line, reason: `duplicate day ${fmtDay(day)} (first at line ${first})`, raw });
      continue;
    }
    seen.set(day, line);
    rows.push({
      line, day, ts: dayCloseMs(day),
      timeOpen: isCmc ? times.timeopen : day * DAY_MS,
      timeClose: isCmc ? times.timeclose : dayCloseMs(day),
      timeHigh: times.timehigh ?? NaN,
      timeLow: times.timelow ?? NaN,
      srcName: col.has('name') ? get('name') || null : null,
      open: nums.open!, high: nums.high!, low: nums.low!, close: nums.close!, volume: nums.volume!,
      marketCap: nums.marketcap!, circulatingSupply: nums.circulatingsupply!,
    });
  }
  if (excelWrapped) warnings.push(`${excelWrapped} rows were wrapped in one quoted field (Excel damage) and were unwrapped`);
  // Either order is a valid export; a file that goes back and forth is suspicious, so say so.
  let asc = 0, desc = 0, firstBreak = -1;
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].day > rows[i - 1].day) asc++;
    else desc++;
  }
  if (asc > 0 && desc > 0) {
    const dir = asc >= desc ? 1 : -1;
    for (let i = 1; i < rows.length && firstBreak < 0; i++) if ((rows[i].day - rows[i - 1].day) * dir < 0) firstBreak = i;
    const b = rows[firstBreak];
    warnings.push(
      `rows are not in date order (line ${b.line}: ${fmtDay(b.day)} after ${fmtDay(rows[firstBreak - 1].day)}); loaded by date`,
    );
  }
  rows.sort((a, b) => a.day - b.day);
  const fmt = isCmc ? `cmc ${format}` : col.has('adjclose') ? `yahoo ${format}` : `ohlcv ${format}`;
  return { path, format: fmt, rows, rejects, warnings, lines: records.length - 1 };
}
