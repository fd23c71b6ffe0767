// `talab status`: "behind" means a refresh has work to do; a history too short for some timeframes is not behind.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerInitStatus } from '../src/cli/status.js';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import { collectStatus } from '../src/refresh/status.js';
import { runInProcess } from './helpers/cli-in-process.js';
import { engineTest } from './helpers/engines.js';
import { writeCsv, type Day } from './helpers/history.js';

const walk = (start: number, n: number, bump = 1): Day[] => Array.from({ length: n }, (_, i) => {
  const close = (100 + i) * bump;
  return { day: start + i, open: 100, high: Math.max(100, close) + 1, low: Math.min(100, close) - 1, close, volume: 10, marketCap: close };
});

engineTest('status: a young asset is current with its too-short timeframes listed apart; new or revised days make it behind', async (db) => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-status-'));
  const D0 = 19_800;
  await importFile(db.store, writeCsv(dir, 'a.csv', walk(D0, 20)), { id: 601, symbol: 'YNG' });
  const before = (await collectStatus(db.store))[0];
  assert.equal(before.behind.length, 12, 'never built: every table is behind');
  assert.deepEqual(before.tooYoung, []);

  assert.ok((await runRefresh(db.store, { components: ['bars', 'emas'] })).ok);
  const young = (await collectStatus(db.store))[0];
  assert.deepEqual(young.behind, []);
  // 20 days: no monthly or yearly bar, no 365D bar, no weekly EMA yet; 1D has rows everywhere.
  for (const tf of ['1M_CAL', '1Y_CAL', '365D', '1W_CAL_ISO']) assert.ok(young.tooYoung.includes(tf), `${tf} in ${young.tooYoung}`);
  for (const tf of ['1D']) assert.ok(!young.tooYoung.includes(tf), `${tf} has rows`);
  assert.equal(young.rows.ema_multi_tf_cal_anchor_iso, 0, 'a calendar-EMA table legitimately empty');
  // And the refresh that a "behind" verdict would ask for has nothing to do.
  const again = await runRefresh(db.store, { components: ['bars', 'emas'] });
  assert.ok(again.components.every((c) => c.assets.every((a) => a.status === 'current')));

  await importFile(db.store, writeCsv(dir, 'b.csv', walk(D0 + 20, 2)), { id: 601, symbol: 'YNG' });
  const late = (await collectStatus(db.store))[0];
  assert.equal(late.behind.length, 12, `new days: ${late.behind}`);
  assert.deepEqual(late.tooYoung, [], 'too-young timeframes are listed only for an asset that is not behind');
  assert.ok((await runRefresh(db.store, { components: ['bars'] })).ok);
  const barsOnly = (await collectStatus(db.store))[0];
  assert.deepEqual(barsOnly.behind, ['ema_multi_tf', 'ema_multi_tf_v2', 'ema_multi_tf_cal_us', 'ema_multi_tf_cal_iso', 'ema_multi_tf_cal_anchor_us', 'ema_multi_tf_cal_anchor_iso']);
  assert.ok((await runRefresh(db.store, { components: ['emas'] })).ok);
  assert.deepEqual((await collectStatus(db.store))[0].behind, []);

  // A revision of an old day: pending until a refresh consumes it.
  await importFile(db.store, writeCsv(dir, 'c.csv', walk(D0 + 5, 1, 1.1)), { id: 601, symbol: 'YNG' });
  assert.equal((await collectStatus(db.store))[0].behind.length, 12);
  assert.ok((await runRefresh(db.store, { components: ['bars', 'emas'] })).ok);

  await db.store.close();
  const target = db.pgSchema ? `${db.dbArg}?options=-c%20search_path%3D${db.pgSchema}` : db.dbArg;
  const text = await runInProcess(registerInitStatus, ['--db', target, 'status']);
  assert.equal(text.code, 0, text.out);
  assert.match(text.out, /YNG: current; history too short yet for \d+ timeframe\(s\): .*1M_CAL/);
  assert.match(text.out, /every asset is current/);
  assert.doesNotMatch(text.out, /behind/);
  const json = JSON.parse((await runInProcess(registerInitStatus, ['--db', target, 'status', '--json'])).out);
  assert.deepEqual(json.assets[0].behind, []);
  assert.ok(json.assets[0].too_young.includes('1Y_CAL'));
});
