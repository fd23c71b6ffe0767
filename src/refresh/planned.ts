// What a dry run does instead of writing: a family's writes for one asset are counted and, for the tables a
// downstream family reads, kept in memory, so that the downstream family can plan from the rows and the state
// the upstream would leave behind — without a single statement reaching the database.
import type { ColumnData, RowBatch } from '../columnar/columns.js';
import { refreshState, type Table } from '../schema/tables.js';
import type { TableState } from './state.js';
import type { WriteOp, Writes } from './writes.js';

/** A planned delete of one table: the asset's rows dated ≥ from, of some timeframes only when `tfs` is given. */
export interface PlannedDelete {
  from: number;
  tfs?: readonly string[];
}

export class PlannedWrites implements Writes {
  /** Per kept table, the deletes and the appended rows, in the order they were planned. */
  readonly deletes = new Map<string, PlannedDelete[]>();
  readonly appends = new Map<string, RowBatch[]>();
  /** The asset's state writes (its family's refresh_state rows), in order. */
  private readonly stateOps: WriteOp[] = [];

  /**
   * `keep`: the tables whose planned rows are held for a downstream family, each with the projection of its
   * rows that family reads (none: the writes are only counted).
   */
  constructor(private readonly keep: ReadonlyMap<string, (b: RowBatch) => RowBatch> = new Map()) {}

  private kept(table: Table): boolean {
    return this.keep.has(table.name);
  }

  async write(op: WriteOp): Promise<number> {
    switch (op.kind) {
      case 'append':
      case 'upsert':
        if (op.table.name === refreshState.name) this.stateOps.push(op);
        else if (op.batch.length && this.kept(op.table)) push(this.appends, op.table.name, this.keep.get(op.table.name)!(op.batch));
        return op.batch.length;
      case 'delete':
        if (!this.kept(op.table)) return 0; // counted writes only: a delete writes no row
        // The kept tables are bar tables, whose deletes name timeframes at most (an EMA delete may name periods).
        if (op.periods) throw new Error(`internal: a planned delete of some periods of ${op.table.name} cannot be kept`);
        push(this.deletes, op.table.name, { from: op.from, tfs: op.tfs });
        return 0;
      case 'forget-state':
      case 'rows-ahead':
        this.stateOps.push(op);
        return 0;
      default:
        return 0;
    }
  }

  /** The asset's state rows as they will be once these writes are made, from those stored now. */
  statesAfter(before: ReadonlyMap<string, TableState>): Map<string, TableState> {
    const out = new Map(before);
    for (const op of this.stateOps) {
      if (op.kind === 'forget-state') for (const t of op.tables) out.delete(t);
      else if (op.kind === 'rows-ahead') {
        for (const t of op.tables) {
          const s = out.get(t);
          if (s && s.last_src_ts !== null && Number(s.last_src_ts) < op.lastTs) out.set(t, { ...s, rows_ahead: true });
        }
      } else if (op.kind === 'upsert' || op.kind === 'append') {
        for (let i = 0; i < op.batch.length; i++) {
          const s = stateRow(op.batch.cols, i);
          // A state row keeps the carry only for its own family's continuation: a reader never takes it.
          out.set(s.table_name, s);
        }
      }
    }
    return out;
  }
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** One refresh_state row of a batch written by writeStates, read back as the store would return it. */
function stateRow(cols: Record<string, ColumnData>, i: number): TableState {
  const n = (k: string): number | null => {
    const v = (cols[k] as Float64Array | Int32Array | undefined)?.[i];
    return v === undefined || Number.isNaN(v) ? null : v;
  };
  const t = (k: string) => ((cols[k] as (string | null)[] | undefined)?.[i] ?? null);
  return {
    table_name: t('table_name')!, last_src_ts: n('last_src_ts'), daily_min_seen: n('daily_min_seen'), dirty_from: n('dirty_from'),
    changed_from: n('changed_from'), source_rows: n('source_rows') ?? 0, last_run_ts: n('last_run_ts') ?? 0,
    last_run_id: t('last_run_id'), carry_key: t('carry_key'), carry: null, rows_ahead: !!n('rows_ahead'), src_fp: t('src_fp'),
  };
}
