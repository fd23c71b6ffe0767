// PostgreSQL hash-partitioned by asset: every per-asset table (its key starts with `id`) can be created as
// `PARTITION BY HASH (id)` with N partitions. Every key and every write of talab is keyed by `id`, and no
// statement spans assets, so a partitioned schema behaves exactly as a plain one: it gives per-partition vacuum
// and pruning on one server, and the same rules are what a sharded (Citus) deployment distributed on `id` needs.
// The layout is chosen once, when the schema is created, and read back from the catalog afterwards.
import { UserError } from '../../util/errors.js';
import { q } from '../../schema/ddl.js';
import type { Table } from '../../schema/tables.js';
import type { Store } from '../store.js';

export const MAX_PARTITIONS = 1024;

/** Whether a table holds rows per asset (partitioned when the schema is): its key starts with `id`. */
export function perAsset(t: Pick<Table, 'name' | 'key'>): boolean {
  // dim_assets is the list of assets itself, a few rows per asset: nothing to prune or vacuum apart.
  return t.key[0] === 'id' && t.name !== 'dim_assets';
}

/** A partition count from `--partitions` or TALAB_PG_PARTITIONS; 0 = not partitioned. */
export function parsePartitions(v: string | undefined, what = 'TALAB_PG_PARTITIONS'): number {
  if (v === undefined || v.trim() === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > MAX_PARTITIONS) {
    throw new UserError(`${what} must be a whole number from 0 to ${MAX_PARTITIONS} (0 = not partitioned), got '${v}'`);
  }
  return n === 1 ? 0 : n;
}

/** How many hash partitions the schema's tables have: 0 for plain tables (always on DuckDB), undefined before any. */
export async function partitionsInSchema(store: Store): Promise<number | undefined> {
  if (store.dialect !== 'postgres') return 0;
  const r = await store.query<{ kind: string | null; n: number }>(
    `SELECT c.relkind AS kind, (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid) AS n
     FROM pg_class c WHERE c.relname = 'price_histories' AND c.relnamespace = current_schema()::regnamespace`,
  );
  if (r.length === 0) return undefined;
  return r[0].kind === 'p' ? Number(r[0].n) : 0;
}

/** The clause after a partitioned table's column list. */
export function partitionClause(t: Table, n: number): string {
  return n > 0 && perAsset(t) ? ' PARTITION BY HASH (id)' : '';
}

/** Create the N partitions of a per-asset table that exists as a partitioned table (a plain one is left as it is). */
export async function ensurePartitions(store: Store, t: Table, n: number): Promise<void> {
  if (!(n > 0 && perAsset(t))) return;
  const r = await store.query<{ kind: string }>(
    'SELECT relkind AS kind FROM pg_class WHERE relname = $1 AND relnamespace = current_schema()::regnamespace', [t.name],
  );
  if (r[0]?.kind !== 'p') return;
  for (let i = 0; i < n; i++) {
    await store.exec(`CREATE TABLE IF NOT EXISTS ${q(`${t.name}_p${i}`)} PARTITION OF ${q(t.name)} FOR VALUES WITH (MODULUS ${n}, REMAINDER ${i})`);
  }
}
