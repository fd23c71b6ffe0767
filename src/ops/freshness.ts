// Is every asset's source still updating? The newest day in price_histories per asset against a date.
import { dayOf } from '../compute/daily.js';
import { priceHistories } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import type { AlertMessage } from './telegram.js';

export interface FreshnessAsset {
  id: number;
  symbol: string;
  /** Newest day in price_histories (YYYY-MM-DD); null when the asset has no rows. */
  last_day: string | null;
  /** Whole days from last_day to as_of; null without rows. */
  age_days: number | null;
  stale: boolean;
}

export interface FreshnessReport {
  as_of: string;
  max_age_days: number;
  assets: number;
  stale: number;
  ok: boolean;
  /** Every checked asset, the stale ones first (oldest first), then the fresh ones by id. */
  results: FreshnessAsset[];
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * An asset is stale when its newest day is more than `maxAgeDays` whole days before `asOf` (a UTC day), or
 * when it has no rows at all: an asset that was registered but never received data is not fresh either.
 */
export async function checkFreshness(
  store: Store, opts: { maxAgeDays: number; asOf?: string; ids?: number[] },
): Promise<FreshnessReport> {
  const asOf = opts.asOf ?? iso(Date.now());
  const asOfMs = Date.parse(`${asOf}T00:00:00Z`);
  if (!Number.isFinite(asOfMs)) throw new RangeError(`checkFreshness: as_of '${asOf}' is not YYYY-MM-DD`);
  const rows = await store.query<{ id: number; symbol: string; hi: number | null }>(
    `SELECT a.id, a.symbol, max(p.ts) AS hi FROM dim_assets a LEFT JOIN ${priceHistories.name} p ON p.id = a.id
     GROUP BY a.id, a.symbol ORDER BY a.id`,
  );
  const want = opts.ids ? new Set(opts.ids) : null;
  const results: FreshnessAsset[] = rows.filter((r) => !want || want.has(Number(r.id))).map((r) => {
    const hi = r.hi === null ? null : Number(r.hi);
    const age = hi === null ? null : dayOf(asOfMs) - dayOf(hi);
    return { id: Number(r.id), symbol: r.symbol, last_day: hi === null ? null : iso(hi), age_days: age, stale: age === null || age > opts.maxAgeDays };
  });
  results.sort((a, b) => (Number(b.stale) - Number(a.stale)) || (b.stale ? (b.age_days ?? Infinity) - (a.age_days ?? Infinity) : 0) || a.id - b.id);
  const stale = results.filter((r) => r.stale).length;
  return { as_of: asOf, max_age_days: opts.maxAgeDays, assets: results.length, stale, ok: results.length > 0 && stale === 0, results };
}

const MAX_LISTED = 10;

export function describeStale(r: FreshnessAsset): string {
  return r.last_day === null ? `${r.symbol} (${r.id}): no data` : `${r.symbol} (${r.id}): newest day ${r.last_day}, ${r.age_days} day(s) old`;
}

/** The alert for stale sources: critical, since downstream tables silently stop moving. */
export function formatFreshnessAlert(r: FreshnessReport, database?: string): AlertMessage {
  const stale = r.results.filter((a) => a.stale);
  const lines = stale.slice(0, MAX_LISTED).map(describeStale);
  if (stale.length > MAX_LISTED) lines.push(`… and ${stale.length - MAX_LISTED} more`);
  if (database) lines.push(`database: ${database}`);
  return {
    severity: 'critical',
    title: r.assets === 0
      ? 'talab freshness: no assets to check'
      : `talab freshness: ${r.stale} of ${r.assets} asset(s) older than ${r.max_age_days} day(s) on ${r.as_of}`,
    lines,
  };
}

export function formatFreshness(r: FreshnessReport): string {
  if (r.assets === 0) return 'freshness: no assets to check — import data first (talab import FILE…)';
  const out = r.results.filter((a) => a.stale).map((a) => `  STALE ${describeStale(a)}`);
  out.push(r.ok
    ? `freshness: ok — ${r.assets} asset(s), newest day at most ${r.max_age_days} day(s) before ${r.as_of}`
    : `freshness: FAILED — ${r.stale} of ${r.assets} asset(s) older than ${r.max_age_days} day(s) on ${r.as_of}`);
  return out.join('\n');
}
