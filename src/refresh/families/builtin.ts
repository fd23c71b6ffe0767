// The two built-in families: the bars (price_bars_1d, its rejects and the five snapshot bar tables, from the
// source) and the EMAs (the six EMA tables, from the bars). Their rules live in ../bars.ts and ../emas.ts.
import { BAR_TABLES, EMA_TABLES, priceBars1d, priceBars1dRejects } from '../../schema/tables.js';
import { planBars, refreshAssetBars } from '../bars.js';
import { planEmas, plannedEmaFacts, prefetchFlipDaily, refreshAssetEmas } from '../emas.js';
import { prefetchBars, prefetchEmas, type BarsFacts, type EmasFacts } from '../prefetch.js';
import { EMA_PLANNED_INPUTS } from '../bar-reads.js';
import { staleReason } from '../stale.js';
import { BARS_STATE_TABLES, EMAS_STATE_TABLES } from '../state.js';
import { registerFamily } from './registry.js';
import type { Family } from './types.js';

export const barsFamily: Family<BarsFacts> = {
  name: 'bars',
  upstream: 'source',
  tables: [priceBars1d, priceBars1dRejects, ...Object.values(BAR_TABLES)],
  stateTables: BARS_STATE_TABLES,
  rowCountRule: 'validate/counts.ts: barRowCounts (snapshot tables); price_bars_1d against price_histories in validate/checks.ts',
  prefetch: (store, ids, run) => prefetchBars(store, ids, run.lookbackDays),
  plan: (facts, run) => planBars(facts, run).plan,
  async refresh(store, out, id, facts, run) {
    const r = await refreshAssetBars(store, out, id, run, facts);
    const built = r.status === 'built';
    return {
      ...r,
      repairs: built ? r.counters.repairedTimehigh + r.counters.repairedTimelow : 0,
      rejects: built ? r.counters.rejected : 0,
      gaps: built ? r.gaps : 0,
    };
  },
  state: (facts) => facts.states.get(BARS_STATE_TABLES[0]),
  historyDays: (facts) => facts.raw?.n ?? 0,
};

export const emasFamily: Family<EmasFacts> = {
  name: 'emas',
  upstream: 'bars',
  tables: Object.values(EMA_TABLES),
  stateTables: EMAS_STATE_TABLES,
  rowCountRule: 'validate/counts.ts: emaRowCounts (the rule of each EMA family in its header)',
  async prefetch(store, ids, run) {
    // Every timeframe the step computes must be asked for: on PostgreSQL the read probes each (asset, timeframe).
    const facts = await prefetchEmas(store, ids, run.tfs);
    await prefetchFlipDaily(store, facts, run);
    return facts;
  },
  plan: (facts, run) => planEmas(facts, run).plan,
  refresh: (store, out, id, facts, run) => refreshAssetEmas(store, out, id, run, facts),
  state: (facts) => facts.states.get(EMAS_STATE_TABLES[0]),
  historyDays: (facts) => Number(facts.states.get(EMAS_STATE_TABLES[0])?.source_rows ?? 0),
  waitReason: (store, id, facts, hours) => staleReason(store, id, facts, hours),
  upstreamRows: EMA_PLANNED_INPUTS,
  prefetchPlanned: (store, id, run, upstream) => plannedEmaFacts(store, upstream, id, run.tfs),
};

registerFamily(barsFamily);
registerFamily(emasFamily);
