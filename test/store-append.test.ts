// Store.append writes every column type exactly as given: NaN and null as NULL, epoch ms as instants (also
// before 1970), 64-bit integers, short (inline) and long (heap) strings repeated or not, absent columns as
// their defaults, across DataChunk boundaries. The DuckDB engine fills vectors column-wise by hand
// (store/duckdb/chunks.ts), so this checks its layout against what the database reads back.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Table } from '../src/schema/tables.js';
import { createTableSql } from '../src/schema/ddl.js';
import type { RowBatch } from '../src/columnar/columns.js';
import { engineTest } from './helpers/engines.js';

const T: Table = {
  name: 'append_probe',
  doc: 'test table',
  key: ['k'],
  columns: [
    { name: 'k', type: 'int', notNull: true },
    { name: 'i', type: 'int' },
    { name: 'b', type: 'bigint' },
    { name: 'd', type: 'double' },
    { name: 't', type: 'ts' },
    { name: 'f', type: 'bool' },
    { name: 'g', type: 'bool' },
    { name: 's', type: 'text' },
    { name: 'x', type: 'blob' },
    { name: 'dflt', type: 'int', default: '7' },
    { name: 'at', type: 'ts', notNull: true, default: 'now()' },
  ],
};

const TEXTS = ['1D', '1W_CAL_ANCHOR_ISO', '12M_CAL_ANCHOR_US', 'exactly12byt', 'thirteen_byte', 'ü€ — long unicode text', ''];

interface Probe { i: number | null; b: number | null; d: number | null; t: number | null; f: boolean | null; s: string | null; x: Uint8Array | null }

const probeArb: fc.Arbitrary<Probe> = fc.record({
  i: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  b: fc.option(fc.maxSafeInteger()),
  d: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true })),
  // whole ms from 1900 to 2200
  t: fc.option(fc.integer({ min: -2_208_988_800_000, max: 7_258_118_400_000 })),
  f: fc.option(fc.boolean()),
  s: fc.option(fc.constantFrom(...TEXTS)),
  // Bytes of any value (0, '\\', tabs, newlines: COPY's specials), empty, short and long (a carry is ~10 KB).
  x: fc.option(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 5000, maxLength: 20000 }))),
});

function toBatch(rows: Probe[]): RowBatch {
  const n = rows.length;
  const nan = (v: number | null) => (v === null ? NaN : v);
  return {
    length: n,
    cols: {
      k: Int32Array.from(rows, (_, j) => j),
      i: Float64Array.from(rows, (r) => nan(r.i)),
      b: Float64Array.from(rows, (r) => nan(r.b)),
      d: Float64Array.from(rows, (r) => nan(r.d)),
      t: Float64Array.from(rows, (r) => nan(r.t)),
      f: Float64Array.from(rows, (r) => (r.f === null ? NaN : r.f ? 1 : 0)),
      g: Uint8Array.from(rows, (r) => (r.f ? 1 : 0)),
      s: rows.map((r) => r.s),
      x: rows.map((r) => r.x),
    },
  };
}

engineTest('Store.append round-trips every column type, NULLs and defaults across chunk boundaries', async ({ store }) => {
  await store.exec(createTableSql(store.engine, T));
  const before = Date.now();
  await fc.assert(
    fc.asyncProperty(
      // Runs of repeated rows (as a tf column repeats) and lengths around DuckDB's 2048-row chunk.
      fc.array(fc.tuple(probeArb, fc.integer({ min: 1, max: 700 })), { minLength: 1, maxLength: 12 }),
      async (runs) => {
        const rows = runs.flatMap(([p, times]) => new Array<Probe>(times).fill(p));
        await store.exec(`DELETE FROM ${T.name}`);
        assert.equal(await store.append(T, toBatch(rows)), rows.length);
        const got = await store.query<Record<string, unknown>>(`SELECT * FROM ${T.name} ORDER BY k`);
        assert.equal(got.length, rows.length);
        got.forEach((g, j) => {
          const r = rows[j];
          const d = g.d === null ? null : Number(g.d);
          assert.deepEqual(g.x === null ? null : [...(g.x as Uint8Array)], r.x === null ? null : [...r.x], `row ${j}: blob`);
          assert.deepEqual(
            { i: g.i, b: g.b, d: Object.is(d, -0) ? 0 : d, t: g.t, f: g.f, g: g.g, s: g.s, dflt: g.dflt },
            { i: r.i, b: r.b, d: Object.is(r.d, -0) ? 0 : r.d, t: r.t, f: r.f, g: r.f === true, s: r.s, dflt: 7 },
            `row ${j}`,
          );
          assert.ok((g.at as number) >= before - 1000 && (g.at as number) <= Date.now() + 1000, `row ${j}: at = now()`);
        });
      },
    ),
    { numRuns: 25 },
  );
});

engineTest('Store.append into a TEMP table of the session', async ({ store }) => {
  await store.exec(createTableSql(store.engine, T).replace('CREATE TABLE IF NOT EXISTS', 'CREATE TEMP TABLE').replace(T.name, 'append_tmp'));
  await store.append(T, toBatch([{ i: 1, b: 2, d: 3, t: 4, f: true, s: '12M_CAL_ANCHOR_US', x: null }]), { into: 'append_tmp' });
  assert.deepEqual(await store.query('SELECT i, s FROM append_tmp'), [{ i: 1, s: '12M_CAL_ANCHOR_US' }]);
});

engineTest('Store.upsert overwrites on the key and keeps the rest; JSON columns go through', async ({ store }) => {
  const U: Table = { ...T, name: 'upsert_probe', columns: [...T.columns, { name: 'j', type: 'json' }] };
  await store.exec(createTableSql(store.engine, U));
  const rows = (ks: number[], s: string, j: string) => ({
    length: ks.length,
    cols: {
      ...toBatch(ks.map((k) => ({ i: k, b: 2 ** 40 + k, d: k / 3, t: -86_400_000 * k, f: k % 2 === 0, s, x: Uint8Array.of(k, 0, 92, 9, 10) }))).cols,
      k: Int32Array.from(ks), j: ks.map(() => j),
    },
  });
  await store.upsert(U, rows([1, 2, 3], '1W_CAL_ANCHOR_ISO', '{"a":1}'));
  await store.upsert(U, rows([2, 4], 'short', '{"a":[2]}'));
  const got = await store.query<{ k: number; b: number; t: number; s: string; j: unknown; x: Uint8Array }>('SELECT k, b, t, s, j, x FROM upsert_probe ORDER BY k');
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  assert.deepEqual(got.map((r) => ({ ...r, j: json(r.j), x: [...r.x] })), [
    { k: 1, b: 2 ** 40 + 1, t: -86_400_000, s: '1W_CAL_ANCHOR_ISO', j: { a: 1 }, x: [1, 0, 92, 9, 10] },
    { k: 2, b: 2 ** 40 + 2, t: -172_800_000, s: 'short', j: { a: [2] }, x: [2, 0, 92, 9, 10] },
    { k: 3, b: 2 ** 40 + 3, t: -259_200_000, s: '1W_CAL_ANCHOR_ISO', j: { a: 1 }, x: [3, 0, 92, 9, 10] },
    { k: 4, b: 2 ** 40 + 4, t: -345_600_000, s: 'short', j: { a: [2] }, x: [4, 0, 92, 9, 10] },
  ]);
});

engineTest('Store.upsert of the same keys again and again does not grow the table (DuckDB: rows replaced in place)', async ({ store }) => {
  const U: Table = { ...T, name: 'upsert_churn' };
  await store.exec(createTableSql(store.engine, U));
  const ks = Array.from({ length: 500 }, (_, i) => i);
  for (let round = 0; round < 4; round++) {
    const b = toBatch(ks.map((k) => ({ i: round, b: k, d: k / 3, t: 0, f: true, s: 'x'.repeat(200) + round, x: new Uint8Array(300).fill(round) })));
    await store.upsert(U, { length: b.length, cols: { ...b.cols, k: Int32Array.from(ks) } });
    if (store.dialect === 'duckdb') await store.exec('CHECKPOINT');
  }
  const live = await store.query<{ n: number; i: number }>('SELECT count(*) AS n, min(i) AS i FROM upsert_churn');
  assert.deepEqual(live.map((r) => ({ n: Number(r.n), i: r.i })), [{ n: 500, i: 3 }]);
  if (store.dialect === 'duckdb') {
    // Physical rows, deleted ones included: a DELETE + INSERT upsert left 2,000 here.
    const phys = await store.query<{ n: number }>("SELECT estimated_size AS n FROM duckdb_tables() WHERE table_name = 'upsert_churn'");
    assert.equal(Number(phys[0].n), 500);
  }
});
