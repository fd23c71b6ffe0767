// What a refresh is asked (RefreshOptions), what it reports (events, summaries), and what each step sees:
// the types shared by the runner and its worker pool.
import type { Timeframe } from '../catalog/timeframes.js';
import type { PhaseTimer } from '../util/phases.js';

/** A registered family's name (families/registry.ts): the two built-in ones, or one registered from elsewhere. */
export type Component = 'bars' | 'emas' | (string & {});

export interface Shard {
  k: number;
  n: number;
}

export interface RefreshOptions {
  components: Component[];
  ids?: number[];
  /** Narrowed selection; undefined = the configured defaults (and then state is kept). */
  tfs?: Timeframe[];
  periods?: number[];
  combos?: { tf: Timeframe; period: number }[];
  fullRebuild?: boolean;
  /** Recompute every derived table of the selected assets from this day (epoch ms) on. */
  from?: number;
  resume?: boolean;
  dryRun?: boolean;
  lookbackDays?: number;
  skipStaleCheck?: boolean;
  /** EMAs of an asset run only when its bars are at most this far behind its source's last day. */
  stalenessHours?: number;
  /** Go on with the next step when a step fails as a whole (not just some of its assets). */
  continueOnError?: boolean;
  jobs?: number;
  shard?: Shard;
  onEvent?: (e: RefreshEvent) => void;
  /** Stop between assets (SIGINT/SIGTERM): the groups not yet committed are dropped, the run ends `interrupted`. */
  signal?: AbortSignal;
  /** Laps plan, bars, emas, finish (run ledger, connections, locks) and checkpoint as the run passes them. */
  phases?: PhaseTimer;
}

export type AssetStatus = 'built' | 'current' | 'skipped' | 'failed' | 'planned';

export type RefreshEvent =
  | { kind: 'start'; component: Component; assets: number }
  | { kind: 'asset'; component: Component; id: number; symbol: string; status: AssetStatus; reason?: string; ms: number; rows: number }
  | { kind: 'end'; component: Component; ms: number }
  /** An asset's computation finished (its writes may still wait for the group commit). */
  | { kind: 'computed'; component: Component; id: number; symbol: string; status: AssetStatus; ms: number }
  /** A group of assets committed: then each gets its final 'asset' event. */
  | { kind: 'commit'; component: Component; assets: number; rows: number; ms: number }
  /** A transient database error ended attempt `attempt` of the step's remaining assets; the next one follows a pause. */
  | { kind: 'retry'; component: Component; attempt: number; attempts: number; why: string; error: string; remaining: number };

export interface AssetOutcome {
  id: number;
  symbol: string;
  status: AssetStatus;
  reason: string;
  /** First day recomputed (YYYY-MM-DD), 'all' for a whole rebuild. */
  from?: string;
  /** New days folded into the stored carry (the daily path), instead of a recompute from the history. */
  continued?: boolean;
  ms: number;
}

export interface ComponentSummary {
  component: Component;
  ms: number;
  rows: Record<string, number>;
  assets: AssetOutcome[];
  repairs: number;
  rejects: number;
  gaps: number;
  /** The step failed as a whole (an error outside any single asset), or did not run because an earlier one did. */
  error?: string;
}

export interface RefreshSummary {
  runId: string;
  dryRun: boolean;
  tables: string[];
  timeframes: string[];
  periods: number[];
  components: ComponentSummary[];
  ok: boolean;
  /** The run row could not be written at the end (the database stayed away); the next start marks it `abandoned`. */
  ledgerError?: string;
  /** Stopped by a signal before the end: the run is recorded `interrupted`. */
  interrupted?: boolean;
  /** Worker threads the jobs ran on (0: sessions of the calling thread, as on DuckDB). */
  threads: number;
  /** DuckDB: time of the checkpoint that ended the run (0 when none was due); set once the run has finished. */
  checkpointMs: number;
}

/** A run's settings as every step sees them, and the hand-over from the bars step to the EMA step. */
export interface StepContext {
  opts: RefreshOptions;
  tfs: Timeframe[];
  periods: number[];
  narrowed: boolean;
  lookbackDays: number;
  stalenessHours: number;
  runId: string;
  /**
   * Per family, the assets it failed in this run, or skipped because its upstream had: the families reading it
   * skip them too, with the reason given here ('its bars failed in this run').
   */
  failed: Map<string, Map<number, string>>;
  /**
   * Per family, the assets it built or found current in this run: fresh by construction for the families reading
   * it, state or not (narrowed runs keep none), so their staleness gate does not apply.
   */
  done: Map<string, Set<number>>;
}
