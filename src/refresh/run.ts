// The refresh orchestration: which assets need work, bars before EMAs, one transaction per asset and
// component (data and state together), partial failure isolated to the asset that failed.
//
// Incrementality today is per asset: an asset whose source has not changed since its last build is
// skipped; one that changed (new days, revisions, backfills, gap fills) is recomputed whole, which is
// identical to a full rebuild by construction. Row-level incremental writes are docs/state-management.md's
// next step.
import { defaultTimeframes, type Timeframe, DEFAULT_PERIODS } from '../catalog/timeframes.js';
import { refreshState } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { rebuildAssetBars } from './bars.js';
import { rebuildAssetEmas } from './emas.js';
import { selectAssets } from './load.js';

export type Component = 'bars' | 'emas';

export interface RefreshOptions {
  components: Component[];
  ids?: number[];
  /** Narrowed selection; undefined = the configured defaults (and then state is kept). */
  tfs?: Timeframe[];
  periods?: number[];
  fullRebuild?: boolean;
  onEvent?: (e: RefreshEvent) => void;
}

export type RefreshEvent =
  | { kind: 'start'; component: Component; assets: number }
  | { kind: 'asset'; component: Component; id: number; symbol: string; status: 'done' | 'skipped' | 'failed'; reason?: string; ms: number };

export interface ComponentSummary {
  component: Component;
  ms: number;
  rows: Record<string, number>;
  done: number[];
  skipped: { id: number; reason: string }[];
  failed: { id: number; error: string }[];
  repairs: number;
  rejects: number;
  gaps: number;
}

export interface RefreshSummary {
  components: ComponentSummary[];
  ok: boolean;
}

interface StateRow {
  last_src_ts: number | null;
  daily_min_seen: number | null;
  last_run_ts: number;
}

async function state(store: Store, id: number, name: string): Promise<StateRow | undefined> {
  const r = await store.query<StateRow & Record<string, unknown>>(
    `SELECT last_src_ts, daily_min_seen, last_run_ts FROM ${refreshState.name} WHERE id = $1 AND table_name = $2`,
    [id, name],
  );
  return r[0];
}

async function writeState(
  store: Store, id: number, name: string, s: { lastSrcTs: number; minSeen: number; rows: number; repairedHigh?: number; repairedLow?: number; rejected?: number },
): Promise<void> {
  await store.upsert(refreshState, {
    length: 1,
    cols: {
      id: Int32Array.of(id), table_name: [name], last_src_ts: Float64Array.of(s.lastSrcTs),
      daily_min_seen: Float64Array.of(s.minSeen), last_run_ts: Float64Array.of(Date.now()),
      rows_written: Float64Array.of(s.rows), repaired_timehigh: Int32Array.of(s.repairedHigh ?? 0),
      repaired_timelow: Int32Array.of(s.repairedLow ?? 0), rejected: Int32Array.of(s.rejected ?? 0),
    },
  });
}

/** Why an asset's bars must be rebuilt, or null when they are current. */
async function barsStaleReason(store: Store, id: number): Promise<string | null> {
  const st = await state(store, id, 'bars');
  if (!st) return 'never built';
  const src = await store.query<{ lo: number | null; hi: number | null }>(
    'SELECT min(ts) AS lo, max(ts) AS hi FROM price_histories WHERE id = $1', [id],
  );
  if (src[0].hi !== st.last_src_ts) return 'new days';
  if (src[0].lo !== st.daily_min_seen) return 'backfill';
  const ch = await store.query('SELECT 1 AS x FROM price_changes WHERE id = $1 AND consumed_at IS NULL LIMIT 1', [id]);
  return ch.length ? 'revised history' : null;
}

async function emasStaleReason(store: Store, id: number): Promise<string | null> {
  const bars = await state(store, id, 'bars');
  const emas = await state(store, id, 'emas');
  if (!emas) return 'never built';
  if (!bars || emas.last_src_ts !== bars.last_src_ts || emas.last_run_ts < bars.last_run_ts) return 'bars changed';
  return null;
}

export async function runRefresh(store: Store, opts: RefreshOptions): Promise<RefreshSummary> {
  const narrowed = opts.tfs !== undefined || opts.periods !== undefined;
  const tfs = opts.tfs ?? defaultTimeframes();
  const periods = opts.periods ?? DEFAULT_PERIODS;
  const assets = await selectAssets(store, opts.ids);
  const summaries: ComponentSummary[] = [];
  const barsFailed = new Set<number>();
  for (const component of opts.components) {
    const t0 = Date.now();
    const sum: ComponentSummary = {
      component, ms: 0, rows: {}, done: [], skipped: [], failed: [], repairs: 0, rejects: 0, gaps: 0,
    };
    opts.onEvent?.({ kind: 'start', component, assets: assets.length });
    for (const a of assets) {
      const ta = Date.now();
      const emit = (status: 'done' | 'skipped' | 'failed', reason?: string) =>
        opts.onEvent?.({ kind: 'asset', component, id: a.id, symbol: a.symbol, status, reason, ms: Date.now() - ta });
      try {
        if (component === 'emas' && barsFailed.has(a.id)) {
          sum.skipped.push({ id: a.id, reason: 'its bars failed in this run' });
          emit('skipped', 'its bars failed');
          continue;
        }
        if (!opts.fullRebuild && !narrowed) {
          const why = component === 'bars' ? await barsStaleReason(store, a.id) : await emasStaleReason(store, a.id);
          if (why === null) {
            sum.skipped.push({ id: a.id, reason: 'already current' });
            emit('skipped', 'already current');
            continue;
          }
        }
        await store.transaction(async () => {
          if (component === 'bars') {
            const r = await rebuildAssetBars(store, a.id, tfs, !narrowed);
            add(sum.rows, r.rows);
            sum.repairs += r.counters.repairedTimehigh + r.counters.repairedTimelow;
            sum.rejects += r.counters.rejected;
            sum.gaps += r.gaps;
            if (!narrowed) {
              await writeState(store, a.id, 'bars', {
                lastSrcTs: r.lastSrcTs, minSeen: r.firstSrcTs, rows: total(r.rows), repairedHigh: r.counters.repairedTimehigh,
                repairedLow: r.counters.repairedTimelow, rejected: r.counters.rejected,
              });
              await store.exec('UPDATE price_changes SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL', [a.id]);
            }
          } else {
            const r = await rebuildAssetEmas(store, a.id, tfs, periods, !narrowed);
            add(sum.rows, r.rows);
            if (!narrowed) {
              const bars = await state(store, a.id, 'bars');
              await writeState(store, a.id, 'emas', {
                lastSrcTs: bars?.last_src_ts ?? NaN, minSeen: bars?.daily_min_seen ?? NaN, rows: total(r.rows),
              });
            }
          }
        });
        sum.done.push(a.id);
        emit('done');
      } catch (e) {
        const msg = (e as Error).message;
        sum.failed.push({ id: a.id, error: msg });
        if (component === 'bars') barsFailed.add(a.id);
        emit('failed', msg);
      }
    }
    sum.ms = Date.now() - t0;
    summaries.push(sum);
  }
  return { components: summaries, ok: summaries.every((s) => s.failed.length === 0) };
}

function add(into: Record<string, number>, more: Record<string, number>): void {
  for (const [k, v] of Object.entries(more)) into[k] = (into[k] ?? 0) + v;
}

function total(r: Record<string, number>): number {
  return Object.values(r).reduce((s, v) => s + v, 0);
}
