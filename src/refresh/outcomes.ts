// What a family's step leaves, within one run, for the families that read it: the assets it failed (its readers
// skip them, with the first failure's reason) and the assets it built or found current (fresh by construction:
// its readers' staleness gate does not apply to them).
import type { FamilyResult } from './families/types.js';
import type { AssetOutcome, ComponentSummary, StepContext } from './types.js';

type Outcomes = Pick<StepContext, 'failed' | 'done'>;

/** The reason a reader of `upstream` skips the asset in this run, or undefined when it need not. */
export function upstreamFailure(ctx: Outcomes, upstream: string, id: number): string | undefined {
  return ctx.failed.get(upstream)?.get(id);
}

/** The asset failed in `family` (or was skipped for its upstream's failure, whose reason it passes on). */
export function markFailed(ctx: Outcomes, family: string, id: number, reason = `its ${family} failed in this run`): void {
  let m = ctx.failed.get(family);
  if (!m) ctx.failed.set(family, (m = new Map()));
  m.set(id, reason);
}

export function markDone(ctx: Outcomes, family: string, id: number): void {
  let s = ctx.done.get(family);
  if (!s) ctx.done.set(family, (s = new Set()));
  s.add(id);
}

export function upstreamDone(ctx: Outcomes, upstream: string, id: number): boolean {
  return !!ctx.done.get(upstream)?.has(id);
}

/** StepContext's per-family outcomes as they cross between threads (maps as entry lists). */
export interface WireOutcomes {
  failed: [string, [number, string][]][];
  done: [string, number[]][];
}

export function toWire(ctx: Outcomes): WireOutcomes {
  return {
    failed: [...ctx.failed].map(([f, m]) => [f, [...m]]),
    done: [...ctx.done].map(([f, s]) => [f, [...s]]),
  };
}

/** Merge outcomes that came over the wire into `ctx`'s. */
export function mergeWire(ctx: Outcomes, w: WireOutcomes): void {
  for (const [f, list] of w.failed) for (const [id, why] of list) markFailed(ctx, f, id, why);
  for (const [f, list] of w.done) for (const id of list) markDone(ctx, f, id);
}

/**
 * A family's result for one asset, once its writes are made (or, in a dry run, planned): the asset is done for
 * its readers, and its rows and counters go into the step's summary. Returns the rows it wrote.
 */
export function recordResult(ctx: Outcomes, component: string, id: number, r: FamilyResult, sum: ComponentSummary): number {
  if (r.reason !== 'no source rows') markDone(ctx, component, id);
  let written = 0;
  for (const [k, v] of Object.entries(r.rows)) {
    sum.rows[k] = (sum.rows[k] ?? 0) + v;
    written += v;
  }
  sum.repairs += r.repairs ?? 0;
  sum.rejects += r.rejects ?? 0;
  sum.gaps += r.gaps ?? 0;
  return written;
}

const day = (ms: number) => (ms === -Infinity ? 'all' : new Date(ms).toISOString().slice(0, 10));

/** An asset's outcome from its family's result: `built` (or, in a dry run, `planned`) from a day, or current. */
export function describeResult(out: AssetOutcome, r: FamilyResult, built: 'built' | 'planned'): void {
  out.status = r.status === 'current' ? 'current' : built;
  out.reason = r.reason;
  if (r.status === 'built') out.from = day(r.from);
  if (r.continued) out.continued = true;
}
