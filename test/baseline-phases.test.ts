// `talab baseline` phases on both engines: --dry-run changes nothing; a failing phase still produces the
// report, with the failure in it; a failed snapshot deletes nothing; --skip-rebuild; the sample is the
// same set of keys on both sides and equals a JS reference (so both engines pick the same keys); the SQL
// tolerance test agrees with the JS one; the CLI's flags and exit codes.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { compareAgainstSnapshot } from '../src/baseline/against.js';
import { BASELINE_TABLES, runBaseline } from '../src/baseline/baseline.js';
import { KEYS_TABLE, keysTableSql, seriesShape, type SampleConfig } from '../src/baseline/sample.js';
import { absDiffSql, comparedColumns, matchSql, relDiff, relDiffSql, TOLERANCES, withinTolerance, type ComparedColumn } from '../src/baseline/tolerance.js';
import { registerBaseline } from '../src/cli/baseline.js';
import { createTableSql, q } from '../src/schema/ddl.js';
import { priceBars1d, priceBars1dRejects, refreshState, type Table } from '../src/schema/tables.js';
import type { Store } from '../src/store/store.js';
import { runInProcess } from './helpers/cli-in-process.js';
import { engineTest } from './helpers/engines.js';
import { buildTwoAssets } from './helpers/baseline.js';



const tmpOut = () => mkdtempSync(join(tmpdir(), 'talab-baseline-'));

async function tablesInSchema(store: Store): Promise<string[]> {
  const r = await store.query<{ t: string }>(
    // Tables only: a view holds nothing of its own, and its rows have no stable order to compare by.
    "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
  );
  return r.map((x) => x.t);
}

/** Every table of the schema, every row, in a stable order. */
async function wholeDatabase(store: Store): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of await tablesInSchema(store)) {
    out[t] = JSON.stringify(await store.query(`SELECT * FROM ${q(t)} ORDER BY 1, 2`));
  }
  return out;
}

// ---- tests ----

engineTest('baseline --dry-run shows every step and SQL and changes nothing', async ({ store }) => {
  const { mnt } = await buildTwoAssets(store);
  const before = await wholeDatabase(store);
  const lines: string[] = [];
  const out = tmpOut();
  const r = await runBaseline(store, { dryRun: true, ids: [mnt], outputDir: out, log: (l) => lines.push(l) });
  assert.deepEqual(await wholeDatabase(store), before, 'not one table or row changed');
  assert.equal(r.result, 'DRY RUN');
  assert.equal(r.exitCode, 0);
  assert.deepEqual(r.phases.map((p) => [p.name, p.status]), [
    ['snapshot', 'dry-run'], ['truncate', 'dry-run'], ['rebuild', 'dry-run'], ['compare', 'dry-run'], ['cleanup', 'dry-run'],
  ]);
  const steps = (name: string) => r.phases.find((p) => p.name === name)!.steps.join('\n');
  assert.equal((steps('snapshot').match(/^CREATE TABLE /gm) ?? []).length, 12);
  assert.equal((steps('snapshot').match(new RegExp(`^INSERT INTO .* WHERE "id" IN \\(${mnt}\\);$`, 'gm')) ?? []).length, 12);
  assert.equal((steps('truncate').match(new RegExp(`^DELETE FROM .* WHERE "id" IN \\(${mnt}\\);$`, 'gm')) ?? []).length, 14);
  assert.match(steps('rebuild'), new RegExp(`runRefresh\\(\\{ components: \\['bars', 'emas'\\], ids: \\[${mnt}\\], fullRebuild: true \\}\\)`));
  // The first-level checksum query of every table (the deeper levels depend on what differs).
  assert.equal((steps('compare').match(/^SELECT .* AS s1, /gm) ?? []).length, 24);
  assert.equal((steps('cleanup').match(/^DROP TABLE IF EXISTS /gm) ?? []).length, 12);
  // The plan is printed, and the report saved, without touching the database.
  const printed = lines.join('\n');
  assert.match(printed, /PHASE TRUNCATE \(dry run\)/);
  assert.match(printed, /DELETE FROM "ema_multi_tf_cal_anchor_iso"/);
  assert.match(printed, / AS s1, /);
  assert.ok(r.snapshots.every((s) => !s.created));
  assert.deepEqual(readdirSync(out).sort(), [`baseline-${r.suffix}-dry-run.html`, `baseline-${r.suffix}-dry-run.json`, `baseline-${r.suffix}-dry-run.txt`]);
  assert.match(readFileSync(join(out, `baseline-${r.suffix}-dry-run.txt`), 'utf8'), /PLANNED STEPS[\s\S]*CREATE TABLE "price_bars_1d_snapshot_/);
}, 180_000);

engineTest('baseline: a failing rebuild still produces the report, with the failure and the comparison in it', async ({ store }) => {
  const { mnt, sol } = await buildTwoAssets(store);
  const out = tmpOut();
  const r = await runBaseline(store, {
    ids: [mnt], outputDir: out, now: new Date(Date.UTC(2026, 1, 5, 14, 30, 22)),
    hooks: {
      beforePhase: (p) => {
        if (p === 'rebuild') throw new Error('injected: the rebuild crashed');
      },
      // A snapshot that disappears before the comparison: that table errors, the others are still compared.
      afterPhase: async (p, res) => {
        if (p === 'rebuild') {
          assert.equal(res.status, 'failed');
          await store.exec(`DROP TABLE ${q('ema_multi_tf_v2_snapshot_20260205_143022')}`);
        }
      },
    },
  });
  assert.equal(r.result, 'FAIL');
  assert.equal(r.exitCode, 1);
  const rebuild = r.phases.find((p) => p.name === 'rebuild')!;
  assert.equal(rebuild.status, 'failed');
  assert.deepEqual(rebuild.errors, ['injected: the rebuild crashed']);
  assert.equal(r.phases.find((p) => p.name === 'compare')!.status, 'failed');
  const d = r.tables.find((x) => x.table === 'price_bars_1d')!;
  assert.deepEqual([d.status, d.missing.count, d.severity], ['FAIL', 27, 'CRITICAL'], 'all 27 mnt days reported missing');
  // The comparison ran: the deleted-and-not-rebuilt rows are reported missing, table by table.
  const v2 = r.tables.find((x) => x.table === 'ema_multi_tf_v2')!;
  assert.equal(v2.status, 'ERROR');
  assert.match(v2.error!, /ema_multi_tf_v2_snapshot_/);
  for (const tr of r.tables.filter((x) => x.table !== 'ema_multi_tf_v2')) {
    // mnt is too young for some long calendar EMAs: an empty table on both sides is a PASS.
    assert.equal(tr.status, r.rowCounts[tr.table].snapshot ? 'FAIL' : 'PASS', tr.table);
    assert.equal(tr.extra.count, 0, tr.table);
    assert.equal(tr.missing.count, r.rowCounts[tr.table].snapshot, tr.table);
    if (tr.missing.count) assert.equal(tr.severity, 'CRITICAL', tr.table);
  }
  assert.ok(r.problems.includes('rebuild: injected: the rebuild crashed'));
  // The truncate phase had reset mnt's refresh state (so a later refresh rebuilds it); solana's is intact.
  const states = await store.query<{ id: number; n: number }>('SELECT id, count(*) AS n FROM refresh_state GROUP BY id');
  assert.deepEqual(states.map((x) => x.id), [sol]);
  assert.ok(r.problems.some((p) => p.includes(`talab refresh --all --full-rebuild --ids ${mnt}`)), 'tells how to restore');
  const json = JSON.parse(readFileSync(r.files!.json, 'utf8'));
  assert.equal(json.result, 'FAIL');
  assert.deepEqual(json.phases.find((p: { name: string }) => p.name === 'rebuild').errors, ['injected: the rebuild crashed']);
  assert.match(readFileSync(r.files!.text, 'utf8'), /\[FAILED\]  rebuild[\s\S]*Error: injected: the rebuild crashed/);

}, 180_000);

engineTest('baseline: when a snapshot fails nothing is deleted and nothing rebuilt; the run reports FAIL', async ({ store }) => {
  await buildTwoAssets(store);
  const counts = async () => {
    const out: number[] = [];
    for (const tb of [...BASELINE_TABLES, priceBars1dRejects, refreshState]) {
      out.push(Number((await store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(tb.name)}`))[0].n));
    }
    return out;
  };
  const before = await counts();
  const r = await runBaseline(store, {
    outputDir: tmpOut(),
    hooks: { beforePhase: (p) => { if (p === 'snapshot') throw new Error('injected: no space left for snapshots'); } },
  });
  assert.deepEqual(await counts(), before);
  assert.equal(r.result, 'FAIL');
  assert.deepEqual(r.phases.map((p) => [p.name, p.status]), [
    ['snapshot', 'failed'], ['truncate', 'skipped'], ['rebuild', 'skipped'], ['compare', 'ok'], ['cleanup', 'skipped'],
  ]);
  assert.match(r.phases[1].reason!, /not every table could be snapshotted/);
  assert.ok(r.tables.every((x) => x.status === 'SKIPPED'));
  assert.ok(r.problems.includes('snapshot: injected: no space left for snapshots'));
}, 180_000);

engineTest('baseline: snapshots are dropped after a PASS by default (DuckDB checkpointed), kept with dropSnapshots false', async ({ store }) => {
  await buildTwoAssets(store);
  const r = await runBaseline(store, { outputDir: tmpOut() });
  assert.equal(r.result, 'PASS', r.problems.join('\n'));
  assert.deepEqual(r.phases.map((p) => [p.name, p.status]), [
    ['snapshot', 'ok'], ['truncate', 'ok'], ['rebuild', 'ok'], ['compare', 'ok'], ['cleanup', 'ok'],
  ]);
  assert.ok(r.snapshots.every((s) => s.created && !s.kept));
  assert.deepEqual((await tablesInSchema(store)).filter((x) => x.includes('_snapshot_')), []);
  const kept = await runBaseline(store, { outputDir: null, dropSnapshots: false });
  assert.equal(kept.result, 'PASS');
  assert.equal((await tablesInSchema(store)).filter((x) => x.includes('_snapshot_')).length, BASELINE_TABLES.length);
}, 180_000);

/** The sample the SQL should draw, computed in JS from the rows (md5 from node:crypto). */
function referenceSample(table: Table, rows: Record<string, unknown>[], cfg: SampleConfig): Map<string, string | null> {
  const { time, series } = seriesShape(table);
  const DAY = 86_400_000;
  const bounds = new Map<string, { lo: number; hi: number }>();
  const sid = (r: Record<string, unknown>) => series.map((c) => String(r[c])).join('|');
  for (const r of rows) {
    const b = bounds.get(sid(r)) ?? { lo: Infinity, hi: -Infinity };
    b.lo = Math.min(b.lo, Number(r[time]));
    b.hi = Math.max(b.hi, Number(r[time]));
    bounds.set(sid(r), b);
  }
  const threshold = Math.floor(cfg.randomFraction * 2 ** 32);
  const out = new Map<string, string | null>();
  for (const r of rows) {
    const key = table.key.map((k) => String(r[k])).join('|');
    const b = bounds.get(sid(r))!;
    const tm = Number(r[time]);
    const h = parseInt(createHash('md5').update(`${cfg.seed}|${key}`).digest('hex').slice(0, 8), 16);
    out.set(key, tm < b.lo + cfg.beginningDays * DAY ? 'beginning' : tm > b.hi - cfg.endDays * DAY ? 'end' : h < threshold ? 'random' : null);
  }
  return out;
}

engineTest('baseline sampling: first/last N days per series plus a seeded interior share, equal to a JS reference', async ({ store }) => {
  const { sol } = await buildTwoAssets(store);
  for (const table of BASELINE_TABLES) {
    for (const cfg of [
      { full: false, beginningDays: 5, endDays: 3, randomFraction: 0.3, seed: 7 },
      { full: false, beginningDays: 0, endDays: 0, randomFraction: 0.5, seed: 8 },
    ]) {
      await store.exec(`DROP TABLE IF EXISTS ${q(KEYS_TABLE)}`);
      // Snapshot and live side are the same table here: the union is the table itself.
      await store.exec(keysTableSql(store.engine, table, table.name, undefined, cfg));
      const got = await store.query(`SELECT * FROM ${q(KEYS_TABLE)}`);
      const live = await store.query(`SELECT ${table.key.map(q).join(', ')} FROM ${q(table.name)}`);
      const want = referenceSample(table, live, cfg);
      assert.equal(got.length, want.size, table.name);
      for (const g of got) {
        const key = table.key.map((k) => String(g[k])).join('|');
        assert.equal(g.stratum, want.get(key), `${table.name} ${key}`);
      }
      await store.exec(`DROP TABLE ${q(KEYS_TABLE)}`);
    }
  }
  // An interior perturbation escapes a sample without interior, and is caught by --full.
  const mid = await store.query<{ ts: number }>(`SELECT ts FROM price_bars_1d WHERE id = ${sol} ORDER BY ts LIMIT 1 OFFSET 24`);
  await store.exec(`UPDATE price_bars_1d SET high = high * 1.5 WHERE id = ${sol} AND ts = CAST($1 AS TIMESTAMPTZ)`, [new Date(mid[0].ts).toISOString()]);
  const narrow = { beginningDays: 5, endDays: 5, randomFraction: 0 };
  // Snapshot the perturbed state (the rebuild restores the row, so that baseline fails and keeps its snapshots),
  // then compare the rebuilt tables with it: a sample without interior misses the row, checksums find it.
  const r0 = await runBaseline(store, { outputDir: null });
  assert.equal(r0.result, 'FAIL');
  const r1 = await compareAgainstSnapshot(store, 'latest', { sample: narrow, outputDir: null });
  const d1 = r1.tables.find((x) => x.table === 'price_bars_1d')!;
  assert.equal(d1.status, 'PASS');
  assert.deepEqual(d1.keys.strata, { beginning: 10, end: 10 });
  assert.equal(d1.keys.union, 76);
  const r2 = await compareAgainstSnapshot(store, 'latest', { outputDir: null });
  const d2 = r2.tables.find((x) => x.table === 'price_bars_1d')!;
  assert.equal(d2.status, 'FAIL');
  assert.deepEqual(d2.columns.filter((c) => c.mismatches).map((c) => [c.column, c.severity]), [['high', 'CRITICAL']]);
  assert.equal(d2.columns.find((c) => c.column === 'high')!.top[0].key.ts, new Date(mid[0].ts).toISOString());
  const r3 = await compareAgainstSnapshot(store, 'latest', { sample: { full: true }, outputDir: null });
  assert.equal(r3.tables.find((x) => x.table === 'price_bars_1d')!.status, 'FAIL');
}, 180_000);

engineTest('baseline: the SQL tolerance test and differences agree with the JS reference on every value pair', async ({ store }) => {
  const pairTable = (name: string): Table => ({ name, key: ['id'], columns: [{ name: 'id', type: 'int', notNull: true }, { name: 'v', type: 'double' }], doc: '' });
  const S = pairTable('_tol_s');
  const T = pairTable('_tol_t');
  for (const tb of [S, T]) await store.exec(createTableSql(store.engine, tb));
  // Magnitudes beyond ~1e290 are outside what Postgres' float arithmetic allows without an overflow error;
  // market data never gets near them, so the property covers prices, volumes and subnormal-small values.
  const special = [NaN, Infinity, -Infinity, 0, -0, 1, 1e-300, 5e-324, 1e15, -1e15];
  const pairs: [number | null, number | null][] = [];
  for (const a of [...special, null]) for (const b of [...special, null]) pairs.push([a, b]);
  fc.assert(fc.property(
    fc.double({ min: -1e12, max: 1e12, noNaN: true }),
    fc.oneof(fc.double({ min: -2e-4, max: 2e-4, noNaN: true }), fc.constantFrom(1e-5, -1e-5, 1e-4, -1e-4, 0)),
    fc.double({ min: -0.02, max: 0.02, noNaN: true }),
    (a, rel, abs) => {
      pairs.push([a, a * (1 + rel)], [a, a + abs]);
    },
  ), { numRuns: 400, seed: 20260205 });
  // NaN cannot travel through the bulk writers (NaN means NULL there), so every value goes in as SQL text.
  const lit = (v: number | null) => (v === null ? 'NULL' : Number.isNaN(v) ? `CAST('NaN' AS DOUBLE PRECISION)` : v === Infinity
    ? `CAST('Infinity' AS DOUBLE PRECISION)` : v === -Infinity ? `CAST('-Infinity' AS DOUBLE PRECISION)` : `CAST(${v.toExponential()} AS DOUBLE PRECISION)`);
  for (const [side, tb] of [[0, S], [1, T]] as const) {
    const values = pairs.map((p, i) => `(${i}, ${lit(p[side])})`);
    for (let i = 0; i < values.length; i += 500) await store.exec(`INSERT INTO ${q(tb.name)} VALUES ${values.slice(i, i + 500).join(', ')}`);
  }
  for (const family of ['price', 'volume'] as const) {
    const col: ComparedColumn = { name: 'v', type: 'double', family, tol: TOLERANCES[family] };
    const rows = await store.query<{ id: number; m: boolean; d: number | null; r: number | null }>(
      `SELECT s.id, ${matchSql(col)} AS m, ${absDiffSql(col)} AS d, ${relDiffSql(col)} AS r FROM ${q(S.name)} s JOIN ${q(T.name)} t ON s.id = t.id ORDER BY s.id`,
    );
    assert.equal(rows.length, pairs.length);
    for (const row of rows) {
      const [a, b] = pairs[row.id];
      assert.equal(row.m, withinTolerance(a, b, col.tol!), `${family} match(${a}, ${b})`);
      if (a !== null && b !== null && Number.isFinite(a) && Number.isFinite(b)) {
        assert.equal(row.d, Math.abs(a - b) === 0 ? 0 : Math.abs(a - b), `|${a} − ${b}|`);
        assert.equal(row.r, relDiff(a, b), `rel(${a}, ${b})`);
      }
      if ((a === null) !== (b === null) || (Number.isNaN(a) !== Number.isNaN(b))) assert.equal(row.d, null, `undefined diff (${a}, ${b})`);
    }
  }
  // The exact family is IS NOT DISTINCT FROM: NULL = NULL, a value against NULL differs.
  const exact = comparedColumns(priceBars1d).find((c) => c.family === 'exact')!;
  assert.match(matchSql(exact), /IS NOT DISTINCT FROM/);
});

engineTest('talab baseline CLI: flags, usage errors (exit 2), PASS exit 0', async ({ store, dbArg, pgSchema }) => {
  const { mnt } = await buildTwoAssets(store);
  await store.close();
  const db = pgSchema ? `${dbArg}${dbArg.includes('?') ? '&' : '?'}options=-c%20search_path%3D${pgSchema}` : dbArg;
  const run = (...args: string[]) => runInProcess(registerBaseline, ['--db', db, 'baseline', ...args]);

  const out = tmpOut();
  const ok = await run('--ids', String(mnt), '--output-dir', out, '--sample', '--sample-beginning', '3', '--sample-end', '2',
    '--sample-random-pct', '10%', '--seed', '5', '--drop-snapshots', '--top', '3');
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /RESULT: PASS/);
  const json = JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.json'))!), 'utf8'));
  assert.deepEqual(json.metadata.settings.sample, { full: false, beginningDays: 3, endDays: 2, randomFraction: 0.1, seed: 5 });
  assert.equal(json.metadata.settings.topN, 3);
  assert.deepEqual(json.metadata.scope.ids, [mnt]);
  assert.ok(json.snapshots.every((s: { kept: boolean }) => !s.kept));

  assert.equal((await run('--ids', '999999', '--dry-run', '--output-dir', out)).code, 2);
  assert.match((await run('--ids', '999999', '--dry-run')).out, /unknown asset id\(s\) 999999/);
  assert.equal((await run('--ids', 'x1')).code, 2);
  assert.equal((await run('--sample-random-pct', '5')).code, 2);
  assert.equal((await run('--sample-end', '-1')).code, 2);
  assert.match((await run('--sample-end', '3')).out, /need --sample/);
  assert.equal((await run('--sample', '--full')).code, 2);
  assert.equal((await run('--keep-snapshots', '--drop-snapshots')).code, 2);
  const dry = await run('--dry-run', '--output-dir', out);
  assert.equal(dry.code, 0);
  assert.match(dry.out, /RESULT: DRY RUN/);
}, 180_000);
