// SPEC I1, the defining property: importing a history in random batches (with revisions and backfills mixed
// in) with a refresh after each ends with every derived table identical — to the last bit — to one full
// build of the final history. On both engines, with the default timeframe and period selection.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import { ENGINES, freshDb, PG_URL } from './helpers/engines.js';
import { diffDumps, dumpDerived, historyArb, writeCsv, type Day } from './helpers/history.js';
import { assertNoCounterexample } from './helpers/property.js';

const dir = mkdtempSync(join(tmpdir(), 'talab-incr-'));
let fileNo = 0;

interface Step {
  kind: 'batch' | 'revise';
  /** Index range [from, to) of the history for a batch; the day index for a revision. */
  from: number;
  to: number;
  factor: number;
}

const scenarioArb = historyArb({ minLen: 15, maxLen: 130 }).chain((h) =>
  fc.record({
    history: fc.constant(h),
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, h.length - 1) }), { maxLength: 4 }),
    backfillFirst: fc.boolean(),
    revisions: fc.array(fc.record({ at: fc.integer({ min: 0, max: h.length - 1 }), factor: fc.double({ min: 0.9, max: 1.1, noNaN: true }) }), { maxLength: 2 }),
  }),
);

function plan(s: { history: Day[]; cuts: number[]; backfillFirst: boolean; revisions: { at: number; factor: number }[] }): Step[] {
  const bounds = [0, ...s.cuts.filter((c) => c > 0 && c < s.history.length).sort((a, b) => a - b), s.history.length];
  const batches: Step[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) if (bounds[i] < bounds[i + 1]) batches.push({ kind: 'batch', from: bounds[i], to: bounds[i + 1], factor: 1 });
  // A backfill: the second batch arrives first, then the first one (days before the asset's first day).
  if (s.backfillFirst && batches.length >= 2) [batches[0], batches[1]] = [batches[1], batches[0]];
  const steps: Step[] = [];
  batches.forEach((b, i) => {
    steps.push(b);
    const r = s.revisions[i];
    if (r) steps.push({ kind: 'revise', from: r.at, to: r.at + 1, factor: r.factor });
  });
  return steps;
}

function revised(d: Day, factor: number): Day {
  const close = d.close * factor;
  return { ...d, close, high: Math.max(d.high, close, d.open), low: Math.min(d.low, close, d.open) };
}

for (const engine of ENGINES) {
  test(`incremental refresh after every batch == full rebuild (random histories, revisions, backfills) [${engine}]`, { timeout: 600_000 }, async (t) => {
    if (engine === 'postgres' && !PG_URL) {
      if (process.env.CI) throw new Error('TALAB_TEST_PG must be set in CI');
      return t.skip('TALAB_TEST_PG not set');
    }
    let continued = 0;
    const result = await fc.check(
      fc.asyncProperty(scenarioArb, async (s) => {
        const steps = plan(s);
        const current = new Map<number, Day>();
        const inc = await freshDb(engine);
        const full = await freshDb(engine);
        try {
          for (const st of steps) {
            let days: Day[];
            if (st.kind === 'batch') days = s.history.slice(st.from, st.to);
            else {
              const d = s.history[st.from];
              if (!current.has(d.day)) continue; // not imported yet: nothing to revise
              days = [revised(current.get(d.day)!, st.factor)];
            }
            const lastBefore = Math.max(...current.keys());
            const onlyNew = st.kind === 'batch' && current.size > 0 && days.every((d) => d.day > lastBefore);
            for (const d of days) current.set(d.day, d);
            await importFile(inc.store, writeCsv(dir, `h${fileNo++}.csv`, days), { id: 801, symbol: 'RND' });
            const r = await runRefresh(inc.store, { components: ['bars', 'emas'] });
            assert.ok(r.ok, JSON.stringify(r.components.map((c) => c.assets.filter((a) => a.status === 'failed'))));
            // New days only: the daily path must continue from the carry, not quietly recompute the history
            // (which would pass the equality below without testing the continuation at all).
            const [bars, emas] = r.components.map((c) => c.assets.find((a) => a.id === 801));
            if (onlyNew) {
              assert.equal(bars?.continued, true, `bars not continued: ${JSON.stringify(bars)}`);
              assert.equal(emas?.continued, true, `EMAs not continued: ${JSON.stringify(emas)}`);
              continued++;
            }
          }
          const finalDays = [...current.values()].sort((a, b) => a.day - b.day);
          await importFile(full.store, writeCsv(dir, `h${fileNo++}.csv`, finalDays), { id: 801, symbol: 'RND' });
          await runRefresh(full.store, { components: ['bars', 'emas'] });
          const diff = diffDumps(await dumpDerived(inc.store), await dumpDerived(full.store));
          assert.equal(diff, null, `steps ${JSON.stringify(steps)}: ${diff}`);
        } finally {
          await inc.cleanup();
          await full.cleanup();
        }
      }),
      { numRuns: Number(process.env.TALAB_PROPERTY_RUNS ?? 6), endOnFailure: true },
    );
    assertNoCounterexample(result);
    t.diagnostic(`refreshes of new days only (continued from the carry): ${continued}`);
  });
}
