// Runs every test file with node's built-in test runner (TypeScript through tsx).
// Usage: npm test [-- file-or-substring ...]
//
// TALAB_TEST_PARTITIONS=N (CI sets it) adds a second pass: the test files that use PostgreSQL run again with
// only their PostgreSQL halves, on schemas hash-partitioned by asset into N partitions (heavy tests sized down
// by TALAB_PARTITIONED_REAL_DAYS / _CRASH_KILLS / _FAULT_POINTS). The last line sums both passes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}
const filters = process.argv.slice(2);
// The longest files start first, so that two runners finish together instead of one running a long file
// alone at the end (the rest keep their alphabetical order).
const LONGEST = ['crash', 'incremental-real', 'refresh-cli', 'store-append', 'baseline-compare', 'features-refresh', 'faults-proxy', 'refresh-jobs', 'ops-daily', 'refresh-memory', 'refresh-parts'];
const rank = (f) => {
  const i = LONGEST.findIndex((n) => f.endsWith(`/${n}.test.ts`) || f.endsWith(`\\${n}.test.ts`));
  return i < 0 ? LONGEST.length : i;
};
const files = walk('test').sort().sort((a, b) => rank(a) - rank(b)).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

/** Run the node test runner over `list`, echoing its output; resolves to its exit code and pass/fail counts. */
function pass(list, env) {
  const args = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...list];
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TZ: 'UTC', ...env } });
    // The runner's own summary lines (ℹ pass N, ℹ fail N, …), read as they pass.
    const seen = {};
    let partial = '';
    child.stdout.on('data', (b) => {
      process.stdout.write(b);
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop();
      for (const l of lines) {
        const m = /^ℹ (pass|fail|cancelled) (\d+)$/.exec(l);
        if (m) seen[m[1]] = Number(m[2]);
      }
    });
    child.on('close', (code) => {
      done({ code: code ?? 1, passed: seen.pass ?? 0, failed: (seen.fail ?? 0) + (seen.cancelled ?? 0) });
    });
  });
}

const first = await pass(files, {});
const parts = process.env.TALAB_TEST_PARTITIONS;
if (!parts || !process.env.TALAB_TEST_PG) process.exit(first.code);

const usesPg = files.filter((f) => /engineTest|ENGINES|PG_URL|TALAB_TEST_PG/.test(readFileSync(f, 'utf8')));
console.log(`\n# second pass: ${usesPg.length} files, PostgreSQL only, schemas in ${parts} hash partitions per table\n`);
const second = await pass(usesPg, {
  TALAB_TEST_ENGINES: 'postgres',
  TALAB_PG_PARTITIONS: parts,
  TALAB_REAL_HISTORY_DAYS: process.env.TALAB_PARTITIONED_REAL_DAYS ?? '400',
  TALAB_CRASH_KILLS: process.env.TALAB_PARTITIONED_CRASH_KILLS ?? '4',
  TALAB_FAULT_POINTS: process.env.TALAB_PARTITIONED_FAULT_POINTS ?? '3',
  TALAB_PROPERTY_RUNS: process.env.TALAB_PARTITIONED_PROPERTY_RUNS ?? '2',
});
console.log(`\nplain pass: ${first.passed} passed, ${first.failed} failed; partitioned pass: ${second.passed} passed, ${second.failed} failed`);
console.log(`${first.passed + second.passed} passed, ${first.failed + second.failed} failed`);
process.exit(first.code || second.code);
