// Group reads: what the per-asset components need to decide and continue, read for a whole group of assets
// in a few queries instead of a few queries per asset. With incremental runs the per-statement cost of the
// engines, not the data, dominated (DuckDB ~5 ms for even a one-row lookup), so a daily refresh of many
// assets reads its state, source extents and new rows here, once per group.
//
// Everything read here is of assets of the group only, and only the worker that owns the group writes them,
// so reading up front sees exactly what a per-asset read at the time would have seen.
import type { RawDaily } from '../compute/bars/daily1d.js';
import type { DailyCloses } from '../compute/ema/index.js';
import { DAY_MS } from '../compute/daily.js';
import { belongsTo, type BarFamily, type Timeframe } from '../catalog/timeframes.js';
import { q } from '../schema/ddl.js';
import { BAR_TABLES, priceBars1d } from '../schema/tables.js';
import type { Row, Store } from '../store/store.js';
import type { BarReads, Canon } from './bar-reads.js';
export type { Canon } from './bar-reads.js';
import { type Block, scanSources } from './fingerprint.js';
import { closesByTf, marketCapOptional, RAW_COLS, rawDailyFrom } from './load.js';
import { BARS_STATE_TABLES, commonState, EMAS_STATE_TABLES, idList, readStatesMany, type TableState } from './state.js';

export interface BarsFacts {
  states: Map<string, TableState>;
  /** Extent of the asset's price_histories rows (null when it has none). */
  raw: { n: number; lo: number; hi: number } | null;
  /** Earliest day of an unconsumed price_changes row (a revision, backfill or gap fill recorded by import). */
  changeLo: number | null;
  /** Latest detected_at among the unconsumed changes read: only those are consumed when the asset commits. */
  changeSeen: number | null;
  /** Fingerprints of the source rows now, all and up to the bars' watermark (fingerprint.ts). */
  fp?: { now: Block[]; old: Block[] };
  /** For an asset with bars state: its source rows and stored 1D rows from `from` (the lookback start) on. */
  tail?: { from: number; raw: RawDaily; stored: Row[] };
}

export interface EmasFacts {
  states: Map<string, TableState>;
  /** Last day of the asset's price_histories rows (the staleness gate). */
  srcHi: number | null;
  /** For an asset with EMA state: daily rows and canonical bar closes dated after its EMA watermark. */
  tail?: { after: number; daily: { ts: Float64Array; close: Float64Array }; canon: Map<string, Map<string, Canon>> };
  /** The asset's whole daily closes, read with its chunk when its daily run will turn a v2 guard on (emas.ts). */
  daily?: DailyCloses;
  /** Where its bar rows are read (bar-reads.ts); absent: the store. */
  reads?: BarReads;
}


const num = (v: unknown) => (v === null || v === undefined ? NaN : Number(v));
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * SQL: each asset's own bound, `(VALUES (id, instant), …) AS w(id, lo)`. A group's assets may stand at different
 * days (a source that stopped years ago): bounded by the group's earliest day alone, the reads below fetched
 * years of rows of every other asset, to be dropped here (the 18 CoinMarketCap files, last days from 2023 to
 * 2026: 9,349 rows of price_bars_multi_tf alone for a one-day refresh that needed 93 of the five tables).
 */
function boundsSql(bounds: ReadonlyMap<number, number>): string {
  idList([...bounds.keys()]); // integers only
  return `(VALUES ${[...bounds].map(([id, ms]) => `(${id}, CAST('${iso(ms)}' AS TIMESTAMPTZ))`).join(', ')}) AS w(id, lo)`;
}

/** Rows sorted by id, split per id. */
function byId<T extends Row>(rows: T[]): Map<number, T[]> {
  const out = new Map<number, T[]>();
  let i = 0;
  while (i < rows.length) {
    const id = Number(rows[i].id);
    let j = i;
    while (j < rows.length && Number(rows[j].id) === id) j++;
    out.set(id, rows.slice(i, j));
    i = j;
  }
  return out;
}

export async function prefetchBars(store: Store, ids: readonly number[], lookbackDays: number): Promise<Map<number, BarsFacts>> {
  const states = await readStatesMany(store, ids, BARS_STATE_TABLES);
  // Changes first, source rows after: an import commits its rows and its change records together, so every
  // change read here has its rows visible to the reads below. A change committed later is dated after the
  // latest one read (imports of one asset take turns, see importer) and stays pending for the next run.
  const changes = await store.query<{ id: number; lo: number; seen: number }>(
    `SELECT id, min(ts) AS lo, max(detected_at) AS seen FROM price_changes
     WHERE consumed_at IS NULL AND id IN (${idList(ids)}) GROUP BY id`,
  );
  // Extent and fingerprints in one grouped pass (the extent was its own aggregate before fingerprints).
  const scans = await scanSources(store, ids);
  const out = new Map<number, BarsFacts>();
  for (const id of ids) out.set(id, { states: states.get(id)!, raw: null, changeLo: null, changeSeen: null });
  for (const [id, e] of scans) {
    const f = out.get(id)!;
    f.raw = { n: e.n, lo: e.lo, hi: e.hi };
    f.fp = { now: e.now, old: e.old };
  }
  for (const c of changes) {
    const f = out.get(Number(c.id))!;
    f.changeLo = Number(c.lo);
    f.changeSeen = Number(c.seen);
  }

  // Tails for every asset that has a watermark: the lookback window and anything newer.
  const from = new Map<number, number>();
  for (const [id, f] of out) {
    const st = commonState(f.states, BARS_STATE_TABLES);
    if (st?.last_src_ts != null && f.raw) from.set(id, Number(st.last_src_ts) - lookbackDays * DAY_MS + 1);
  }
  if (from.size) {
    const lo = Math.min(...from.values());
    const list = idList([...from.keys()]);
    const own = (t: string) => `EXISTS (SELECT 1 FROM ${boundsSql(from)} WHERE w.id = ${t}.id AND ${t}.ts >= w.lo)`;
    const raw = byId(await store.query(
      `SELECT id, ${RAW_COLS} FROM price_histories WHERE id IN (${list}) AND ts >= $1::timestamptz AND ${own('price_histories')} ORDER BY id, ts`,
      [iso(lo)],
    ));
    const cols = priceBars1d.columns.filter((c) => c.name !== 'ingested_at').map((c) => q(c.name)).join(', ');
    const stored = byId(await store.query(
      `SELECT ${cols} FROM ${q(priceBars1d.name)} WHERE id IN (${list}) AND ts >= $1::timestamptz AND ${own(q(priceBars1d.name))} ORDER BY id, ts`,
      [iso(lo)],
    ));
    const mcOptional = await marketCapOptional(store, [...from.keys()]);
    for (const [id, f0] of from) {
      const mine = (raw.get(id) ?? []).filter((r) => Number(r.ts) >= f0);
      out.get(id)!.tail = {
        from: f0, raw: rawDailyFrom(id, mine, mcOptional.has(id)), stored: (stored.get(id) ?? []).filter((r) => Number(r.ts) >= f0),
      };
    }
  }
  return out;
}

/**
 * `tfs`: the timeframes whose canonical closes the caller will use (default: every timeframe in the bar
 * tables); an engine may read only those.
 */
export async function prefetchEmas(store: Store, ids: readonly number[], tfs?: readonly Timeframe[]): Promise<Map<number, EmasFacts>> {
  const states = await readStatesMany(store, ids, EMAS_STATE_TABLES);
  const hi = await store.query<{ id: number; hi: number }>(
    `SELECT id, max(ts) AS hi FROM price_histories WHERE id IN (${idList(ids)}) GROUP BY id`,
  );
  const out = new Map<number, EmasFacts>();
  for (const id of ids) out.set(id, { states: states.get(id)!, srcHi: null });
  for (const h of hi) out.get(Number(h.id))!.srcHi = Number(h.hi);

  const after = new Map<number, number>();
  for (const [id, f] of out) {
    const st = commonState(f.states, EMAS_STATE_TABLES);
    if (st?.last_src_ts != null) after.set(id, Number(st.last_src_ts));
  }
  if (after.size) {
    const lo = Math.min(...after.values());
    const list = idList([...after.keys()]);
    const t1d = q(priceBars1d.name);
    const daily = byId(await store.query<{ id: number; ts: number; close: number }>(
      `SELECT id, ts, close FROM ${t1d} WHERE id IN (${list}) AND ts > $1::timestamptz ` +
        `AND EXISTS (SELECT 1 FROM ${boundsSql(after)} WHERE w.id = ${t1d}.id AND ${t1d}.ts > w.lo) ORDER BY id, ts`,
      [iso(lo)],
    ));
    // One statement for the five bar tables (one per table cost ~5 ms each on DuckDB, whatever the rows).
    const families = Object.keys(BAR_TABLES) as BarFamily[];
    const tables = families.map((f) => BAR_TABLES[f]);
    const rows = await store.query<{ t: number; id: number; tf: string; time_close: number; close: number }>(
      families.map((f, k) => store.engine.barsAfterSql(
        q(BAR_TABLES[f].name), `${k} AS t, b.id, b.tf, b.time_close, b.close`, boundsSql(after),
        tfs?.filter((t) => belongsTo(t, f)).map((t) => t.tf), 'NOT b.is_partial_end',
      )).join('\nUNION ALL\n') +
        '\nORDER BY t, id, tf, time_close',
      [iso(lo)],
    );
    const canon = new Map<string, Map<number, Map<string, Canon>>>(tables.map((t) => [t.name, new Map()]));
    for (let i = 0; i < rows.length;) {
      let j = i;
      while (j < rows.length && Number(rows[j].t) === Number(rows[i].t)) j++;
      const perId = canon.get(tables[Number(rows[i].t)].name)!;
      for (const [id, part] of byId(rows.slice(i, j))) {
        const w = after.get(id)!;
        perId.set(id, closesByTf(part.filter((r) => Number(r.time_close) > w)));
      }
      i = j;
    }
    for (const [id, w] of after) {
      const d = (daily.get(id) ?? []).filter((r) => Number(r.ts) > w);
      out.get(id)!.tail = {
        after: w,
        daily: { ts: Float64Array.from(d, (r) => Number(r.ts)), close: Float64Array.from(d, (r) => num(r.close)) },
        canon: new Map([...canon].map(([t, perId]) => [t, perId.get(id) ?? new Map()])),
      };
    }
  }
  return out;
}

/** Whole daily closes of several assets (loadDailyCloses of each) in one query. */
export async function prefetchDailyCloses(store: Store, ids: readonly number[]): Promise<Map<number, DailyCloses>> {
  const rows = byId(await store.query<{ id: number; ts: number; close: number }>(
    `SELECT id, ts, close FROM price_bars_1d WHERE id IN (${idList(ids)}) ORDER BY id, ts`,
  ));
  const out = new Map<number, DailyCloses>();
  for (const [id, r] of rows) out.set(id, { id, ts: Float64Array.from(r, (x) => num(x.ts)), close: Float64Array.from(r, (x) => num(x.close)) });
  return out;
}
