// What the web view shows, read through the Store so it works on both engines: finished bars of one family
// and timeframe, EMA overlays on the same closes, the refresh run history, freshness and the baseline
// reports. Every value a user picks reaches SQL as a bind parameter; table names come from the schema only.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { belongsTo, getTimeframe, type BarFamily } from '../catalog/timeframes.js';
import { collectStatus } from '../refresh/status.js';
import { q } from '../schema/ddl.js';
import { BAR_TABLES, EMA_TABLES, priceBars1d, refreshRuns } from '../schema/tables.js';
import type { Store } from '../store/store.js';

/** The six bar families: the daily table and the five multi-timeframe ones. */
export type Family = '1d' | BarFamily;
export const FAMILIES: readonly Family[] = ['1d', 'multi_tf', 'cal_us', 'cal_iso', 'cal_anchor_us', 'cal_anchor_iso'];

/** One candle: `time` is the UTC day of the bar's close (YYYY-MM-DD), which is what the chart plots. */
export interface Candle { time: string; open: number; high: number; low: number; close: number; volume: number }
export interface Point { time: string; value: number }

export interface ChartData {
  id: number;
  symbol: string;
  family: Family;
  tf: string;
  periods: number[];
  bars: Candle[];
  /** Keyed by period; one point per finished bar that has an EMA value. */
  emas: Record<string, Point[]>;
}

/** A problem with one request parameter; the server answers 400 naming it. */
export class ParamError extends Error {
  constructor(readonly param: string, message: string) {
    super(message);
  }
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The family a timeframe's bars live in. Months and years are built identically into the US and ISO tables,
 * so without a preference they are read from the US one.
 */
export function familyOf(tf: string, prefer?: Family): Family {
  const t = getTimeframe(tf);
  if (!t) throw new ParamError('tf', `unknown timeframe '${tf}' (npx talab timeframes lists them)`);
  if (t.tf === '1D') {
    if (prefer && prefer !== '1d') throw new ParamError('family', `timeframe 1D lives in family 1d, not ${prefer}`);
    return '1d';
  }
  if (prefer) {
    if (prefer === '1d' || !belongsTo(t, prefer)) throw new ParamError('family', `timeframe ${tf} is not built in family ${prefer}`);
    return prefer;
  }
  const fam = (['multi_tf', 'cal_us', 'cal_iso', 'cal_anchor_us', 'cal_anchor_iso'] as const).find((f) => belongsTo(t, f));
  if (!fam) throw new ParamError('tf', `timeframe ${tf} has no bar family`);
  return fam;
}

export function parseFamily(v: string): Family {
  if (!(FAMILIES as readonly string[]).includes(v)) throw new ParamError('family', `family must be one of ${FAMILIES.join(', ')}, got '${v}'`);
  return v as Family;
}

/** Where a family's bars and EMAs are, and how the finished rows are told apart from the rest. */
function sources(family: Family): { bars: string; finished: string; ema: string; emaCol: string; emaFinished: string } {
  if (family === '1d') return { bars: priceBars1d.name, finished: 'TRUE', ema: EMA_TABLES.v1.name, emaCol: 'ema', emaFinished: 'roll = false' };
  if (family === 'multi_tf') return { bars: BAR_TABLES.multi_tf.name, finished: 'is_partial_end = false', ema: EMA_TABLES.v1.name, emaCol: 'ema', emaFinished: 'roll = false' };
  // The calendar families' EMA on bar closes is ema_bar; the `ema` column there is a daily-space EMA.
  return { bars: BAR_TABLES[family].name, finished: 'is_partial_end = false', ema: EMA_TABLES[family].name, emaCol: 'ema_bar', emaFinished: 'roll_bar = false' };
}

export async function listAssets(store: Store): Promise<{ id: number; symbol: string; name: string | null }[]> {
  const rows = await store.query<{ id: number; symbol: string; name: string | null }>('SELECT id, symbol, name FROM dim_assets ORDER BY symbol, id');
  return rows.map((r) => ({ id: Number(r.id), symbol: r.symbol, name: r.name }));
}

export async function assetById(store: Store, id: number): Promise<{ id: number; symbol: string }> {
  const rows = await store.query<{ symbol: string }>('SELECT symbol FROM dim_assets WHERE id = $1', [id]);
  if (rows.length === 0) throw new ParamError('id', `no asset with id ${id}`);
  return { id, symbol: rows[0].symbol };
}

export async function assetBySymbol(store: Store, symbol: string): Promise<{ id: number; symbol: string }> {
  const rows = await store.query<{ id: number; symbol: string }>('SELECT id, symbol FROM dim_assets WHERE upper(symbol) = upper($1) ORDER BY id', [symbol]);
  if (rows.length === 0) throw new ParamError('symbol', `no asset with symbol '${symbol}' (npx talab assets lists them)`);
  if (rows.length > 1) throw new ParamError('symbol', `symbol '${symbol}' names ${rows.length} assets (ids ${rows.map((r) => r.id).join(', ')}); pick one by id`);
  return { id: Number(rows[0].id), symbol: rows[0].symbol };
}

/** The timeframes built for an asset, per family, in catalog order. */
export async function timeframesOf(store: Store, id: number): Promise<Record<Family, string[]>> {
  const out = {} as Record<Family, string[]>;
  const has1d = await store.query(`SELECT 1 AS x FROM ${q(priceBars1d.name)} WHERE id = $1 LIMIT 1`, [id]);
  out['1d'] = has1d.length ? ['1D'] : [];
  for (const f of FAMILIES.slice(1) as BarFamily[]) {
    const rows = await store.query<{ tf: string }>(`SELECT DISTINCT tf FROM ${q(BAR_TABLES[f].name)} WHERE id = $1`, [id]);
    out[f] = rows.map((r) => r.tf).sort((a, b) => (getTimeframe(a)?.sortOrder ?? 0) - (getTimeframe(b)?.sortOrder ?? 0));
  }
  return out;
}

/** The EMA periods built for an asset's timeframe in the EMA table that goes with the family. */
export async function periodsOf(store: Store, id: number, family: Family, tf: string): Promise<number[]> {
  const s = sources(familyOf(tf, family));
  const rows = await store.query<{ period: number }>(`SELECT DISTINCT period FROM ${q(s.ema)} WHERE id = $1 AND tf = $2`, [id, tf]);
  return rows.map((r) => Number(r.period)).sort((a, b) => a - b);
}

export async function chartData(store: Store, req: { id: number; family?: Family; tf: string; periods: number[] }): Promise<ChartData> {
  const asset = await assetById(store, req.id);
  const family = familyOf(req.tf, req.family);
  const s = sources(family);
  const ts = family === '1d' ? 'ts' : 'time_close';
  const tfFilter = family === '1d' ? '' : ' AND tf = $2';
  const bars = await store.query<{ t: number; open: number; high: number; low: number; close: number; volume: number }>(
    `SELECT ${ts} AS t, open, high, low, close, volume FROM ${q(s.bars)} WHERE id = $1${tfFilter} AND ${s.finished} ORDER BY ${ts}`,
    family === '1d' ? [req.id] : [req.id, req.tf],
  );
  const emas: Record<string, Point[]> = {};
  if (req.periods.length) {
    const marks = req.periods.map((_, i) => `$${i + 3}`).join(', ');
    const rows = await store.query<{ period: number; t: number; v: number | null }>(
      `SELECT period, ts AS t, ${s.emaCol} AS v FROM ${q(s.ema)} WHERE id = $1 AND tf = $2 AND period IN (${marks}) AND ${s.emaFinished} ORDER BY period, ts`,
      [req.id, req.tf, ...req.periods],
    );
    for (const p of req.periods) emas[String(p)] = [];
    for (const r of rows) if (r.v !== null) emas[String(Number(r.period))].push({ time: day(Number(r.t)), value: Number(r.v) });
  }
  return {
    id: asset.id, symbol: asset.symbol, family, tf: req.tf, periods: req.periods,
    bars: bars.map((b) => ({ time: day(Number(b.t)), open: Number(b.open), high: Number(b.high), low: Number(b.low), close: Number(b.close), volume: Number(b.volume) })),
    emas,
  };
}

export interface RefreshRunRow {
  run_id: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  status: string;
  /** What the run was asked to do, from its recorded options. */
  what: string;
  rows: number | null;
  failures: string[];
}

function describeOptions(text: string): string {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const parts: string[] = [];
    for (const [k, v] of Object.entries(o)) {
      if (v === undefined || v === null || v === false || (Array.isArray(v) && v.length === 0)) continue;
      const shown = Array.isArray(v) ? (v.length > 6 ? `${v.slice(0, 6).join(',')},… (${v.length})` : v.join(',')) : typeof v === 'object' ? JSON.stringify(v) : String(v);
      parts.push(v === true ? k : `${k} ${shown}`);
    }
    return parts.join('; ') || 'defaults';
  } catch {
    return text;
  }
}

/** The newest refresh runs: when, what, rows written, time taken and what failed. */
export async function refreshHistory(store: Store, limit = 50): Promise<RefreshRunRow[]> {
  const rows = await store.query<{ run_id: string; started_at: number; finished_at: number | null; options: string; status: string; summary: string | null }>(
    `SELECT run_id, started_at, finished_at, options, status, summary FROM ${q(refreshRuns.name)} ORDER BY started_at DESC LIMIT $1`, [limit],
  );
  return rows.map((r) => {
    let rowsWritten: number | null = null;
    const failures: string[] = [];
    if (r.summary) {
      try {
        const parsed = JSON.parse(r.summary) as unknown;
        // A run ended by an exception records only `{ error }`.
        if (!Array.isArray(parsed)) throw Object.assign(new Error(String((parsed as { error?: unknown })?.error ?? r.summary)), { whole: true });
        const comps = parsed as { component: string; rows: Record<string, number>; failed: { id: number; reason: string }[]; error?: string | null }[];
        rowsWritten = comps.reduce((s, c) => s + Object.values(c.rows ?? {}).reduce((a, b) => a + Number(b), 0), 0);
        for (const c of comps) {
          if (c.error) failures.push(`${c.component}: ${c.error}`);
          for (const f of c.failed ?? []) failures.push(`${c.component} ${f.id}: ${f.reason}`);
        }
      } catch (e) {
        failures.push((e as { whole?: boolean }).whole ? (e as Error).message : `summary unreadable: ${r.summary.slice(0, 80)}`);
      }
    }
    const s = Number(r.started_at);
    const f = r.finished_at === null ? null : Number(r.finished_at);
    return {
      run_id: r.run_id, started_at: new Date(s).toISOString(), finished_at: f === null ? null : new Date(f).toISOString(),
      duration_ms: f === null ? null : f - s, status: r.status, what: describeOptions(r.options), rows: rowsWritten, failures,
    };
  });
}

export interface FreshnessRow {
  id: number;
  symbol: string;
  first_day: string | null;
  last_day: string | null;
  age_days: number | null;
  source_rows: number;
  /** Derived tables whose newest day is behind the source's. */
  behind: string[];
}

export async function freshness(store: Store): Promise<FreshnessRow[]> {
  return (await collectStatus(store)).map((s) => ({
    id: s.id, symbol: s.symbol, first_day: s.firstDay, last_day: s.lastDay, age_days: s.ageDays, source_rows: s.sourceRows, behind: s.behind,
  }));
}

export interface BaselineSummary {
  file: string;
  /** The HTML report beside the JSON, when there is one. */
  html: string | null;
  tool: string;
  result: string;
  started_at: string;
  suffix: string;
  problems: string[];
  /** Failed tables first. */
  tables: { table: string; status: string; match_rate: number; severity: string; error: string | null }[];
}

const STATUS_ORDER: Record<string, number> = { FAIL: 0, ERROR: 1, SKIPPED: 2, PASS: 3 };
const RESULT_ORDER: Record<string, number> = { FAIL: 0, PASS: 1, 'DRY RUN': 2 };

/**
 * The baseline and diff reports in a directory (their JSON files), failed ones first, newest first within.
 * A file that is not a report is listed as unreadable rather than left out.
 */
export async function baselineReports(dir: string): Promise<BaselineSummary[]> {
  let names: string[];
  try {
    names = (await readdir(resolve(dir))).filter((n) => /^(baseline|diff)-.*\.json$/.test(n));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const all = new Set(await readdir(resolve(dir)));
  const out: BaselineSummary[] = [];
  for (const file of names) {
    const html = file.replace(/\.json$/, '.html');
    try {
      const r = JSON.parse(await readFile(join(resolve(dir), file), 'utf8'));
      const tables = (r.tables ?? []) as { table: string; status: string; matchRate: number; severity: string; error?: string }[];
      out.push({
        file, html: all.has(html) ? html : null, tool: String(r.tool), result: String(r.result), started_at: String(r.startedAt), suffix: String(r.suffix),
        problems: (r.problems ?? []).map(String),
        tables: tables.map((t) => ({ table: t.table, status: t.status, match_rate: Number(t.matchRate), severity: t.severity, error: t.error ?? null }))
          .sort((a, b) => (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9)),
      });
    } catch (e) {
      out.push({ file, html: null, tool: '?', result: 'UNREADABLE', started_at: '', suffix: '', problems: [(e as Error).message], tables: [] });
    }
  }
  const rank = (r: BaselineSummary) => (r.result === 'UNREADABLE' ? -1 : RESULT_ORDER[r.result] ?? 9);
  return out.sort((a, b) => rank(a) - rank(b) || b.started_at.localeCompare(a.started_at));
}
