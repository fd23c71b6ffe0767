// The terminal progress line of refresh, import and baseline: ETA '—' until known, never wider than 80
// columns, and the latest item (not the ETA) is what a long line loses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fmtEta, progressLine } from '../src/util/progress.js';

test('progress line: ETA — until the first item, then an estimate; fits 80 columns; the item is cut, not the ETA', () => {
  const start = progressLine({ label: 'emas ', done: 0, total: 18, elapsedMs: 5000, extra: 'computed, 0 committed', last: '' });
  assert.match(start, /0\/18 computed, 0 committed \| —\/s \| ETA —$/);
  const mid = progressLine({ label: 'bars ', done: 6, total: 18, elapsedMs: 3000, extra: 'computed, 0 committed', last: 'BTC built' });
  assert.match(mid, /6\/18 .* \| 2\.0\/s \| ETA 6s \| BTC built$/);
  const long = progressLine({
    label: 'emas ', done: 123_456, total: 1_000_000, elapsedMs: 3_600_000, extra: 'computed, 120000 committed', last: 'A-VERY-LONG-SYMBOL-NAME built '.repeat(5),
  });
  assert.ok(long.length <= 80, `${long.length}: ${long}`);
  assert.match(long, /ETA 7h06m \| A-VERY/);
  for (const width of [40, 60, 79]) {
    const l = progressLine({ label: 'import', done: 3, total: 10, elapsedMs: 30_000, extra: 'files', last: 'x'.repeat(200) }, width);
    assert.ok(l.length <= width, `${width}: ${l}`);
    assert.match(l, /ETA 1m10s/);
  }
  assert.ok(progressLine({ label: 'import', done: 1, total: 2, elapsedMs: 1, last: 'y'.repeat(300) }, 200).length <= 80);
  assert.deepEqual([fmtEta(0), fmtEta(59.2), fmtEta(119.6), fmtEta(3599.5), fmtEta(7400)], ['0s', '1m00s', '2m00s', '1h00m', '2h03m']);
});
