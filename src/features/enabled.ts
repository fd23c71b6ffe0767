// Whether the refresh keeps the feature matrix current: once `features build` has written some (the matrix is
// opt-in). Its own small module so that a refresh without the matrix loads none of the matrix's code.
import { q } from '../schema/ddl.js';
import { featureState } from '../schema/feature-tables.js';
import type { Store } from '../store/store.js';

export async function featuresEnabled(store: Store): Promise<boolean> {
  const r = await store.query(`SELECT 1 AS x FROM ${q(featureState.name)} LIMIT 1`);
  return r.length > 0;
}

/** Register the matrix as a family of the refresh when a run asks for it (features/family.ts). */
export async function loadFeaturesFamily(components: readonly string[]): Promise<void> {
  if (components.includes('features')) await import('./family.js');
}

/**
 * The components of a whole refresh (`refresh --all`, `daily`): `core`, then the matrix once `features build` has
 * written some, its code loaded only then.
 */
export async function allComponents<C extends string>(store: Store, core: readonly C[]): Promise<(C | 'features')[]> {
  const out: (C | 'features')[] = [...core];
  if (await featuresEnabled(store)) out.push('features');
  await loadFeaturesFamily(out);
  return out;
}
