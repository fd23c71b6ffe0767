// The kernels' output rows are laid out as the schema's column lists say (schema/tables.ts, the one definition):
// every derived table's kernel emits exactly its columns but ingested_at, in the table's order, each in the
// array type its column type maps to, whether the kernel allocates its own columns or writes into a RowSink.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BAR_FAMILIES, belongsTo, defaultTimeframes } from '../src/catalog/timeframes.js';
import { RowSink, type RowBatch } from '../src/columnar/columns.js';
import { sinkLayout } from '../src/columnar/layout.js';
import { buildBarsForTimeframe } from '../src/compute/bars/index.js';
import { emaAnchor, emaCal, emaV1, emaV2 } from '../src/compute/ema/index.js';
import { BAR_TABLES, EMA_TABLES, type Table } from '../src/schema/tables.js';
import { makeSeries } from './helpers/series.js';

const CTOR = { f64: Float64Array, i32: Int32Array, u8: Uint8Array } as const;

function assertLaidOutAs(b: RowBatch, table: Table, what: string): void {
  const names = table.columns.map((c) => c.name).filter((n) => n !== 'ingested_at');
  assert.deepEqual(Object.keys(b.cols), names, `${what}: columns of ${table.name}`);
  for (const [name, kind] of Object.entries(sinkLayout(table.columns))) {
    const col = b.cols[name];
    if (kind === 'text') assert.ok(Array.isArray(col), `${what}: ${name} is text`);
    else assert.equal(col.constructor, CTOR[kind], `${what}: ${name} is ${kind}`);
  }
}

const s = makeSeries({ start: 19000, len: 400, gapPct: 10, seed: 3 });

test('bar kernels: rows laid out as their table, own columns and sink rows alike', () => {
  for (const f of BAR_FAMILIES) {
    const tf = defaultTimeframes().find((t) => belongsTo(t, f))!;
    const table = BAR_TABLES[f];
    const own = buildBarsForTimeframe(s, f, tf);
    assert.ok(own.length > 0, f);
    assertLaidOutAs(own, table, `${f} own`);
    const sink = new RowSink(sinkLayout(table.columns));
    assertLaidOutAs(buildBarsForTimeframe(s, f, tf, { sink }), table, `${f} sink`);
  }
});

test('EMA kernels: rows laid out as their table, own columns and sink rows alike', () => {
  const daily = { id: 1, ts: s.ts, close: s.close };
  const tf = { tf: '7D', daysNominal: 7 };
  const calls: [Table, (sink?: RowSink) => RowBatch][] = [
    [EMA_TABLES.v1, (sink) => emaV1(daily, daily, tf, [2, 5], { sink })],
    [EMA_TABLES.v2, (sink) => emaV2(daily, tf, [2, 5], { sink })],
    [EMA_TABLES.cal_iso, (sink) => emaCal(daily, s.ts.filter((_, i) => i % 7 === 6), tf, [2, 5], { sink })],
    [EMA_TABLES.cal_anchor_us, (sink) => emaAnchor(daily, daily, tf, [2, 5], { sink })],
  ];
  for (const [table, call] of calls) {
    const own = call();
    assert.ok(own.length > 0, table.name);
    assertLaidOutAs(own, table, `${table.name} own`);
    assertLaidOutAs(call(new RowSink(sinkLayout(table.columns))), table, `${table.name} sink`);
  }
});
