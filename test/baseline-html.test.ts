// The baseline HTML report in the page style: failed tables first, and a plot of snapshot against rebuilt
// values for the worst mismatches; the web view lists failed reports before passing ones.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBaseline } from '../src/baseline/baseline.js';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import { baselineReports } from '../src/web/data.js';
import { freshDb } from './helpers/engines.js';
import { sampleSlice, SAMPLE_IDS } from './helpers/sample.js';

test('baseline HTML: a FAIL lists the failed table first with a snapshot-vs-rebuilt plot; the web view puts it first', { timeout: 120_000 }, async () => {
  const db = await freshDb('duckdb');
  const out = mkdtempSync(join(tmpdir(), 'talab-html-'));
  try {
    const id = SAMPLE_IDS.mantle;
    await importFile(db.store, sampleSlice('mantle', 60));
    assert.ok((await runRefresh(db.store, { components: ['bars', 'emas'] })).ok);
    // The rebuild is tampered with before the comparison: 3 % on every close of the 7D bars.
    const fail = await runBaseline(db.store, {
      ids: [id], outputDir: out, topN: 5,
      hooks: { beforePhase: async (p) => { if (p === 'compare') await db.store.exec("UPDATE price_bars_multi_tf SET close = close * 1.03 WHERE tf = '7D'"); } },
    });
    assert.equal(fail.result, 'FAIL');
    const html = readFileSync(fail.files!.html, 'utf8');
    assert.match(html, /<h1[^>]*>Baseline FAIL<\/h1>/);
    const firstTable = /<h3[^>]*>\[(\w+)\] ([\w_]+)/.exec(html.slice(html.indexOf('<h2>Tables</h2>')))!;
    assert.deepEqual([firstTable[1], firstTable[2]], ['FAIL', 'price_bars_multi_tf'], 'the failed table comes first');
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    assert.equal(svgs.length, 1, 'one plot: only the failed table has mismatches');
    const circles = svgs[0].match(/<circle /g) ?? [];
    const tops = fail.tables.find((t) => t.table === 'price_bars_multi_tf')!.columns.flatMap((c) => c.top);
    assert.equal(circles.length, Math.min(40, tops.length));
    const worst = tops.sort((a, b) => (b.relDiff ?? 0) - (a.relDiff ?? 0))[0];
    assert.ok(svgs[0].includes(`${worst.baseline} → ${worst.rebuilt}`), 'each point carries its two values');
    assert.match(html, /<style>[\s\S]*--fail/, 'the page style of the web view');

    // A newer passing report (the same one, relabelled) still comes after the failed one.
    const json = JSON.parse(readFileSync(fail.files!.json, 'utf8'));
    writeFileSync(join(out, 'baseline-later.json'), JSON.stringify({ ...json, result: 'PASS', startedAt: '2999-01-01T00:00:00.000Z', tables: [] }));
    writeFileSync(join(out, 'baseline-broken.json'), '{ not json');
    const listed = await baselineReports(out);
    assert.deepEqual(listed.map((r) => r.result), ['UNREADABLE', 'FAIL', 'PASS'], 'an unreadable report is shown, not dropped');
    listed.shift();
    assert.deepEqual(listed.map((r) => r.result), ['FAIL', 'PASS']);
    assert.equal(listed[0].tables[0].table, 'price_bars_multi_tf');
    assert.equal(listed[0].html, fail.files!.html.split('/').pop());
  } finally {
    await db.cleanup();
    rmSync(out, { recursive: true, force: true });
  }
});
