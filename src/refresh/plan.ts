// `refresh --dry-run`: the plan of a run is the run itself, each asset in a transaction that is rolled back.
// Only that way does the plan count the rows the real run will write, table by table: the EMAs of a day the
// bars have not built yet depend on what the bars step would write, so the EMA plan of an asset first
// rebuilds its bars the way the bars step would, inside the same transaction, then its EMAs from them.
import type { Store } from '../store/store.js';
import { DirectWrites } from './writes.js';
import { EMAS_STATE_TABLES } from './state.js';
import { refreshAssetBars, type AssetBarsResult } from './bars.js';
import { refreshAssetEmas, type AssetEmasResult } from './emas.js';
import { prefetchEmas } from './prefetch.js';
import type { AssetOutcome, Component, ComponentSummary, StepContext } from './types.js';
import { staleReason } from './stale.js';

/** Thrown out of an asset's transaction to undo its writes; carries what the asset would have written. */
class Undo extends Error {
  constructor(readonly result: AssetBarsResult | AssetEmasResult) {
    super('plan only: rolled back');
  }
}

const day = (ms: number) => (ms === -Infinity ? 'all' : new Date(ms).toISOString().slice(0, 10));

/**
 * Plan one component over `assets`, one asset at a time on `store`. Same outcomes as the real step (built,
 * current, skipped, failed), 'planned' standing for built, and the same rows per table in `sum.rows`.
 * Costs about what the real run costs (the EMA plan recomputes the bars of assets the bars step would build).
 */
export async function planStep(
  store: Store, component: Component, assets: { id: number; symbol: string }[], ctx: StepContext, sum: ComponentSummary,
): Promise<void> {
  const { opts, tfs, periods, narrowed, lookbackDays, barsFailed, barsDone } = ctx;
  const runId = 'dry-run';
  const barsOpts = { tfs, narrowed, fullRebuild: !!opts.fullRebuild, lookbackDays, runId, recomputeFrom: opts.from, readers: EMAS_STATE_TABLES };
  const writes = new DirectWrites(store);
  const emaOpts = { tfs, periods, combos: opts.combos, narrowed, fullRebuild: !!opts.fullRebuild, runId, recomputeFrom: opts.from };
  const withBars = opts.components.includes('bars');
  for (const a of assets) {
    const t0 = Date.now();
    const out: AssetOutcome = { id: a.id, symbol: a.symbol, status: 'planned', reason: '', ms: 0 };
    let r: AssetBarsResult | AssetEmasResult | undefined;
    try {
      if (component === 'emas' && barsFailed.has(a.id)) Object.assign(out, { status: 'skipped', reason: 'its bars failed in this run' });
      else {
        r = await store.transaction(async () => {
          if (component === 'bars') throw new Undo(await refreshAssetBars(store, writes, a.id, barsOpts));
          // The bars this run would build first, as the bars step would have left them.
          if (withBars && barsDone.has(a.id)) await refreshAssetBars(store, writes, a.id, barsOpts);
          else if (!opts.skipStaleCheck) {
            const stale = await staleReason(store, a.id, (await prefetchEmas(store, [a.id])).get(a.id)!, ctx.stalenessHours);
            if (stale) return stale;
          }
          throw new Undo(await refreshAssetEmas(store, writes, a.id, emaOpts));
        }).then((stale) => {
          Object.assign(out, { status: 'skipped', reason: stale });
          return undefined;
        }, (e: unknown) => {
          if (e instanceof Undo) return e.result;
          throw e;
        });
      }
      if (r) {
        out.status = r.status === 'current' ? 'current' : 'planned';
        out.reason = r.reason;
        if (r.status === 'built') out.from = day(r.from);
        if (r.continued) out.continued = true;
      }
    } catch (e) {
      out.status = 'failed';
      out.reason = (e as Error).message;
      r = undefined;
      if (component === 'bars') barsFailed.add(a.id);
    }
    let rows = 0;
    if (r) {
      if (component === 'bars' && r.reason !== 'no source rows') barsDone.add(a.id);
      for (const [k, v] of Object.entries(r.rows)) {
        sum.rows[k] = (sum.rows[k] ?? 0) + v;
        rows += v;
      }
      if (component === 'bars' && r.status === 'built') {
        const b = r as AssetBarsResult;
        sum.repairs += b.counters.repairedTimehigh + b.counters.repairedTimelow;
        sum.rejects += b.counters.rejected;
        sum.gaps += b.gaps;
      }
    }
    out.ms = Date.now() - t0;
    sum.assets.push(out);
    opts.onEvent?.({ kind: 'computed', component, id: a.id, symbol: a.symbol, status: out.status, ms: out.ms });
    opts.onEvent?.({ kind: 'asset', component, id: a.id, symbol: a.symbol, status: out.status, reason: out.reason, ms: out.ms, rows });
  }
}
