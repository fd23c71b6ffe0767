// Block size of DuckDB files: new files are created with 64 KiB blocks, older files keep the block size they
// were written with (DuckDB refuses to open a file with another one), and both stay writable.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { classifyError, isDuckDbLockMessage } from '../src/store/errors.js';

const dir = () => mkdtempSync(join(tmpdir(), 'talab-block-'));

async function blockSize(store: Store): Promise<number> {
  const [r] = await store.query<{ b: number }>(
    'SELECT block_size::INTEGER AS b FROM pragma_database_size() WHERE database_name = current_database()',
  );
  return Number(r.b);
}

async function withStore<T>(path: string, fn: (s: Store) => Promise<T>, readOnly = false): Promise<T> {
  const store = await openStore(path, readOnly ? { readOnlyRetryMs: 0 } : {});
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function writeAndCount(store: Store): Promise<number> {
  await store.exec('CREATE TABLE IF NOT EXISTS t (a INTEGER, b VARCHAR)');
  await store.exec("INSERT INTO t SELECT i, 'x' || i FROM range(100000) r(i)");
  const [r] = await store.query<{ n: number }>('SELECT count(*)::INTEGER AS n FROM t');
  return Number(r.n);
}

test('a new file gets 64 KiB blocks, and keeps them across reopening', async () => {
  const path = join(dir(), 'new.duckdb');
  for (const rows of [100_000, 200_000]) {
    await withStore(path, async (store) => {
      assert.equal(await blockSize(store), 65_536);
      assert.equal(await writeAndCount(store), rows);
    });
  }
});

test('a file written with DuckDB\'s default 256 KiB blocks opens read-write and read-only, and keeps its blocks', async () => {
  const path = join(dir(), 'old.duckdb');
  const db = await DuckDBInstance.create(path);
  const c = await db.connect();
  await c.run("CREATE TABLE t (a INTEGER, b VARCHAR); INSERT INTO t VALUES (1, 'one')");
  c.closeSync();
  db.closeSync();
  await withStore(path, async (store) => {
    assert.equal(await blockSize(store), 262_144);
    assert.equal(await writeAndCount(store), 100_001);
  });
  assert.equal(await withStore(path, blockSize, true), 262_144);
});

test('a lock held by another process is told apart from errors about the file\'s blocks', () => {
  // DuckDB's own messages. Opening the file reports a lock as "in use by another process", and a run retries it.
  const lock = 'IO Error: Could not set lock on file "/tmp/x.duckdb": Conflicting lock is held in /usr/bin/python3 (PID 4242). See also https://duckdb.org/docs/stable/connect/concurrency';
  assert.ok(isDuckDbLockMessage(lock));
  assert.equal(classifyError(new Error(lock)), 'transient');
  for (const blocks of [
    "Invalid Input Error: block size parameter does not match the file's block size, got 65536, expected 262144",
    'IO Error: Corrupt database file: computed checksum 123 does not match stored checksum 456 in block at location 8192',
  ]) {
    assert.ok(!isDuckDbLockMessage(blocks), blocks);
    assert.equal(classifyError(new Error(blocks)), 'permanent', blocks);
  }
});
