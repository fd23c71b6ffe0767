// Shared setup of the baseline tests: two small real assets cut from the bundled sample (mantle's last 27
// days, solana's last 49), fully built.
import assert from 'node:assert/strict';
import { importFile } from '../../src/importer/import.js';
import { runRefresh } from '../../src/refresh/runner.js';
import type { Store } from '../../src/store/store.js';
import { sampleSlice } from './sample.js';

export const MNT_DAYS = 27;
export const SOL_DAYS = 49;

export async function buildTwoAssets(store: Store): Promise<{ mnt: number; sol: number }> {
  const mnt = await importFile(store, sampleSlice('mantle', MNT_DAYS));
  const sol = await importFile(store, sampleSlice('solana', SOL_DAYS));
  const r = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.ok(r.ok, JSON.stringify(r.components.map((c) => c.error ?? c.assets.filter((a) => a.status === 'failed'))));
  return { mnt: mnt.asset.id, sol: sol.asset.id };
}
