// The derived families the refresh keeps current, in the order they run (a family after its upstream). The
// built-in ones register in builtin.ts; a family defined elsewhere (src/features/, a test) registers the same
// way, through the Family type of types.ts only.
import type { StepContext } from '../types.js';
import type { Family, FamilyRun, StepFamily } from './types.js';

const registered = new Map<string, Family<never> | StepFamily>();

const isStep = (f: Family<never> | StepFamily): f is StepFamily => 'runStep' in f;

/** Add a family after its upstream ('source' or a family already registered). */
export function registerFamily<F>(f: Family<F> | StepFamily): void {
  if (registered.has(f.name)) throw new Error(`internal: family ${f.name} is registered twice`);
  if (f.upstream !== 'source' && !registered.has(f.upstream)) {
    throw new Error(`internal: family ${f.name} reads ${f.upstream}, which is not registered before it`);
  }
  for (const other of registered.values()) {
    const shared = f.tables.filter((t) => other.tables.some((o) => o.name === t.name)).map((t) => t.name);
    const state = f.stateTables.filter((t) => other.stateTables.includes(t));
    if (shared.length || state.length) throw new Error(`internal: families ${other.name} and ${f.name} both own ${[...shared, ...state].join(', ')}`);
  }
  registered.set(f.name, f as unknown as Family<never> | StepFamily);
}

/** A family by name, of either kind (an unknown name is an error). */
export function familyNamed(name: string): Family<unknown> | StepFamily {
  const f = registered.get(name);
  if (!f) throw new Error(`internal: no family ${name}`);
  return f as unknown as Family<unknown> | StepFamily;
}

/** A family the runner drives asset by asset. */
export function getFamily(name: string): Family<unknown> {
  const f = familyNamed(name);
  if (isStep(f as Family<never> | StepFamily)) throw new Error(`internal: family ${name} runs its own step`);
  return f as Family<unknown>;
}

/** The family if it runs its own loop over the assets (StepFamily), else undefined. */
export function stepFamily(name: string): StepFamily | undefined {
  const f = registered.get(name);
  return f && isStep(f) ? f : undefined;
}

/** The modules that register the families defined outside the built-in ones (Family.module), for worker threads. */
export function familyModules(): string[] {
  return allFamilies().flatMap((f) => ('module' in f && f.module ? [f.module] : []));
}

/** Every registered family, upstreams first. */
export function allFamilies(): (Family<unknown> | StepFamily)[] {
  return [...registered.values()] as unknown as (Family<unknown> | StepFamily)[];
}

/** State tables of the families that read `name`'s rows: its rewrites wait in its state until they ran. */
export function readersOf(name: string): string[] {
  return allFamilies().filter((f) => f.upstream === name).flatMap((f) => f.stateTables);
}

/** A step's settings as family `name` sees them (one object per step: the families cache their layouts per object). */
export function familyRun(ctx: StepContext, name: string): FamilyRun {
  const { opts } = ctx;
  return {
    runId: ctx.runId, tfs: ctx.tfs, periods: ctx.periods, combos: opts.combos, narrowed: ctx.narrowed,
    fullRebuild: !!opts.fullRebuild, lookbackDays: ctx.lookbackDays, recomputeFrom: opts.from, readers: readersOf(name),
  };
}
