// What a family's step leaves, within one run, for the families that read it: the assets it failed (its readers
// skip them, with the first failure's reason) and the assets it built or found current (fresh by construction:
// its readers' staleness gate does not apply to them).
import type { StepContext } from './types.js';

/** The reason a reader of `upstream` skips the asset in this run, or undefined when it need not. */
export function upstreamFailure(ctx: StepContext, upstream: string, id: number): string | undefined {
  return ctx.failed.get(upstream)?.get(id);
}

/** The asset failed in `family` (or was skipped for its upstream's failure, whose reason it passes on). */
export function markFailed(ctx: StepContext, family: string, id: number, reason = `its ${family} failed in this run`): void {
  let m = ctx.failed.get(family);
  if (!m) ctx.failed.set(family, (m = new Map()));
  m.set(id, reason);
}

export function markDone(ctx: StepContext, family: string, id: number): void {
  let s = ctx.done.get(family);
  if (!s) ctx.done.set(family, (s = new Set()));
  s.add(id);
}

export function upstreamDone(ctx: StepContext, upstream: string, id: number): boolean {
  return !!ctx.done.get(upstream)?.has(id);
}

/** StepContext's per-family outcomes as they cross between threads (maps as entry lists). */
export interface WireOutcomes {
  failed: [string, [number, string][]][];
  done: [string, number[]][];
}

export function toWire(ctx: Pick<StepContext, 'failed' | 'done'>): WireOutcomes {
  return {
    failed: [...ctx.failed].map(([f, m]) => [f, [...m]]),
    done: [...ctx.done].map(([f, s]) => [f, [...s]]),
  };
}

/** Merge outcomes that came over the wire into `ctx`'s. */
export function mergeWire(ctx: Pick<StepContext, 'failed' | 'done'>, w: WireOutcomes): void {
  for (const [f, list] of w.failed) {
    let m = ctx.failed.get(f);
    if (!m) ctx.failed.set(f, (m = new Map()));
    for (const [id, why] of list) m.set(id, why);
  }
  for (const [f, list] of w.done) {
    let s = ctx.done.get(f);
    if (!s) ctx.done.set(f, (s = new Set()));
    for (const id of list) s.add(id);
  }
}
