// Where the ingest pipeline writes a batch. The real sink loads the rows and records the batch id in the
// ledger in one transaction, so a batch whose commit happened but whose acknowledgement was lost is found
// in the ledger on retry and not loaded twice. Tests put failing doubles in front of it.
import { q } from '../schema/ddl.js';
import { featureBatches } from '../schema/feature-tables.js';
import type { Store } from '../store/store.js';
import { prepareWrites, writeRecords } from './matrix.js';
import type { FeatureBatch } from './transform.js';

export interface LoadContext {
  runId: string;
  /** Epoch ms stamped on every row of the batch as ingestion_ts. */
  ingestionTs: number;
  /** Load even if the ledger already has the batch (the upsert still keeps one row per key). */
  force: boolean;
}

export interface LoadResult {
  status: 'loaded' | 'already_loaded';
  /** For already_loaded: the run that loaded it. */
  loadedByRun: string | null;
}

export interface FeatureSink {
  load(batch: FeatureBatch, ctx: LoadContext): Promise<LoadResult>;
}

export class StoreSink implements FeatureSink {
  constructor(private readonly store: Store) {}

  async load(batch: FeatureBatch, ctx: LoadContext): Promise<LoadResult> {
    const store = this.store;
    await prepareWrites(store);
    return store.transaction(async () => {
      const seen = await store.query<{ run_id: string }>(
        `SELECT run_id FROM ${q(featureBatches.name)} WHERE batch_id = $1`,
        [batch.id],
      );
      if (seen.length && !ctx.force) return { status: 'already_loaded', loadedByRun: seen[0].run_id };
      await writeRecords(store, batch.rows, ctx.ingestionTs, batch.flat);
      await store.exec(`DELETE FROM ${q(featureBatches.name)} WHERE batch_id = $1`, [batch.id]);
      await store.exec(
        `INSERT INTO ${q(featureBatches.name)} (batch_id, run_id, batch_index, row_count, symbols, min_date, max_date, loaded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz)`,
        [batch.id, ctx.runId, batch.index, batch.rows.length, JSON.stringify(batch.symbols), batch.minDate, batch.maxDate,
          new Date(ctx.ingestionTs).toISOString()],
      );
      return { status: 'loaded', loadedByRun: null };
    });
  }
}
