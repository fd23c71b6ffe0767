// TALAB_DUCKDB_MEMORY: DuckDB's buffer-pool limit for talab's processes (docs/decisions.md).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { duckdbMemoryLimit } from '../src/store/duckdb/store.js';
import { openStore } from '../src/store/open.js';
import { UserError } from '../src/util/errors.js';

function withEnv<T>(v: string | undefined, fn: () => T): T {
  const prev = process.env.TALAB_DUCKDB_MEMORY;
  if (v === undefined) delete process.env.TALAB_DUCKDB_MEMORY;
  else process.env.TALAB_DUCKDB_MEMORY = v;
  try {
    return fn();
  } finally {
    if (prev === undefined) delete process.env.TALAB_DUCKDB_MEMORY;
    else process.env.TALAB_DUCKDB_MEMORY = prev;
  }
}

test('TALAB_DUCKDB_MEMORY: 512MB by default, a size when given, a clear error otherwise', () => {
  assert.equal(withEnv(undefined, duckdbMemoryLimit), '512MB');
  assert.equal(withEnv(' 2GB ', duckdbMemoryLimit), '2GB');
  assert.equal(withEnv('1.5GiB', duckdbMemoryLimit), '1.5GiB');
  for (const bad of ['lots', '512', '-1GB', '2 PB']) {
    assert.throws(() => withEnv(bad, duckdbMemoryLimit), (e: unknown) =>
      e instanceof UserError && e.exitCode === 2 && e.message.includes(`got '${bad}'`), bad);
  }
});

test('the limit reaches DuckDB', async () => {
  // Set for the whole open: the engine's module is loaded on first use, after openStore's first await.
  const prev = process.env.TALAB_DUCKDB_MEMORY;
  process.env.TALAB_DUCKDB_MEMORY = '300MB';
  const store = await openStore(join(mkdtempSync(join(tmpdir(), 'talab-mem-')), 'm.duckdb')).finally(() => {
    if (prev === undefined) delete process.env.TALAB_DUCKDB_MEMORY;
    else process.env.TALAB_DUCKDB_MEMORY = prev;
  });
  try {
    const r = await store.query<{ v: string }>("SELECT current_setting('memory_limit') AS v");
    assert.match(r[0].v, /^(286\.1 MiB|300\.0 MB|300MB)$/);
  } finally {
    await store.close();
  }
});
