// Fault injection between talab and PostgreSQL: a TCP proxy killed (every connection cut, new ones refused
// for a while) or frozen (nothing forwarded) at points of refresh, import and baseline picked by bytes
// forwarded, deterministic per seed. Every run must complete or end with its summary and exit 1 — never a
// stack trace, never a run row left `running` — and a rerun must leave the tables a clean build leaves.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exitFor, buildProgram } from '../src/cli/main.js';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { dropSchema, PG_URL, SAMPLE } from './helpers/engines.js';
import { diffDumps, dumpDerived } from './helpers/history.js';
import { mulberry32 } from './helpers/random.js';
import { TcpProxy, type Fault } from './helpers/tcp-proxy.js';

const SEED = 26;
/** Fault points per command (10 by default; the partitioned CI pass, which repeats the suite, sets fewer). */
const POINTS = Number(process.env.TALAB_FAULT_POINTS ?? 10);
const skip = PG_URL ? false : 'TALAB_TEST_PG not set';

// Small retry pauses and timeouts, so a fault costs a fraction of a second (the code reads them per run).
const ENV: Record<string, string> = {
  TALAB_RETRY_ATTEMPTS: '4', TALAB_RETRY_MIN_MS: '40',
  TALAB_PG_CONNECT_TIMEOUT: '1', TALAB_PG_STATEMENT_TIMEOUT: '0.4', TALAB_PG_IDLE_TIMEOUT: '2',
};

let proxy: TcpProxy;
const dir = mkdtempSync(join(tmpdir(), 'talab-faults-'));
const schemas: string[] = [];
let files: string[] = [];

/** The first `days` days of two sample assets: enough for every bar family, small enough to run often. */
function cut(name: string, days: number): string {
  const lines = readFileSync(join(SAMPLE, name), 'utf8').split('\n');
  const p = join(dir, name);
  writeFileSync(p, lines.slice(0, days + 1).join('\n') + '\n');
  return p;
}

function schemaUrl(base: string, schema: string): string {
  return `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

async function freshSchema(tag: string): Promise<{ schema: string; store: Store }> {
  const schema = `f_${process.pid}_${tag}_${Date.now().toString(36)}`;
  schemas.push(schema);
  return { schema, store: await openStore(PG_URL!, { pgSchema: schema }) };
}

/** One talab command in this process, as the CLI would end it: exit code, stdout, stderr. */
async function talab(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = (await buildProgram(argv)).exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  const write = process.stderr.write.bind(process.stderr);
  const saved: Record<string, string | undefined> = {};
  for (const k of Object.keys(ENV)) {
    saved[k] = process.env[k];
    process.env[k] = ENV[k];
  }
  console.log = (...x: unknown[]) => out.push(x.join(' '));
  console.error = (...x: unknown[]) => err.push(x.join(' '));
  process.stderr.write = ((s: string | Uint8Array) => (err.push(String(s)), true)) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'talab', ...argv]);
    return { code: Number(process.exitCode ?? 0), out: out.join('\n'), err: err.join('\n') };
  } catch (e) {
    const { code, message } = exitFor(e);
    return { code, out: out.join('\n'), err: [...err, `talab: ${message}`].join('\n') };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
    for (const k of Object.keys(ENV)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    process.exitCode = undefined;
  }
}

const STACK = /\n\s+at .+:\d+:\d+/;

/** A faulted run: completed, or its summary and exit 1 (3 when the fault hit while opening the database). */
function assertEndedCleanly(what: string, r: { code: number; out: string; err: string }, summary: RegExp): void {
  assert.doesNotMatch(r.err + r.out, STACK, `${what}: a stack trace\n${r.err}`);
  assert.ok([0, 1, 3].includes(r.code), `${what}: exit ${r.code}\n${r.out}\n${r.err}`);
  if (r.code !== 3) assert.match(r.out, summary, `${what}: no summary\n${r.out}\n${r.err}`);
  else assert.match(r.err, /PostgreSQL|database/, `${what}: exit 3 without saying why\n${r.err}`);
}

async function runningRows(store: Store): Promise<number> {
  const r = await store.query<{ n: number }>("SELECT count(*) AS n FROM refresh_runs WHERE status = 'running'");
  return Number(r[0].n);
}

/** Points in (0, total) of a run of `total` bytes, the same for a seed. */
function points(total: number, salt: number): number[] {
  const rnd = mulberry32(SEED * 1000 + salt);
  return Array.from({ length: POINTS }, (_, i) => Math.floor(total * ((i + rnd()) / POINTS)));
}

/** Faults fired so far: each trial must fire its own. */
let fired = 0;
let ref: Record<string, unknown[]>;
let refPrices: unknown[];

const prices = (s: Store) => s.query('SELECT id, ts, open, high, low, close, volume, market_cap, source_line FROM price_histories ORDER BY id, ts');

before(async () => {
  if (skip) return;
  const u = new URL(PG_URL!);
  proxy = await TcpProxy.start({ host: u.hostname, port: Number(u.port || 5432) });
  files = [cut('solana.csv', 60)];
  const clean = await freshSchema('ref');
  for (const f of files) await importFile(clean.store, f);
  await runRefresh(clean.store, { components: ['bars', 'emas'], jobs: 1 });
  ref = await dumpDerived(clean.store);
  refPrices = await prices(clean.store);
  await clean.store.close();
});

after(async () => {
  await proxy?.close();
  for (const s of schemas) await dropSchema(s).catch(() => undefined);
});

async function faultedRefreshes(fault: (at: number) => Fault, n: number, salt: number): Promise<void> {
  const { schema, store } = await freshSchema(`r${salt}`);
  try {
    for (const f of files) await importFile(store, f);
    const url = proxy.route(schemaUrl(PG_URL!, schema));
    const cmd = ['--db', url, 'refresh', '--all', '--jobs', '1', '--quiet', '--log-dir', join(dir, 'logs')];
    // The bytes of one whole rebuild through the proxy: the points are spread over them.
    const b0 = proxy.bytes;
    assert.equal((await talab([...cmd, '--full-rebuild'])).code, 0);
    const total = proxy.bytes - b0;
    for (const [i, at] of points(total, salt).slice(0, n).entries()) {
      proxy.arm(proxy.bytes + at, fault(i));
      const r = await talab([...cmd, '--full-rebuild']);
      proxy.restore();
      assert.equal(proxy.fired, ++fired, `the fault at byte ${at} never fired`);
      assertEndedCleanly(`refresh, fault at byte ${at} of ${total}`, r, /refresh: (ok|FAILED)/);
      const again = await talab(cmd);
      assert.equal(again.code, 0, `rerun after a fault at byte ${at}: ${again.out}\n${again.err}`);
      assert.equal(await runningRows(store), 0, `a run left running after a fault at byte ${at}`);
      assert.equal(diffDumps(ref, await dumpDerived(store)), null, `fault at byte ${at}: the rerun differs from a clean build`);
    }
  } finally {
    await store.close();
  }
}

test(`refresh: proxy killed at ${POINTS} points (back after 150 ms) → retried or failed cleanly; rerun equals a clean build`, { skip, timeout: 120_000 }, async () => {
  await faultedRefreshes(() => ({ kind: 'kill', downMs: 150 }), POINTS, 1);
});

test('refresh: proxy frozen → the statement timeout ends the wait, the retry completes on a new connection', { skip, timeout: 60_000 }, async () => {
  await faultedRefreshes(() => ({ kind: 'freeze' }), 2, 2);
});

test('refresh: database down past the retry budget → summary, run failed, exit 1; rerun after it returns completes', { skip, timeout: 60_000 }, async () => {
  const { schema, store } = await freshSchema('down');
  try {
    for (const f of files) await importFile(store, f);
    const url = proxy.route(schemaUrl(PG_URL!, schema));
    const cmd = ['--db', url, 'refresh', '--all', '--jobs', '1', '--log-dir', join(dir, 'logs')];
    proxy.arm(proxy.bytes + 40_000, { kind: 'kill', downMs: Infinity });
    const r = await talab(cmd);
    proxy.restore();
    assert.equal(proxy.fired, ++fired, 'the outage never began');
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /STEP FAILED: .*gave up after 4 attempts/);
    assert.match(r.out, /refresh: FAILED/);
    assert.doesNotMatch(r.err + r.out, STACK);
    const again = await talab(cmd);
    assert.equal(again.code, 0, again.out + again.err);
    const runs = await store.query<{ status: string }>('SELECT status FROM refresh_runs ORDER BY started_at');
    // Failed when the database came back in time to record it, else abandoned by the next start.
    assert.equal(runs.length, 2);
    assert.ok(['failed', 'abandoned'].includes(runs[0].status), runs[0].status);
    assert.equal(runs[1].status, 'finished');
    assert.equal(await runningRows(store), 0);
    assert.equal(diffDumps(ref, await dumpDerived(store)), null);
  } finally {
    await store.close();
  }
});

test(`import: proxy killed or frozen at ${POINTS} points → the file is redone on a new session or the import fails cleanly; rerun equals a clean import`, { skip, timeout: 120_000 }, async () => {
  // The bytes of one import through the proxy, on a schema of its own.
  const first = await freshSchema('i');
  const cmd = (schema: string) => ['--db', proxy.route(schemaUrl(PG_URL!, schema)), 'import', ...files];
  const b0 = proxy.bytes;
  assert.equal((await talab(cmd(first.schema))).code, 0);
  const total = proxy.bytes - b0;
  await first.store.close();
  // A fresh schema per point, created beforehand side by side (migrations are most of an import's cost here).
  const fresh = await Promise.all(points(total, 3).map(async (at) => ({ at, ...(await freshSchema(`i${at}`)) })));
  for (const [i, { at, schema, store }] of fresh.entries()) {
    try {
      proxy.arm(proxy.bytes + at, i % 2 ? { kind: 'freeze' } : { kind: 'kill', downMs: 150 });
      const r = await talab(cmd(schema));
      proxy.restore();
      assert.equal(proxy.fired, ++fired, `the fault at byte ${at} never fired`);
      assertEndedCleanly(`import, fault at byte ${at} of ${total}`, r, /file\(s\) imported/);
      const again = await talab(cmd(schema));
      assert.equal(again.code, 0, `import rerun after a fault at byte ${at}: ${again.out}\n${again.err}`);
      assert.deepEqual(await prices(store), refPrices, `fault at byte ${at}: the stored prices differ from a clean import`);
    } finally {
      await store.close();
    }
  }
});

test(`baseline: proxy killed at ${POINTS} points → completed or failed cleanly; rerun equals a clean build`, { skip, timeout: 180_000 }, async () => {
  const { schema, store } = await freshSchema('b');
  try {
    for (const f of files) await importFile(store, f);
    await runRefresh(store, { components: ['bars', 'emas'], jobs: 1 });
    const cmd = ['--db', proxy.route(schemaUrl(PG_URL!, schema)), 'baseline', '--output-dir', join(dir, 'reports')];
    const b0 = proxy.bytes;
    assert.equal((await talab(cmd)).code, 0);
    const total = proxy.bytes - b0;
    for (const at of points(total, 4)) {
      proxy.arm(proxy.bytes + at, { kind: 'kill', downMs: 150 });
      const r = await talab(cmd);
      proxy.restore();
      assert.equal(proxy.fired, ++fired, `the fault at byte ${at} never fired`);
      assertEndedCleanly(`baseline, fault at byte ${at} of ${total}`, r, /PASS|FAIL/);
      // A fault may have cut the rebuild short after the truncate: the daily command puts the tables back.
      const again = await talab(['--db', cmd[1], 'refresh', '--all', '--jobs', '1', '--quiet', '--log-dir', join(dir, 'logs')]);
      assert.equal(again.code, 0, `refresh after a baseline fault at byte ${at}: ${again.out}\n${again.err}`);
      assert.equal(await runningRows(store), 0, `a run left running after a fault at byte ${at}`);
      assert.equal(diffDumps(ref, await dumpDerived(store)), null, `fault at byte ${at}: the rerun differs from a clean build`);
    }
  } finally {
    await store.close();
  }
});
