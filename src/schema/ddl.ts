// Renders the logical schema (schema/tables.ts) as DDL for one engine.
import type { ColType, Column, Table } from './tables.js';

export type Dialect = 'duckdb' | 'postgres';

const TYPES: Record<Dialect, Record<ColType, string>> = {
  duckdb: {
    int: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE', text: 'VARCHAR', bool: 'BOOLEAN', ts: 'TIMESTAMPTZ', json: 'JSON',
    blob: 'BLOB',
  },
  postgres: {
    int: 'integer', bigint: 'bigint', double: 'double precision', text: 'text', bool: 'boolean', ts: 'timestamptz',
    json: 'jsonb', blob: 'bytea',
  },
};

export function sqlType(d: Dialect, t: ColType): string {
  return TYPES[d][t];
}

export function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function columnDef(d: Dialect, col: Column): string {
  let s = `${q(col.name)} ${sqlType(d, col.type)}`;
  if (col.default !== undefined) s += ` DEFAULT ${col.default}`;
  if (col.notNull) s += ' NOT NULL';
  if (col.uncompressed && d === 'duckdb') s += ' USING COMPRESSION uncompressed';
  return s;
}

/**
 * Whether the engine enforces the table's key with a constraint. Every table has its logical key (Table.key:
 * what the refresh, baseline and validation treat as the row identity). DuckDB's derived tables do not declare
 * it: DuckDB backs a key with an ART index held in memory, which grows with the table (1.6 GB resident at 9 M
 * derived rows; an out-of-memory error at 56 M rows under a 1 GB limit) and cost ~45 % of the full build's time.
 * Their rows are only ever written by the refresh, which deletes from the changed day before appending, and
 * `talab validate` checks the keys (duplicate_keys). PostgreSQL keeps every key (B-tree on disk).
 */
export function enforcesKey(d: Dialect, t: Table): boolean {
  return !(d === 'duckdb' && t.derived);
}

export function createTableSql(d: Dialect, t: Table, name = t.name): string {
  const cols = t.columns.map((c) => '  ' + columnDef(d, c));
  if (enforcesKey(d, t)) cols.push(`  PRIMARY KEY (${t.key.map(q).join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${q(name)} (\n${cols.join(',\n')}\n)`;
}

/** Additive migration: columns added to the schema after a database was created. */
export function addColumnSql(d: Dialect, t: Table, col: Column): string {
  // A column added to a filled table must be nullable or defaulted; DuckDB cannot add constraints in ALTER,
  // so there NOT NULL is enforced by the writers only.
  const def = d === 'duckdb' ? columnDef(d, { ...col, notNull: false }) : columnDef(d, col);
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
