// A derived table's row layout for the kernels, read off the schema's column list: schema/tables.ts stays the
// one place a table's columns are written, and a kernel's output columns follow it in name, order and kind.
import type { Column } from '../schema/tables.js';
import type { SinkColumn } from './columns.js';

/**
 * The typed-array kind of each column: NOT NULL int → i32, NOT NULL bool → u8, text → text, everything else
 * (double, bigint, ts, and nullable int/bool, whose NULL is NaN) → f64. `omit`: columns the kernels never
 * fill (ingested_at, set by the store).
 */
export function sinkLayout(columns: readonly Column[], omit: readonly string[] = ['ingested_at']): Readonly<Record<string, SinkColumn>> {
  const out: Record<string, SinkColumn> = {};
  for (const c of columns) {
    if (omit.includes(c.name)) continue;
    out[c.name] = kindOf(c);
  }
  return out;
}

function kindOf(c: Column): SinkColumn {
  switch (c.type) {
    case 'int': return c.notNull ? 'i32' : 'f64';
    case 'bool': return c.notNull ? 'u8' : 'f64';
    case 'text': return 'text';
    case 'double': case 'bigint': case 'ts': return 'f64';
    default: throw new Error(`column ${c.name}: type ${c.type} has no kernel layout`);
  }
}
