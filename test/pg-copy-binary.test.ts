// PostgreSQL bulk writes go out in COPY's binary format; the text format stays for batches that hold text
// where a number belongs. Both must store exactly the same values, whatever they are.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { RowBatch } from '../src/columnar/columns.js';
import { createTableSql } from '../src/schema/ddl.js';
import type { Table } from '../src/schema/tables.js';
import { binaryCopyPossible } from '../src/store/postgres/copy-binary.js';
import { freshDb, PG_URL } from './helpers/engines.js';

const T: Table = {
  name: 'copy_probe',
  key: ['k'],
  doc: 'every column type the schema knows',
  columns: [
    { name: 'k', type: 'int', notNull: true },
    { name: 'i', type: 'int' },
    { name: 'b', type: 'bigint' },
    { name: 'd', type: 'double' },
    { name: 'ts', type: 'ts' },
    { name: 'f', type: 'bool' },
    { name: 's', type: 'text' },
    { name: 'j', type: 'json' },
    { name: 'x', type: 'blob' },
    { name: 'n', type: 'int', notNull: true, default: '0' },
    { name: 'at', type: 'ts', notNull: true, default: 'now()' },
  ],
};

const row = fc.record({
  i: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constant(NaN)),
  b: fc.oneof(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.constant(NaN)),
  d: fc.oneof(fc.double({ noNaN: true }), fc.constant(NaN)),
  ts: fc.oneof(fc.integer({ min: -30_000_000_000_000, max: 30_000_000_000_000 }), fc.constant(NaN)),
  f: fc.constantFrom(0, 1, NaN),
  s: fc.option(fc.string({ unit: 'binary' }).map((x) => x.replace(/\0/g, '')), { nil: null }),
  j: fc.option(fc.jsonValue().map((v) => JSON.stringify(v).replace(/\\u0000/g, '')), { nil: null }),
  x: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
});

type Probe = typeof row extends fc.Arbitrary<infer R> ? R : never;

function batchOf(rows: Probe[]): RowBatch {
  const n = rows.length;
  return {
    length: n,
    cols: {
      k: Int32Array.from(rows.map((_, i) => i)),
      i: Float64Array.from(rows.map((r) => r.i)),
      b: Float64Array.from(rows.map((r) => r.b)),
      d: Float64Array.from(rows.map((r) => r.d)),
      ts: Float64Array.from(rows.map((r) => r.ts)),
      f: Float64Array.from(rows.map((r) => r.f)),
      s: rows.map((r) => r.s),
      j: rows.map((r) => r.j),
      x: rows.map((r) => r.x),
    },
  };
}

test('binary and text COPY store the same values for every column type [postgres]', { timeout: 120_000 }, async (t) => {
  if (!PG_URL) {
    if (process.env.CI) throw new Error('TALAB_TEST_PG must be set in CI');
    return t.skip('TALAB_TEST_PG not set');
  }
  const db = await freshDb('postgres');
  const prev = process.env.TALAB_PG_COPY;
  try {
    const { store } = db;
    await store.exec(createTableSql(store.engine, T));
    await store.exec(createTableSql(store.engine, T, 'copy_probe_text'));
    const read = (name: string) =>
      store.query(`SELECT k, i, b, d, ts, f, s, j::text AS j, encode(x, 'hex') AS x, n FROM ${name} ORDER BY k`);
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 60 }), async (rows) => {
        const batch = batchOf(rows);
        assert.ok(binaryCopyPossible(T, batch));
        await store.exec('TRUNCATE copy_probe, copy_probe_text');
        delete process.env.TALAB_PG_COPY;
        await store.append(T, batch);
        process.env.TALAB_PG_COPY = 'text';
        await store.append(T, batch, { into: 'copy_probe_text' });
        const bin = await read('copy_probe');
        assert.deepEqual(bin, await read('copy_probe_text'));
        // And the values are the batch's own, not merely the same mistake twice.
        rows.forEach((r, k) => {
          assert.equal(bin[k].b, Number.isNaN(r.b) ? null : r.b);
          assert.equal(bin[k].ts, Number.isNaN(r.ts) ? null : r.ts);
          assert.equal(bin[k].d, Number.isNaN(r.d) ? null : r.d === 0 ? r.d : r.d); // -0 survives either way
          assert.equal(bin[k].s, r.s);
          assert.equal(bin[k].n, 0);
        });
      }),
      { numRuns: 25 },
    );
  } finally {
    if (prev === undefined) delete process.env.TALAB_PG_COPY;
    else process.env.TALAB_PG_COPY = prev;
    await db.cleanup();
  }
});

test('a batch with text in a numeric column is not sent in binary', () => {
  const batch: RowBatch = { length: 1, cols: { k: Int32Array.of(1), ts: ['2026-01-01T00:00:00Z'] } };
  assert.equal(binaryCopyPossible(T, batch), false);
  assert.equal(binaryCopyPossible(T, { length: 1, cols: { k: Int32Array.of(1) } }), true);
});
