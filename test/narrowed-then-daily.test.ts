// A narrowed refresh (--tfs/--periods) between two default runs writes rows of its selection past the
// watermark. The next default run — which continues from its carry and would otherwise only append — must
// replace them, not collide with them, and still end identical to a full build.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getTimeframe } from '../src/catalog/timeframes.js';
import { importFile } from '../src/importer/import.js';
import { parseSourceFile } from '../src/importer/parse.js';
import { runRefresh } from '../src/refresh/runner.js';
import { engineTest, freshDb, SAMPLE } from './helpers/engines.js';
import { diffDumps, dumpDerived, writeCmcRows } from './helpers/history.js';

engineTest('a narrowed run past the watermark, then the daily run: rows replaced, identical to a full build', async (db) => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-narrow-'));
  const rows = (await parseSourceFile(join(SAMPLE, 'solana.csv'))).rows.slice(-120);
  const file = (name: string, part: typeof rows) => {
    const p = join(dir, name);
    writeCmcRows(p, part);
    return p;
  };
  const asset = { id: 901, symbol: 'SOLX' };
  await importFile(db.store, file('a.csv', rows.slice(0, 100)), asset);
  assert.ok((await runRefresh(db.store, { components: ['bars', 'emas'] })).ok);
  const narrow = { tfs: ['1D', '7D', '1W_CAL_ISO', '1M_CAL_ANCHOR'].map((t) => getTimeframe(t)!), periods: [6, 9] };
  // 100 → 101 rows: no v2 guard threshold (N = 3·p·d) is crossed; 101 → 110 crosses 108 = 3·12·3, so v2's
  // (1D… , 12) pairs start and are written whole while every other pair continues. Both days must replace the
  // rows the narrowed run wrote.
  for (const [name, part] of [['b.csv', rows.slice(100, 101)], ['b2.csv', rows.slice(101, 110)]] as const) {
    await importFile(db.store, file(name, part), asset);
    assert.ok((await runRefresh(db.store, { components: ['bars', 'emas'], ...narrow })).ok);
    const daily = await runRefresh(db.store, { components: ['bars', 'emas'] });
    assert.ok(daily.ok, JSON.stringify(daily.components.map((c) => c.assets)));
    assert.equal(daily.components[0].assets[0].continued, true, `${name}: bars continued from their carry`);
    assert.equal(daily.components[1].assets[0].continued, true, `${name}: EMAs continued from their carry`);
  }
  // And the day after: nothing is flagged any more, plain appends.
  await importFile(db.store, file('c.csv', rows.slice(110)), asset);
  assert.ok((await runRefresh(db.store, { components: ['bars', 'emas'] })).ok);

  const full = await freshDb(db.store.dialect);
  try {
    await importFile(full.store, file('all.csv', rows), asset);
    assert.ok((await runRefresh(full.store, { components: ['bars', 'emas'] })).ok);
    assert.equal(diffDumps(await dumpDerived(db.store), await dumpDerived(full.store)), null);
  } finally {
    await full.cleanup();
  }
});
