// Reading one asset's inputs from the store into the kernels' typed-array shapes.
import type { RawDaily } from '../compute/bars/daily1d.js';
import type { DailySeries } from '../compute/daily.js';
import type { DailyCloses } from '../compute/ema/index.js';
import { dayOf } from '../compute/daily.js';
import type { Store } from '../store/store.js';

const num = (v: unknown) => (v === null || v === undefined ? NaN : Number(v));

/** price_histories columns the 1D builder reads. */
export const RAW_COLS = 'ts, time_open, time_close, time_high, time_low, open, high, low, close, volume, market_cap, src_name, source_file, load_ts';

export async function loadRawDaily(store: Store, id: number): Promise<RawDaily> {
  const rows = await store.query(`SELECT ${RAW_COLS} FROM price_histories WHERE id = $1 ORDER BY ts`, [id]);
  return rawDailyFrom(id, rows, (await marketCapOptional(store, [id])).has(id));
}

/** Which of these assets build bars without market cap (dim_assets.market_cap_optional). */
export async function marketCapOptional(store: Store, ids: readonly number[]): Promise<Set<number>> {
  if (!ids.length) return new Set();
  const rows = await store.query<{ id: number }>(
    `SELECT id FROM dim_assets WHERE market_cap_optional AND id IN (${ids.map((i) => Number(i)).join(', ')})`,
  );
  return new Set(rows.map((r) => Number(r.id)));
}

/** One asset's price_histories rows (ascending by ts, RAW_COLS) as the 1D builder's input. */
export function rawDailyFrom(id: number, rows: Record<string, unknown>[], marketCapOptional = false): RawDaily {
  const n = rows.length;
  const f = (k: string) => Float64Array.from(rows, (r) => num(r[k]));
  return {
    id, n, ts: f('ts'), timeOpen: f('time_open'), timeClose: f('time_close'), timeHigh: f('time_high'),
    timeLow: f('time_low'), open: f('open'), high: f('high'), low: f('low'), close: f('close'), volume: f('volume'),
    marketCap: f('market_cap'), srcName: rows.map((r) => (r.src_name as string | null) ?? null),
    srcFile: rows.map((r) => (r.source_file as string | null) ?? null), srcLoadTs: f('load_ts'), marketCapOptional,
  };
}

/** The asset's price_bars_1d rows as the kernels' DailySeries. */
export async function loadDailySeries(store: Store, id: number): Promise<DailySeries> {
  const rows = await store.query(
    `SELECT ts, time_open, time_high, time_low, open, high, low, close, volume, market_cap
     FROM price_bars_1d WHERE id = $1 ORDER BY ts`,
    [id],
  );
  const n = rows.length;
  const f = (k: string) => Float64Array.from(rows, (r) => num(r[k]));
  const ts = f('ts');
  return {
    id, n, day: Int32Array.from(ts, (t) => dayOf(t)), ts, timeOpen: f('time_open'), timeHigh: f('time_high'),
    timeLow: f('time_low'), open: f('open'), high: f('high'), low: f('low'), close: f('close'), volume: f('volume'),
    marketCap: f('market_cap'),
  };
}

/** The asset's daily closes (price_bars_1d), all a v2 series needs: a guard flip rewrites its pair whole. */
export async function loadDailyCloses(store: Store, id: number): Promise<DailyCloses> {
  const rows = await store.query('SELECT ts, close FROM price_bars_1d WHERE id = $1 ORDER BY ts', [id]);
  return { id, ts: Float64Array.from(rows, (r) => num(r.ts)), close: Float64Array.from(rows, (r) => num(r.close)) };
}

/** Every canonical (is_partial_end = false) bar close of one asset in one bar table, grouped by tf. */
export async function loadCanonicalCloses(
  store: Store, table: string, id: number,
): Promise<Map<string, { ts: Float64Array; close: Float64Array }>> {
  const rows = await store.query<{ tf: string; time_close: number; close: number }>(
    `SELECT tf, time_close, close FROM ${table} WHERE id = $1 AND NOT is_partial_end ORDER BY tf, time_close`,
    [id],
  );
  return closesByTf(rows);
}

/** Bar closes ordered by (tf, time_close), as one (ts, close) pair of arrays per tf. */
export function closesByTf(
  rows: { tf: string; time_close: number; close: number }[],
): Map<string, { ts: Float64Array; close: Float64Array }> {
  const out = new Map<string, { ts: Float64Array; close: Float64Array }>();
  let i = 0;
  while (i < rows.length) {
    let j = i;
    while (j < rows.length && rows[j].tf === rows[i].tf) j++;
    const part = rows.slice(i, j);
    out.set(rows[i].tf, {
      ts: Float64Array.from(part, (r) => Number(r.time_close)),
      close: Float64Array.from(part, (r) => num(r.close)),
    });
    i = j;
  }
  return out;
}

/** Assets to work on: the given ids (checked to exist) or every asset with source rows. */
export async function selectAssets(store: Store, ids?: number[]): Promise<{ id: number; symbol: string }[]> {
  const all = await store.query<{ id: number; symbol: string }>(
    // Assets with derived state but no source rows left are included: their derived rows must go too. EXISTS
    // rather than a join with every price row: one probe per asset.
    `SELECT a.id, a.symbol FROM dim_assets a
     WHERE EXISTS (SELECT 1 FROM price_histories p WHERE p.id = a.id) OR EXISTS (SELECT 1 FROM refresh_state s WHERE s.id = a.id)
     ORDER BY a.id`,
  );
  if (!ids) return all;
  const have = new Map(all.map((a) => [a.id, a]));
  return ids.map((id) => have.get(id) ?? { id, symbol: `#${id}` });
}
