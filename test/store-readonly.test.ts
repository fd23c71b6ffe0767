import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../src/store/open.js';
import { UserError } from '../src/util/errors.js';

test('DuckDB reader opens read-only: reads work, writes are refused, a missing file is a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talab-ro-'));
  try {
    const path = join(dir, 't.duckdb');
    await assert.rejects(openStore(path, { readOnlyRetryMs: 0 }), (e) => e instanceof UserError && /no such database file/.test(e.message));
    const writer = await openStore(path);
    await writer.exec('CREATE TABLE probe (x INTEGER)');
    await writer.exec('INSERT INTO probe VALUES (7)');
    await writer.close();
    const reader = await openStore(path, { readOnlyRetryMs: 1000 });
    try {
      assert.deepEqual(await reader.query('SELECT x FROM probe'), [{ x: 7 }]);
      await assert.rejects(reader.exec('INSERT INTO probe VALUES (8)'), /read-only|read only/i);
    } finally {
      await reader.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
