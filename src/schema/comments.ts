// COMMENT ON every table, view and column, from the one schema definition: what `\d+` in psql,
// duckdb_columns() and any database browser show a user.
import { VIEWS } from './views.js';
import { columnDoc } from './column-docs.js';
import { q } from './ddl.js';
import { ALL_TABLES } from './tables.js';

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function commentStatements(): string[] {
  const out: string[] = [];
  for (const t of ALL_TABLES) {
    out.push(`COMMENT ON TABLE ${q(t.name)} IS ${lit(t.doc)}`);
    for (const c of t.columns) out.push(`COMMENT ON COLUMN ${q(t.name)}.${q(c.name)} IS ${lit(columnDoc(t, c))}`);
  }
  for (const v of VIEWS) {
    out.push(`COMMENT ON VIEW ${q(v.name)} IS ${lit(v.doc)}`);
    for (const c of v.columns) out.push(`COMMENT ON COLUMN ${q(v.name)}.${q(c.name)} IS ${lit(c.doc)}`);
  }
  return out;
}
