// Renders the logical schema (schema/tables.ts) as DDL. What differs per engine (type names, key
// constraints, column options) comes from the engine's DdlDialect (src/store/<engine>/engine.ts).
import type { ColType, Column, Table } from './table-types.js';

export interface DdlDialect {
  /** The engine's name of a logical column type. */
  type(t: ColType): string;
  /** Engine-only options after a column's definition. */
  columnSuffix(col: Column): string;
  /**
   * Whether the engine enforces the table's key with a constraint. Every table has its logical key
   * (Table.key: what the refresh, baseline and validation treat as the row identity); where it is not
   * declared, `talab validate` checks it (duplicate_keys).
   */
  enforcesKey(t: Table): boolean;
  /** A column added to an existing table cannot carry NOT NULL. */
  readonly addedColumnsNullable: boolean;
  /** SQL: the UTC calendar date of a timestamptz, whatever the reading session's time zone (the views' `day`). */
  utcDate(col: string): string;
}

export function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function columnDef(d: DdlDialect, col: Column): string {
  let s = `${q(col.name)} ${d.type(col.type)}`;
  if (col.default !== undefined) s += ` DEFAULT ${col.default}`;
  if (col.notNull) s += ' NOT NULL';
  return s + d.columnSuffix(col);
}

export function createTableSql(d: DdlDialect, t: Table, name = t.name): string {
  const cols = t.columns.map((c) => '  ' + columnDef(d, c));
  if (d.enforcesKey(t)) cols.push(`  PRIMARY KEY (${t.key.map(q).join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${q(name)} (\n${cols.join(',\n')}\n)`;
}

/** Additive migration: columns added to the schema after a database was created. */
export function addColumnSql(d: DdlDialect, t: Table, col: Column): string {
  // A column added to a filled table must be nullable or defaulted.
  const def = columnDef(d, d.addedColumnsNullable ? { ...col, notNull: false } : col);
  return `ALTER TABLE ${q(t.name)} ADD COLUMN IF NOT EXISTS ${def}`;
}

/** `ON CONFLICT (key) DO UPDATE SET …` overwriting every non-key column: the upsert of both engines. */
export function onConflictUpdate(t: Table): string {
  const sets = t.columns
    .filter((c) => !t.key.includes(c.name))
    .map((c) => `${q(c.name)} = excluded.${q(c.name)}`)
    .join(', ');
  return `ON CONFLICT (${t.key.map(q).join(', ')}) ${sets ? `DO UPDATE SET ${sets}` : 'DO NOTHING'}`;
}
