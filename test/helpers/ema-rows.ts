// Row comparisons for the EMA family property tests (ema-properties): exact, value by value.
import assert from 'node:assert/strict';
import type { RowBatch } from '../../src/columnar/columns.js';

/** Row index ranges per period, checking that each period's rows are contiguous (in the order asked). */
export function groups(b: RowBatch): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  const period = b.cols.period as Int32Array;
  for (let i = 0; i < b.length; i++) {
    const g = out.get(period[i]);
    if (!g) out.set(period[i], [i, i + 1]);
    else {
      assert.equal(g[1], i, `period ${period[i]}: rows not contiguous`);
      g[1] = i + 1;
    }
  }
  return out;
}

/** Row i of `a` equals row j of `b` in every column, to the last bit (Object.is: NaN = NaN, 0 ≠ −0). */
export function sameRow(a: RowBatch, i: number, b: RowBatch, j: number, what: string): void {
  assert.deepEqual(Object.keys(a.cols), Object.keys(b.cols), `${what}: columns`);
  for (const [name, col] of Object.entries(a.cols)) {
    const x = col[i];
    const y = b.cols[name][j];
    assert.ok(Object.is(x, y), `${what}: column ${name} row ${i}/${j}: ${x} vs ${y}`);
  }
}
