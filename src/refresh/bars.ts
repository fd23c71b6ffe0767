// The bars component for one asset: price_histories → price_bars_1d (+ rejects) → five snapshot tables.
//
// Every bar row is a function of the days up to its own day (the kernels are prefix-stable, which the
// property tests pin down), so a change at day D can only alter rows dated ≥ D. The component finds the
// earliest changed day D from its state, recomputes the asset in memory, and replaces only rows ≥ D.
// A full rebuild is the same path with D = −∞.
import { BAR_FAMILIES, belongsTo, type Timeframe } from '../catalog/timeframes.js';
import { build1d, dailyFrom1d, type Build1dCounters } from '../compute/bars/daily1d.js';
import { buildBarsForTimeframe } from '../compute/bars/index.js';
import { DAY_MS } from '../compute/daily.js';
import { q } from '../schema/ddl.js';
import { BAR_TABLES, priceBars1d, priceBars1dRejects, type Table } from '../schema/tables.js';
import { concatBatches, rowsFrom, sliceBatch, type RowBatch } from '../store/columns.js';
import type { Store } from '../store/store.js';
import { lowerBound } from '../util/search.js';
import { loadRawDaily } from './load.js';
import { BARS_STATE_TABLES, commonState, EMAS_STATE_TABLES, markDirty, readStates, writeStates } from './state.js';

export interface BarsOptions {
  /** The timeframe selection; `narrowed` = not the configured default (then no state is read or moved). */
  tfs: readonly Timeframe[];
  narrowed: boolean;
  fullRebuild: boolean;
  lookbackDays: number;
  runId: string;
  /** Plan only: decide what would be rebuilt, write nothing. */
  dryRun?: boolean;
}

export interface AssetBarsResult {
  status: 'built' | 'current';
  /** Earliest day recomputed (epoch ms), −∞ for a whole rebuild, +∞ when current. */
  from: number;
  reason: string;
  rows: Record<string, number>;
  counters: Build1dCounters;
  lastSrcTs: number;
  gaps: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Delete one asset's rows of `table` dated ≥ from (all when from = −∞), optionally only some tfs. */
export async function deleteFrom(store: Store, table: Table, id: number, timeCol: string, from: number, tfs?: string[]): Promise<void> {
  if (tfs && tfs.length === 0) return;
  const params: unknown[] = [id];
  let sql = `DELETE FROM ${q(table.name)} WHERE id = $1`;
  if (from !== -Infinity) {
    params.push(iso(from));
    sql += ` AND ${q(timeCol)} >= $${params.length}::timestamptz`;
  }
  if (tfs) {
    sql += ` AND tf IN (${tfs.map((_, i) => `$${params.length + i + 1}`).join(', ')})`;
    params.push(...tfs);
  }
  await store.exec(sql, params);
}

/** Earliest day whose 1D row (or reject) differs between the stored table and `built`, within [from, ∞). */
async function firstDifference(store: Store, id: number, built: RowBatch, from: number): Promise<number> {
  const cols = priceBars1d.columns.filter((c) => c.name !== 'ingested_at');
  const stored = await store.query(
    `SELECT ${cols.map((c) => q(c.name)).join(', ')} FROM ${q(priceBars1d.name)}
     WHERE id = $1 AND ts >= $2::timestamptz ORDER BY ts`,
    [id, iso(from)],
  );
  const mine = rowsFrom(built, 'ts', from);
  const n = Math.max(stored.length, mine.length);
  for (let i = 0; i < n; i++) {
    const s = stored[i];
    if (!s || i >= mine.length) return Math.min(s ? Number(s.ts) : Infinity, i < mine.length ? (mine.cols.ts as Float64Array)[i] : Infinity);
    for (const c of cols) {
      const v = mine.cols[c.name][i];
      const a = s[c.name];
      const same = c.type === 'bool' ? Boolean(a) === (v !== 0)
        : typeof v === 'number' ? (Number.isNaN(v) ? a === null : Number(a) === v) : (a ?? null) === (v ?? null);
      if (!same) return Math.min(Number(s.ts), (mine.cols.ts as Float64Array)[i]);
    }
  }
  return Infinity;
}

/** Rows with time ≥ from of a batch sorted ascending by that time column. */
function tailFrom(batch: RowBatch, timeCol: string, from: number): RowBatch {
  if (from === -Infinity || batch.length === 0) return batch;
  return sliceBatch(batch, lowerBound(batch.cols[timeCol] as Float64Array, from, batch.length));
}

export async function refreshAssetBars(store: Store, id: number, opts: BarsOptions): Promise<AssetBarsResult> {
  const raw = await loadRawDaily(store, id);
  const built = build1d(raw);
  const lastSrcTs = raw.n ? raw.ts[raw.n - 1] : NaN;
  const result: AssetBarsResult = {
    status: 'built', from: -Infinity, reason: 'full rebuild', rows: {}, counters: built.counters, lastSrcTs, gaps: 0,
  };
  if (raw.n === 0) return { ...result, status: 'current', from: Infinity, reason: 'no source rows' };

  let from = -Infinity;
  // Rows are dated at most the watermark, so a change strictly after it (new days only) deletes nothing.
  let watermark = Infinity;
  if (opts.narrowed) result.reason = 'selected timeframes';
  else if (!opts.fullRebuild) {
    const st = commonState(await readStates(store, id, BARS_STATE_TABLES), BARS_STATE_TABLES);
    if (!st || st.last_src_ts === null || st.daily_min_seen === null) result.reason = 'first build';
    else if (raw.ts[0] !== st.daily_min_seen) result.reason = raw.ts[0] < st.daily_min_seen ? 'backfill' : 'history shrank';
    else {
      from = Infinity;
      const reasons: string[] = [];
      const ch = await store.query<{ lo: number | null }>(
        'SELECT min(ts) AS lo FROM price_changes WHERE id = $1 AND consumed_at IS NULL', [id],
      );
      if (ch[0].lo !== null) {
        from = Math.min(from, ch[0].lo);
        reasons.push('revised history');
      }
      const firstNew = raw.ts.find((t) => t > st.last_src_ts!);
      if (firstNew !== undefined) {
        from = Math.min(from, firstNew);
        reasons.push('new days');
      }
      // Lookback: re-read the last days before the watermark and compare with what is stored, which catches
      // source edits that did not come through `talab import`.
      const diff = await firstDifference(store, id, built.bars, st.last_src_ts - opts.lookbackDays * DAY_MS + 1);
      if (diff < from) {
        from = diff;
        reasons.push('changed within lookback');
      }
      if (from === Infinity) return { ...result, status: 'current', from, reason: 'already current' };
      result.reason = reasons.join(', ');
      watermark = st.last_src_ts;
    }
  }
  const needDelete = !(from > watermark);
  result.from = from;
  if (opts.dryRun) return result;

  const whole = !opts.narrowed;
  const bars1d = rowsFrom(built.bars, 'ts', from);
  const rejects = rowsFrom(built.rejects, 'ts', from);
  // Counters describe what this run wrote, not the whole history.
  const count = (col: string) => (bars1d.cols[col] as Uint8Array | undefined)?.reduce((s, v) => s + v, 0) ?? 0;
  result.counters = {
    upserted: bars1d.length, rejected: rejects.length,
    repairedTimehigh: count('repaired_timehigh'), repairedTimelow: count('repaired_timelow'),
  };
  if (needDelete) {
    await deleteFrom(store, priceBars1d, id, 'ts', from);
    await deleteFrom(store, priceBars1dRejects, id, 'ts', from);
  }
  result.rows[priceBars1d.name] = await store.append(priceBars1d, bars1d);
  result.rows[priceBars1dRejects.name] = await store.append(priceBars1dRejects, rejects);
  const series = dailyFrom1d(built.bars, id);
  for (const family of BAR_FAMILIES) {
    const table = BAR_TABLES[family];
    const sel = opts.tfs.filter((t) => belongsTo(t, family));
    if (needDelete) await deleteFrom(store, table, id, 'time_close', from, whole ? undefined : sel.map((t) => t.tf));
    // Each timeframe's rows come out ascending by time_close: keep just the tail of each before
    // concatenating, so an incremental run does not copy the whole history's rows.
    const tails = sel.map((tf) => tailFrom(buildBarsForTimeframe(series, family, tf), 'time_close', from));
    result.rows[table.name] = sel.length ? await store.append(table, concatBatches(tails)) : 0;
  }
  for (let i = 1; i < series.n; i++) result.gaps += series.day[i] - series.day[i - 1] - 1;
  if (!opts.narrowed) {
    await writeStates(store, id, BARS_STATE_TABLES, {
      lastSrcTs, dailyMinSeen: raw.ts[0], sourceRows: raw.n, runId: opts.runId, rowsWritten: result.rows,
      repairedHigh: result.counters.repairedTimehigh, repairedLow: result.counters.repairedTimelow,
      rejected: result.counters.rejected,
    });
    await markDirty(store, id, EMAS_STATE_TABLES, from);
    await store.exec('UPDATE price_changes SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL', [id]);
  }
  return result;
}
