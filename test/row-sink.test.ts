// RowSink (columnar/columns.ts): the daily path's kernels write into one growing set of columns per table, and the
// rows of an asset or of a whole group are views of it. Claimed rows read like fresh columns (zero / null) even
// after a reset, earlier views keep their rows when the sink grows, and concatBatches joins consecutive views
// without copying but copies anything else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { concatBatches, RowSink, type RowBatch } from '../src/columnar/columns.js';

const spec = { id: 'i32', tf: 'text', v: 'f64', flag: 'u8' } as const;

/** Claim n rows and fill them with values derived from `tag`; returns the batch the caller would keep. */
function write(sink: RowSink, n: number, tag: number, lazy: boolean): RowBatch {
  const at = sink.claim(n);
  for (let i = 0; i < n; i++) {
    (sink.cols.id as Int32Array)[at + i] = tag;
    (sink.cols.tf as string[])[at + i] = `tf${tag}`;
    (sink.cols.v as Float64Array)[at + i] = tag + i / 10;
    (sink.cols.flag as Uint8Array)[at + i] = (tag + i) % 2;
  }
  return lazy ? sink.lazyView(at, at + n) : sink.view(at, at + n);
}

const rowsOf = (b: RowBatch) => Array.from({ length: b.length }, (_, i) => [
  (b.cols.id as Int32Array)[i], (b.cols.tf as string[])[i], (b.cols.v as Float64Array)[i], (b.cols.flag as Uint8Array)[i],
]);

test('RowSink: views keep their rows across growth, and consecutive views concatenate to the same rows', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.boolean()), { maxLength: 40 }), fc.integer({ min: 1, max: 16 }),
    (writes, capacity) => {
      const sink = new RowSink(spec, capacity);
      const parts = writes.map(([n, lazy], k) => write(sink, n, k + 1, lazy));
      const expected = writes.flatMap(([n], k) => Array.from({ length: n }, (_, i) => [k + 1, `tf${k + 1}`, k + 1 + i / 10, (k + 1 + i) % 2]));
      // Each part still reads its own rows, whatever growth happened after it was taken.
      parts.forEach((p, k) => assert.equal(p.length, writes[k][0]));
      assert.deepEqual(parts.flatMap(rowsOf), expected);
      assert.deepEqual(rowsOf(concatBatches(parts)), expected);
      assert.deepEqual(rowsOf(sink.view(0)), expected);
    },
  ), { numRuns: 200 });
});

test('RowSink: rows claimed after a reset are zero and null, like fresh columns', () => {
  const sink = new RowSink(spec, 8);
  write(sink, 6, 7, false);
  sink.reset();
  assert.equal(sink.length, 0);
  // Within the capacity, so the same buffers as before the reset.
  for (const n of [5, 10]) {
    const at = sink.claim(n);
    const b = sink.view(at, at + n);
    assert.deepEqual([...(b.cols.id as Int32Array)], new Array(n).fill(0));
    assert.deepEqual([...(b.cols.v as Float64Array)], new Array(n).fill(0));
    assert.deepEqual([...(b.cols.flag as Uint8Array)], new Array(n).fill(0));
    assert.deepEqual(b.cols.tf, new Array(n).fill(null));
  }
});

test('concatBatches: consecutive views of one buffer are joined as a view; others are copied', () => {
  const sink = new RowSink(spec, 100);
  const a = write(sink, 3, 1, false);
  const b = write(sink, 4, 2, false);
  const joined = concatBatches([a, b]);
  assert.equal((joined.cols.v as Float64Array).buffer, (sink.cols.v as Float64Array).buffer, 'a view of the sink');
  // Not adjacent (a gap left by a row nobody kept): copied, and still the right rows.
  write(sink, 2, 3, false);
  const d = write(sink, 1, 4, false);
  const gapped = concatBatches([a, d]);
  assert.notEqual((gapped.cols.v as Float64Array).buffer, (sink.cols.v as Float64Array).buffer);
  assert.deepEqual(rowsOf(gapped), [...rowsOf(a), ...rowsOf(d)]);
  // Lazy views of one sink that follow each other are joined without making their columns.
  const sink2 = new RowSink(spec, 4);
  const l1 = write(sink2, 3, 5, true);
  const l2 = write(sink2, 3, 6, true);
  assert.deepEqual(rowsOf(concatBatches([l1, l2])), [...rowsOf(l1), ...rowsOf(l2)]);
  // A fresh batch after a view: copied.
  const fresh: RowBatch = { length: 1, cols: { id: Int32Array.of(9), tf: ['x'], v: Float64Array.of(9.5), flag: Uint8Array.of(1) } };
  assert.deepEqual(rowsOf(concatBatches([l1, fresh])), [...rowsOf(l1), [9, 'x', 9.5, 1]]);
});
