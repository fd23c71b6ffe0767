// `talab delete`: remove a range of days from assets' price_histories. Recorded like an import's revisions,
// so the next refresh recomputes every derived table from the earliest deleted day (and drops the derived rows
// dated after the new last day when the newest days went).
import type { Store } from '../store/store.js';
import { importKey } from '../store/locks.js';
import { deleteDays, recordChanges } from './import.js';

export interface DeleteRange {
  /** First and last day deleted (epoch ms of the day's start), inclusive; undefined = unbounded on that side. */
  from?: number;
  to?: number;
  dryRun?: boolean;
}

export interface DeleteReport {
  id: number;
  symbol: string;
  /** Days deleted (or, with dryRun, that would be). */
  deleted: number;
  firstDay: string | null;
  lastDay: string | null;
  /** Days the asset keeps. */
  remaining: number;
}

const DAY_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Delete one asset's days in the range, in one transaction with the change records for the refresh. */
export async function deleteRange(store: Store, asset: { id: number; symbol: string }, r: DeleteRange): Promise<DeleteReport> {
  return store.transaction(async () => {
    // Same turn-taking as an import of the asset, so the change records are dated in commit order.
    const detectedAt = (await store.lock(importKey(asset.id), { scope: 'transaction' }))!.at;
    const params: unknown[] = [asset.id];
    let where = 'id = $1';
    if (r.from !== undefined) {
      params.push(new Date(r.from).toISOString());
      where += ` AND ts >= $${params.length}::timestamptz`;
    }
    if (r.to !== undefined) {
      params.push(new Date(r.to + DAY_MS).toISOString());
      where += ` AND ts < $${params.length}::timestamptz`;
    }
    const days = (await store.query<{ ts: number }>(`SELECT ts FROM price_histories WHERE ${where} ORDER BY ts`, params)).map((d) => Number(d.ts));
    const total = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_histories WHERE id = $1', [asset.id]);
    const report: DeleteReport = {
      id: asset.id, symbol: asset.symbol, deleted: days.length, firstDay: days.length ? iso(days[0]) : null,
      lastDay: days.length ? iso(days[days.length - 1]) : null, remaining: Number(total[0].n) - days.length,
    };
    if (r.dryRun || days.length === 0) return report;
    await deleteDays(store, asset.id, days);
    await recordChanges(store, asset.id, days.map((ts) => ({ ts, kind: 'deletion' })), detectedAt, null);
    return report;
  });
}
