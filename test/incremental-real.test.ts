// Incremental == full rebuild on real data: every real export (the larger shared collection next to the
// repository when it is there, else the five bundled in data/sample), its last 30 days imported one day at a
// time with a refresh after each day, ends identical to one import + full build of the same rows. Whole files by
// default (bitcoin's 16 years included); TALAB_REAL_HISTORY_DAYS=N keeps each file's last N days for a
// quicker local run.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFile } from '../src/importer/import.js';
import { parseSourceFile } from '../src/importer/parse.js';
import { runRefresh } from '../src/refresh/runner.js';
import { engineTest, freshDb, SAMPLE, SHARED_CMC, type Engine } from './helpers/engines.js';
import { diffDerivedSql, writeCmcRows } from './helpers/history.js';

const DAYS = 30;
const HISTORY = Number(process.env.TALAB_REAL_HISTORY_DAYS ?? Infinity);

/** Rows back out as a CMC export (all fields kept), so the importer reads exactly what it read before. */

const SOURCE = existsSync(SHARED_CMC) ? SHARED_CMC : SAMPLE;

engineTest('real data: last 30 days imported day by day, refreshed daily == full rebuild (every real export)', async (db, t) => {
  const { store } = db;
  const engine: Engine = store.dialect;
  const dir = mkdtempSync(join(tmpdir(), 'talab-real-'));
  const files = readdirSync(SOURCE).filter((f) => f.endsWith('.csv')).sort();
  assert.equal(files.length, SOURCE === SAMPLE ? 5 : 18);
  t.diagnostic(`${files.length} files from ${SOURCE}`);
  const parsed = await Promise.all(files.map((f) => parseSourceFile(join(SOURCE, f))));
  if (Number.isFinite(HISTORY)) for (const p of parsed) p.rows = p.rows.slice(-HISTORY);
  // Head of every file first, then one day per step (a file shorter than 31 days keeps its first day as head).
  const tail = parsed.map((p) => Math.min(DAYS, p.rows.length - 1));
  for (let i = 0; i < files.length; i++) {
    mkdirSync(join(dir, 'head'), { recursive: true });
    const p = join(dir, 'head', files[i]); // same file name, so the asset resolves as for the original
    writeCmcRows(p, parsed[i].rows.slice(0, parsed[i].rows.length - tail[i]));
    await importFile(store, p);
  }
  const first = await runRefresh(store, { components: ['bars', 'emas'], jobs: 2 });
  assert.ok(first.ok);
  for (let d = DAYS; d >= 1; d--) {
    let expected = 0;
    for (let i = 0; i < files.length; i++) {
      if (d > tail[i]) continue;
      expected++;
      const rows = parsed[i].rows;
      mkdirSync(join(dir, `day-${d}`), { recursive: true });
      const p = join(dir, `day-${d}`, files[i]);
      writeCmcRows(p, [rows[rows.length - d]]);
      await importFile(store, p);
    }
    const t0 = Date.now();
    const r = await runRefresh(store, { components: ['bars', 'emas'], jobs: 2 });
    assert.ok(r.ok, `day -${d}`);
    if (d === 1) t.diagnostic(`one daily incremental refresh of ${files.length} assets: ${Date.now() - t0} ms`);
    for (const c of r.components) {
      assert.equal(c.assets.filter((a) => a.status === 'built').length, expected, `${c.component} day -${d}: every asset with a new day`);
      // Incremental: each asset continued from its carry with its new day only.
      for (const a of c.assets) {
        assert.notEqual(a.from, 'all', `${c.component} ${a.symbol} day -${d} rebuilt whole`);
        if (a.status === 'built') assert.equal(a.continued, true, `${c.component} ${a.symbol} day -${d} not continued from its carry`);
      }
    }
  }
  const full = await freshDb(engine);
  try {
    mkdirSync(join(dir, 'whole'), { recursive: true });
    for (let i = 0; i < files.length; i++) {
      const p = join(dir, 'whole', files[i]);
      writeCmcRows(p, parsed[i].rows);
      await importFile(full.store, p);
    }
    const r = await runRefresh(full.store, { components: ['bars', 'emas'], jobs: 2 });
    assert.ok(r.ok);
    if (engine === 'duckdb') await full.store.close();
    const diff = await diffDerivedSql(store, { pgSchema: db.pgSchema }, full);
    assert.equal(diff, null, diff ?? '');
  } finally {
    await full.cleanup();
  }
}, 1_200_000);

