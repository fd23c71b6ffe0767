// Reads one source file into validated daily rows plus line-numbered rejects. Recognised formats:
// CoinMarketCap exports (header variants A–D, `;` or `,`, BOM, quoted or bare, either order, the Excel
// "whole row in one quoted field" damage), Yahoo daily CSV, plain OHLCV CSV, Binance daily kline dumps,
// and Parquet with the same column names (read through DuckDB). CSV tokenising is csv-parse's; this file only maps and validates.
import { readFileSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DAY_MS, dayCloseMs } from '../compute/daily.js';
import { UserError } from '../util/errors.js';
import { printable } from '../util/text.js';

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
  /** The row's asset symbol in a multi-asset file (upper-cased); null in a one-asset file. */
  symbol: string | null;
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
  /** In a multi-asset file: the row's symbol when it could be read, so the reject is kept with its asset. */
  symbol?: string | null;
}

export interface ParsedFile {
  path: string;
  format: string;
  /** What reject numbers count: lines of a text file, or data rows of a Parquet file. */
  unit: 'line' | 'row';
  rows: SourceRow[];
  rejects: Reject[];
  warnings: string[];
  /** Header names the importer does not use (reported, never silently dropped). */
  unknownColumns: string[];
  /** Whether the source has a market cap column at all: a source without one builds bars without it. */
  hasMarketCap: boolean;
  /** Whether rows carry their own symbol (a long file of several assets). */
  multiAsset: boolean;
  /** Data lines read (rows + rejects); Parquet: data rows. */
  lines: number;
}

type Field =
  | 'timeopen' | 'timeclose' | 'timehigh' | 'timelow' | 'name' | 'open' | 'high' | 'low' | 'close' | 'volume'
  | 'marketcap' | 'circulatingsupply' | 'timestamp' | 'date' | 'adjclose' | 'opentimeepoch' | 'symbol';

const ALIASES: Record<string, Field> = {
  timeopen: 'timeopen', timeclose: 'timeclose', timehigh: 'timehigh', timelow: 'timelow', name: 'name',
  open: 'open', high: 'high', low: 'low', close: 'close', volume: 'volume', marketcap: 'marketcap',
  market_cap: 'marketcap', circulatingsupply: 'circulatingsupply', circulating_supply: 'circulatingsupply',
  timestamp: 'timestamp', ts: 'timestamp', date: 'date', day: 'date', adjclose: 'adjclose', 'adj close': 'adjclose',
  adj_close: 'adjclose', open_time: 'opentimeepoch', symbol: 'symbol', ticker: 'symbol',
};

// Binance's public kline dumps (data.binance.vision): no header in spot files, this one in futures files.
// open_time is the UTC day's start in epoch milliseconds (microseconds in spot files from 2025).
const BINANCE_COLUMNS = [
  'open_time', 'open', 'high', 'low', 'close', 'volume', 'close_time', 'quote_volume', 'count',
  'taker_buy_volume', 'taker_buy_quote_volume', 'ignore',
];

/** Epoch milliseconds (13 digits) or microseconds (16 digits) as milliseconds; NaN for anything else. */
function parseEpoch(s: string): number {
  if (/^\d{13}$/.test(s)) return Number(s);
  if (/^\d{16}$/.test(s)) return Math.floor(Number(s) / 1000);
  return NaN;
}

const EXPECTED =
  'CoinMarketCap (timeOpen;timeClose;timeHigh;timeLow;[name;]open;high;low;close;volume;marketCap;[circulatingSupply;]timestamp) ' +
  'or OHLCV (date,[symbol,]open,high,low,close,volume[,market_cap])';

function normHeader(h: string): string {
  return h.replace(/^\uFEFF/, '').trim().toLowerCase().replace(/\s+/g, ' ');
}

function detectDelimiter(headerLine: string): string | null {
  const counts = [';', ',', '\t'].map((d) => [d, headerLine.split(d).length - 1] as const);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0][1] > 0 ? counts[0][0] : null;
}

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/** Why a time text is not a real instant (a calendar date that does not exist, 25:00, an offset beyond ±14h), or null. */
function timeProblem(s: string): string | null {
  const m = TIME_RE.exec(s);
  if (!m) return 'not an ISO-8601 date or date-time with zone';
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Date.parse would roll 2025-02-30 over to 2025-03-02; a day that does not exist is a reject, not another day.
  const probe = new Date(Date.UTC(2000, mo - 1, d));
  probe.setUTCFullYear(y);
  if (mo < 1 || mo > 12 || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return 'no such calendar date';
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return 'no such time of day';
  if (m[7] && m[7] !== 'Z') {
    const off = m[7].replace(':', '');
    if (Number(off.slice(1, 3)) > 14 || Number(off.slice(3, 5)) > 59) return 'offset out of range';
  }
  return null;
}

function parseTime(s: string): number {
  // ISO-8601 with zone, or a bare date (taken as UTC). Anything else is NaN. An offset is converted to UTC.
  if (timeProblem(s) !== null) return NaN;
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return Date.parse(s + 'T00:00:00Z');
  return Date.parse(s.replace(' ', 'T'));
}

/** True when the text carries an offset other than UTC (Z, +00:00). */
function hasNonUtcOffset(s: string): boolean {
  const m = TIME_RE.exec(s);
  return !!m && !!m[7] && !/^(Z|[+-]00:?00)$/.test(m[7]);
}

/** Earliest day a crypto source may hold: the Bitcoin genesis block. */
export const CRYPTO_FLOOR = '2009-01-03';
/** Earliest day any source may hold: older daily data is almost always an epoch or Excel artefact. */
export const ANY_FLOOR = '1950-01-01';

export interface ParseOptions {
  /** Accept crypto-source rows dated before the genesis block (still not before ANY_FLOOR). */
  allowEarly?: boolean;
  /** Today's UTC day number (tests pin it); rows after it are rejects. */
  today?: number;
}

const SYMBOL_RE = /^[A-Z0-9._-]{1,32}$/;

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

/** A file that is not UTF-8 text: a clear error naming the encoding, never its raw bytes echoed. */
function checkEncoding(path: string, buf: Buffer): void {
  const head = buf.subarray(0, 4096);
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    throw new UserError(`${path}: file is UTF-16 encoded (byte-order mark ${head[0] === 0xff ? 'FF FE' : 'FE FF'}); save it as UTF-8 and import again`);
  }
  let nul = 0, evenNul = 0, oddNul = 0;
  for (let i = 0; i < head.length; i++) {
    if (head[i] === 0) {
      nul++;
      if (i % 2 === 0) evenNul++;
      else oddNul++;
    }
  }
  // UTF-16 without a BOM: ASCII text with a NUL in every other byte.
  if (nul > head.length / 4 && (evenNul === 0 || oddNul === 0)) {
    throw new UserError(`${path}: file looks UTF-16 encoded (${oddNul ? 'little' : 'big'}-endian, no byte-order mark); save it as UTF-8 and import again`);
  }
  const zip = head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'));
  // Bytes that are neither text nor valid UTF-8 (the tail may hold a character cut at 4096: ignore it).
  const invalid = (head.subarray(0, Math.max(0, head.length - 4)).toString('utf8').match(/\ufffd/g) ?? []).length;
  if (zip || nul + invalid > Math.max(8, head.length / 50)) {
    throw new UserError(
      `${path}: binary file, not UTF-8 CSV text (${zip ? 'a zip/xlsx archive' : `${nul} NUL and ${invalid} invalid UTF-8 bytes in its first ${head.length}`}); export it as CSV in UTF-8`,
    );
  }
}

export async function parseSourceFile(path: string, opts: ParseOptions = {}): Promise<ParsedFile> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`${path}: file not found`);
  }
  if (st.isDirectory()) throw new UserError(`${path}: is a directory, not a file`);
  if (st.size === 0) throw new UserError(`${path}: file is empty`);
  if (/\.parquet$/i.test(path)) return parseRecords(path, 'parquet', await readParquet(path), opts);

  const buf = readFileSync(path);
  checkEncoding(path, buf);
  const text = buf.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') throw new UserError(`${path}: file is empty`);
  const headerLine = text.slice(0, text.search(/\r?\n|$/));
  const delimiter = detectDelimiter(headerLine);
  if (!delimiter) {
    throw new UserError(
      `${path}: line 1: cannot find a delimiter (; , or tab) in the header '${printable(headerLine.slice(0, 80))}'; expected ${EXPECTED}`,
    );
  }
  const { records, tail } = tokenize(path, text, delimiter);
  const rows = records.map((r) => ({ fields: r.record, line: r.info.lines }));
  if (rows.length && /^\d{13}(\d{3})?$/.test(rows[0].fields[0]?.trim() ?? '') && rows[0].fields.length === BINANCE_COLUMNS.length) {
    rows.unshift({ fields: BINANCE_COLUMNS, line: 0 }); // a headerless Binance kline dump
  }
  const parsed = parseRecords(path, delimiter === ';' ? 'csv;' : delimiter === ',' ? 'csv,' : 'tsv', rows, opts, delimiter);
  if (tail) {
    parsed.rejects.push(tail);
    parsed.lines++;
  }
  return parsed;
}

type CsvRecord = { record: string[]; info: { lines: number } };

/** csv-parse over the whole text; a file whose last record is cut inside a quote keeps every complete
 * record and turns the unterminated rest into one reject (a truncated download loses one line, not the file). */
function tokenize(path: string, text: string, delimiter: string): { records: CsvRecord[]; tail: Reject | null } {
  const seen: CsvRecord[] = [];
  const opts = {
    delimiter, info: true, relax_column_count: true, skip_empty_lines: true, trim: false, relax_quotes: true,
    // With info: true each record arrives as {record, info}; csv-parse's types do not model that.
    on_record: ((r: unknown) => {
      seen.push(r as CsvRecord);
      return r;
    }) as unknown as (record: string[]) => string[],
  };
  try {
    parse(text, opts);
    return { records: seen, tail: null };
  } catch (e) {
    const err = e as Error & { code?: string; lines?: number };
    if (err.code === 'CSV_QUOTE_NOT_CLOSED' && seen.length > 0) {
      const lines = text.split(/\r?\n/);
      let from = seen[seen.length - 1].info.lines; // 0-based index of the first line after the last good record
      while (from < lines.length && lines[from].trim() === '') from++;
      const rest = lines.slice(from).join('\n');
      return {
        records: seen,
        tail: { line: from + 1, reason: 'quote not closed: the line is cut (truncated file?)', raw: printable(rest.slice(0, 1000)) },
      };
    }
    throw new UserError(`${path}: line ${err.lines ?? '?'}: cannot read as CSV: ${printable(err.message)}`);
  }
}

async function readParquet(path: string): Promise<{ fields: string[]; line: number }[]> {
  // DuckDB's native library (a quarter of a second to load) only when a Parquet file is read or written.
  const { DuckDBInstance } = (await import('../store/duckdb/api.js')).duckdbApi;
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet($1)`, [path]);
    const names = reader.columnNames();
    const out = [{ fields: names, line: 0 }];
    reader.getRowsJS().forEach((r, i) => {
      out.push({
        fields: r.map((v) => (v === null ? '' : v instanceof Date ? v.toISOString() : String(v))),
        line: i + 1, // a Parquet file has no lines: its rejects are numbered by data row, from 1
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
  path: string, format: string, records: { fields: string[]; line: number }[], opts: ParseOptions, delimiter?: string,
): ParsedFile {
  const header = records[0].fields.map(normHeader);
  const unit = format === 'parquet' ? 'row' : 'line';
  const where = format === 'parquet' ? 'columns' : 'line 1';
  const col = new Map<Field, number>();
  const unknown: string[] = [];
  header.forEach((h, i) => {
    const f = ALIASES[h] ?? ALIASES[h.replace(/ /g, '')];
    if (f) {
      // Two columns for one field (close twice, or both timestamp and ts): which one is meant cannot be told.
      if (col.has(f)) {
        const first = records[0].fields[col.get(f)!].trim();
        throw new UserError(
          `${path}: ${where}: column '${printable(records[0].fields[i].trim())}' (column ${i + 1}) duplicates '${printable(first)}' (column ${col.get(f)! + 1}); ` +
            'keep one of them',
        );
      }
      col.set(f, i);
    } else if (h !== '') unknown.push(printable(records[0].fields[i].trim()));
  });
  const timeCol = col.get('timestamp') ?? col.get('timeclose') ?? col.get('date') ?? col.get('opentimeepoch');
  const epochTime = timeCol !== undefined && timeCol === col.get('opentimeepoch');
  const isBinance = col.has('opentimeepoch');
  const missing = (['open', 'high', 'low', 'close'] as Field[]).filter((f) => !col.has(f));
  if (timeCol === undefined || missing.length > 0) {
    const what = [timeCol === undefined ? 'a timestamp/timeClose/date column' : null, ...missing].filter(Boolean);
    throw new UserError(
      `${path}: ${where}: unrecognised header '${printable(records[0].fields.join(delimiter ?? ',').slice(0, 120))}'` +
        ` (missing ${what.join(', ')}${unknown.length ? `; unknown columns: ${unknown.join(', ')}` : ''}); expected ${EXPECTED}`,
    );
  }
  const warnings: string[] = [];
  if (unknown.length) warnings.push(`ignored unknown columns: ${unknown.join(', ')}`);
  const isCmc = col.has('timeopen') && col.has('timeclose');
  const symCol = col.get('symbol');
  if (!col.has('volume')) warnings.push('no volume column: every day will be rejected by the 1D builder (null_volume)');

  const isCrypto = isCmc || isBinance;
  const floorText = isCrypto && !opts.allowEarly ? CRYPTO_FLOOR : ANY_FLOOR;
  const floor = Math.floor(Date.parse(floorText + 'T00:00:00Z') / DAY_MS);
  const today = opts.today ?? Math.floor(Date.now() / DAY_MS);
  let offsetRows = 0, offsetMoved = 0;

  const rows: SourceRow[] = [];
  const rejects: Reject[] = [];
  const seen = new Map<string, number>();
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
    const raw = printable(fields.join(delimiter ?? ',').slice(0, 1000));
    if (fields.length === 1 && fields[0].trim() === '') continue; // blank line
    const symText = symCol === undefined ? '' : (fields[symCol] ?? '').trim().replace(/^"|"$/g, '').toUpperCase();
    const symbol = symCol === undefined ? null : SYMBOL_RE.test(symText) ? symText : null;
    const reject = (reason: string) => rejects.push({ line, reason, raw, symbol });
    if (fields.length !== header.length) {
      reject(`expected ${header.length} fields, found ${fields.length}`);
      continue;
    }
    if (symCol !== undefined && symbol === null) {
      reject(symText === '' ? 'missing symbol' : `bad symbol '${printable(symText.slice(0, 40))}' (1-32 letters, digits, '.', '_' or '-')`);
      continue;
    }
    const get = (f: Field) => (col.has(f) ? fields[col.get(f)!].trim() : '');
    const tsText = fields[timeCol].trim().replace(/^"|"$/g, '');
    const tsMs = epochTime ? parseEpoch(tsText) : parseTime(tsText);
    if (Number.isNaN(tsMs)) {
      const why = epochTime ? 'not epoch milliseconds or microseconds' : timeProblem(tsText) ?? 'unreadable';
      reject(`bad timestamp '${printable(tsText.slice(0, 60))}' in column ${printable(records[0].fields[timeCol].trim())} (${why})`);
      continue;
    }
    const day = Math.floor(tsMs / DAY_MS);
    if (!epochTime && hasNonUtcOffset(tsText)) {
      offsetRows++;
      if (fmtDay(day) !== tsText.slice(0, 10)) offsetMoved++;
    }
    if (day < floor) {
      reject(`implausible date ${fmtDay(day)}: before ${floorText}${isCrypto && !opts.allowEarly ? ' (--allow-early accepts crypto rows back to ' + ANY_FLOOR + ')' : ''}`);
      continue;
    }
    if (day > today) {
      reject(`date ${fmtDay(day)} is in the future (today is ${fmtDay(today)} UTC)`);
      continue;
    }
    const nums: Partial<Record<Field, number>> = {};
    let bad: string | null = null;
    for (const f of ['open', 'high', 'low', 'close', 'volume', 'marketcap', 'circulatingsupply'] as Field[]) {
      if (!col.has(f)) {
        nums[f] = NaN;
        continue;
      }
      const v = parseNumber(get(f));
      if (v === undefined) {
        bad = `non-numeric ${f} '${printable(get(f).slice(0, 60))}'`;
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
        const t = get(f).replace(/^"|"$/g, '');
        if (t === '' || NULLS.has(t.toLowerCase())) {
          times[f] = NaN;
          continue;
        }
        const v = parseTime(t);
        if (Number.isNaN(v)) {
          bad = `bad timestamp '${printable(t.slice(0, 60))}' in column ${f} (${timeProblem(t) ?? 'unreadable'})`;
          break;
        }
        times[f] = v;
      }
    }
    if (bad) {
      reject(bad);
      continue;
    }
    const key = `${symbol ?? ''}|${day}`;
    const first = seen.get(key);
    if (first !== undefined) {
      reject(`duplicate day ${fmtDay(day)}${symbol ? ` of ${symbol}` : ''} (first at ${unit} ${first})`);
      continue;
    }
    seen.set(key, line);
    rows.push({
      line, day, ts: dayCloseMs(day),
      timeOpen: isCmc ? times.timeopen : day * DAY_MS,
      timeClose: isCmc ? times.timeclose : dayCloseMs(day),
      timeHigh: times.timehigh ?? NaN,
      timeLow: times.timelow ?? NaN,
      srcName: col.has('name') ? printable(get('name')) || null : null,
      symbol,
      open: nums.open!, high: nums.high!, low: nums.low!, close: nums.close!, volume: nums.volume!,
      marketCap: nums.marketcap!, circulatingSupply: nums.circulatingsupply!,
    });
  }
  if (offsetRows) {
    warnings.push(
      `${offsetRows} timestamps carry a non-UTC offset and were converted to UTC` +
        (offsetMoved ? `; ${offsetMoved} of them fall on another UTC day than the date written` : ''),
    );
  }
  if (excelWrapped) warnings.push(`${excelWrapped} rows were wrapped in one quoted field (Excel damage) and were unwrapped`);
  // Either order is a valid export; a file that goes back and forth is suspicious, so say so. In a
  // multi-asset file the order is judged within each symbol (the symbols may interleave freely).
  const prevOf = new Map<string | null, SourceRow>();
  const steps: [SourceRow, SourceRow][] = [];
  for (const r of rows) {
    const p = prevOf.get(r.symbol);
    if (p) steps.push([p, r]);
    prevOf.set(r.symbol, r);
  }
  const asc = steps.filter(([p, r]) => r.day > p.day).length;
  const desc = steps.length - asc;
  if (asc > 0 && desc > 0) {
    const dir = asc >= desc ? 1 : -1;
    const [p, b] = steps.find(([p, r]) => (r.day - p.day) * dir < 0)!;
    warnings.push(
      `rows are not in date order (${unit} ${b.line}: ${fmtDay(b.day)} after ${fmtDay(p.day)}${b.symbol ? ` of ${b.symbol}` : ''}); loaded by date`,
    );
  }
  rows.sort((a, b) => (a.symbol === b.symbol ? a.day - b.day : (a.symbol ?? '') < (b.symbol ?? '') ? -1 : 1));
  const kind = isCmc ? 'cmc' : isBinance ? 'binance kline' : col.has('adjclose') ? 'yahoo' : symCol !== undefined ? 'multi-asset ohlcv' : 'ohlcv';
  return {
    path, format: `${kind} ${format}`, unit, rows, rejects, warnings, unknownColumns: unknown, hasMarketCap: col.has('marketcap'),
    multiAsset: symCol !== undefined, lines: records.length - 1,
  };
}
