// The write buffer of an asset's recompute: the kernels' batches are collected per table and appended as soon
// as the buffer holds more than FLUSH_ROWS rows, to the asset's writes (writes.ts). Without it a long history
// held every timeframe's and every period's rows of the whole history at once until the end of the asset (a
// 220,000-day history passed 11 GB); with it, what waits in memory is bounded by FLUSH_ROWS whatever the
// history's length. Histories of ordinary length still make one append per table, as before. On an engine
// whose transactions grow in talab's memory (DuckDB), a long recompute is also committed in parts (OwnState).
import { concatBatches, type RowBatch } from '../columnar/columns.js';
import type { Table } from '../schema/tables.js';
import type { Writes } from './writes.js';

/** Rows held before the buffer is appended: ~25 MB of a bar table's columns. */
export const FLUSH_ROWS = 131_072;

/**
 * The asset's state rows of the family doing the recompute. Where the writes may be committed in parts
 * (Writes.commitPart, where the engine asks for it), they are forgotten in the first part, so that a process
 * killed between two parts leaves rows that a rerun replaces and no reader takes for complete; the
 * recompute's own last writes (its state) go in the last part.
 */
export interface OwnState {
  id: number;
  tables: readonly string[];
}

export class TableWriter {
  private readonly pending = new Map<string, { table: Table; batches: RowBatch[] }>();
  private held = 0;
  /** Rows appended since the last part was committed (or since the start). */
  private sincePart = 0;
  private forgotten = false;
  /** Rows appended so far, per table name (the tables added to are all present, 0 when nothing came). */
  readonly rows: Record<string, number> = {};

  constructor(private readonly out: Writes, private readonly state: OwnState, private readonly limit = FLUSH_ROWS) {}

  async add(table: Table, batch: RowBatch): Promise<void> {
    this.rows[table.name] ??= 0;
    if (batch.length === 0) return;
    let slot = this.pending.get(table.name);
    if (!slot) this.pending.set(table.name, (slot = { table, batches: [] }));
    slot.batches.push(batch);
    this.held += batch.length;
    if (this.held > this.limit) await this.flush();
  }

  /** Append everything held; returns the rows appended per table since the writer was made. */
  async flush(): Promise<Record<string, number>> {
    for (const { table, batches } of this.pending.values()) {
      // The slot is emptied before the append so that its batches can be collected while it runs.
      const batch = concatBatches(batches.splice(0));
      if (batch.length) {
        const n = await this.out.write({ kind: 'append', table, batch });
        this.rows[table.name] += n;
        this.sincePart += n;
      }
    }
    this.held = 0;
    if (this.out.commitPart && this.sincePart >= (this.out.partRows ?? Infinity)) {
      if (!this.forgotten) await this.out.write({ kind: 'forget-state', id: this.state.id, tables: this.state.tables });
      this.forgotten = true;
      await this.out.commitPart();
      this.sincePart = 0;
    }
    return this.rows;
  }
}
