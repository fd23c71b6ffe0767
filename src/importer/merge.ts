// `talab assets merge --from A --into B`: one asset imported twice under two ids (a local id and later its
// CoinMarketCap id, or two tickers of one coin) becomes one. B keeps its id, symbol and name.
import { importKey } from '../store/locks.js';
import { q } from '../schema/ddl.js';
import { DERIVED_TABLES, importRejects, priceBars1dRejects, priceChanges, priceHistories, refreshState } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';

export interface MergeReport {
  from: number;
  into: number;
  /** Days of --from written to --into (days --into did not have). */
  moved: number;
  /** Days both held; with identical prices, volume and market cap unless forced. */
  overlap: number;
  /** Overlapping days whose values differ (only a forced merge gets past them; --into's values stay). */
  differing: number;
  /** Earliest day the refresh recomputes --into from (null: nothing changed for it). */
  changedFrom: string | null;
  marketCapOptional: boolean;
}

const VALUES = ['open', 'high', 'low', 'close', 'volume', 'market_cap'];
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Moves --from's history into --into and removes --from. Days both assets hold must agree (prices, volume,
 * market cap) unless forced; forced, --into's own values are kept. The moved days are recorded as changes of
 * --into, so the next refresh rebuilds its derived rows from the earliest; --from's derived rows, refresh state
 * and pending changes go with it, and its import rejects are kept under --into.
 */
export async function mergeAssets(store: Store, from: number, into: number, opts: { force?: boolean } = {}): Promise<MergeReport> {
  if (from === into) throw new UserError(`assets merge: --from and --into are both ${from}`);
  return store.transaction(async () => {
    // Both locked (in id order, so two merges cannot wait on each other) against a concurrent import.
    // Both assets' import locks, in ascending id order like every taker of several keys.
    const detectedAt = (await store.lock([importKey(Math.min(from, into)), importKey(Math.max(from, into))], { scope: 'transaction' }))!.at;
    const assets = await store.query<{ id: number; symbol: string; o: boolean }>(
      'SELECT id, symbol, market_cap_optional AS o FROM dim_assets WHERE id IN ($1, $2)', [from, into],
    );
    for (const [flag, id] of [['--from', from], ['--into', into]] as const) {
      if (!assets.some((a) => Number(a.id) === id)) throw new UserError(`assets merge: ${flag} ${id} does not exist (talab assets lists them)`);
    }
    const diff = VALUES.map((c) => `f.${c} IS DISTINCT FROM t.${c}`).join(' OR ');
    const ov = await store.query<{ n: number; d: number; first: number | null }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE ${diff}) AS d, min(CASE WHEN ${diff} THEN f.ts END) AS first
       FROM price_histories f JOIN price_histories t ON t.id = $2 AND t.ts = f.ts WHERE f.id = $1`,
      [from, into],
    );
    const overlap = Number(ov[0].n);
    const differing = Number(ov[0].d);
    if (differing > 0 && !opts.force) {
      throw new UserError(
        `assets merge: ${differing} of the ${overlap} days both ${from} and ${into} hold differ (first ${iso(Number(ov[0].first))}); ` +
          `nothing changed. Pass --force to keep ${into}'s values on those days`,
      );
    }
    const lo = await store.query<{ lo: number | null; n: number }>(
      `SELECT min(f.ts) AS lo, count(*) AS n FROM price_histories f
       WHERE f.id = $1 AND NOT EXISTS (SELECT 1 FROM price_histories t WHERE t.id = $2 AND t.ts = f.ts)`,
      [from, into],
    );
    const moved = Number(lo[0].n);
    const cols = priceHistories.columns.map((c) => c.name).filter((c) => c !== 'id').map(q).join(', ');
    await store.exec(
      `INSERT INTO price_histories (id, ${cols}) SELECT $2, ${cols} FROM price_histories f
       WHERE f.id = $1 AND NOT EXISTS (SELECT 1 FROM price_histories t WHERE t.id = $2 AND t.ts = f.ts)`,
      [from, into],
    );
    // A merged history comes from both sources: market cap stays optional if either source had none.
    const optFrom = !!assets.find((a) => Number(a.id) === from)!.o;
    const optInto = !!assets.find((a) => Number(a.id) === into)!.o;
    const optional = optFrom || optInto;
    let changeTs = moved ? Number(lo[0].lo) : null;
    if (optional && !optInto) {
      // Days of --into rejected for a missing market cap become bars: rebuild from its first day.
      const first = await store.query<{ lo: number | null }>('SELECT min(ts) AS lo FROM price_histories WHERE id = $1', [into]);
      if (first[0].lo !== null) changeTs = Math.min(changeTs ?? Infinity, Number(first[0].lo));
      await store.exec('UPDATE dim_assets SET market_cap_optional = true, updated_at = now() WHERE id = $1', [into]);
    }
    if (changeTs !== null) {
      await store.exec(
        `INSERT INTO ${q(priceChanges.name)} (id, ts, detected_at, kind, source_file) VALUES ($1, $2::timestamptz, $3::timestamptz, 'merge', $4)`,
        [into, new Date(changeTs).toISOString(), new Date(detectedAt).toISOString(), `merge of asset ${from}`],
      );
    }
    // Rejects keep their file and line; one that --into already has for the same line is the same reject.
    await store.exec(
      `DELETE FROM ${q(importRejects.name)} WHERE id = $1 AND (source_file, source_line) IN
       (SELECT source_file, source_line FROM ${q(importRejects.name)} WHERE id = $2)`,
      [from, into],
    );
    await store.exec(`UPDATE ${q(importRejects.name)} SET id = $2 WHERE id = $1`, [from, into]);
    for (const t of [...DERIVED_TABLES, priceBars1dRejects, refreshState, priceChanges, priceHistories]) {
      await store.exec(`DELETE FROM ${q(t.name)} WHERE id = $1`, [from]);
    }
    await store.exec('DELETE FROM dim_assets WHERE id = $1', [from]);
    return { from, into, moved, overlap, differing, changedFrom: changeTs === null ? null : iso(changeTs), marketCapOptional: optional };
  });
}
