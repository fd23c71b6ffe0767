// The web view in a real browser (Debian's chromium driven by playwright-core): `talab serve` on a database
// built from the bundled sample, assets / family / timeframe / periods picked in the page, and the chart's
// series compared with the tables (values, not pixels). Without chromium the test skips, except in CI.
// The same database carries a failed baseline, whose HTML report is checked first (no browser needed).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { runBaseline, type BaselineReport } from '../src/baseline/baseline.js';
import { baselineReports } from '../src/web/data.js';
import { runRefresh } from '../src/refresh/runner.js';
import { openStore } from '../src/store/open.js';
import { registerServe } from '../src/cli/serve.js';
import { runInProcess } from './helpers/cli-in-process.js';
import { freshDb, type TestDb } from './helpers/engines.js';
import { buildWebSample, ETH, expectedWeekly, MNT } from './helpers/web.js';

const CHROMIUM = process.env.TALAB_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = join(import.meta.dirname, '..');

/** Starts `talab serve --port 0` as a real process and returns its URL once it listens. */
async function startServe(dbPath: string, reportsDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), '--db', dbPath, 'serve', '--port', '0', '--reports-dir', reportsDir], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start: ${out}${err}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`serve exited ${code}: ${err}`)); });
  });
  const stop = () => new Promise<void>((done) => {
    if (child.exitCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
  return { url, stop, stderr: () => err };
}

const waitLoaded = (page: Page, want: { id: number; tf: string; periods: number[] }) =>
  page.waitForFunction((w) => {
    const s = (window as unknown as { __talab: { ready: boolean; data: { id: number; tf: string; periods: number[] } | null } }).__talab;
    return s.ready && s.data !== null && s.data.id === w.id && s.data.tf === w.tf && s.data.periods.join(',') === w.periods.join(',');
  }, want, { timeout: 15_000 });

interface Shared { db: TestDb; work: string; reportsDir: string; fail: BaselineReport; want: Awaited<ReturnType<typeof expectedWeekly>> }
let shared: Shared | null = null;

before(async () => {
  const db = await freshDb('duckdb');
  const work = mkdtempSync(join(tmpdir(), 'talab-browser-'));
  const reportsDir = join(work, 'reports');
  await buildWebSample(db.store);
  // The rebuild is tampered with before the comparison: 3 % on every close of MNT's 7D bars.
  const fail = await runBaseline(db.store, {
    ids: [MNT], outputDir: reportsDir, topN: 5,
    hooks: { beforePhase: async (p) => { if (p === 'compare') await db.store.exec("UPDATE price_bars_multi_tf SET close = close * 1.03 WHERE tf = '7D' AND id = $1", [MNT]); } },
  });
  const want = await expectedWeekly(db.store, ETH, '1W_CAL_ISO', [10, 20]);
  await db.store.close(); // serve opens the file itself, read-only
  shared = { db, work, reportsDir, fail, want };
});

after(async () => {
  if (!shared) return;
  await shared.db.cleanup();
  rmSync(shared.work, { recursive: true, force: true });
});

test('baseline HTML: a FAIL lists the failed table first with a snapshot-vs-rebuilt plot; the web view lists it first', async () => {
  const { fail, reportsDir } = shared!;
  assert.equal(fail.result, 'FAIL');
  const html = readFileSync(fail.files!.html, 'utf8');
  assert.match(html, /<h1[^>]*>Baseline FAIL<\/h1>/);
  const firstTable = /<h3[^>]*>\[(\w+)\] ([\w_]+)/.exec(html.slice(html.indexOf('<h2>Tables</h2>')))!;
  assert.deepEqual([firstTable[1], firstTable[2]], ['FAIL', 'price_bars_multi_tf'], 'the failed table comes first');
  const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
  assert.equal(svgs.length, 1, 'one plot: only the failed table has mismatches');
  const circles = svgs[0].match(/<circle /g) ?? [];
  const tops = fail.tables.find((t) => t.table === 'price_bars_multi_tf')!.columns.flatMap((c) => c.top);
  assert.ok(tops.length > 0);
  assert.equal(circles.length, Math.min(40, tops.length));
  const worst = [...tops].sort((a, b) => (b.relDiff ?? 0) - (a.relDiff ?? 0))[0];
  assert.ok(svgs[0].includes(`${worst.baseline} → ${worst.rebuilt}`), 'each point carries its two values');
  assert.match(html, /<style>[\s\S]*--fail/, 'the page style of the web view');

  // A newer passing report (the same one, relabelled) still comes after the failed one; a broken file is shown.
  const dir = mkdtempSync(join(shared!.work, 'list-'));
  const json = JSON.parse(readFileSync(fail.files!.json, 'utf8'));
  writeFileSync(join(dir, 'baseline-fail.json'), JSON.stringify(json));
  writeFileSync(join(dir, 'baseline-later.json'), JSON.stringify({ ...json, result: 'PASS', startedAt: '2999-01-01T00:00:00.000Z', tables: [] }));
  writeFileSync(join(dir, 'baseline-broken.json'), '{ not json');
  const listed = await baselineReports(dir);
  assert.deepEqual(listed.map((r) => r.result), ['UNREADABLE', 'FAIL', 'PASS']);
  assert.equal(listed[1].tables[0].table, 'price_bars_multi_tf');
  assert.equal((await baselineReports(reportsDir))[0].html, basename(fail.files!.html));
});

test('serve in chromium: picked asset, timeframe and periods chart the database values; runs and baseline render', { timeout: 240_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs the chromium package`);
    t.skip(`${CHROMIUM} not installed (apt-get install chromium); browser test skipped`);
    return;
  }
  const { db, work, reportsDir, want } = shared!;
  let serve: Awaited<ReturnType<typeof startServe>> | null = null;
  const context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 1100 },
  });
  try {
    serve = await startServe(db.dbArg, reportsDir);
    const origin = new URL(serve.url).origin;
    const page = context.pages()[0] ?? (await context.newPage());
    const foreign: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith(origin)) foreign.push(r.url()); });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    await page.goto(serve.url);
    await page.waitForFunction(() => (window as unknown as { __talab: { ready: boolean } }).__talab.ready, null, { timeout: 15_000 });
    // Picked quickly one after another, as a user would: the page must end on the last pick.
    await page.selectOption('#asset', String(MNT));
    await page.selectOption('#asset', String(ETH));
    await page.waitForFunction((id) => (window as unknown as { __talab: { ready: boolean; data: { id: number } } }).__talab.data?.id === id, ETH);
    await page.selectOption('#family', 'cal_iso');
    await page.selectOption('#tf', '1W_CAL_ISO');
    await page.waitForFunction(() => (window as unknown as { __talab: { ready: boolean; data: { tf: string } } }).__talab.data?.tf === '1W_CAL_ISO');
    await page.selectOption('#periods', ['10', '20']);
    await waitLoaded(page, { id: ETH, tf: '1W_CAL_ISO', periods: [10, 20] });
    // Nothing still in flight may redraw something else afterwards.
    await page.waitForTimeout(500);
    assert.deepEqual(await page.evaluate(() => {
      const d = (window as unknown as { __talab: { data: { id: number; family: string; tf: string; periods: number[] } } }).__talab.data;
      return [d.id, d.family, d.tf, d.periods];
    }), [ETH, 'cal_iso', '1W_CAL_ISO', [10, 20]]);
    assert.deepEqual([await page.inputValue('#asset'), await page.inputValue('#family'), await page.inputValue('#tf')], [String(ETH), 'cal_iso', '1W_CAL_ISO']);

    const series = await page.evaluate(() => (window as unknown as { __talab: { series: unknown } }).__talab.series) as typeof want;
    assert.ok(want.candles.length >= 15);
    assert.deepEqual(series.candles, want.candles, 'candlesticks hold the finished bars');
    assert.deepEqual(series.volume.map((v) => ({ time: v.time, value: v.value })), want.volume, 'volume histogram');
    assert.deepEqual(Object.keys(series.emas).sort(), ['10', '20']);
    for (const p of ['10', '20']) assert.deepEqual(series.emas[p], want.emas[p], `EMA ${p}`);

    // The run history and the baseline report are on the page, failures (none here) first.
    assert.match(await page.locator('#runs table').innerText(), /finished[\s\S]*components bars,emas/);
    const report = await page.locator('#baseline').innerText();
    assert.match(report, /^\[FAIL\] talab baseline/);
    assert.match(report, /^table\s+status[^\n]*\nprice_bars_multi_tf\s+FAIL/m, 'the failed table first');
    assert.equal(await page.locator('#baseline a').getAttribute('href'), `/reports/${basename(shared!.fail.files!.html)}`);
    const full = await page.request.get(`${serve.url}reports/${basename(shared!.fail.files!.html)}`);
    assert.equal(full.status(), 200);
    assert.match(await full.text(), /<svg/);
    assert.match(await page.locator('#freshness table').innerText(), /ETH/);
    assert.match(await page.locator('footer').innerText(), /TradingView/);

    const bad = await page.request.get(`${serve.url}api/chart?id=${ETH}&tf=1W_CAL_ISO&periods=ten`);
    assert.equal(bad.status(), 400);
    assert.deepEqual(await bad.json(), { error: "periods: 'ten' is not an EMA period (a whole number from 1)", parameter: 'periods' });

    mkdirSync(join(ROOT, '.logs'), { recursive: true });
    await page.screenshot({ path: join(ROOT, '.logs', 'serve.png'), fullPage: true });
    assert.deepEqual(foreign, [], 'the page loads nothing from elsewhere');
    assert.deepEqual(pageErrors, []);

    // A writer is not locked out while the server runs: it holds the file only during a request.
    const writer = await openStore(db.dbArg);
    try {
      assert.ok((await runRefresh(writer, { components: ['bars'], ids: [MNT], fullRebuild: true })).ok);
    } finally {
      await writer.close();
    }
    const runs = await page.request.get(`${serve.url}api/runs?limit=1`);
    assert.match((await runs.json()).runs[0].what, new RegExp(`ids ${MNT}; fullRebuild`), 'and the server reads what it wrote');

    // `talab chart`: the file draws the same series from disk, with no server at all.
    const file = join(work, 'eth.html');
    const r = await runInProcess(registerServe, ['--db', db.dbArg, 'chart', '--id', String(ETH), '--tf', '1W_CAL_ISO', '--periods', '10,20', '--out', file]);
    assert.equal(r.code, 0, r.out);
    const offline = await context.newPage();
    const requests: string[] = [];
    offline.on('request', (q) => requests.push(q.url()));
    await offline.goto(pathToFileURL(file).href);
    await offline.waitForFunction(() => (window as unknown as { __talab: { ready: boolean } }).__talab.ready, null, { timeout: 15_000 });
    const fromFile = await offline.evaluate(() => (window as unknown as { __talab: { series: unknown } }).__talab.series) as typeof want;
    assert.deepEqual(fromFile.candles, want.candles);
    for (const p of ['10', '20']) assert.deepEqual(fromFile.emas[p], want.emas[p]);
    assert.deepEqual(requests, [pathToFileURL(file).href], 'nothing but the file itself is loaded');
  } finally {
    await context.close();
    await serve?.stop();
  }
});
