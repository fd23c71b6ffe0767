// Watermark state of the derived tables (refresh_state) and how a refresh decides where to start.
// docs/state-management.md is the operator's guide to these rules.
import { q } from '../schema/ddl.js';
import { BAR_TABLES, EMA_TABLES, priceBars1d, refreshState } from '../schema/tables.js';
import type { Store } from '../store/store.js';

/** Tables whose rows the bars component writes, and the EMA component, each moving together. */
export const BARS_STATE_TABLES = [priceBars1d.name, ...Object.values(BAR_TABLES).map((t) => t.name)];
export const EMAS_STATE_TABLES = Object.values(EMA_TABLES).map((t) => t.name);

export interface TableState {
  table_name: string;
  last_src_ts: number | null;
  daily_min_seen: number | null;
  dirty_from: number | null;
  source_rows: number;
  last_run_ts: number;
  last_run_id: string | null;
}

export async function readStates(store: Store, id: number, tables: string[]): Promise<Map<string, TableState>> {
  const rows = await store.query<TableState & Record<string, unknown>>(
    `SELECT table_name, last_src_ts, daily_min_seen, dirty_from, source_rows, last_run_ts, last_run_id
     FROM ${q(refreshState.name)} WHERE id = $1`,
    [id],
  );
  const want = new Set(tables);
  return new Map(rows.filter((r) => want.has(r.table_name)).map((r) => [r.table_name, r]));
}

/**
 * The component's common state when every one of its tables has a row and they agree; otherwise undefined,
 * which means "rebuild from scratch" (a table was added, reset, or a previous run was interrupted between
 * tables — impossible inside one transaction, but cheap to be safe about).
 */
export function commonState(states: Map<string, TableState>, tables: string[]): TableState | undefined {
  const first = states.get(tables[0]);
  if (!first) return undefined;
  for (const t of tables) {
    const s = states.get(t);
    if (!s || s.last_src_ts !== first.last_src_ts || s.daily_min_seen !== first.daily_min_seen) return undefined;
  }
  const dirty = tables.map((t) => states.get(t)!.dirty_from).filter((d): d is number => d !== null);
  return { ...first, dirty_from: dirty.length ? Math.min(...dirty) : null };
}

export interface StateUpdate {
  lastSrcTs: number;
  dailyMinSeen: number;
  sourceRows: number;
  runId: string;
  rowsWritten: Record<string, number>;
  repairedHigh?: number;
  repairedLow?: number;
  rejected?: number;
}

/** Upsert the state rows of `tables` for one asset (inside the asset's data transaction). */
export async function writeStates(store: Store, id: number, tables: string[], u: StateUpdate): Promise<void> {
  const n = tables.length;
  const now = Date.now();
  await store.upsert(refreshState, {
    length: n,
    cols: {
      id: new Int32Array(n).fill(id),
      table_name: [...tables],
      last_src_ts: new Float64Array(n).fill(u.lastSrcTs),
      daily_min_seen: new Float64Array(n).fill(u.dailyMinSeen),
      dirty_from: new Float64Array(n).fill(NaN),
      source_rows: new Int32Array(n).fill(u.sourceRows),
      last_run_ts: new Float64Array(n).fill(now),
      last_run_id: tables.map(() => u.runId),
      rows_written: Float64Array.from(tables, (t) => u.rowsWritten[t] ?? 0),
      repaired_timehigh: new Int32Array(n).fill(u.repairedHigh ?? 0),
      repaired_timelow: new Int32Array(n).fill(u.repairedLow ?? 0),
      rejected: new Int32Array(n).fill(u.rejected ?? 0),
    },
  });
}

/** Tell the EMA tables that their inputs changed from `from` on (same transaction as the bar writes). */
export async function markDirty(store: Store, id: number, tables: string[], from: number): Promise<void> {
  if (from === -Infinity) {
    // Everything changed (first build, backfill, full rebuild): dropping the state means "rebuild whole".
    const l = tables.map((_, i) => `$${i + 2}`).join(', ');
    await store.exec(`DELETE FROM ${q(refreshState.name)} WHERE id = $1 AND table_name IN (${l})`, [id, ...tables]);
    return;
  }
  const list = tables.map((_, i) => `$${i + 3}`).join(', ');
  const iso = new Date(from).toISOString();
  await store.exec(
    `UPDATE ${q(refreshState.name)} SET dirty_from = CASE WHEN dirty_from IS NULL OR dirty_from > $2::timestamptz
       THEN $2::timestamptz ELSE dirty_from END
     WHERE id = $1 AND table_name IN (${list})`,
    [id, iso, ...tables],
  );
}

/** Forget the state of these assets (baseline truncation, manual reset): the next refresh rebuilds them. */
export async function resetState(store: Store, ids: number[] | null): Promise<void> {
  if (ids === null) await store.exec(`DELETE FROM ${q(refreshState.name)}`);
  else for (const id of ids) await store.exec(`DELETE FROM ${q(refreshState.name)} WHERE id = $1`, [id]);
}
