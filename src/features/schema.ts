// DDL of ml_feature_matrix for both engines, rendered from the one field list (fields.ts).
// DuckDB: native STRUCT columns. PostgreSQL: one composite type per group (created in the current schema).
// The logical schema (schema/tables.ts) has no nested type, so this table is created here, on first use of
// any features command, idempotently; the plain tables (regimes, batch ledger) come from the migrations.
import { q } from '../schema/ddl.js';
import { duckdbEngine } from '../store/duckdb/engine.js';
import type { Engine } from '../store/engine.js';
import { postgresEngine } from '../store/postgres/engine.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { GROUPS, MATRIX_TABLE, type FeatureGroup } from './fields.js';

export function compositeTypeName(group: string): string {
  return `ml_feature_${group}`;
}

/** DuckDB: the STRUCT(...) type of a group. */
export function duckStructType(g: FeatureGroup): string {
  return `STRUCT(${g.fields.map((x) => `${q(x.name)} ${duckdbEngine.type(x.type)}`).join(', ')})`;
}

/** The SQL type of a group's column on an engine. */
export function groupColumnType(d: Engine, g: FeatureGroup): string {
  return d.name === 'duckdb' ? duckStructType(g) : q(compositeTypeName(g.name));
}

export function compositeTypeSql(g: FeatureGroup): string {
  return `CREATE TYPE ${q(compositeTypeName(g.name))} AS (${g.fields
    .map((x) => `${q(x.name)} ${postgresEngine.type(x.type)}`)
    .join(', ')})`;
}

export function createMatrixSql(d: Engine, groups: FeatureGroup[] = GROUPS): string {
  const ts = d.type('ts');
  const cols = [
    `${q('symbol')} ${d.type('text')} NOT NULL`,
    `${q('data_date')} DATE NOT NULL`,
    `${q('timestamp')} ${ts}`,
    ...groups.map((g) => `${q(g.name)} ${groupColumnType(d, g)}`),
    `${q('regime_name')} ${d.type('text')}`,
    `${q('ingestion_ts')} ${ts} NOT NULL DEFAULT now()`,
    `PRIMARY KEY (${q('symbol')}, ${q('data_date')})`,
  ];
  return `CREATE TABLE IF NOT EXISTS ${q(MATRIX_TABLE)} (\n  ${cols.join(',\n  ')}\n)`;
}

const ensured = new WeakMap<Store, FeatureGroup[]>();

/**
 * Create ml_feature_matrix (and on Postgres its composite types) if missing, and bring an existing one up to the
 * field list. A new group becomes a new column; fields appended to a group since the table was made are added in place — ALTER TYPE … ADD
 * ATTRIBUTE on PostgreSQL, a STRUCT widened on DuckDB — and are NULL in the rows already there. Any other
 * difference (a field removed, renamed, retyped or reordered) is refused: it would change what stored rows mean.
 * `groups` is the field list to reach (tests pass an older one to build the "before" table).
 */
export async function ensureFeatureSchema(store: Store, groups: FeatureGroup[] = GROUPS): Promise<void> {
  if (ensured.get(store) === groups) return;
  await store.transaction(async () => {
    if (store.dialect === 'postgres') {
      for (const g of groups) {
        const attrs = await compositeAttributes(store, compositeTypeName(g.name));
        if (attrs === null) {
          await store.exec(compositeTypeSql(g));
          continue;
        }
        const have = attrs.map((a) => `${a.name} ${a.type}`);
        const want = g.fields.map((x) => `${x.name} ${pgTypeName(x.type)}`);
        if (have.join(',') === want.join(',')) continue;
        if (!isPrefix(have, want)) refuseComposite(g, have, want);
        for (const x of g.fields.slice(have.length)) {
          await store.exec(`ALTER TYPE ${q(compositeTypeName(g.name))} ADD ATTRIBUTE ${q(x.name)} ${postgresEngine.type(x.type)}`);
        }
      }
    }
    await store.exec(createMatrixSql(store.engine, groups));
    const rows = await store.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_name = $1 AND table_schema = current_schema() AND table_catalog = current_database()`,
      [MATRIX_TABLE],
    );
    const have = new Map(rows.map((r) => [r.column_name, r.data_type]));
    // A whole group added since the table was made: a new column, NULL in the rows already there.
    for (const g of groups) {
      if (have.has(g.name)) continue;
      await store.exec(`ALTER TABLE ${q(MATRIX_TABLE)} ADD COLUMN ${q(g.name)} ${groupColumnType(store.engine, g)}`);
      if (store.dialect === 'duckdb') have.set(g.name, duckStructType(g));
    }
    if (store.dialect === 'duckdb') {
      const norm = (s: string) => s.replace(/["\s]/g, '');
      for (const g of groups) {
        const got = have.get(g.name);
        if (got !== undefined && norm(got) === norm(duckStructType(g))) continue;
        // Which leading part of the field list the stored STRUCT is, if any: the rest is appended.
        const k = got === undefined ? -1
          : g.fields.findIndex((_, i) => i > 0 && norm(got) === norm(duckStructType({ ...g, fields: g.fields.slice(0, i) })));
        if (k <= 0) {
          throw new UserError(
            `${MATRIX_TABLE}.${g.name} has type ${got ?? '(missing)'} but this version expects ${duckStructType(g)}; ` +
              `only fields appended to a group can be added in place: export the table, drop it and re-ingest`,
          );
        }
        const fields = g.fields.map((x, i) => `${q(x.name)} := ` +
          (i < k ? `struct_extract(${q(g.name)}, '${x.name}')` : `CAST(NULL AS ${duckdbEngine.type(x.type)})`));
        // A NULL group stays NULL rather than becoming a STRUCT of NULLs.
        await store.exec(
          `ALTER TABLE ${q(MATRIX_TABLE)} ALTER COLUMN ${q(g.name)} SET DATA TYPE ${duckStructType(g)} ` +
            `USING CASE WHEN ${q(g.name)} IS NULL THEN NULL ELSE struct_pack(${fields.join(', ')}) END`,
        );
      }
    }
  });
  ensured.set(store, groups);
}

function isPrefix(have: string[], want: string[]): boolean {
  return have.length < want.length && have.every((x, i) => x === want[i]);
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

function refuseComposite(g: FeatureGroup, have: string[], want: string[]): never {
  throw new UserError(
    `composite type ${compositeTypeName(g.name)} has fields (${have.join(', ')}) but this version expects ` +
      `(${want.join(', ')}); only fields appended to a group can be added in place: export the matrix, drop it and ` +
      `the type, re-ingest`,
  );
}
