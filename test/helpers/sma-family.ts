// A family defined outside the refresh, for the family-contract tests: a 3-day SMA of the 1D close in a table
// of its own. Importing this module registers it — in the test's thread and, through `module`, in any worker
// thread a heavy run starts, exactly as a family of another package would be.
import { registerFamily } from '../../src/refresh/families/registry.js';
import type { Family } from '../../src/refresh/families/types.js';
import { BARS_STATE_TABLES, commonState, idList, readStatesMany, upstreamChange, writeStates, type TableState } from '../../src/refresh/state.js';
import type { Table } from '../../src/schema/table-types.js';

export const sma3: Table = {
  name: 'test_sma3',
  doc: '3-day simple moving average of the 1D close (a test family).',
  key: ['id', 'ts'],
  columns: [
    { name: 'id', type: 'int', notNull: true }, { name: 'ts', type: 'ts', notNull: true }, { name: 'sma', type: 'double' },
  ],
};

interface SmaFacts {
  own?: TableState;
  bars?: TableState;
  ts: Float64Array;
  close: Float64Array;
}

/** The kernel: pure, rows dated ≥ from of the SMA over the whole daily series. */
export function smaRows(id: number, ts: Float64Array, close: Float64Array, from: number) {
  const keep: number[] = [];
  for (let i = 0; i < ts.length; i++) if (ts[i] >= from) keep.push(i);
  return {
    length: keep.length,
    cols: {
      id: new Int32Array(keep.length).fill(id),
      ts: Float64Array.from(keep, (i) => ts[i]),
      sma: Float64Array.from(keep, (i) => (i >= 2 ? (close[i] + close[i - 1] + close[i - 2]) / 3 : NaN)),
    },
  };
}

export const smaFamily: Family<SmaFacts> = {
  name: 'sma3',
  module: import.meta.url,
  upstream: 'bars',
  tables: [sma3],
  stateTables: [sma3.name],
  rowCountRule: 'one row per 1D row',
  async prefetch(store, ids) {
    const states = await readStatesMany(store, ids, []);
    const rows = await store.query<{ id: number; ts: number; close: number }>(
      `SELECT id, ts, close FROM price_bars_1d WHERE id IN (${idList(ids)}) ORDER BY id, ts`,
    );
    const out = new Map<number, SmaFacts>();
    for (const id of ids) {
      const mine = rows.filter((r) => Number(r.id) === id);
      const st = states.get(id)!;
      out.set(id, {
        own: st.get(sma3.name), bars: commonState(st, BARS_STATE_TABLES),
        ts: Float64Array.from(mine, (r) => Number(r.ts)), close: Float64Array.from(mine, (r) => Number(r.close)),
      });
    }
    return out;
  },
  plan(f) {
    if (!f.own || f.own.last_src_ts === null) return { action: 'recompute', from: -Infinity, reason: 'first build' };
    const changed = upstreamChange(f.bars, f.own);
    if (changed !== null) return { action: 'recompute', from: changed, reason: 'bars changed' };
    const next = f.ts.find((t) => t > Number(f.own!.last_src_ts));
    return next === undefined ? { action: 'current', reason: 'already current' } : { action: 'continue', from: next, reason: 'new days' };
  },
  async refresh(_store, out, id, f, run) {
    const p = smaFamily.plan(f, run);
    if (p.action === 'current' || p.action === 'purge') return { status: 'current', from: Infinity, reason: p.reason, rows: {} };
    if (p.action === 'recompute') await out.write({ kind: 'delete', table: sma3, id, timeCol: 'ts', from: p.from });
    const rows = await out.write({ kind: 'append', table: sma3, batch: smaRows(id, f.ts, f.close, p.from) });
    await writeStates(out, id, [sma3.name], {
      lastSrcTs: f.ts[f.ts.length - 1], dailyMinSeen: f.ts[0], sourceRows: f.ts.length, runId: run.runId,
      rowsWritten: { [sma3.name]: rows },
    });
    return { status: 'built', from: p.from, reason: p.reason, rows: { [sma3.name]: rows }, continued: p.action === 'continue' };
  },
  state: (f) => f.own,
  historyDays: (f) => f.ts.length,
};

registerFamily(smaFamily);
