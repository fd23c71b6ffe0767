// price_histories -> price_bars_1d (+ price_bars_1d_rejects): repair, then accept or reject each day.
// Every row failing the filter is logged with a reason, rows with NULL volume or market cap included:
// nothing is dropped silently.
//
// Pure: one asset's rows in, two columnar batches and the run counters out.

import type { RowBatch } from '../../columnar/columns.js';
import { constText } from '../../columnar/columns.js';
import { DAY_MS, dayOf, type DailySeries } from '../daily.js';

/** One asset's price_histories rows, ascending by ts. Numbers and timestamps (epoch ms): NaN = NULL. */
export interface RawDaily {
  id: number;
  n: number;
  ts: Float64Array;
  timeOpen: Float64Array;
  timeClose: Float64Array;
  timeHigh: Float64Array;
  timeLow: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  marketCap: Float64Array;
  srcName: (string | null)[];
  srcFile: (string | null)[];
  srcLoadTs: Float64Array;
  /** The asset's source has no market cap: a NULL market cap is accepted (the bar keeps it NULL). */
  marketCapOptional?: boolean;
}

export interface Build1dCounters {
  upserted: number;
  repairedTimehigh: number;
  repairedTimelow: number;
  rejected: number;
}

export interface Build1dResult {
  /** price_bars_1d columns except ingested_at. */
  bars: RowBatch;
  /** price_bars_1d_rejects columns except rejected_at. */
  rejects: RowBatch;
  counters: Build1dCounters;
}

export interface Build1dOptions {
  /**
   * Number of distinct source timestamps of this asset strictly before `raw.ts[0]`. bar_seq is a rank over
   * the asset's whole history, so a caller that passes only a tail of the history (an incremental window)
   * must say how many rows precede it. Default 0 = `raw` is the whole history.
   */
  seqBase?: number;
}

/** Reject reasons in the order they are tested; a row gets the first that matches. */
export const REJECT_REASONS = [
  'null_pk',
  'null_tf_or_bar_seq',
  'null_time_open_time_close',
  'null_open_close',
  'null_volume',
  'null_market_cap',
  'time_open_gt_time_close',
  'null_time_high_time_low_after_repair',
  'time_high_outside_window_after_repair',
  'time_low_outside_window_after_repair',
  'null_ohlc_after_repair',
  'high_lt_low_after_repair',
  'high_lt_greatest(open,close,low)_after_repair',
  'low_gt_least(open,close,high)_after_repair',
  'failed_final_filter_unknown',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

const isNull = (v: number): boolean => v !== v;

// SQL GREATEST/LEAST semantics: NULL arguments are ignored; NULL only when every argument is NULL.
// The re-clamp step relies on this to fill a NULL high/low from the other prices.
function greatest(a: number, b: number, c = NaN, d = NaN): number {
  let r = NaN;
  if (a === a) r = a;
  if (b === b && !(b <= r)) r = b;
  if (c === c && !(c <= r)) r = c;
  if (d === d && !(d <= r)) r = d;
  return r;
}
function least(a: number, b: number, c = NaN, d = NaN): number {
  let r = NaN;
  if (a === a) r = a;
  if (b === b && !(b >= r)) r = b;
  if (c === c && !(c >= r)) r = c;
  if (d === d && !(d >= r)) r = d;
  return r;
}

function rejectReason(
  id: number, ts: number, to: number, tc: number, th: number, tl: number,
  o: number, h: number, l: number, c: number, v: number, mc: number, mcOptional: boolean,
): RejectReason | null {
  if (isNull(id) || isNull(ts)) return 'null_pk';
  // tf is the constant '1D' and bar_seq is assigned to every row with a ts, so null_tf_or_bar_seq cannot
  // fire here; it stays in REJECT_REASONS so the reason vocabulary matches the reference.
  if (isNull(to) || isNull(tc)) return 'null_time_open_time_close';
  if (isNull(o) || isNull(c)) return 'null_open_close';
  if (isNull(v)) return 'null_volume';
  if (isNull(mc) && !mcOptional) return 'null_market_cap';
  if (to > tc) return 'time_open_gt_time_close';
  if (isNull(th) || isNull(tl)) return 'null_time_high_time_low_after_repair';
  if (th < to || th > tc) return 'time_high_outside_window_after_repair';
  if (tl < to || tl > tc) return 'time_low_outside_window_after_repair';
  if (isNull(h) || isNull(l)) return 'null_ohlc_after_repair';
  if (h < l) return 'high_lt_low_after_repair';
  if (h < o || h < c || h < l) return 'high_lt_greatest(open,close,low)_after_repair';
  if (l > o || l > c || l > h) return 'low_gt_least(open,close,high)_after_repair';
  return null;
}

/**
 * Repair, filter and rank one asset's raw daily rows.
 *
 * bar_seq is the dense rank of ts over ALL source rows, rejected ones included, so rejected days leave
 * holes in bar_seq. We keep the holes on purpose: a row's bar_seq then
 * depends only on how many source rows precede it, so a later rejection or repair of one day never
 * renumbers the rest of the table, and the reject row can carry the bar_seq its day would have had.
 *
 * Zero volume and zero market cap are real values in CoinMarketCap exports and are kept; only NULLs reject,
 * and a NULL market cap only for an asset whose source has market cap at all.
 */
export function build1d(raw: RawDaily, opts: Build1dOptions = {}): Build1dResult {
  const n = raw.n;
  const seqBase = opts.seqBase ?? 0;

  // Dense rank needs ascending ts; a duplicate ts would also violate price_bars_1d's key (id, ts).
  const seq = new Float64Array(n);
  let rank = seqBase;
  let prevTs = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = raw.ts[i];
    if (isNull(t)) {
      seq[i] = NaN;
      continue;
    }
    if (t < prevTs) throw new Error(`build1d id ${raw.id}: rows not sorted by ts (row ${i})`);
    if (t === prevTs) throw new Error(`build1d id ${raw.id}: duplicate ts ${new Date(t).toISOString()} (row ${i})`);
    prevTs = t;
    seq[i] = ++rank;
  }

  // First pass: repair into scratch arrays and classify, so the outputs can be allocated at their exact size.
  const th1 = new Float64Array(n);
  const tl1 = new Float64Array(n);
  const hi1 = new Float64Array(n);
  const lo1 = new Float64Array(n);
  const repH = new Uint8Array(n);
  const repL = new Uint8Array(n);
  const reasons: (RejectReason | null)[] = new Array(n);
  let nOk = 0;
  for (let i = 0; i < n; i++) {
    const to = raw.timeOpen[i];
    const tc = raw.timeClose[i];
    const o = raw.open[i];
    const c = raw.close[i];
    let th = raw.timeHigh[i];
    let tl = raw.timeLow[i];
    let h = raw.high[i];
    let l = raw.low[i];
    // Comparisons with NaN are false, matching SQL's NULL-is-not-true in the reference CASE expressions.
    if (isNull(th) || th < to || th > tc) {
      th = c >= o ? tc : to;
      h = greatest(o, c);
      repH[i] = 1;
    }
    if (isNull(tl) || tl < to || tl > tc) {
      tl = c <= o ? tc : to;
      l = least(o, c);
      repL[i] = 1;
    }
    const hFinal = greatest(h, o, c, l);
    const lFinal = least(l, o, c, h);
    th1[i] = th;
    tl1[i] = tl;
    hi1[i] = hFinal;
    lo1[i] = lFinal;
    const reason = rejectReason(
      raw.id, raw.ts[i], to, tc, th, tl, o, hFinal, lFinal, c, raw.volume[i], raw.marketCap[i], !!raw.marketCapOptional,
    );
    reasons[i] = reason;
    if (reason === null) nOk++;
  }

  const nRej = n - nOk;
  const b = {
    id: new Int32Array(nOk), ts: new Float64Array(nOk), bar_seq: new Int32Array(nOk),
    time_open: new Float64Array(nOk), time_close: new Float64Array(nOk), time_high: new Float64Array(nOk),
    time_low: new Float64Array(nOk), open: new Float64Array(nOk), high: new Float64Array(nOk),
    low: new Float64Array(nOk), close: new Float64Array(nOk), volume: new Float64Array(nOk),
    market_cap: new Float64Array(nOk), src_name: new Array<string | null>(nOk), src_load_ts: new Float64Array(nOk),
    src_file: new Array<string | null>(nOk), repaired_timehigh: new Uint8Array(nOk), repaired_timelow: new Uint8Array(nOk),
  };
  const r = {
    id: new Int32Array(nRej), ts: new Float64Array(nRej), reason: new Array<string | null>(nRej),
    // Nullable in the schema: a row without ts has no rank.
    bar_seq: new Float64Array(nRej),
    time_open: new Float64Array(nRej), time_close: new Float64Array(nRej), time_high: new Float64Array(nRej),
    time_low: new Float64Array(nRej), open: new Float64Array(nRej), high: new Float64Array(nRej),
    low: new Float64Array(nRej), close: new Float64Array(nRej), volume: new Float64Array(nRej),
    market_cap: new Float64Array(nRej), src_file: new Array<string | null>(nRej),
  };
  let k = 0;
  let j = 0;
  let repairedTimehigh = 0;
  let repairedTimelow = 0;
  for (let i = 0; i < n; i++) {
    const reason = reasons[i];
    if (reason === null) {
      b.id[k] = raw.id;
      b.ts[k] = raw.ts[i];
      b.bar_seq[k] = seq[i];
      b.time_open[k] = raw.timeOpen[i];
      b.time_close[k] = raw.timeClose[i];
      b.time_high[k] = th1[i];
      b.time_low[k] = tl1[i];
      b.open[k] = raw.open[i];
      b.high[k] = hi1[i];
      b.low[k] = lo1[i];
      b.close[k] = raw.close[i];
      b.volume[k] = raw.volume[i];
      b.market_cap[k] = raw.marketCap[i];
      b.src_name[k] = raw.srcName[i] ?? null;
      b.src_load_ts[k] = raw.srcLoadTs[i];
      b.src_file[k] = raw.srcFile[i] ?? null;
      b.repaired_timehigh[k] = repH[i];
      b.repaired_timelow[k] = repL[i];
      repairedTimehigh += repH[i];
      repairedTimelow += repL[i];
      k++;
    } else {
      // Rejects carry the values the filter saw (after repair), so the reason can be checked against the row.
      r.id[j] = raw.id;
      r.ts[j] = raw.ts[i];
      r.reason[j] = reason;
      r.bar_seq[j] = seq[i];
      r.time_open[j] = raw.timeOpen[i];
      r.time_close[j] = raw.timeClose[i];
      r.time_high[j] = th1[i];
      r.time_low[j] = tl1[i];
      r.open[j] = raw.open[i];
      r.high[j] = hi1[i];
      r.low[j] = lo1[i];
      r.close[j] = raw.close[i];
      r.volume[j] = raw.volume[i];
      r.market_cap[j] = raw.marketCap[i];
      r.src_file[j] = raw.srcFile[i] ?? null;
      j++;
    }
  }

  const falses = new Uint8Array(nOk);
  const bars: RowBatch = {
    length: nOk,
    cols: {
      id: b.id, ts: b.ts, tf: constText('1D', nOk), bar_seq: b.bar_seq,
      time_open: b.time_open, time_close: b.time_close, time_high: b.time_high, time_low: b.time_low,
      open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume, market_cap: b.market_cap,
      is_partial_start: falses, is_partial_end: falses.slice(), is_missing_days: falses.slice(),
      src_name: b.src_name, src_load_ts: b.src_load_ts, src_file: b.src_file,
      repaired_timehigh: b.repaired_timehigh, repaired_timelow: b.repaired_timelow,
    },
  };
  const rejects: RowBatch = { length: nRej, cols: { ...r } };
  return {
    bars,
    rejects,
    counters: { upserted: nOk, repairedTimehigh, repairedTimelow, rejected: nRej },
  };
}

/** Columnar RawDaily from plain rows (tests, small fixtures). Missing fields are NULL. */
export function rawDailyFromRows(
  id: number,
  rows: {
    ts: number | null; timeOpen?: number | null; timeClose?: number | null; timeHigh?: number | null;
    timeLow?: number | null; open?: number | null; high?: number | null; low?: number | null; close?: number | null;
    volume?: number | null; marketCap?: number | null; srcName?: string | null; srcFile?: string | null;
    srcLoadTs?: number | null;
  }[],
): RawDaily {
  const n = rows.length;
  const f = (pick: (r: (typeof rows)[number]) => number | null | undefined): Float64Array => {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = pick(rows[i]) ?? NaN;
    return a;
  };
  return {
    id, n, ts: f((r) => r.ts), timeOpen: f((r) => r.timeOpen), timeClose: f((r) => r.timeClose),
    timeHigh: f((r) => r.timeHigh), timeLow: f((r) => r.timeLow), open: f((r) => r.open), high: f((r) => r.high),
    low: f((r) => r.low), close: f((r) => r.close), volume: f((r) => r.volume), marketCap: f((r) => r.marketCap),
    srcName: rows.map((r) => r.srcName ?? null), srcFile: rows.map((r) => r.srcFile ?? null),
    srcLoadTs: f((r) => r.srcLoadTs),
  };
}

type NumCol = ArrayLike<number>;

function numCol(batch: RowBatch, name: string): NumCol {
  const c = batch.cols[name];
  if (c === undefined || Array.isArray(c)) throw new Error(`price_bars_1d batch: numeric column ${name} missing`);
  return c;
}

/**
 * DailySeries (the input of every bar and EMA kernel) from price_bars_1d rows of one asset, ascending by ts,
 * e.g. build1d(...).bars or rows read back from the store. Throws when two rows fall on the same UTC day or
 * the rows are out of order, because every bar kernel assumes one row per day.
 */
export function dailyFrom1d(batch: RowBatch, id?: number): DailySeries {
  const n = batch.length;
  const s: DailySeries = {
    id: id ?? (n > 0 ? numCol(batch, 'id')[0] : 0), n, day: new Int32Array(n), ts: new Float64Array(n),
    timeOpen: new Float64Array(n), timeHigh: new Float64Array(n), timeLow: new Float64Array(n),
    open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n),
    volume: new Float64Array(n), marketCap: new Float64Array(n),
  };
  if (n === 0) return s;
  const ts = numCol(batch, 'ts');
  const to = numCol(batch, 'time_open');
  const th = numCol(batch, 'time_high');
  const tl = numCol(batch, 'time_low');
  const o = numCol(batch, 'open');
  const h = numCol(batch, 'high');
  const l = numCol(batch, 'low');
  const c = numCol(batch, 'close');
  const v = numCol(batch, 'volume');
  const mc = numCol(batch, 'market_cap');
  let prevDay = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = ts[i];
    const d = dayOf(t);
    if (!(d > prevDay)) {
      throw new Error(
        `daily series id ${s.id}: ${d === prevDay ? 'two rows on' : 'rows out of order at'} ` +
        `${Number.isFinite(t) ? new Date(d * DAY_MS).toISOString().slice(0, 10) : 'NULL ts'} (row ${i})`,
      );
    }
    prevDay = d;
    s.day[i] = d;
    s.ts[i] = t;
    s.timeOpen[i] = to[i];
    s.timeHigh[i] = th[i];
    s.timeLow[i] = tl[i];
    s.open[i] = o[i];
    s.high[i] = h[i];
    s.low[i] = l[i];
    s.close[i] = c[i];
    s.volume[i] = v[i];
    s.marketCap[i] = mc[i];
  }
  return s;
}
