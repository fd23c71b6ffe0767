// Group commit: the per-asset components run against a DeferredStore, which answers reads from the real
// database and records writes. The writes of many assets are then replayed in one transaction with one
// statement per table instead of one per asset and table — the per-statement cost dominates small
// incremental runs. Every recorded write is scoped to its own asset (WHERE id = …, or rows of that id),
// so writes of different assets never touch the same rows and may be regrouped: all deletes first, then
// the appends and upserts merged per table, then the remaining updates, in recording order.
import type { Table } from '../schema/tables.js';
import { concatBatches, type RowBatch } from '../columnar/columns.js';
import type { HeldLock, LockOptions } from '../store/locks.js';
import type { Row, Store } from '../store/store.js';

type Op =
  | { kind: 'delete' | 'exec'; sql: string; params?: unknown[] }
  | { kind: 'append' | 'upsert'; table: Table; batch: RowBatch; into?: string };

export class DeferredStore implements Store {
  readonly ops: Op[] = [];

  constructor(private readonly real: Store) {}

  get dialect() {
    return this.real.dialect;
  }

  get locksPerSession() {
    return this.real.locksPerSession;
  }

  get engine() {
    return this.real.engine;
  }

  get location() {
    return this.real.location;
  }

  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.real.query<T>(sql, params);
  }

  async exec(sql: string, params?: unknown[]): Promise<void> {
    this.ops.push({ kind: /^\s*DELETE\b/i.test(sql) ? 'delete' : 'exec', sql, params });
  }

  /** Nothing is written until replay, which brings its own transaction. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async append(table: Table, batch: RowBatch, opts?: { into?: string }): Promise<number> {
    if (batch.length > 0) this.ops.push({ kind: 'append', table, batch, into: opts?.into });
    return batch.length;
  }

  async upsert(table: Table, batch: RowBatch): Promise<number> {
    if (batch.length > 0) this.ops.push({ kind: 'upsert', table, batch });
    return batch.length;
  }

  /** Locks are the run's business, taken on the real session. */
  lock(keys: string | string[], opts?: LockOptions): Promise<HeldLock | null> {
    return this.real.lock(keys, opts);
  }

  holdCheckpoints(): Promise<() => Promise<number>> {
    return this.real.holdCheckpoints();
  }

  engineVersion(): Promise<string> {
    return this.real.engineVersion();
  }

  connect(): Promise<Store> {
    return this.real.connect();
  }

  async close(): Promise<void> {
    // The real store belongs to the caller.
  }
}

/** Replay the recorded writes of several assets in one transaction on `store`. */
export async function replay(store: Store, groups: Op[][]): Promise<void> {
  const all = groups.flat();
  await store.transaction(async () => {
    for (const op of all) if (op.kind === 'delete') await store.exec(op.sql, op.params);
    for (const kind of ['append', 'upsert'] as const) {
      const byTarget = new Map<string, { table: Table; into?: string; batches: RowBatch[] }>();
      for (const op of all) {
        if (op.kind !== kind) continue;
        const key = `${op.table.name}|${op.into ?? ''}`;
        const slot = byTarget.get(key) ?? { table: op.table, into: op.into, batches: [] };
        slot.batches.push(op.batch);
        byTarget.set(key, slot);
      }
      for (const { table, into, batches } of byTarget.values()) {
        const batch = concatBatches(batches);
        if (kind === 'append') await store.append(table, batch, { into });
        else await store.upsert(table, batch);
      }
    }
    for (const op of all) if (op.kind === 'exec') await store.exec(op.sql, op.params);
  });
}
