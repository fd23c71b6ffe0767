// DDL of ml_feature_matrix for both engines, rendered from the one field list (fields.ts).
// DuckDB: native STRUCT columns. PostgreSQL: one composite type per group (created in the current schema).
// The logical schema (schema/tables.ts) has no nested type, so this table is created here, on first use of
// any features command, idempotently; the plain tables (regimes, batch ledger) come from the migrations.
import { q, sqlType, type Dialect } from '../schema/ddl.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { GROUPS, MATRIX_TABLE, type FeatureGroup } from './fields.js';

export function compositeTypeName(group: string): string {
  return `ml_feature_${group}`;
}

/** DuckDB: the STRUCT(...) type of a group. */
export function duckStructType(g: FeatureGroup): string {
  return `STRUCT(${g.fields.map((x) => `${q(x.name)} ${sqlType('duckdb', x.type)}`).join(', ')})`;
}

/** The SQL type of a group's column on an engine. */
export function groupColumnType(d: Dialect, g: FeatureGroup): string {
  return d === 'duckdb' ? duckStructType(g) : q(compositeTypeName(g.name));
}

export function compositeTypeSql(g: FeatureGroup): string {
  return `CREATE TYPE ${q(compositeTypeName(g.name))} AS (${g.fields
    .map((x) => `${q(x.name)} ${sqlType('postgres', x.type)}`)
    .join(', ')})`;
}

export function createMatrixSql(d: Dialect): string {
  const ts = sqlType(d, 'ts');
  const cols = [
    `${q('symbol')} ${sqlType(d, 'text')} NOT NULL`,
    `${q('data_date')} DATE NOT NULL`,
    `${q('timestamp')} ${ts}`,
    ...GROUPS.map((g) => `${q(g.name)} ${groupColumnType(d, g)}`),
    `${q('regime_name')} ${sqlType(d, 'text')}`,
    `${q('ingestion_ts')} ${ts} NOT NULL DEFAULT now()`,
    `PRIMARY KEY (${q('symbol')}, ${q('data_date')})`,
  ];
  return `CREATE TABLE IF NOT EXISTS ${q(MATRIX_TABLE)} (\n  ${cols.join(',\n  ')}\n)`;
}

const ensured = new WeakSet<Store>();

/** Create ml_feature_matrix (and on Postgres its composite types) if missing, and check an existing one matches. */
export async function ensureFeatureSchema(store: Store): Promise<void> {
  if (ensured.has(store)) return;
  await store.transaction(async () => {
    if (store.dialect === 'postgres') {
      for (const g of GROUPS) {
        const attrs = await compositeAttributes(store, compositeTypeName(g.name));
        if (attrs === null) await store.exec(compositeTypeSql(g));
        else checkFields(g, attrs.map((a) => `${a.name} ${a.type}`), g.fields.map((x) => `${x.name} ${pgTypeName(x.type)}`));
      }
    }
    await store.exec(createMatrixSql(store.dialect));
    if (store.dialect === 'duckdb') {
      const rows = await store.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns
         WHERE table_name = $1 AND table_schema = current_schema() AND table_catalog = current_database()`,
        [MATRIX_TABLE],
      );
      const have = new Map(rows.map((r) => [r.column_name, r.data_type]));
      for (const g of GROUPS) {
        const norm = (s: string) => s.replace(/["\s]/g, '');
        const got = have.get(g.name);
        if (got === undefined || norm(got) !== norm(duckStructType(g))) {
          throw new UserError(
            `${MATRIX_TABLE}.${g.name} has type ${got ?? '(missing)'} but this version expects ${duckStructType(g)}; ` +
              `the table was created by a different field list: export it, drop it and re-ingest`,
          );
        }
      }
    }
  });
  ensured.add(store);
}

function pgTypeName(t: string): string {
  return { double: 'double precision', bigint: 'bigint', int: 'integer', bool: 'boolean', text: 'text' }[t] ?? t;
}

async function compositeAttributes(store: Store, typeName: string): Promise<{ name: string; type: string }[] | null> {
  const t = await store.query<{ oid: number }>(
    `SELECT t.oid FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typname = $1 AND n.nspname = current_schema()`,
    [typeName],
  );
  if (t.length === 0) return null;
  return store.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
     WHERE a.attrelid = (SELECT typrelid FROM pg_type WHERE oid = $1) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [t[0].oid],
  );
}

function checkFields(g: FeatureGroup, have: string[], want: string[]): void {
  if (have.join(',') !== want.join(',')) {
    throw new UserError(
      `composite type ${compositeTypeName(g.name)} has fields (${have.join(', ')}) but this version expects ` +
        `(${want.join(', ')}); it was created by a different field list: export the matrix, drop it and the type, re-ingest`,
    );
  }
}
