// The carry contract every derived family's kernel keeps, as one reusable check.
//
// A kernel that can continue from a carry is what makes the daily refresh cheap: it folds only the new daily
// rows onto the state saved by the previous run. That is only correct if folding a history chunk by chunk
// (carryOut of one call → carry of the next, each call given only the rows after the carry's last folded
// day) emits exactly the full build's rows, every column to the last bit, and leaves exactly the full build's
// carry behind. A family states how to call its kernel (CarryKernel) and calls checkCarryContract once; the
// helper generates histories and split points and checks the whole chain.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RowBatch } from '../../src/columnar/columns.js';

export interface CarryKernel<H> {
  /** Label in failure messages. */
  name: string;
  /** Daily rows of h; split points are row indices in [0, rows]. */
  rows(h: H): number;
  /**
   * What a continuing call receives for daily rows [from, to): those rows and whatever else the kernel reads
   * that lies after row from − 1 (e.g. the canonical closes after it).
   */
  slice(h: H, from: number, to: number): H;
  /** Length of the kernel's carry for h. */
  carryLength(h: H): number;
  /** One kernel call over h: continue `carry` when given, write the state after the call into `carryOut` when given. */
  build(h: H, carry: Float64Array | undefined, carryOut: Float64Array | undefined): RowBatch;
  /**
   * Split points for h from raw generated naturals (sorted, in [0, rows]); default: each raw value modulo
   * rows + 1. A family maps some onto its interesting rows (window ends, seeds) or drops the splits its
   * contract excludes.
   */
  cuts?(h: H, raw: readonly number[]): number[];
  /**
   * Rows are emitted group by group (e.g. period by period) in every call: compare each value of this column's
   * rows in order, instead of the concatenation of the chunks' rows.
   */
  groupBy?: string;
  /** Carries that mean "nothing folded" (besides none at all), e.g. a blank init or an empty call's carryOut. */
  emptyCarries?(h: H): Float64Array[];
  /** Further checks of a carry after daily rows [0, to) are folded (counters the family documents). */
  checkCarry?(h: H, carry: Float64Array, to: number): void;
}

export interface ContractOptions {
  /** fast-check runs; keep them small: the suite shares 2 cores. */
  numRuns: number;
  /** At most this many split points per history (so up to maxCuts + 1 chunks). */
  maxCuts?: number;
  /** Also require every carry between chunks to equal the full build's carry over the rows so far (default true). */
  checkPrefixes?: boolean;
}

/** The chain's choices for one history: split points, carry arrays reused in place, how the first chunk starts. */
export interface Chain {
  cuts: number[];
  /** One array as both carry and carryOut of each call. */
  inPlace: boolean;
  /** Index into [none, ...emptyCarries(h)]: the carry of the first chunk. */
  start: number;
}

/** Property: for generated histories and chains, chunked == full (rows and carries). */
export function checkCarryContract<H>(k: CarryKernel<H>, histories: fc.Arbitrary<H>, opts: ContractOptions): void {
  const raw = fc.record({
    cuts: fc.array(fc.nat(), { minLength: 0, maxLength: opts.maxCuts ?? 4 }),
    inPlace: fc.boolean(),
    start: fc.nat(),
  });
  fc.assert(fc.property(histories, raw, (h, r) => {
    const starts = 1 + (k.emptyCarries?.(h).length ?? 0);
    const chain = { cuts: cutsOf(k, h, r.cuts), inPlace: r.inPlace, start: r.start % starts };
    assertChunkedEqualsFull(k, h, chain, opts.checkPrefixes ?? true);
  }), { numRuns: opts.numRuns });
}

function cutsOf<H>(k: CarryKernel<H>, h: H, raw: readonly number[]): number[] {
  const n = k.rows(h);
  const cuts = k.cuts ? k.cuts(h, raw) : raw.map((x) => x % (n + 1));
  return [...cuts].sort((a, b) => a - b);
}

/** Fold h in the chunks of `chain` and check rows and carries against the full build. */
export function assertChunkedEqualsFull<H>(k: CarryKernel<H>, h: H, chain: Chain, checkPrefixes = true): void {
  const n = k.rows(h);
  const len = k.carryLength(h);
  const label = `${k.name}: cuts ${chain.cuts.join(',')} of ${n}`;
  const full = fullBuild(k, h, len);
  // Asking for a carry changes nothing in the rows.
  assert.deepEqual(full.rows, k.build(h, undefined, undefined), `${label}: carryOut changes the rows`);
  k.checkCarry?.(h, full.carry, n);

  const bounds = [0, ...chain.cuts, n];
  const chunks: RowBatch[] = [];
  let carry = chain.start === 0 ? undefined : k.emptyCarries!(h)[chain.start - 1];
  for (let c = 0; c + 1 < bounds.length; c++) {
    const [from, to] = [bounds[c], bounds[c + 1]];
    // Filled with junk so a slot the kernel forgets to write cannot pass by accident.
    const carryOut = chain.inPlace && carry !== undefined ? carry : new Float64Array(len).fill(123.5);
    chunks.push(k.build(k.slice(h, from, to), carry, carryOut));
    carry = carryOut;
    k.checkCarry?.(h, carry, to);
    if (checkPrefixes && c + 2 < bounds.length) {
      assertSameCarry(carry, fullBuild(k, k.slice(h, 0, to), len).carry, `${label}: carry after chunk ${c}`);
    }
  }
  assertSameCarry(carry!, full.carry, `${label}: final carry`);
  assertSameRows(full.rows, chunks, k.groupBy, label);
}

function fullBuild<H>(k: CarryKernel<H>, h: H, len: number): { rows: RowBatch; carry: Float64Array } {
  const carry = new Float64Array(len).fill(123.5);
  return { rows: k.build(h, undefined, carry), carry };
}

/** Same numbers in every slot (Object.is: equal bits, NaN equals NaN, +0 differs from −0). */
export function assertSameCarry(got: Float64Array, want: Float64Array, label: string): void {
  assert.equal(got.length, want.length, `${label}: carry length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`${label}: carry slot ${i}: got ${got[i]}, full build ${want[i]}`);
  }
}

/**
 * The chunks' rows equal the full build's: the same columns in the same order and array types, and the same
 * rows in the same order, Object.is on every value. With groupBy, the order is compared within each group
 * (every call emits group by group), and each call's groups must be contiguous.
 */
export function assertSameRows(full: RowBatch, chunks: RowBatch[], groupBy: string | undefined, label: string): void {
  const total = chunks.reduce((s, b) => s + b.length, 0);
  assert.equal(total, full.length, `${label}: row count`);
  const names = Object.keys(full.cols);
  for (const [c, b] of chunks.entries()) {
    if (b.length === 0) continue;
    assert.deepEqual(Object.keys(b.cols), names, `${label}: columns of chunk ${c}`);
    for (const name of names) assert.equal(b.cols[name].constructor, full.cols[name].constructor, `${label}: type of ${name}`);
  }
  // Row order to compare: the full build's rows of each group, against the chunks' rows of that group in order.
  const fullRows = groupedRows(full, groupBy, `${label}: full build`);
  const chunkRows = new Map<unknown, [number, number][]>();
  for (const [c, b] of chunks.entries()) {
    for (const [g, rows] of groupedRows(b, groupBy, `${label}: chunk ${c}`)) {
      const list = chunkRows.get(g) ?? [];
      for (const r of rows) list.push([c, r]);
      chunkRows.set(g, list);
    }
  }
  for (const [g, want] of fullRows) {
    const got = chunkRows.get(g) ?? [];
    const what = groupBy === undefined ? label : `${label} ${groupBy} ${String(g)}`;
    assert.equal(got.length, want.length, `${what}: chunks emit ${got.length} rows, the full build ${want.length}`);
    for (let j = 0; j < want.length; j++) {
      const [c, i] = got[j];
      const f = want[j];
      for (const name of names) {
        const x = chunks[c].cols[name][i];
        const y = full.cols[name][f];
        if (!Object.is(x, y)) assert.fail(`${what}: chunk ${c} row ${i} (full row ${f}) ${name}: got ${x}, full ${y}`);
      }
    }
  }
}

/** Row indices of each group in order (one group when groupBy is undefined); groups must be contiguous. */
function groupedRows(b: RowBatch, groupBy: string | undefined, what: string): Map<unknown, number[]> {
  const out = new Map<unknown, number[]>();
  const col = groupBy === undefined ? undefined : b.cols[groupBy];
  let prev: unknown;
  for (let i = 0; i < b.length; i++) {
    const g = col === undefined ? 'all' : col[i];
    const rows = out.get(g);
    if (rows === undefined) out.set(g, [i]);
    else {
      assert.ok(Object.is(g, prev), `${what}: rows of ${groupBy} ${String(g)} are not contiguous`);
      rows.push(i);
    }
    prev = g;
  }
  return out;
}
