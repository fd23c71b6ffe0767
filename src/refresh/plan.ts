// `refresh --dry-run`: plan, print, stop. Each family reads what it needs (its prefetch and, for a recompute,
// its inputs), decides (its pure plan) and computes in memory; its writes go to a PlannedWrites, which counts
// them and writes nothing. The database sees only reads: no transaction, no lock, no run ledger row.
//
// A family whose upstream also runs must plan from the rows the upstream would write first (the EMAs of a day
// the bars have not built yet). For such an asset the upstream's plan is carried out again in memory, and the
// family reads the stored rows overlaid with it (Family.prefetchPlanned): the same rows per table and the
// same `from` as the real run, at about the cost of the real run's compute.
import type { Store } from '../store/store.js';
import { familyRun, getFamily } from './families/registry.js';
import type { Family, FamilyResult, FamilyRun } from './families/types.js';
import { describeResult, markFailed, recordResult, upstreamDone, upstreamFailure } from './outcomes.js';
import { PlannedWrites } from './planned.js';
import type { AssetOutcome, Component, ComponentSummary, StepContext } from './types.js';

/**
 * Plan one component over `assets`, one asset at a time on `store`. Same outcomes as the real step (built,
 * current, skipped, failed), 'planned' standing for built, and the same rows per table in `sum.rows`.
 */
export async function planStep(
  store: Store, component: Component, assets: { id: number; symbol: string }[], ctx: StepContext, sum: ComponentSummary,
): Promise<void> {
  const { opts } = ctx;
  const family = getFamily(component);
  const run = familyRun(ctx, component);
  // The upstream, when this run carries it out too and the family can read its planned rows.
  const upstream = family.upstream !== 'source' && opts.components.includes(family.upstream) && family.prefetchPlanned
    ? { family: getFamily(family.upstream), run: familyRun(ctx, family.upstream) } : undefined;
  for (const a of assets) {
    const t0 = Date.now();
    const out: AssetOutcome = { id: a.id, symbol: a.symbol, status: 'planned', reason: '', ms: 0 };
    let r: FamilyResult | undefined;
    try {
      const upFailed = upstreamFailure(ctx, family.upstream, a.id);
      if (upFailed) {
        Object.assign(out, { status: 'skipped', reason: upFailed });
        markFailed(ctx, component, a.id, upFailed);
      } else {
        let facts: unknown;
        let stale: string | null = null;
        const fresh = upstreamDone(ctx, family.upstream, a.id);
        if (upstream && fresh) facts = await plannedFacts(store, a.id, family, run, upstream);
        else {
          facts = (await family.prefetch(store, [a.id], run)).get(a.id);
          if (family.waitReason && !fresh && !opts.skipStaleCheck) stale = await family.waitReason(store, a.id, facts, ctx.stalenessHours);
        }
        if (stale) Object.assign(out, { status: 'skipped', reason: stale });
        else r = await family.refresh(store, new PlannedWrites(), a.id, facts, run);
      }
      if (r) describeResult(out, r, 'planned');
    } catch (e) {
      out.status = 'failed';
      out.reason = (e as Error).message;
      r = undefined;
      markFailed(ctx, component, a.id);
    }
    const rows = r ? recordResult(ctx, component, a.id, r, sum) : 0;
    out.ms = Date.now() - t0;
    sum.assets.push(out);
    opts.onEvent?.({ kind: 'computed', component, id: a.id, symbol: a.symbol, status: out.status, ms: out.ms });
    opts.onEvent?.({ kind: 'asset', component, id: a.id, symbol: a.symbol, status: out.status, reason: out.reason, ms: out.ms, rows });
  }
}

/** The family's facts for one asset as they will be after its upstream's planned writes (carried out again in memory). */
async function plannedFacts(
  store: Store, id: number, family: Family<unknown>, run: FamilyRun, upstream: { family: Family<unknown>; run: FamilyRun },
): Promise<unknown> {
  const upFacts = (await upstream.family.prefetch(store, [id], upstream.run)).get(id);
  const planned = new PlannedWrites(family.upstreamRows);
  await upstream.family.refresh(store, planned, id, upFacts, upstream.run);
  return family.prefetchPlanned!(store, id, run, planned);
}
