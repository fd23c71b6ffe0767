// Watermark state of the derived tables (refresh_state) and how a refresh decides where to start.
// docs/state-management.md is the operator's guide to these rules.
import { createHash } from 'node:crypto';
import { packCarry, unpackCarry } from './carry-codec.js';
import { q } from '../schema/ddl.js';
import { BAR_TABLES, EMA_TABLES, priceBars1d, refreshState } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import type { Writes } from './writes.js';

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
  /** Layout name of `carry` (see carryKey); null when no carry was kept. */
  carry_key?: string | null;
  /** Kernel state after the table's last row (encodeCarry). */
  carry?: Uint8Array | null;
  /** A narrowed run wrote rows dated after last_src_ts: the next default run must delete before it writes. */
  rows_ahead?: boolean;
  /**
   * Earliest day this family's last runs rewrote (−∞: rebuilt whole) that a family reading its rows has not run
   * since; null when none. Kept on the family's own rows: no family writes another's state.
   */
  changed_from?: number | null;
  /** price_bars_1d row: fingerprint of the source rows consumed (fingerprint.ts); null before the first build under schema 7. */
  src_fp?: string | null;
}

const STATE_COLS =
  'id, table_name, last_src_ts, daily_min_seen, dirty_from, changed_from, source_rows, last_run_ts, last_run_id, carry_key, rows_ahead, src_fp';

/**
 * `changed_from` of a whole rebuild: a day before any market data (timestamp columns hold no −∞ on both
 * engines), read back as −∞.
 */
const WHOLE = Date.parse('0001-01-01T00:00:00Z');

/** A stored `changed_from` as a day, −∞ for a whole rebuild, null for none. */
export function changedFrom(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const ms = Number(v);
  return ms <= WHOLE ? -Infinity : ms;
}

/** Integer ids inlined into SQL (they come from the database as integers; checked anyway). */
export function idList(ids: readonly number[]): string {
  for (const id of ids) if (!Number.isSafeInteger(id)) throw new Error(`internal: asset id ${id} is not an integer`);
  return ids.length ? ids.join(', ') : 'NULL';
}

/**
 * The state rows of many assets in one query, grouped by asset; `carry` is read only for `withCarry` tables
 * (a component needs its own tables' carries, not the other component's).
 */
export async function readStatesMany(
  store: Store, ids: readonly number[], withCarry: readonly string[],
): Promise<Map<number, Map<string, TableState>>> {
  const carryCol = withCarry.length
    ? `CASE WHEN table_name IN (${withCarry.map((t) => `'${t}'`).join(', ')}) THEN carry END AS carry`
    : 'NULL AS carry';
  const rows = await store.query<TableState & { id: number } & Record<string, unknown>>(
    `SELECT ${STATE_COLS}, ${carryCol} FROM ${q(refreshState.name)} WHERE id IN (${idList(ids)})`,
  );
  const out = new Map<number, Map<string, TableState>>(ids.map((id) => [id, new Map()]));
  for (const r of rows) out.get(Number(r.id))?.set(r.table_name, r);
  return out;
}

/**
 * Name of a carry layout: the kernel's carry length and the ordered timeframes (and periods) it covers. A carry
 * written under another selection or kernel version does not match, and the asset is recomputed whole.
 */
export function carryKey(kind: string, len: number, tfs: readonly string[], periods: readonly number[] = []): string {
  const h = createHash('sha1').update(`${kind}|${len}|${tfs.join(',')}|${periods.join(',')}`).digest('hex');
  return `${kind}:${h.slice(0, 16)}`;
}

/** A carry as it is kept: its records of `stride` doubles, `group` records per timeframe (hints for packing). */
export interface Carry {
  key: string;
  data: Float64Array;
  stride: number;
  group: number;
}

/** A carry as stored in refresh_state.carry (BLOB / bytea): its packed bytes (carry-codec.ts). */
export function encodeCarry(c: Pick<Carry, 'data' | 'stride' | 'group'>): Uint8Array {
  return packCarry(c.data, c.stride, c.group);
}

/** The carry of a state row when its layout is `key` (and `length` doubles long), else undefined. */
export function decodeCarry(st: TableState | undefined, key: string, length: number): Float64Array | undefined {
  if (!st || st.carry_key !== key || !(st.carry instanceof Uint8Array)) return undefined;
  const out = unpackCarry(st.carry);
  return out?.length === length ? out : undefined;
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
  const changed = tables.map((t) => changedFrom(states.get(t)!.changed_from)).filter((d): d is number => d !== null);
  return {
    ...first, dirty_from: dirty.length ? Math.min(...dirty) : null, changed_from: changed.length ? Math.min(...changed) : null,
    rows_ahead: tables.some((t) => !!states.get(t)!.rows_ahead),
  };
}

/**
 * The `changed_from` a family records with its new state: the earliest day it rewrote now (+∞: none), and the
 * one it recorded before if a family reading its rows (`readers`, their state tables) has not run since — the
 * change must reach every reader, however many runs of this family come first.
 */
export function pendingChange(
  prev: TableState | undefined, states: Map<string, TableState>, readers: readonly string[], rewrote: number,
): number {
  let from = rewrote;
  const before = prev?.changed_from ?? null;
  if (prev && before !== null) {
    const at = Number(prev.last_run_ts);
    if (readers.some((t) => states.has(t) && Number(states.get(t)!.last_run_ts) <= at)) from = Math.min(from, before);
  }
  return from;
}

/**
 * The day from which a reader must recompute because of its upstream's change: the upstream recorded a
 * rewrite (`changed_from`) after the reader's last run. Null when there is none to take in.
 */
export function upstreamChange(
  upstream: Pick<TableState, 'changed_from' | 'last_run_ts'> | undefined, own: Pick<TableState, 'last_run_ts'>,
): number | null {
  if (!upstream || upstream.changed_from === null || upstream.changed_from === undefined) return null;
  return Number(upstream.last_run_ts) > Number(own.last_run_ts) ? upstream.changed_from : null;
}

let lastNow = 0;

/** State times strictly increase within a process: a reader compares its last run with its upstream's. */
function stateNow(): number {
  lastNow = Math.max(Date.now(), lastNow + 1);
  return lastNow;
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
  /** Per table: the carry to keep (key + data); a table not listed keeps no carry. */
  carry?: Record<string, Carry>;
  /** Fingerprint of the source rows consumed (bars only; kept on the price_bars_1d row). */
  srcFp?: string;
  /** The rewrite to record for the readers (pendingChange); +∞ or absent: none. */
  changedFrom?: number;
}

/** Upsert the state rows of `tables` for one asset (written with the asset's rows). */
export async function writeStates(out: Writes, id: number, tables: string[], u: StateUpdate): Promise<void> {
  const n = tables.length;
  const now = stateNow();
  const changed = u.changedFrom === undefined || u.changedFrom === Infinity ? NaN : u.changedFrom === -Infinity ? WHOLE : u.changedFrom;
  await out.write({ kind: 'upsert', table: refreshState, batch: {
    length: n,
    cols: {
      id: new Int32Array(n).fill(id),
      table_name: [...tables],
      last_src_ts: new Float64Array(n).fill(u.lastSrcTs),
      daily_min_seen: new Float64Array(n).fill(u.dailyMinSeen),
      dirty_from: new Float64Array(n).fill(NaN),
      changed_from: new Float64Array(n).fill(changed),
      source_rows: new Int32Array(n).fill(u.sourceRows),
      last_run_ts: new Float64Array(n).fill(now),
      last_run_id: tables.map(() => u.runId),
      rows_written: Float64Array.from(tables, (t) => u.rowsWritten[t] ?? 0),
      repaired_timehigh: new Int32Array(n).fill(u.repairedHigh ?? 0),
      repaired_timelow: new Int32Array(n).fill(u.repairedLow ?? 0),
      rejected: new Int32Array(n).fill(u.rejected ?? 0),
      rows_ahead: new Uint8Array(n),
      carry_key: tables.map((t) => u.carry?.[t]?.key ?? null),
      carry: tables.map((t) => (u.carry?.[t] ? encodeCarry(u.carry[t]) : null)),
      src_fp: tables.map((t) => (t === priceBars1d.name ? u.srcFp ?? null : null)),
    },
  } });
}

/** Forget the state of these assets (baseline truncation, manual reset): the next refresh rebuilds them. */
export async function resetState(store: Store, ids: number[] | null): Promise<void> {
  if (ids === null) await store.exec(`DELETE FROM ${q(refreshState.name)}`);
  else for (const id of ids) await store.exec(`DELETE FROM ${q(refreshState.name)} WHERE id = $1`, [id]);
}
