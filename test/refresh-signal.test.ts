// SIGINT mid-refresh: the run stops at the next asset, is recorded `interrupted` (not `abandoned`: its process
// did not die), the CLI prints its summary and how to resume and exits 130; a --resume run completes it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { importFile } from '../src/importer/import.js';
import { openStore } from '../src/store/open.js';
import { SAMPLE } from './helpers/engines.js';

const CLI = resolve(import.meta.dirname, '../src/cli/main.ts');
const TSX = import.meta.resolve('tsx');

function refresh(db: string, extra: string[], killAfter?: (out: string) => boolean): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', TSX, CLI, '--db', db, 'refresh', '--all', '--verbose', '--jobs', '1', '--log-dir', join(tmpdir(), 'talab-sig-logs'), ...extra], {
      env: { ...process.env, TZ: 'UTC' }, cwd: tmpdir(),
    });
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      out += d;
      if (killAfter && !sent && killAfter(out)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => res({ code, out, err }));
  });
}

test('SIGINT mid-refresh: exit 130 with a resume hint; --resume completes', { timeout: 180_000 }, async () => {
  const db = join(mkdtempSync(join(tmpdir(), 'talab-sig-')), 'db.duckdb');
  const store = await openStore(db);
  for (const f of ['solana.csv', 'mantle.csv']) await importFile(store, join(SAMPLE, f));
  await store.close();
  const r = await refresh(db, [], (out) => /bars .*: built/.test(out));
  assert.equal(r.code, 130, r.out + r.err);
  assert.match(r.err, /interrupted by SIGINT.*--resume/);
  assert.doesNotMatch(r.err, /\n\s+at .+:\d+:\d+/);
  assert.match(r.out, /refresh: INTERRUPTED/);
  const mid = await openStore(db);
  try {
    const st = await mid.query<{ status: string }>('SELECT status FROM refresh_runs');
    assert.deepEqual(st.map((x) => x.status), ['interrupted']);
  } finally {
    await mid.close();
  }
  const again = await refresh(db, ['--resume']);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /refresh: ok/);
  const s = await openStore(db);
  try {
    const runs = await s.query<{ status: string }>('SELECT status FROM refresh_runs ORDER BY started_at');
    assert.deepEqual(runs.map((x) => x.status), ['finished'], 'the interrupted run was resumed and finished');
    const v = await s.query<{ n: number }>("SELECT count(*) AS n FROM refresh_runs WHERE status = 'running'");
    assert.equal(Number(v[0].n), 0);
  } finally {
    await s.close();
  }
});
