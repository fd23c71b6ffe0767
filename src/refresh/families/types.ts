// The contract of a derived family: what the runner needs to keep a set of tables current, asset by asset.
// Types only, so that a family defined anywhere (src/features/, a test) can implement it without pulling in
// the refresh.
import type { Timeframe } from '../../catalog/timeframes.js';
import type { Table } from '../../schema/table-types.js';
import type { Store } from '../../store/store.js';
import type { RowBatch } from '../../columnar/columns.js';
import type { PlannedWrites } from '../planned.js';
import type { Sinks } from '../sinks.js';
import type { ComponentSummary, StepContext } from '../types.js';
import type { Writes } from '../writes.js';

/** A run's settings as a family sees them. */
export interface FamilyRun {
  runId: string;
  tfs: readonly Timeframe[];
  periods: readonly number[];
  /** Explicit (tf, period) pairs (--tf-period-combos). */
  combos?: { tf: Timeframe; period: number }[];
  /** Not the configured default selection: then no state is read or moved. */
  narrowed: boolean;
  fullRebuild: boolean;
  lookbackDays: number;
  /** Recompute from this day (epoch ms) at the latest (`refresh --from`). */
  recomputeFrom?: number;
  /** State tables of the families whose upstream is this one (the registry's answer). */
  readers: readonly string[];
  /** Where the daily path may write its new rows for the group commit (sinks.ts); absent when written at once. */
  sinks?: Sinks;
}

/**
 * What a family will do for one asset, decided from what its prefetch read (its own state, its upstream's state
 * and `changed_from`, the new input rows) without any further read.
 */
export type AssetPlan =
  | { action: 'current'; reason: string }
  /** Fold the new days onto the stored carry. */
  | { action: 'continue'; from: number; reason: string }
  /** Recompute from the history and replace the rows dated ≥ from (−∞: all of them). */
  | { action: 'recompute'; from: number; reason: string }
  /** The asset has no source rows left: its rows and state go. */
  | { action: 'purge'; reason: string };

export interface FamilyResult {
  status: 'built' | 'current';
  /** Earliest day recomputed (epoch ms), −∞ for a whole rebuild, +∞ when current. */
  from: number;
  reason: string;
  /** Rows written per table. */
  rows: Record<string, number>;
  continued?: boolean;
  /** Counters the family reports beside its rows (the bars: repaired and rejected days, calendar gaps). */
  repairs?: number;
  rejects?: number;
  gaps?: number;
}

export interface Family<Facts = unknown> {
  /** Name on the command line and in summaries (`--components`). */
  readonly name: string;
  /** The family whose rows it reads, or 'source' for price_histories. */
  readonly upstream: string;
  /** The tables whose rows it writes (and no other family writes). */
  readonly tables: readonly Table[];
  /** Its rows of refresh_state, by table name: only it writes them. */
  readonly stateTables: readonly string[];
  /** Where `talab validate` derives each table's expected row count, independently of the family's code. */
  readonly rowCountRule: string;
  /**
   * The URL of the module whose import registers it (its `import.meta.url`), for a family registered outside
   * the built-in ones: worker threads import it before they run a step. Absent for the built-in families, which
   * every worker has.
   */
  readonly module?: string;
  /** The batched reads a chunk of assets needs to plan and continue. */
  prefetch(store: Store, ids: readonly number[], run: FamilyRun): Promise<Map<number, Facts>>;
  /** Pure: what the asset needs, from its prefetched facts. */
  plan(facts: Facts, run: FamilyRun): AssetPlan;
  /**
   * Carry the plan out: the asset's writes go to `out` as typed operations (rows and state together), never
   * through the store, which is read only for a recompute's history.
   */
  refresh(store: Store, out: Writes, id: number, facts: Facts, run: FamilyRun): Promise<FamilyResult>;
  /** The asset's state as this family last left it (undefined: never built by a default run). */
  state(facts: Facts): { last_run_id: string | null } | undefined;
  /** Days of history a recompute of the asset reads (a very long one is written in its own transaction). */
  historyDays(facts: Facts): number;
  /** Why the asset must wait this run (its upstream lags its source), or null. */
  waitReason?(store: Store, id: number, facts: Facts, stalenessHours: number): Promise<string | null>;
  /**
   * Dry run (plan only), when the run also plans this family's upstream: the rows of the upstream's tables this
   * family reads (each table's projection), held in memory from the upstream's planned writes ...
   */
  readonly upstreamRows?: ReadonlyMap<string, (batch: RowBatch) => RowBatch>;
  /**
   * ... and the asset's facts as they will be once the upstream has made those writes, read through them; its
   * `refresh` then reads the upstream's rows the same way. Without these two, a dry run plans the family from
   * what is stored now, which is exact only where the upstream has nothing to write.
   */
  prefetchPlanned?(store: Store, id: number, run: FamilyRun, upstream: PlannedWrites): Promise<Facts>;
}

/**
 * A family that runs its own loop over the run's assets instead of the runner's per-asset one (the feature
 * matrix: it reads whole input histories and writes through its own sink). It still runs in registry order,
 * after its upstream, on the run's main session, and reports each asset into `sum` like the others.
 */
export interface StepFamily {
  readonly name: string;
  readonly upstream: string;
  readonly tables: readonly Table[];
  /** The tables it keeps current, as listed in the run's summary. */
  readonly stateTables: readonly string[];
  readonly rowCountRule: string;
  runStep(store: Store, assets: readonly { id: number; symbol: string }[], ctx: StepContext, sum: ComponentSummary): Promise<void>;
}
