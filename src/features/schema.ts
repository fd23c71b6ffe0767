// DDL of ml_feature_matrix, rendered from the one field list (fields.ts). Each group is a nested column; how an
// engine declares, widens and packs one is its own business (store.engine.nested): DuckDB writes a STRUCT
// inline, PostgreSQL names a composite type per group in the current schema.
// The logical schema (schema/tables.ts) has no nested type, so this table is created here, on first use of
// any features command, idempotently; the plain tables (regimes, batch ledger) come from the migrations.
import { q } from '../schema/ddl.js';
import type { Engine, NestedMismatch, NestedType } from '../store/engine.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { GROUPS, MATRIX_TABLE, type FeatureGroup } from './fields.js';

/** The nested type of a group; engines that name their types call it `ml_feature_<group>`. */
export function groupType(g: FeatureGroup): NestedType {
  return { name: `ml_feature_${g.name}`, fields: g.fields };
}

export function createMatrixSql(d: Engine, groups: FeatureGroup[] = GROUPS): string {
  const ts = d.type('ts');
  const cols = [
    `${q('symbol')} ${d.type('text')} NOT NULL`,
    `${q('data_date')} DATE NOT NULL`,
    `${q('timestamp')} ${ts}`,
    ...groups.map((g) => `${q(g.name)} ${d.nested.columnType(groupType(g))}`),
    `${q('regime_name')} ${d.type('text')}`,
    `${q('ingestion_ts')} ${ts} NOT NULL DEFAULT now()`,
    `PRIMARY KEY (${q('symbol')}, ${q('data_date')})`,
  ];
  return `CREATE TABLE IF NOT EXISTS ${q(MATRIX_TABLE)} (\n  ${cols.join(',\n  ')}\n)`;
}

/** A stored group whose fields differ from this version's other than by fields appended at the end. */
const refuse = (g: FeatureGroup): NestedMismatch => (have, want) =>
  new UserError(
    `${MATRIX_TABLE}.${g.name} has fields (${have}) but this version expects (${want}); only fields appended to a ` +
      `group can be added in place: export the matrix, drop it (and on PostgreSQL its type ${groupType(g).name}), re-ingest`,
  );

const ensured = new WeakMap<Store, FeatureGroup[]>();

/**
 * Create ml_feature_matrix (and the engine's named group types, if it has them) if missing, and bring an existing
 * one up to the field list. A new group becomes a new column; fields appended to a group since the table was made
 * are added in place, NULL in the rows already there. Any other difference (a field removed, renamed, retyped or
 * reordered) is refused, and nothing is altered: it would change what stored rows mean.
 * `groups` is the field list to reach (tests pass an older one to build the "before" table).
 */
export async function ensureFeatureSchema(store: Store, groups: FeatureGroup[] = GROUPS): Promise<void> {
  if (ensured.get(store) === groups) return;
  const nested = store.engine.nested;
  await store.transaction(async () => {
    for (const g of groups) await nested.declare(store, groupType(g), refuse(g));
    await store.exec(createMatrixSql(store.engine, groups));
    const rows = await store.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_name = $1 AND table_schema = current_schema() AND table_catalog = current_database()`,
      [MATRIX_TABLE],
    );
    const have = new Map(rows.map((r) => [r.column_name, r.data_type]));
    for (const g of groups) {
      const declared = have.get(g.name);
      // A whole group added since the table was made: a new column, NULL in the rows already there.
      if (declared === undefined) {
        await store.exec(`ALTER TABLE ${q(MATRIX_TABLE)} ADD COLUMN ${q(g.name)} ${nested.columnType(groupType(g))}`);
      } else await nested.widenColumn(store, MATRIX_TABLE, g.name, declared, groupType(g), refuse(g));
    }
  });
  ensured.set(store, groups);
}
