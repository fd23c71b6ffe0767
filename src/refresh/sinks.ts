// One RowSink per derived table for a worker's daily path: the kernels write an asset's new rows straight into
// them, the asset's WriteBuffer holds views, and the group commit appends the whole group's rows as one
// view per table (no per-call columns, no concatenation). Reset once the group is committed.
import { type Table } from '../schema/tables.js';
import { RowSink } from '../columnar/columns.js';
import { sinkLayout } from '../columnar/layout.js';

export class Sinks {
  private readonly byTable = new Map<string, RowSink>();

  /** The sink of a snapshot bar table or an EMA table, laid out as the table's columns. */
  of(table: Table): RowSink {
    let s = this.byTable.get(table.name);
    if (s === undefined) {
      const has = (name: string) => table.columns.some((c) => c.name === name);
      if (table.derived === 'bars' && !has('pos_in_bar')) throw new Error(`internal: ${table.name} is not a snapshot bar table`);
      // The kernels' output layouts are read off the same column lists (compute/bars/output.ts, compute/ema/output.ts).
      s = new RowSink(sinkLayout(table.columns));
      this.byTable.set(table.name, s);
    }
    return s;
  }

  /** Forget the rows of the committed group (the views of its writes are no longer read). */
  reset(): void {
    for (const s of this.byTable.values()) s.reset();
  }
}
