// The one storage interface. Everything above it (importer, builders, refresh, baseline) talks SQL that
// both engines accept ($1 placeholders, ON CONFLICT, now()) and bulk-writes RowBatches through it.
import type { Engine, EngineName } from './engine.js';
import type { Table } from '../schema/tables.js';
import type { RowBatch } from '../columnar/columns.js';
import type { HeldLock, LockOptions } from './locks.js';

export type Row = Record<string, unknown>;

export interface Store {
  readonly dialect: EngineName;
  /** What differs about this engine: capabilities, SQL fragments, DDL (engine.ts). */
  readonly engine: Engine;
  /** Where the data lives, with any password redacted. */
  readonly location: string;
  /**
   * Run a query. Values come back normalised the same on both engines: timestamps as epoch milliseconds,
   * 64-bit integers as numbers, NULL as null.
   */
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string, params?: unknown[]): Promise<void>;
  /** Run fn inside one transaction; nested calls join the outer one. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Bulk insert (appender / COPY). Rows must not collide with existing keys. Returns rows written. */
  append(table: Table, batch: RowBatch, opts?: { into?: string }): Promise<number>;
  /** Bulk upsert on the table's key: new rows inserted, existing rows overwritten. Returns rows written. */
  upsert(table: Table, batch: RowBatch): Promise<number>;
  /**
   * Take named locks on this database (schema), in the order given; see locks.ts for the keys and the
   * semantics on each engine. Resolves null when `wait` is false and a key is busy (then none is held).
   */
  lock(keys: string | string[], opts?: LockOptions): Promise<HeldLock | null>;
  /** How many lock keys one session should hold at once (PostgreSQL's lock table is shared and finite). */
  readonly locksPerSession: number;
  engineVersion(): Promise<string>;
  /**
   * For the length of a bulk run (a refresh): the engine's housekeeping (DuckDB's checkpoints) happens where the
   * run decides instead of on the engine's own schedule. Returns the restore, which reports the ms its closing
   * housekeeping took (0 where the engine has none to hold).
   */
  holdCheckpoints(): Promise<() => Promise<number>>;
  /**
   * Rows after which a write too long for one transaction is better committed in parts (commitPart), absent
   * where a long transaction costs talab's process nothing (PostgreSQL holds it in the server).
   */
  readonly partRows?: number;
  /** Commit the open transaction and carry on in a new one; the transaction's locks stay held. */
  commitPart?(): Promise<void>;
  /** Another session on the same database (parallel workers each need their own transaction). */
  connect(): Promise<Store>;
  /**
   * How another thread opens this database (openStore arguments), for jobs on worker threads; absent where
   * the engine cannot be opened twice in one process (DuckDB: one instance per file).
   */
  openArgs?(): { db: string; pgSchema?: string };
  /**
   * Replace a lost session by a new one (PostgreSQL); session state (transaction, locks, temp tables) is
   * gone. Absent where a lost session cannot happen (DuckDB runs in the process).
   */
  reconnect?(): Promise<void>;
  close(): Promise<void>;
}

/** Normalise one driver value to the Store's conventions. */
export function normValue(v: unknown): unknown {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'bigint') return Number(v);
  return v;
}

export function normRow(r: Row): Row {
  const out: Row = {};
  for (const k in r) out[k] = normValue(r[k]);
  return out;
}
