// Source rows changed, added or removed behind the refresh's back (SQL by hand), deleted on purpose
// (`talab delete`, `talab import --replace`) or recomputed on demand (`refresh --from`): every derived table
// must end equal to a full rebuild of the final history, and an unchanged database must cost no writes.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFile } from '../src/importer/import.js';
import { runRefresh, type RefreshSummary } from '../src/refresh/runner.js';
import { registerDelete } from '../src/cli/delete.js';
import { registerImport } from '../src/cli/import.js';
import { registerRefresh } from '../src/cli/refresh.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { runInProcess } from './helpers/cli-in-process.js';
import { engineTest, freshDb, type Engine, type TestDb } from './helpers/engines.js';
import { type Day, dayStr, diffDumps, dumpDerived, seededHistory, writeCsv } from './helpers/history.js';

const dir = mkdtempSync(join(tmpdir(), 'talab-integrity-'));
let fileNo = 0;
const DAY = 86_400_000;


const csv = (days: Day[]) => writeCsv(dir, `h${fileNo++}.csv`, days);
const engineOf = (s: Store): Engine => (s.dialect === 'postgres' ? 'postgres' : 'duckdb');
const written = (s: RefreshSummary) => s.components.reduce((a, c) => a + Object.values(c.rows).reduce((x, y) => x + y, 0), 0);
const reasons = (s: RefreshSummary) => s.components.flatMap((c) => c.assets.map((a) => a.reason)).join('; ');

async function fullBuildDiff(engine: Engine, store: Store, finals: Map<number, Day[]>): Promise<string | null> {
  const full = await freshDb(engine);
  try {
    for (const [id, days] of finals) await importFile(full.store, csv(days), { id, symbol: `A${id}` });
    assert.ok((await runRefresh(full.store, { components: ['bars', 'emas'] })).ok);
    return diffDumps(await dumpDerived(store), await dumpDerived(full.store));
  } finally {
    await full.cleanup();
  }
}

/** Days whose rows went missing, and a closing price moved inside the day's range. */
const without = (days: Day[], drop: number[]) => days.filter((_, i) => !drop.includes(i));
/** A day's ts as stored: the instant its day closes. */
const at = (d: Day) => new Date((d.day + 1) * DAY - 1).toISOString();

engineTest('a day deleted and one changed by hand in price_histories are caught by the fingerprints; unchanged costs nothing', async ({ store }) => {
  let days = seededHistory(300, 11);
  const other = seededHistory(120, 12);
  await importFile(store, csv(days), { id: 31, symbol: 'A31' });
  await importFile(store, csv(other), { id: 32, symbol: 'A32' });
  assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);
  const idle = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.equal(written(idle), 0, 'an unchanged database writes nothing');
  assert.ok(idle.components.every((c) => c.assets.every((a) => a.status === 'current')), reasons(idle));

  // Outside import: no price_changes record, and both days far before the lookback window.
  await store.exec('CREATE TABLE kept_row AS SELECT * FROM price_histories WHERE id = 31 AND ts = $1::timestamptz', [at(days[60])]);
  await store.exec('DELETE FROM price_histories WHERE id = 31 AND ts = $1::timestamptz', [at(days[60])]);
  const moved = { ...days[150], close: days[150].low + (days[150].high - days[150].low) * 0.25 };
  await store.exec('UPDATE price_histories SET close = $2 WHERE id = 31 AND ts = $1::timestamptz', [at(moved), moved.close]);
  days = without(days, [60]).map((d) => (d.day === moved.day ? moved : d));

  const r = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.ok(r.ok);
  const bars = r.components[0].assets;
  assert.match(bars.find((a) => a.id === 31)!.reason, /source changed outside import/);
  assert.ok(bars.find((a) => a.id === 31)!.from! <= dayStr(days[59].day), 'recomputed from the deleted day or before');
  assert.equal(bars.find((a) => a.id === 32)!.status, 'current', 'the untouched asset is not recomputed');
  assert.equal(await fullBuildDiff(engineOf(store), store, new Map([[31, days], [32, other]])), null);
  assert.equal(written(await runRefresh(store, { components: ['bars', 'emas'] })), 0, 'and then it is current again');

  // A row added by hand before the watermark (the deleted day put back, outside import) is caught too.
  await store.exec('INSERT INTO price_histories SELECT * FROM kept_row');
  const added = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.match(reasons(added), /source changed outside import/);
  assert.equal(await fullBuildDiff(engineOf(store), store, new Map([[31, seededHistory(300, 11).map((d) => (d.day === moved.day ? moved : d))], [32, other]])), null);
}, 240_000);

engineTest('a state from before fingerprints gets one without recomputing; refresh --from equals a full rebuild', async ({ store }) => {
  const days = seededHistory(200, 21);
  await importFile(store, csv(days), { id: 41, symbol: 'A41' });
  assert.ok((await runRefresh(store, { components: ['bars', 'emas'] })).ok);
  await store.exec('UPDATE refresh_state SET src_fp = NULL'); // as the upgrade leaves it
  const first = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.equal(written(first), 0);
  const fp = await store.query<{ n: number }>("SELECT count(*) AS n FROM refresh_state WHERE src_fp IS NOT NULL AND table_name = 'price_bars_1d'");
  assert.equal(Number(fp[0].n), 1, 'the fingerprint is recorded by that run');

  const from = Date.parse(`${dayStr(days[120].day)}T00:00:00Z`);
  const again = await runRefresh(store, { components: ['bars', 'emas'], from });
  assert.ok(again.ok);
  for (const c of again.components) assert.equal(c.assets[0].from, dayStr(days[120].day), `${c.component} recomputed from the requested day`);
  assert.equal(again.components[0].rows.price_bars_1d, 80, 'the 1D rows from the requested day on');
  assert.equal(await fullBuildDiff(engineOf(store), store, new Map([[41, days]])), null);
});

/** The CLI's --db for a test database (PostgreSQL: its schema by search_path). */
const dbOf = (db: TestDb) => (db.pgSchema
  ? `${db.dbArg}${db.dbArg.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${db.pgSchema}`)}` : db.dbArg);

engineTest('import --replace and delete remove days everywhere; bad delete/refresh input exits 2 with one line', async (db) => {
  await db.store.close();
  const target = dbOf(db);
  const logs = mkdtempSync(join(tmpdir(), 'talab-integrity-logs-'));
  const cli = (...a: string[]) => runInProcess((p) => { registerImport(p); registerDelete(p); registerRefresh(p); }, ['--db', target, ...a]);
  const refresh = async () => {
    const r = await cli('refresh', '--all', '--quiet', '--log-dir', logs, '--json');
    assert.equal(r.code, 0, r.out);
    return JSON.parse(r.out);
  };
  let days = seededHistory(200, 5);
  const b = seededHistory(120, 6);
  const imp = await cli('import', '--id', '1000000051', '--symbol', 'A51', csv(days));
  assert.equal(imp.code, 0, imp.out);
  assert.equal((await cli('import', '--id', '1000000052', '--symbol', 'A52', csv(b))).code, 0);
  await refresh();

  // Two middle days and the last one are missing from the new file.
  days = without(days, [100, 150, 199]);
  const rep = await cli('import', '--replace', '--id', '1000000051', '--symbol', 'A51', '--json', csv(days));
  assert.equal(rep.code, 0, rep.out);
  const doc = JSON.parse(rep.out);
  assert.equal(doc.totals.deleted, 3);
  assert.equal(doc.files[0].deleted, 3);
  assert.equal(doc.files[0].changed_from, dayStr(seededHistory(200, 5)[100].day));
  await refresh();

  const dry = await cli('delete', '--symbol', 'A52', '--from', dayStr(b[50].day), '--to', dayStr(b[59].day), '--dry-run');
  assert.equal(dry.code, 0, dry.out);
  assert.match(dry.out, /would delete 10 day\(s\)/);
  const del = await cli('delete', '--ids', '1000000052', '--from', dayStr(b[50].day), '--to', dayStr(b[59].day), '--json');
  assert.equal(del.code, 0, del.out);
  assert.equal(JSON.parse(del.out).deleted, 10);
  const tail = await cli('delete', '--ids', '1000000052', '--from', dayStr(b[110].day));
  assert.match(tail.out, /deleted 10 day\(s\)/);
  const bFinal = without(b, [...Array.from({ length: 10 }, (_, i) => 50 + i), ...Array.from({ length: 10 }, (_, i) => 110 + i)]);
  await refresh();

  const store = await openStore(target);
  try {
    assert.equal(await fullBuildDiff(engineOf(store), store, new Map([[1000000051, days], [1000000052, bFinal]])), null);
  } finally {
    await store.close();
  }
  // Every day of an asset deleted: its derived rows and state go with them.
  assert.match((await cli('delete', '--ids', '1000000052', '--to', dayStr(b[119].day))).out, /deleted 100 day\(s\)/);
  await refresh();
  const after = await openStore(target);
  try {
    for (const t of ['price_bars_1d', 'price_bars_multi_tf', 'ema_multi_tf', 'refresh_state']) {
      const n = await after.query<{ n: number }>(`SELECT count(*) AS n FROM ${t} WHERE id = 1000000052`);
      assert.equal(Number(n[0].n), 0, t);
    }
  } finally {
    await after.close();
  }

  for (const [args, msg] of [
    [['delete', '--ids', '1000000052'], /at least one bound/],
    [['delete', '--ids', '1000000052', '--from', '2024-02-30'], /--from must be a date/],
    [['delete', '--ids', '1000000052', '--from', '2024-03-05', '--to', '2024-03-01'], /--to 2024-03-01 is before --from 2024-03-05/],
    [['delete', '--from', '2024-03-05'], /--symbol S or --ids N/],
    [['delete', '--symbol', 'NOPE', '--from', '2024-03-05'], /no asset NOPE/],
    [['refresh', '--all', '--from', 'yesterday'], /--from must be a date/],
  ] as [string[], RegExp][]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.out, msg);
    assert.ok(!r.out.includes('\n'), 'one line');
  }
}, 240_000);
