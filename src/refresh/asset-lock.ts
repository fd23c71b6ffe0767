// Per-asset exclusion between writers of one asset's source rows. Imports of one asset take turns on
// PostgreSQL (a transaction-scoped advisory lock keyed on the schema and the asset id), so the change records
// of an asset are dated in commit order: a refresh that read the changes up to some detected_at can consume
// exactly those, and any change it did not see is dated later and stays pending.
// DuckDB admits one writing process per file, and one process imports files one after another.
import type { Store } from '../store/store.js';

/** SQL of the advisory lock key pair for asset $1 in the current schema. */
export const ASSET_LOCK_KEY = "hashtext('talab-asset:' || current_schema()), $1::int";

/**
 * Inside the caller's transaction: wait for the asset's lock (released at commit or rollback), then return the
 * time to date the transaction's change records by — read after the lock, so later than any change committed
 * by an import that held it before.
 */
export async function lockAssetForImport(store: Store, id: number): Promise<number> {
  if (store.dialect !== 'postgres') return Date.now();
  await store.query(`SELECT pg_advisory_xact_lock(${ASSET_LOCK_KEY})`, [id]);
  const r = await store.query<{ t: number }>('SELECT clock_timestamp() AS t');
  return Number(r[0].t);
}
