// SPEC I4: a refresh process killed (SIGKILL) at random points, then simply run again, ends identical to an
// uninterrupted run — no duplicate row, no missing row — on both engines.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { importFile } from '../src/importer/import.js';
import { parseSourceFile } from '../src/importer/parse.js';
import { runRefresh } from '../src/refresh/runner.js';
import { openStore } from '../src/store/open.js';
import { ENGINES, freshDb, PG_URL, type Engine, type TestDb } from './helpers/engines.js';
import { samplePath, sampleSlice } from './helpers/sample.js';
import { diffDumps, dumpDerived, writeCmcRows } from './helpers/history.js';

const KILLS = Number(process.env.TALAB_CRASH_KILLS ?? 20);
// Four bundled exports and a 27-day cut of bitcoin: an asset too young for most timeframes.
const COINS = ['ethereum', 'solana', 'mantle', 'wrapped-bitcoin', 'bitcoin'] as const;
const sourceOf = (c: (typeof COINS)[number]) => (c === 'bitcoin' ? sampleSlice('bitcoin', 27) : samplePath(c));
const NEW_DAYS = 6;
const CLI = resolve(import.meta.dirname, '../src/cli/main.ts');


/** The --db a child process uses for this test database (Postgres: its schema via the search_path). */
function childDb(db: TestDb): string {
  if (!db.pgSchema) return db.dbArg;
  const sep = db.dbArg.includes('?') ? '&' : '?';
  return `${db.dbArg}${sep}options=${encodeURIComponent(`-c search_path=${db.pgSchema}`)}`;
}

function cliArgs(db: string, extra: string[]): string[] {
  return ['--import', 'tsx', CLI, '--db', db, 'refresh', '--all', '--quiet', '--log-dir', join(tmpdir(), 'talab-crash-logs'), ...extra];
}

async function runAndKill(db: string, extra: string[], afterMs: number, env: Record<string, string> = {}): Promise<'killed' | 'finished'> {
  const child = spawn(process.execPath, cliArgs(db, extra), { stdio: 'ignore', env: { ...process.env, TZ: 'UTC', ...env } });
  return new Promise((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      res(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
  });
}

for (const engine of ENGINES) {
  test(`SIGKILL at ${KILLS} random points, then rerun == uninterrupted run [${engine}]`, { timeout: 900_000 }, async (t) => {
    if (engine === 'postgres' && !PG_URL) {
      if (process.env.CI) throw new Error('TALAB_TEST_PG must be set in CI');
      return t.skip('TALAB_TEST_PG not set');
    }
    const dir = mkdtempSync(join(tmpdir(), 'talab-crash-'));
    const sources = COINS.map(sourceOf);
    const parsed = await Promise.all(sources.map((p) => parseSourceFile(p)));
    const db = await freshDb(engine as Engine);
    const ref = await freshDb(engine as Engine);
    try {
      // Everything but the last NEW_DAYS days first; the rest arrives one day per early kill round.
      mkdirSync(join(dir, 'head'));
      for (let i = 0; i < COINS.length; i++) {
        const p = join(dir, 'head', `${COINS[i]}.csv`);
        writeCmcRows(p, parsed[i].rows.slice(0, -NEW_DAYS));
        await importFile(db.store, p);
        await importFile(ref.store, sources[i]);
      }
      await runRefresh(ref.store, { components: ['bars', 'emas'] });
      if (engine === 'duckdb') await db.store.close(); // one process per DuckDB file: hand it to the children
      let seed = 12345;
      const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
      // How long an uninterrupted full rebuild takes here, so kill points spread over a whole run.
      const t0 = Date.now();
      assert.equal(await runAndKill(childDb(db), ['--full-rebuild'], 600_000), 'finished');
      const span = Date.now() - t0;
      let killed = 0;
      let attempts = 0;
      // Day k of the last NEW_DAYS arrives (one row per asset), as a daily import would bring it.
      const arrive = async (k: number) => {
        const s = engine === 'duckdb' ? await openStore(db.dbArg) : db.store;
        for (let i = 0; i < COINS.length; i++) {
          const rows = parsed[i].rows;
          mkdirSync(join(dir, `d${k}`), { recursive: true });
          const p = join(dir, `d${k}`, `${COINS[i]}.csv`);
          writeCmcRows(p, [rows[rows.length - NEW_DAYS + k]]);
          await importFile(s, p);
        }
        if (engine === 'duckdb') await s.close();
      };
      let k = 0;
      // About one run in three is killed (the incremental ones are short): room for that, plus a margin for small KILLS.
      for (; killed < KILLS && attempts < KILLS * 3 + 12; k++, attempts++) {
        if (k < NEW_DAYS) await arrive(k);
        // Alternate incremental runs and full rebuilds (the latter write a lot, so kills land mid-write). On
        // DuckDB the full rebuilds commit each asset in parts, as a very long history's recompute does (here
        // at every flush of the write buffer and at the end of each component), so kills land between parts too.
        const full = k % 2 === 0;
        const env: Record<string, string> = full && engine === 'duckdb' ? { TALAB_DUCKDB_PART_ROWS: '10000' } : {};
        if (await runAndKill(childDb(db), full ? ['--full-rebuild'] : [], Math.floor(span * (0.1 + 0.9 * rnd())), env) === 'killed') killed++;
      }
      t.diagnostic(`${killed} kills in ${attempts} runs (an uninterrupted full rebuild takes ${span} ms)`);
      assert.ok(killed >= KILLS, `only ${killed} kills landed`);
      for (; k < NEW_DAYS; k++) await arrive(k); // fewer rounds than new days (a small TALAB_CRASH_KILLS)
      const last = spawnSync(process.execPath, cliArgs(childDb(db), []), { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
      assert.equal(last.status, 0, last.stdout + last.stderr);
      const store = engine === 'duckdb' ? await openStore(db.dbArg) : db.store;
      try {
        const diff = diffDumps(await dumpDerived(store), await dumpDerived(ref.store));
        assert.equal(diff, null, diff ?? '');
      } finally {
        if (engine === 'duckdb') await store.close();
      }
    } finally {
      await db.cleanup();
      await ref.cleanup();
    }
  });
}
