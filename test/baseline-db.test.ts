// `talab baseline` end to end on both engines, on two small real assets (mantle 27 days, solana 49 days, cut from data/sample):
// an unchanged database passes on every table; deliberate perturbations are found with the right column,
// key and severity, and as missing/extra rows; --ids leaves every other asset untouched.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASELINE_TABLES, runBaseline } from '../src/baseline/baseline.js';
import type { TableResult } from '../src/baseline/compare.js';
import { q } from '../src/schema/ddl.js';
import { BAR_TABLES, EMA_TABLES, priceBars1d, priceBars1dRejects, refreshState, type Table } from '../src/schema/tables.js';
import type { Row, Store } from '../src/store/store.js';
import { engineTest } from './helpers/engines.js';
import { buildTwoAssets } from './helpers/baseline.js';



const tmpOut = () => mkdtempSync(join(tmpdir(), 'talab-baseline-'));

async function dump(store: Store, table: Table, where = ''): Promise<string> {
  return JSON.stringify(await store.query(`SELECT * FROM ${q(table.name)} ${where} ORDER BY ${table.key.map(q).join(', ')}`));
}

function byKey(table: Table, row: Row): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const parts = table.key.map((k) => {
    const type = table.columns.find((c) => c.name === k)!.type;
    params.push(type === 'ts' ? new Date(Number(row[k])).toISOString() : row[k]);
    return type === 'ts' ? `${q(k)} = CAST($${params.length} AS TIMESTAMPTZ)` : `${q(k)} = $${params.length}`;
  });
  return { sql: `WHERE ${parts.join(' AND ')}`, params };
}

function reportKey(table: Table, row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of table.key) {
    const type = table.columns.find((c) => c.name === k)!.type;
    out[k] = type === 'ts' ? new Date(Number(row[k])).toISOString() : row[k];
  }
  return out;
}

async function pickRow(store: Store, table: Table, where: string): Promise<Row> {
  const r = await store.query(`SELECT * FROM ${q(table.name)} WHERE ${where} ORDER BY ${table.key.map(q).join(', ')} LIMIT 1`);
  assert.equal(r.length, 1, `${table.name}: no row where ${where}`);
  return r[0];
}

const tableOf = (tables: TableResult[], name: string) => tables.find((t) => t.table === name)!;

// ---- tests ----

engineTest('baseline: an unchanged database rebuilds to PASS with 100 % match on every table', async ({ store }) => {
  await buildTwoAssets(store);
  const out = tmpOut();
  const now = new Date(Date.UTC(2026, 1, 5, 14, 30, 22));
  const r = await runBaseline(store, { outputDir: out, now, dropSnapshots: false });
  assert.equal(r.result, 'PASS', r.problems.join('\n'));
  assert.equal(r.exitCode, 0);
  assert.deepEqual(r.problems.filter((p) => !p.startsWith('metadata: git')), []);
  assert.equal(r.suffix, '20260205_143022');
  assert.deepEqual(r.phases.map((p) => [p.name, p.status]), [
    ['snapshot', 'ok'], ['truncate', 'ok'], ['rebuild', 'ok'], ['compare', 'ok'], ['cleanup', 'skipped'],
  ]);
  assert.equal(r.tables.length, 12);
  for (const tr of r.tables) {
    assert.equal(tr.status, 'PASS', tr.table);
    assert.equal(tr.matchRate, 1, tr.table);
    assert.equal(tr.missing.count + tr.extra.count, 0, tr.table);
    assert.ok(tr.keys.sampled > 0, `${tr.table}: compared something`);
    for (const c of tr.columns) assert.equal(c.mismatches, 0, `${tr.table}.${c.column}`);
    const counts = r.rowCounts[tr.table];
    assert.equal(counts.snapshot, counts.before, tr.table);
    assert.equal(counts.afterTruncate, 0, tr.table);
    assert.equal(counts.after, counts.before, tr.table);
    // The default checksum comparison covers every row.
    assert.equal(tr.keys.sampled, counts.before, tr.table);
    assert.deepEqual(tr.checksum, { queries: 2, differingSegments: 0, rowsPulled: 0 }, tr.table);
  }
  // Snapshots are real tables with their source table's DDL.
  for (const s of r.snapshots) {
    assert.ok(s.created && s.kept, s.snapshot);
    assert.match(s.snapshot, /_snapshot_20260205_143022$/);
    const pk = await store.query(
      `SELECT 1 AS x FROM information_schema.table_constraints WHERE table_schema = current_schema() AND table_name = $1 AND constraint_type = 'PRIMARY KEY'`,
      [s.snapshot],
    );
    // Built like the source table: keyed where the engine enforces the key (docs/decisions.md).
    assert.equal(pk.length, store.dialect === 'postgres' ? 1 : 0, `${s.snapshot}: primary key as on its source table`);
  }
  // Metadata for reproducibility.
  const m = r.metadata;
  assert.ok(m.git.commit === null ? typeof m.git.error === 'string' : /^[0-9a-f]{40}$/.test(m.git.commit));
  assert.match(m.versions!.engine, store.dialect === 'duckdb' ? /^DuckDB/ : /^PostgreSQL/);
  assert.match(m.versions!.talab, /^\d+\.\d+\.\d+/);
  assert.equal(m.database.location, store.location);
  assert.deepEqual(m.assets.map((a) => a.symbol).sort(), ['MNT', 'SOL']);
  assert.deepEqual(m.dateRange, { start: '2024-04-05', end: '2025-06-30' }); // mantle's first day, solana's last
  assert.equal(m.settings.sample.beginningDays, 30);
  // The report files: JSON says the same as the returned report; the text reads as PASS.
  assert.ok(r.files);
  const json = JSON.parse(readFileSync(r.files.json, 'utf8'));
  assert.equal(json.result, 'PASS');
  assert.equal(json.tables.length, 12);
  const text = readFileSync(r.files.text, 'utf8');
  assert.match(text, /BASELINE CAPTURE REPORT/);
  assert.match(text, /\[PASS\] All 12 tables match within tolerance/);
  assert.match(readFileSync(r.files.html, 'utf8'), /<h1[^>]*>Baseline PASS<\/h1>/);

  // A second run in the same second gets its own snapshot names; --full compares every row;
  // --drop-snapshots removes this run's snapshots after the PASS and leaves the first run's alone.
  const r2 = await runBaseline(store, { outputDir: out, now, sample: { full: true }, dropSnapshots: true });
  assert.equal(r2.result, 'PASS', r2.problems.join('\n'));
  assert.equal(r2.suffix, '20260205_143022_2');
  for (const tr of r2.tables) assert.deepEqual(Object.keys(tr.keys.strata), tr.keys.union ? ['all'] : [], tr.table);
  const left = await store.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE '%_snapshot_%'`,
  );
  assert.equal(left.length, 12);
  assert.ok(left.every((x) => x.t.endsWith('_snapshot_20260205_143022')));
}, 180_000);

engineTest('baseline: perturbed values are found with the right column, key and severity; missing and extra rows too', async ({ store }) => {
  const { sol } = await buildTwoAssets(store);
  const upd = async (table: Table, set: string, row: Row) => {
    const k = byKey(table, row);
    await store.exec(`UPDATE ${q(table.name)} SET ${set} ${k.sql}`, k.params);
  };
  // The live tables are perturbed before the run: the snapshot holds the perturbed values and the
  // rebuild restores the true ones, so "baseline" is the perturbed side.
  const ema = await pickRow(store, EMA_TABLES.v1, `id = ${sol} AND ema IS NOT NULL AND ema > 0`);
  await upd(EMA_TABLES.v1, 'ema = ema * 1.02', ema); // 2 %: rel diff 0.02/1.02 ≈ 1.96 % > 1 %
  const vol = await pickRow(store, BAR_TABLES.multi_tf, `id = ${sol} AND volume > 1000000`);
  await upd(BAR_TABLES.multi_tf, 'volume = volume * 1.001', vol); // 1e-3: above rtol 1e-4, below 1 %
  const close = await pickRow(store, priceBars1d, `id = ${sol}`);
  await upd(priceBars1d, 'close = close * (1 + 1e-7)', close); // within rtol 1e-5: not a mismatch
  const cnt = await pickRow(store, BAR_TABLES.cal_anchor_us, `id = ${sol}`);
  await upd(BAR_TABLES.cal_anchor_us, 'count_days = count_days + 1', cnt); // exact column
  const bar = await pickRow(store, EMA_TABLES.cal_iso, 'ema_bar IS NOT NULL');
  await upd(EMA_TABLES.cal_iso, 'ema_bar = NULL', bar); // NULL against a value
  const gone = await pickRow(store, BAR_TABLES.cal_iso, `id = ${sol}`);
  const g = byKey(BAR_TABLES.cal_iso, gone);
  await store.exec(`DELETE FROM ${q(BAR_TABLES.cal_iso.name)} ${g.sql}`, g.params); // rebuilt again: extra
  const v2 = EMA_TABLES.v2;
  const src = await pickRow(store, v2, `id = ${sol}`);
  const s = byKey(v2, src);
  const cols = v2.columns.map((c) => (c.name === 'period' ? '999' : q(c.name))).join(', ');
  await store.exec(`INSERT INTO ${q(v2.name)} SELECT ${cols} FROM ${q(v2.name)} ${s.sql}`, s.params); // never rebuilt: missing

  const r = await runBaseline(store, { outputDir: tmpOut(), dropSnapshots: true });
  assert.equal(r.result, 'FAIL');
  assert.equal(r.exitCode, 1);
  assert.ok(r.phases.filter((p) => p.name !== 'cleanup').every((p) => p.status === 'ok'), 'every phase itself succeeded');
  const status = Object.fromEntries(r.tables.map((x) => [x.table, `${x.status} ${x.severity}`]));
  assert.deepEqual(status, {
    price_bars_1d: 'PASS INFO',
    price_bars_multi_tf: 'FAIL WARNING',
    price_bars_multi_tf_cal_iso: 'FAIL CRITICAL',
    price_bars_multi_tf_cal_us: 'PASS INFO',
    price_bars_multi_tf_cal_anchor_iso: 'PASS INFO',
    price_bars_multi_tf_cal_anchor_us: 'FAIL CRITICAL',
    ema_multi_tf: 'FAIL CRITICAL',
    ema_multi_tf_v2: 'FAIL CRITICAL',
    ema_multi_tf_cal_us: 'PASS INFO',
    ema_multi_tf_cal_iso: 'FAIL CRITICAL',
    ema_multi_tf_cal_anchor_us: 'PASS INFO',
    ema_multi_tf_cal_anchor_iso: 'PASS INFO',
  });
  const only = (tr: TableResult) => tr.columns.filter((c) => c.mismatches > 0);

  const e = tableOf(r.tables, 'ema_multi_tf');
  assert.deepEqual(only(e).map((c) => [c.column, c.mismatches, c.severity]), [['ema', 1, 'CRITICAL']]);
  const em = only(e)[0].top[0];
  assert.deepEqual(em.key, reportKey(EMA_TABLES.v1, ema));
  assert.ok(Math.abs((em.baseline as number) / (em.rebuilt as number) - 1.02) < 1e-12);
  assert.ok(Math.abs(em.relDiff! - 0.02 / 1.02) < 1e-12);
  assert.equal(e.matched, e.keys.sampled - 1);

  const b = tableOf(r.tables, 'price_bars_multi_tf');
  assert.deepEqual(only(b).map((c) => [c.column, c.mismatches, c.severity, c.family]), [['volume', 1, 'WARNING', 'volume']]);
  assert.deepEqual(only(b)[0].top[0].key, reportKey(BAR_TABLES.multi_tf, vol));
  assert.ok(Math.abs(only(b)[0].mismatchMaxRelDiff! - 1e-3 / 1.001) < 1e-9);

  const d = tableOf(r.tables, 'price_bars_1d');
  const closeCol = d.columns.find((c) => c.column === 'close')!;
  assert.equal(closeCol.mismatches, 0);
  // A difference far inside the tolerance either rounds away in the checksum (no row pulled, noise not
  // measured) or straddles a rounding boundary: then its segment is pulled and the row test passes it.
  assert.equal(d.status, 'PASS');
  if (d.checksum!.rowsPulled === 0) assert.equal(closeCol.maxRelDiff, null);
  else assert.ok(closeCol.maxRelDiff! > 5e-8 && closeCol.maxRelDiff! < 2e-7, `within-tolerance difference: ${closeCol.maxRelDiff}`);

  const a = tableOf(r.tables, 'price_bars_multi_tf_cal_anchor_us');
  assert.deepEqual(only(a).map((c) => [c.column, c.mismatches, c.severity, c.family]), [['count_days', 1, 'CRITICAL', 'exact']]);
  assert.deepEqual(only(a)[0].top[0], {
    key: reportKey(BAR_TABLES.cal_anchor_us, cnt), baseline: Number(cnt.count_days) + 1, rebuilt: Number(cnt.count_days),
    absDiff: null, relDiff: null,
  });

  const n = tableOf(r.tables, 'ema_multi_tf_cal_iso');
  assert.deepEqual(only(n).map((c) => [c.column, c.mismatches, c.undefinedDiffs, c.severity]), [['ema_bar', 1, 1, 'CRITICAL']]);
  assert.equal(only(n)[0].top[0].baseline, null);
  assert.equal(only(n)[0].top[0].rebuilt, bar.ema_bar);

  const x = tableOf(r.tables, 'price_bars_multi_tf_cal_iso');
  assert.deepEqual([x.missing.count, x.extra.count], [0, 1]);
  assert.deepEqual(x.extra.top, [reportKey(BAR_TABLES.cal_iso, gone)]);
  assert.equal(only(x).length, 0);

  const m = tableOf(r.tables, 'ema_multi_tf_v2');
  assert.deepEqual([m.missing.count, m.extra.count], [1, 0]);
  assert.deepEqual(m.missing.top, [{ ...reportKey(v2, src), period: 999 }]);

  // Every finding is in the problem list and in the written reports.
  assert.equal(r.problems.length, 6, r.problems.join('\n'));
  const text = readFileSync(r.files!.text, 'utf8');
  assert.match(text, /\[FAIL\] ema_multi_tf — .*CRITICAL/);
  assert.match(text, /top mismatches of ema:/);
  assert.match(text, /missing from the rebuild: 1 row\(s\), e\.g\. id=\d+ tf=\S+ period=999/);
  assert.match(text, /extra in the rebuild: +1 row\(s\)/);
  const json = JSON.parse(readFileSync(r.files!.json, 'utf8'));
  assert.equal(json.result, 'FAIL');
  assert.equal(tableOf(json.tables, 'ema_multi_tf').columns.find((c: { column: string }) => c.column === 'ema')!.severity, 'CRITICAL');
  // A FAIL keeps its snapshots even when asked to drop them.
  assert.ok(r.snapshots.every((sn) => sn.kept));
  assert.match(r.phases.find((p) => p.name === 'cleanup')!.reason!, /snapshots kept for investigation/);
}, 180_000);

engineTest('baseline --ids: only the selected asset is snapshotted, deleted, rebuilt and compared', async ({ store }) => {
  const { mnt, sol } = await buildTwoAssets(store);
  const others = `WHERE id = ${sol}`;
  const watched = [...BASELINE_TABLES, priceBars1dRejects, refreshState];
  const dumpAll = async () => { const out: string[] = []; for (const tb of watched) out.push(await dump(store, tb, others)); return out; };
  const before = await dumpAll();
  const mntStamp = await store.query<{ t: number }>(`SELECT max(ingested_at) AS t FROM ema_multi_tf WHERE id = ${mnt}`);
  await new Promise((res) => setTimeout(res, 20));

  const r = await runBaseline(store, { ids: [mnt], outputDir: tmpOut(), dropSnapshots: false });
  assert.equal(r.result, 'PASS', r.problems.join('\n'));
  assert.deepEqual(r.metadata.scope.ids, [mnt]);
  assert.deepEqual(r.metadata.assets.map((a) => a.id), [mnt]);
  const after = await dumpAll();
  for (const [i, tb] of watched.entries()) assert.equal(after[i], before[i], `${tb.name}: solana rows untouched`);
  // mnt really was rebuilt: its rows carry a new write stamp.
  const mntAfter = await store.query<{ t: number }>(`SELECT min(ingested_at) AS t FROM ema_multi_tf WHERE id = ${mnt}`);
  assert.ok(mntAfter[0].t > mntStamp[0].t, 'mnt rows rewritten');
  // The snapshots and the comparison hold mnt only.
  for (const sn of r.snapshots) {
    const ids = await store.query<{ id: number }>(`SELECT DISTINCT id FROM ${q(sn.snapshot)}`);
    assert.ok(ids.every((x) => x.id === mnt), sn.snapshot);
  }
  const total = await store.query<{ n: number }>(`SELECT count(*) AS n FROM price_bars_1d WHERE id = ${mnt}`);
  assert.equal(tableOf(r.tables, 'price_bars_1d').keys.union, Number(total[0].n));
  assert.ok(r.phases.find((p) => p.name === 'truncate')!.steps.some((st) => st.includes(`WHERE "id" IN (${mnt})`)));
}, 180_000);
