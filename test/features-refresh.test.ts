// The feature matrix kept current by the refresh: importing day by day (or chunk by chunk, with revisions of
// past closes) and refreshing gives the matrix a full `features build` gives; a new day writes exactly that
// day's row; a revision rewrites exactly the tail from the revised day; --technicals; the opt-in rule.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildFeatures } from '../src/features/build.js';
import { TECHNICAL_EMAS, type FeatureRecord } from '../src/features/fields.js';
import { rowFingerprints } from '../src/features/fingerprint.js';
import { ingestRows } from '../src/features/ingest.js';
import { readMatrix } from '../src/features/matrix.js';
import { featuresEnabled } from '../src/features/enabled.js';
import { planFeatureAsset, recordBuild, unchangedInputs } from '../src/features/refresh.js';
import { BUILTIN_REGIMES_CSV, loadRegimes, parseRegimeCsv } from '../src/features/regimes.js';
import { pairsKey, parseTechnicals } from '../src/features/technicals.js';
import { importFile } from '../src/importer/import.js';
import '../src/features/family.js'; // registers the matrix as a family of the refresh
import { runRefresh } from '../src/refresh/runner.js';
import type { Store } from '../src/store/store.js';
import { UserError } from '../src/util/errors.js';
import { engineTest, ENGINES, freshDb, PG_URL, SAMPLE } from './helpers/engines.js';
import { historyArb, seededHistory, writeCsv, type Day } from './helpers/history.js';
import { assertNoCounterexample } from './helpers/property.js';

const ID = 801;
const SYM = 'RND';

async function withRegimes(store: Store): Promise<void> {
  await loadRegimes(store, parseRegimeCsv(BUILTIN_REGIMES_CSV, 'built-in'), 'built-in');
}

/** What `talab features build` does: compute, ingest, and record the state the refresh continues from. */
async function featuresBuild(store: Store, technicals?: string): Promise<void> {
  const built = await buildFeatures(store, { technicals: technicals === undefined ? undefined : parseTechnicals(technicals) });
  const r = await ingestRows(store, built.input);
  assert.equal(r.status, 'success', JSON.stringify(r));
  await recordBuild(store, built, r.run_id);
}

const strip = (rows: FeatureRecord[]) => rows.map(({ ingestion_ts: _t, ...r }) => r);

function revised(d: Day, factor: number): Day {
  const close = d.close * factor;
  return { ...d, close, high: Math.max(d.high, close, d.open), low: Math.min(d.low, close, d.open) };
}

async function refreshAll(store: Store) {
  const r = await runRefresh(store, { components: ['bars', 'emas', 'features'] });
  assert.ok(r.ok, JSON.stringify(r.components.map((c) => c.error ?? c.assets.filter((a) => a.status === 'failed'))));
  return r.components.find((c) => c.component === 'features')!;
}

const scenarioArb = historyArb({ minLen: 40, maxLen: 160 }).chain((h) =>
  fc.record({
    history: fc.constant(h),
    first: fc.integer({ min: 20, max: h.length - 1 }),
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: h.length - 1 }), { maxLength: 3 }),
    revision: fc.option(fc.record({ at: fc.integer({ min: 0, max: h.length - 1 }), factor: fc.double({ min: 0.9, max: 1.1, noNaN: true }) })),
    technicals: fc.constantFrom(undefined, '1D:10,7D:20', '1D:50'),
  }),
);

for (const engine of ENGINES) {
  test(`incremental feature refresh == full features build (random histories, chunks, a revision) [${engine}]`, { timeout: 600_000 }, async (t) => {
    if (engine === 'postgres' && !PG_URL) return t.skip('TALAB_TEST_PG not set');
    const dir = mkdtempSync(join(tmpdir(), 'talab-frefresh-'));
    let fileNo = 0;
    try {
      const result = await fc.check(
        fc.asyncProperty(scenarioArb, async (s) => {
          const inc = await freshDb(engine);
          const full = await freshDb(engine);
          try {
            await withRegimes(inc.store);
            await withRegimes(full.store);
            const current = new Map<number, Day>();
            const put = async (days: Day[]) => {
              for (const d of days) current.set(d.day, d);
              await importFile(inc.store, writeCsv(dir, `h${fileNo++}.csv`, days), { id: ID, symbol: SYM });
            };
            await put(s.history.slice(0, s.first));
            assert.ok((await runRefresh(inc.store, { components: ['bars', 'emas'] })).ok);
            await featuresBuild(inc.store, s.technicals);
            const bounds = [s.first, ...s.cuts.filter((c) => c > s.first).sort((a, b) => a - b), s.history.length];
            for (let i = 0; i + 1 < bounds.length; i++) {
              if (bounds[i] === bounds[i + 1]) continue;
              await put(s.history.slice(bounds[i], bounds[i + 1]));
              await refreshAll(inc.store);
              if (i === 0 && s.revision) {
                const d = [...current.values()].sort((a, b) => a.day - b.day)[Math.min(s.revision.at, current.size - 1)];
                await put([revised(d, s.revision.factor)]);
                await refreshAll(inc.store);
              }
            }
            const finalDays = [...current.values()].sort((a, b) => a.day - b.day);
            await importFile(full.store, writeCsv(dir, `h${fileNo++}.csv`, finalDays), { id: ID, symbol: SYM });
            assert.ok((await runRefresh(full.store, { components: ['bars', 'emas'] })).ok);
            await featuresBuild(full.store, s.technicals);
            // Bit for bit: both sides run the same kernels on the same inputs.
            assert.deepEqual(strip(await readMatrix(inc.store)), strip(await readMatrix(full.store)));
          } finally {
            await inc.cleanup();
            await full.cleanup();
          }
        }),
        { numRuns: Number(process.env.TALAB_PROPERTY_RUNS ?? 4), endOnFailure: true },
      );
      assertNoCounterexample(result);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

engineTest('a new day writes exactly its row; a revision rewrites exactly the tail from the revised day', async ({ store }) => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-frefresh-'));
  try {
    const h = seededHistory(120, 7);
    await withRegimes(store);
    await importFile(store, writeCsv(dir, 'a.csv', h.slice(0, 100)), { id: ID, symbol: SYM });
    assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);
    assert.equal(await featuresEnabled(store), false, 'no matrix built yet: the family is off');
    await featuresBuild(store);
    assert.equal(await featuresEnabled(store), true);
    const before = await readMatrix(store);
    assert.equal(before.length, 100);

    // Nothing new: nothing written.
    const idle = await refreshAll(store);
    assert.deepEqual(idle.assets.map((a) => [a.status, a.reason]), [['current', 'inputs unchanged since the last build']]);
    assert.equal(idle.rows.ml_feature_matrix ?? 0, 0);

    // A new day: exactly one row, the earlier ones untouched (same ingestion time).
    await importFile(store, writeCsv(dir, 'b.csv', [h[100]]), { id: ID, symbol: SYM });
    const daily = await refreshAll(store);
    assert.equal(daily.assets[0].status, 'built');
    assert.equal(daily.assets[0].from, new Date(h[100].day * 86_400_000).toISOString().slice(0, 10));
    assert.equal(daily.rows.ml_feature_matrix, 1);
    const after = await readMatrix(store);
    assert.equal(after.length, 101);
    assert.deepEqual(after.slice(0, 100), before);

    // A revised close 30 days back: rows from that day on are rewritten, the ones before are not.
    const at = 70;
    await importFile(store, writeCsv(dir, 'c.csv', [revised(h[at], 1.05)]), { id: ID, symbol: SYM });
    const rev = await refreshAll(store);
    const day = new Date(h[at].day * 86_400_000).toISOString().slice(0, 10);
    assert.equal(rev.assets[0].from, day, rev.assets[0].reason);
    assert.equal(rev.rows.ml_feature_matrix, 101 - at);
    const revisedRows = await readMatrix(store);
    assert.deepEqual(revisedRows.slice(0, at), after.slice(0, at));
    assert.notEqual(revisedRows[at].market_data.close, after[at].market_data.close);
    assert.ok(revisedRows.slice(at).every((r) => r.ingestion_ts !== after[0].ingestion_ts));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

engineTest('--technicals: chosen pairs only, the refresh keeps the choice', async ({ store }) => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-frefresh-'));
  try {
    const h = seededHistory(200, 3);
    await withRegimes(store);
    await importFile(store, writeCsv(dir, 'a.csv', h.slice(0, 199)), { id: ID, symbol: SYM });
    assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);
    await featuresBuild(store, '7d:20,1D:10');
    await importFile(store, writeCsv(dir, 'b.csv', [h[199]]), { id: ID, symbol: SYM });
    const r = await refreshAll(store);
    assert.equal(r.rows.ml_feature_matrix, 1);
    const last = (await readMatrix(store)).at(-1)!;
    assert.equal(typeof last.technicals.ema_1d_10_dist_pct, 'number');
    assert.equal(typeof last.technicals.ema_7d_20_d1, 'number');
    assert.equal(last.technicals.ema_1d_50_dist_pct, null, 'a pair not chosen stays NULL');
    assert.equal(last.technicals.ema_1w_cal_iso_20_d1, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--technicals parsing: catalog, built periods, carried pairs, group order', () => {
  assert.equal(pairsKey(parseTechnicals('7D:20, 1d:10')), '1D:10,7D:20');
  assert.equal(pairsKey(parseTechnicals(pairsKey(TECHNICAL_EMAS))), pairsKey(TECHNICAL_EMAS));
  const bad = (v: string, re: RegExp) => assert.throws(() => parseTechnicals(v), (e: unknown) => e instanceof UserError && re.test((e as Error).message));
  bad('9Q:10', /'9Q:10': unknown timeframe '9Q'/);
  bad('1D:11', /'1D:11': period 11 is not one the EMA refresh builds/);
  bad('1D:20', /'1D:20' has no fields in the technicals group/);
  bad('1D', /'1D' is not TF:PERIOD/);
  bad('1D:10,1d:10', /given twice/);
  bad(' , ', /needs a comma-separated list/);
});

test('plan: first differing row, new days, changed pairs', () => {
  const row = (d: string, v: number) => ['X', d, v];
  const day = Int32Array.from([1, 2, 3]);
  const fp = rowFingerprints([row('a', 1), row('b', 2), row('c', 3)]);
  const prev = { id: 1, symbol: 'X', technicals: 'T', days: 3, fp, inputs: 'tok' };
  assert.equal(planFeatureAsset(prev, 'T', day, fp).from, 3);
  assert.equal(planFeatureAsset(undefined, 'T', day, fp).from, 0);
  assert.equal(planFeatureAsset(prev, 'U', day, fp).from, 0);
  const changed = rowFingerprints([row('a', 1), row('b', 2 + 2 ** -40), row('c', 3)]);
  assert.equal(planFeatureAsset(prev, 'T', day, changed).from, 1, 'one bit in a value');
  const longer = rowFingerprints([row('a', 1), row('b', 2), row('c', 3), row('d', 4)]);
  const p = planFeatureAsset(prev, 'T', Int32Array.from([1, 2, 3, 4]), longer);
  assert.equal(p.from, 3);
  assert.match(p.reason, /1 new day/);
  assert.equal(unchangedInputs(prev, 'tok', 'T'), true);
  assert.equal(unchangedInputs(prev, 'other', 'T'), false, 'a table was written since');
  assert.equal(unchangedInputs(prev, 'tok', 'U'), false, 'other pairs');
  assert.equal(unchangedInputs({ ...prev, inputs: '' }, '', 'T'), false, 'no refresh state: always recompute');
});

const CLI = resolve(import.meta.dirname, '../src/cli/main.ts');
const TSX = import.meta.resolve('tsx');

function talab(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { env: { ...process.env, TZ: 'UTC', TALAB_DB: '' }, cwd: tmpdir() });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => res({ code: code ?? -1, out, err }));
  });
}

test('CLI: --technicals usage errors name the pair (exit 2); refresh --all runs the features step only once a matrix was built', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-frefresh-cli-'));
  try {
    const db = join(dir, 't.duckdb');
    const ok = async (args: string[]) => {
      const r = await talab(['--db', db, ...args]);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
      return r;
    };
    await ok(['import', join(SAMPLE, 'mantle.csv')]);
    const first = await ok(['refresh', '--all', '--quiet']);
    assert.doesNotMatch(first.out, /^features:/m, 'no matrix built: no features step');
    for (const [arg, re] of [['1D:20', /'1D:20' has no fields in the technicals group/], ['2Q:10', /unknown timeframe '2Q'/], ['1D:7', /period 7 is not one/]] as const) {
      const r = await talab(['--db', db, 'features', 'build', '--technicals', arg]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, re);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    }
    await ok(['features', 'regimes', '--builtin']);
    await ok(['features', 'build', '--technicals', '1D:10,1D:50']);
    const again = await ok(['refresh', '--all']);
    assert.match(again.out, /^features: 0 built, 1 current, 0 skipped, 0 failed/m);
    const only = await ok(['refresh', '--features', '--json']);
    const doc = JSON.parse(only.out);
    assert.deepEqual(doc.refresh.components.map((c: { component: string }) => c.component), ['features']);
    await ok(['features', 'delete', '--symbol', 'MNT']);
    const after = await ok(['refresh', '--all']);
    assert.doesNotMatch(after.out, /^features:/m, 'deleted: the refresh no longer keeps the symbol');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
