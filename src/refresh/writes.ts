// What a family writes for one asset, as typed operations rather than SQL sent through a Store. A family hands
// them to a `Writes`: either `DirectWrites`, which applies each at once on the caller's session (inside the
// asset's transaction), or a `WriteBuffer`, which keeps them for the runner's group commit (`commitBuffers`):
// the writes of many assets in one transaction, one statement per table instead of one per asset and table,
// the per-statement cost dominating small incremental runs. Every operation is scoped to its own asset (rows or
// state of that id), so the operations of different assets never touch the same rows and may be regrouped.
import { concatBatches, type RowBatch } from '../columnar/columns.js';
import { q } from '../schema/ddl.js';
import { refreshState, type Table } from '../schema/tables.js';
import type { Store } from '../store/store.js';

export type WriteOp =
  /** Rows of one asset dated ≥ from (all when from = −∞), optionally only some timeframes and periods. */
  | { kind: 'delete'; table: Table; id: number; timeCol: string; from: number; tfs?: readonly string[]; periods?: readonly number[] }
  | { kind: 'append' | 'upsert'; table: Table; batch: RowBatch }
  /** Drop the state rows of these tables of one asset: the next run rebuilds them whole. */
  | { kind: 'forget-state'; id: number; tables: readonly string[] }
  /** A narrowed run wrote rows dated after the watermark of these tables up to lastTs (state.ts markRowsAhead). */
  | { kind: 'rows-ahead'; id: number; tables: readonly string[]; lastTs: number }
  /** The source fingerprint of an asset whose bars were found current (kept on its price_bars_1d state row). */
  | { kind: 'fingerprint'; id: number; table: string; fp: string }
  /** Import changes of one asset detected up to `seen` were folded in. */
  | { kind: 'consume-changes'; id: number; seen: number };

/** Where a family's writes for one asset go. `write` answers the rows an append or upsert carries. */
export interface Writes {
  write(op: WriteOp): Promise<number>;
  /**
   * Present where a long recompute may be committed in parts (an asset in a transaction of its own, on an engine
   * whose open transaction grows with its writes — DuckDB): commit what was written and go on in a new one.
   */
  commitPart?(): Promise<void>;
  /** Rows after which a part is committed. */
  readonly partRows?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One operation on `store` (the caller brings the transaction). */
export async function applyOp(store: Store, op: WriteOp): Promise<number> {
  switch (op.kind) {
    case 'append':
      return op.batch.length ? store.append(op.table, op.batch) : 0;
    case 'upsert':
      return op.batch.length ? store.upsert(op.table, op.batch) : 0;
    case 'delete': {
      if ((op.tfs && op.tfs.length === 0) || (op.periods && op.periods.length === 0)) return 0;
      const params: unknown[] = [op.id];
      let sql = `DELETE FROM ${q(op.table.name)} WHERE id = $1`;
      if (op.from !== -Infinity) {
        params.push(iso(op.from));
        sql += ` AND ${q(op.timeCol)} >= $${params.length}::timestamptz`;
      }
      for (const [col, values] of [['tf', op.tfs], ['period', op.periods]] as const) {
        if (!values) continue;
        sql += ` AND ${col} IN (${values.map((_, i) => `$${params.length + i + 1}`).join(', ')})`;
        params.push(...values);
      }
      await store.exec(sql, params);
      return 0;
    }
    case 'forget-state': {
      const list = op.tables.map((_, i) => `$${i + 2}`).join(', ');
      await store.exec(`DELETE FROM ${q(refreshState.name)} WHERE id = $1 AND table_name IN (${list})`, [op.id, ...op.tables]);
      return 0;
    }
    case 'rows-ahead': {
      if (!(op.lastTs === op.lastTs)) return 0;
      const list = op.tables.map((_, i) => `$${i + 3}`).join(', ');
      await store.exec(
        `UPDATE ${q(refreshState.name)} SET rows_ahead = true WHERE id = $1 AND last_src_ts < $2::timestamptz AND table_name IN (${list})`,
        [op.id, iso(op.lastTs), ...op.tables],
      );
      return 0;
    }
    case 'fingerprint':
      await store.exec(`UPDATE ${q(refreshState.name)} SET src_fp = $2 WHERE id = $1 AND table_name = $3`, [op.id, op.fp, op.table]);
      return 0;
    case 'consume-changes':
      await store.exec(
        'UPDATE price_changes SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL AND detected_at <= $2::timestamptz',
        [op.id, iso(op.seen)],
      );
      return 0;
  }
}

/** Writes applied as they come, on the session (and in the transaction) of the caller. */
export class DirectWrites implements Writes {
  readonly commitPart?: () => Promise<void>;
  readonly partRows?: number;

  /** `parts`: the caller's transaction is the asset's own, and may be committed in parts where the store asks for it. */
  constructor(private readonly store: Store, opts: { parts?: boolean } = {}) {
    if (opts.parts && store.commitPart) {
      this.commitPart = () => store.commitPart!();
      this.partRows = store.partRows;
    }
  }

  write(op: WriteOp): Promise<number> {
    return applyOp(this.store, op);
  }
}

/** One asset's writes, held for the runner's group commit. Not a Store: nothing can be read through it. */
export class WriteBuffer implements Writes {
  readonly ops: WriteOp[] = [];
  /** Rows of the appends and upserts held (the group commit's bound). */
  rows = 0;

  async write(op: WriteOp): Promise<number> {
    if ((op.kind === 'append' || op.kind === 'upsert')) {
      if (op.batch.length === 0) return 0;
      this.rows += op.batch.length;
    }
    this.ops.push(op);
    return op.kind === 'append' || op.kind === 'upsert' ? op.batch.length : 0;
  }
}

const FIRST: ReadonlySet<WriteOp['kind']> = new Set(['delete', 'forget-state']);

/**
 * The buffers of several assets in one transaction on `store`: every delete first, then the appends and the
 * upserts merged per table (one statement each), then the remaining updates in the order they were made.
 */
export async function commitBuffers(store: Store, buffers: WriteBuffer[]): Promise<void> {
  const all = buffers.flatMap((b) => b.ops);
  await store.transaction(async () => {
    for (const op of all) if (FIRST.has(op.kind)) await applyOp(store, op);
    for (const kind of ['append', 'upsert'] as const) {
      const byTable = new Map<string, { table: Table; batches: RowBatch[] }>();
      for (const op of all) {
        if (op.kind !== kind) continue;
        const slot = byTable.get(op.table.name) ?? { table: op.table, batches: [] };
        slot.batches.push(op.batch);
        byTable.set(op.table.name, slot);
      }
      for (const { table, batches } of byTable.values()) await applyOp(store, { kind, table, batch: concatBatches(batches) });
    }
    for (const op of all) if (!FIRST.has(op.kind) && op.kind !== 'append' && op.kind !== 'upsert') await applyOp(store, op);
  });
}
