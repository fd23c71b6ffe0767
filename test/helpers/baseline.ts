// Shared setup of the baseline tests: two small real assets, fully built.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { importFile } from '../../src/importer/import.js';
import { runRefresh } from '../../src/refresh/run.js';
import type { Store } from '../../src/store/store.js';
import { SHARED_CMC } from './engines.js';

export async function buildTwoAssets(store: Store): Promise<{ sei: number; wld: number }> {
  const sei = await importFile(store, join(SHARED_CMC, 'sei.csv'));
  const wld = await importFile(store, join(SHARED_CMC, 'worldcoin.csv'));
  const r = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.ok(r.ok, JSON.stringify(r.components.map((c) => c.error ?? c.assets.filter((a) => a.status === 'failed'))));
  return { sei: sei.asset.id, wld: wld.asset.id };
}
