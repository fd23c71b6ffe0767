// A token of what the refresh last did to the tables an asset's built matrix groups read: its refresh_state rows
// of price_bars_1d, the ISO calendar bars (week and month) and the EMA tables. Every write of those tables by the
// refresh (or a narrowed run marking rows ahead, or state dropped by a rebuild) changes the token, so an equal
// token means the inputs are the ones the rows were built from and the asset need not even be recomputed.
import { createHash } from 'node:crypto';
import { q } from '../schema/ddl.js';
import { BAR_TABLES, EMA_TABLES, priceBars1d, refreshState } from '../schema/tables.js';
import type { Store } from '../store/store.js';

const INPUT_TABLES = [priceBars1d.name, BAR_TABLES.cal_iso.name, ...Object.values(EMA_TABLES).map((t) => t.name)];

/** Per asset: the token ('' when the asset has no such state, which never matches). */
export async function readInputTokens(store: Store, ids: readonly number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>(ids.map((id) => [id, '']));
  if (!ids.length) return out;
  const rows = await store.query<Record<string, unknown>>(
    `SELECT id, table_name, last_run_id, last_run_ts, last_src_ts, source_rows, dirty_from, rows_ahead FROM ${q(refreshState.name)}
     WHERE id IN (${ids.map((i) => Number(i)).join(', ')}) AND table_name IN (${INPUT_TABLES.map((t) => `'${t}'`).join(', ')})
     ORDER BY id, table_name`,
  );
  const by = new Map<number, string[]>();
  for (const r of rows) {
    const id = Number(r.id);
    const v = [r.table_name, r.last_run_id, r.last_run_ts, r.last_src_ts, r.source_rows, r.dirty_from, r.rows_ahead]
      .map((x) => (x === null || x === undefined ? '' : x instanceof Date ? x.getTime() : Number.isFinite(Number(x)) && typeof x !== 'string' ? Number(x) : String(x)));
    (by.get(id) ?? by.set(id, []).get(id)!).push(v.join('|'));
  }
  for (const [id, parts] of by) out.set(id, createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32));
  return out;
}
