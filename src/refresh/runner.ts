// The refresh orchestration: which assets, bars before EMAs, a freshness gate between them, one transaction
// per asset and component (data and state together), failures isolated to the asset that failed, parallel
// workers, shards, a lock, resumable runs. The per-asset rules live in bars.ts / emas.ts / state.ts.
import { randomUUID } from 'node:crypto';
import { DEFAULT_PERIODS, defaultTimeframes, type Timeframe } from '../catalog/timeframes.js';
import { acquireRunLock } from '../ops/run-lock.js';
import { q } from '../schema/ddl.js';
import { refreshRuns, refreshState } from '../schema/tables.js';
import type { Store } from '../store/store.js';
import { EXIT, UserError } from '../util/errors.js';
import type { PhaseTimer } from '../util/phases.js';
import { isSystemic } from '../util/systemic.js';
import { refreshAssetBars, type AssetBarsResult } from './bars.js';
import { prefetchFlipDaily, refreshAssetEmas, type AssetEmasResult, type EmasOptions } from './emas.js';
import { selectAssets } from './load.js';
import { DeferredStore, replay } from './deferred.js';
import { prefetchBars, prefetchEmas, type BarsFacts, type EmasFacts } from './prefetch.js';
import { StepPool } from './pool.js';
import { Sinks } from './sinks.js';
import { planStep } from './plan.js';
import { staleReason } from './stale.js';
import { BARS_STATE_TABLES, EMAS_STATE_TABLES, idList } from './state.js';

export type Component = 'bars' | 'emas';

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
  | { kind: 'commit'; component: Component; assets: number; rows: number; ms: number };

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
  /** Worker threads the jobs ran on (0: sessions of the calling thread, as on DuckDB). */
  threads: number;
  /** DuckDB: time of the checkpoint that ended the run (0 when none was due); set once the run has finished. */
  checkpointMs: number;
}

/** Stable shard of an asset: a 32-bit integer hash of the id, mod n. Same everywhere, every run. */
export function shardOf(id: number, n: number): number {
  let h = Math.imul(id ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % n;
}

/**
 * Group commit bounds: at most this many assets, or this many pending rows, per transaction. On DuckDB a
 * group's appends of more than a row group (16,384 rows) go to the file in whole row groups during the commit,
 * and only the rest waits for the checkpoint: a 1,000 × 3,000 daily run took 5.6–6.5 s with groups of 256
 * against 6.6–7.7 s with 128 (its checkpoint 0.6–0.7 s against 0.9–1.0 s), for ~130 MB more resident memory.
 */
const GROUP_ASSETS = 256;
const GROUP_ROWS = 600_000;
/** Assets whose state and new rows one prefetch reads together. */
const CHUNK_ASSETS = 256;
/** DuckDB: rows written between two checkpoints the workers pause for (see CheckpointGate). */
const CHECKPOINT_ROWS = 5_000_000;
/** DuckDB: rows left uncheckpointed at the end of a step that are worth a CHECKPOINT before returning. */
const FINAL_CHECKPOINT_ROWS = 1_000_000;

/**
 * DuckDB checkpoints (moves committed data from memory and the WAL into the file) only when no other
 * transaction is open, which with several workers is almost never. Committed data then piled up in memory
 * during a big first build until a late checkpoint ran out of memory (a 200-asset build under a 256 MB
 * limit ended in a fatal error). Every CHECKPOINT_ROWS rows the workers meet between two transactions and
 * the last to arrive runs a CHECKPOINT. A failed checkpoint is ignored: the data is committed either way.
 */
class CheckpointGate {
  private rows = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private active: number, private readonly every: number) {}

  wrote(rows: number): void {
    this.rows += rows;
  }

  async pause(s: Store): Promise<void> {
    if (this.rows < this.every) return;
    if (this.waiting.length + 1 < this.active) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      return;
    }
    await this.checkpoint(s);
  }

  /**
   * The step is over (no transaction open): checkpoint what a build left in the WAL, so that the next run's
   * first commit does not pay for it (a daily run right after a first build took ~1.6× its steady time).
   */
  async finish(s: Store): Promise<void> {
    if (this.rows >= FINAL_CHECKPOINT_ROWS) await this.checkpoint(s);
  }

  /** A worker has finished (or failed): it no longer holds the others up. */
  async leave(s: Store): Promise<void> {
    this.active--;
    if (this.waiting.length > 0 && this.waiting.length >= this.active) await this.checkpoint(s);
  }

  private async checkpoint(s: Store): Promise<void> {
    try {
      await s.exec('CHECKPOINT');
    } catch {
      // Memory only; the data is committed either way.
    } finally {
      this.rows = 0;
      for (const resolve of this.waiting.splice(0)) resolve();
    }
  }
}

/**
 * DuckDB: for the length of a run, checkpoints happen where the run decides (the gate above, and at the end)
 * instead of each time the WAL passes DuckDB's checkpoint_threshold (16 MB). Every checkpoint rewrites the
 * partly filled last row group of each table written to, however little was added: 25–70 ms per table, up
 * to 3 s per checkpoint at 100 × 3,000. A daily run of 1,000 assets writes ~200 MB of WAL, so under the
 * default it paid that about twelve times. At the end the run checkpoints once if its WAL has reached the
 * threshold, as DuckDB would have; a smaller WAL is left to the next checkpoint (a closing CLI makes one).
 * Returns the restore.
 */
async function holdCheckpoints(store: Store): Promise<() => Promise<number>> {
  if (store.dialect !== 'duckdb') return async () => 0;
  const r = await store.query<{ v: string }>("SELECT current_setting('checkpoint_threshold') AS v");
  const threshold = r[0].v;
  await store.exec("SET checkpoint_threshold = '1TB'");
  return async () => {
    const wal = await store.query<{ n: number }>("SELECT wal_size AS n FROM pragma_database_size() WHERE database_name = current_database()");
    const t0 = Date.now();
    // A failed checkpoint loses nothing (the data is committed); DuckDB retries at the next one.
    if (walBytes(String(wal[0]?.n ?? 0)) >= walBytes(threshold)) await store.exec('CHECKPOINT').catch(() => undefined);
    const ms = Date.now() - t0;
    await store.exec(`SET checkpoint_threshold = '${threshold.replace(/'/g, "''")}'`);
    return ms;
  };
}

/** Bytes of a DuckDB size string such as '16.0 MiB' or '0 bytes'. */
function walBytes(v: string): number {
  const m = /^([\d.]+)\s*([KMGT]?i?B|bytes?)?$/i.exec(v.trim());
  if (!m) return 0;
  const unit = (m[2] ?? 'B').toUpperCase();
  const pow = { B: 0, BYTE: 0, BYTES: 0, KB: 1, KIB: 1, MB: 2, MIB: 2, GB: 3, GIB: 3, TB: 4, TIB: 4 }[unit] ?? 0;
  return Number(m[1]) * (unit.includes('I') || pow === 0 ? 1024 : 1000) ** pow;
}

const day = (ms: number) => (ms === -Infinity ? 'all' : new Date(ms).toISOString().slice(0, 10));

const LOCK_SQL = "hashtext('talab-refresh:' || current_schema() || ':' || $1)";

/** One refresh per database schema and shard at a time; released at the end of the run (or with the session). */
async function lockRun(store: Store, shard: Shard): Promise<() => Promise<void>> {
  if (store.dialect !== 'postgres') return async () => undefined; // DuckDB: the file admits one writing process
  const key = `${shard.k}/${shard.n}`;
  const r = await store.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_SQL}) AS ok`, [key]);
  if (!r[0].ok) {
    throw new UserError(
      `another talab refresh is running on this database${shard.n > 1 ? ` for shard ${shard.k}/${shard.n}` : ''}; ` +
        'wait for it, or give each machine its own --shard k/n',
      EXIT.database,
    );
  }
  return async () => {
    await store.query(`SELECT pg_advisory_unlock(${LOCK_SQL}) AS ok`, [key]).catch(() => undefined);
  };
}

function optionsKey(o: RefreshOptions): string {
  return JSON.stringify({
    components: o.components, ids: o.ids ?? null, tfs: o.tfs?.map((t) => t.tf) ?? null, periods: o.periods ?? null,
    combos: o.combos?.map((c) => `${c.tf.tf}:${c.period}`) ?? null, fullRebuild: !!o.fullRebuild,
    shard: o.shard ? `${o.shard.k}/${o.shard.n}` : null,
  });
}

const RUN_LOCK_SQL = "hashtext('talab-run:' || $1)";

/**
 * Runs left `running` by a process that died (killed, power lost) are marked `abandoned`. On DuckDB the file
 * admits one writing process, so any `running` row is such a leftover; on PostgreSQL each run holds a session
 * lock on its id for its lifetime, and a row whose lock can be taken has no live owner.
 */
async function markAbandoned(store: Store): Promise<void> {
  const running = await store.query<{ run_id: string }>(`SELECT run_id FROM ${q(refreshRuns.name)} WHERE status = 'running'`);
  for (const { run_id } of running) {
    if (store.dialect === 'postgres') {
      const r = await store.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${RUN_LOCK_SQL}) AS ok`, [run_id]);
      if (!r[0].ok) continue; // its process is alive
      await store.query(`SELECT pg_advisory_unlock(${RUN_LOCK_SQL}) AS ok`, [run_id]);
    }
    await store.exec(`UPDATE ${q(refreshRuns.name)} SET status = 'abandoned', finished_at = now() WHERE run_id = $1 AND status = 'running'`, [run_id]);
  }
}

/** With --resume: the last unfinished run with the same options, whose finished assets are skipped. */
async function startRun(store: Store, o: RefreshOptions): Promise<{ runId: string; resumed: boolean }> {
  const key = optionsKey(o);
  await markAbandoned(store);
  let runId = '';
  if (o.resume) {
    const prev = await store.query<{ run_id: string }>(
      `SELECT run_id FROM ${q(refreshRuns.name)} WHERE status IN ('abandoned', 'failed') AND options = $1 ` +
        'ORDER BY started_at DESC LIMIT 1',
      [key],
    );
    if (prev.length) runId = prev[0].run_id;
  }
  const resumed = runId !== '';
  if (!resumed) runId = randomUUID();
  if (store.dialect === 'postgres') await store.query(`SELECT pg_advisory_lock(${RUN_LOCK_SQL}) AS ok`, [runId]);
  if (resumed) await store.exec(`UPDATE ${q(refreshRuns.name)} SET status = 'running', finished_at = NULL WHERE run_id = $1`, [runId]);
  else await store.exec(`INSERT INTO ${q(refreshRuns.name)} (run_id, options, status) VALUES ($1, $2, 'running')`, [runId, key]);
  return { runId, resumed };
}

/** Best effort: a run that ends by an exception is `failed` (if the database is gone, the next start marks it `abandoned`). */
async function abortRun(store: Store, runId: string, why: string): Promise<void> {
  await store.exec(
    `UPDATE ${q(refreshRuns.name)} SET finished_at = now(), status = 'failed', summary = $2 WHERE run_id = $1 AND status = 'running'`,
    [runId, JSON.stringify({ error: why })],
  ).catch(() => undefined);
}

async function finishRun(store: Store, runId: string, s: RefreshSummary): Promise<void> {
  const brief = s.components.map((c) => ({
    component: c.component, ms: c.ms, rows: c.rows,
    failed: c.assets.filter((a) => a.status === 'failed').map((a) => ({ id: a.id, reason: a.reason })),
  }));
  await store.exec(
    `UPDATE ${q(refreshRuns.name)} SET finished_at = now(), status = $2, summary = $3 WHERE run_id = $1`,
    [runId, s.ok ? 'finished' : 'failed', JSON.stringify(brief)],
  );
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
  /** Assets whose bars failed in this run (their EMAs are skipped). */
  barsFailed: Set<number>;
  /** Bars built (or found current) in this very run are fresh by construction, state or not (narrowed runs keep none). */
  barsDone: Set<number>;
}

/**
 * One component over `assets` on a pool of sessions (one per job): prefetch per chunk, prepare asset by asset,
 * commit in groups. Fills `sum` and reports each asset through ctx.opts.onEvent.
 */
export async function runStep(
  sessions: Store[], component: Component, assets: { id: number; symbol: string }[], ctx: StepContext, sum: ComponentSummary,
): Promise<void> {
  const { opts, tfs, periods, narrowed, lookbackDays, stalenessHours, runId, barsFailed, barsDone } = ctx;
  const emaOpts: EmasOptions = { tfs, periods, combos: opts.combos, narrowed, fullRebuild: !!opts.fullRebuild, runId };
    interface Prepared {
      a: { id: number; symbol: string };
      out: AssetOutcome;
      r?: AssetBarsResult | AssetEmasResult;
      deferred?: DeferredStore;
      t0: number;
    }
    /** Read and compute one asset; its writes are recorded, not yet made. */
    const prepare = async (s: Store, a: { id: number; symbol: string }, facts: BarsFacts | EmasFacts, sinks: Sinks, sinkOpts: EmasOptions): Promise<Prepared> => {
      const p: Prepared = { a, out: { id: a.id, symbol: a.symbol, status: 'built', reason: '', ms: 0 }, t0: Date.now() };
      try {
        const stale = component === 'emas' && !barsFailed.has(a.id) && !barsDone.has(a.id) && !opts.skipStaleCheck
          ? await staleReason(s, a.id, facts as EmasFacts, stalenessHours) : null;
        const own = component === 'bars' ? BARS_STATE_TABLES[0] : EMAS_STATE_TABLES[0];
        if (component === 'emas' && barsFailed.has(a.id)) {
          Object.assign(p.out, { status: 'skipped', reason: 'its bars failed in this run' });
        } else if (stale) {
          Object.assign(p.out, { status: 'skipped', reason: stale });
        } else if (opts.resume && facts.states.get(own)?.last_run_id === runId) {
          Object.assign(p.out, { status: 'current', reason: 'done earlier in the resumed run' });
        } else {
          // A whole rebuild writes the asset's entire history: write it straight away in its own
          // transaction rather than holding it in memory for a group commit.
          const whole = !!opts.fullRebuild || narrowed || !facts.states.has(own);
          const d = whole ? s : new DeferredStore(s);
          if (d instanceof DeferredStore) p.deferred = d;
          // Deferred writes are views of the session's sinks until the group commit (written ones go at once).
          const deferred = d instanceof DeferredStore;
          const run = () => component === 'bars'
            ? refreshAssetBars(d, a.id, {
              tfs, narrowed, fullRebuild: !!opts.fullRebuild, lookbackDays, runId, sinks: deferred ? sinks : undefined,
            }, facts as BarsFacts)
            : refreshAssetEmas(d, a.id, deferred ? sinkOpts : emaOpts, facts as EmasFacts);
          p.r = d === s ? await s.transaction(run) : await run();
          gate?.wrote(Object.values(p.r.rows).reduce((a, b) => a + b, 0));
          p.out.status = p.r.status === 'current' ? 'current' : 'built';
          p.out.reason = p.r.reason;
          if (p.r.status === 'built') p.out.from = day(p.r.from);
          if (p.r.continued) p.out.continued = true;
        }
      } catch (e) {
        // A lost database is not this asset's fault: stop the step instead of failing every asset in turn.
        if (isSystemic(e)) throw e;
        fail(p, e);
      }
      opts.onEvent?.({ kind: 'computed', component, id: a.id, symbol: a.symbol, status: p.out.status, ms: Date.now() - p.t0 });
      return p;
    };
    const fail = (p: Prepared, e: unknown) => {
      p.out.status = 'failed';
      p.out.reason = (e as Error).message;
      p.r = undefined;
      if (component === 'bars') barsFailed.add(p.a.id);
    };
    /** Commit the group's writes in one transaction; if that fails, asset by asset to isolate the culprit. */
    const commit = async (s: Store, group: Prepared[]): Promise<void> => {
      const c0 = Date.now();
      const writing = group.filter((p) => p.deferred && p.deferred.ops.length > 0 && p.out.status !== 'failed');
      try {
        if (writing.length) await replay(s, writing.map((p) => p.deferred!.ops));
      } catch (e) {
        if (isSystemic(e)) throw e;
        for (const p of writing) {
          try {
            await replay(s, [p.deferred!.ops]);
          } catch (e2) {
            if (isSystemic(e2)) throw e2;
            fail(p, e2);
          }
        }
      }
      let groupRows = 0;
      for (const p of group) {
        if (p.r && p.out.status !== 'failed') for (const v of Object.values(p.r.rows)) groupRows += v;
      }
      opts.onEvent?.({ kind: 'commit', component, assets: group.length, rows: groupRows, ms: Date.now() - c0 });
      for (const p of group) {
        let written = 0;
        if (p.r && p.out.status !== 'failed') {
          if (component === 'bars' && p.r.reason !== 'no source rows') barsDone.add(p.a.id);
          for (const [k, v] of Object.entries(p.r.rows)) {
            sum.rows[k] = (sum.rows[k] ?? 0) + v;
            written += v;
          }
          if (component === 'bars' && p.r.status === 'built') {
            const b = p.r as AssetBarsResult;
            sum.repairs += b.counters.repairedTimehigh + b.counters.repairedTimelow;
            sum.rejects += b.counters.rejected;
            sum.gaps += b.gaps;
          }
        }
        p.out.ms = Date.now() - p.t0;
        sum.assets.push(p.out);
        opts.onEvent?.({ kind: 'asset', component, id: p.a.id, symbol: p.a.symbol, status: p.out.status, reason: p.out.reason, ms: p.out.ms, rows: written });
      }
    };
    // A fixed pool of sessions pulls chunks of assets from one queue. Each session reads what a chunk needs
    // in a few queries (prefetch.ts), then prepares its assets one by one and commits them in groups bounded
    // by asset count and pending rows, so memory stays bounded whatever the asset sizes.
    let next = 0;
    const size = Math.max(1, Math.min(CHUNK_ASSETS, Math.ceil(assets.length / sessions.length)));
    const gate = sessions[0].dialect === 'duckdb' ? new CheckpointGate(sessions.length, CHECKPOINT_ROWS) : undefined;
    await Promise.all(sessions.map(async (s) => {
      try {
        await work(s);
      } finally {
        await gate?.leave(s);
      }
    }));
    await gate?.finish(sessions[0]);
    async function work(s: Store): Promise<void> {
      let group: Prepared[] = [];
      let pending = 0;
      const sinks = new Sinks();
      const sinkOpts: EmasOptions = { ...emaOpts, sinks };
      while (next < assets.length) {
        const chunk = assets.slice(next, next + size);
        next += chunk.length;
        const ids = chunk.map((a) => a.id);
        let facts: Map<number, BarsFacts | EmasFacts>;
        try {
          if (component === 'bars') facts = await prefetchBars(s, ids, lookbackDays);
          else {
            const ef = await prefetchEmas(s, ids);
            await prefetchFlipDaily(s, ef, emaOpts);
            facts = ef;
          }
        } catch (e) {
          if (isSystemic(e)) throw e;
          for (const a of chunk) {
            const p: Prepared = { a, out: { id: a.id, symbol: a.symbol, status: 'built', reason: '', ms: 0 }, t0: Date.now() };
            fail(p, e);
            group.push(p);
          }
          continue;
        }
        for (const a of chunk) {
          await gate?.pause(s); // between transactions: no open one on this session
          const p = await prepare(s, a, facts.get(a.id)!, sinks, sinkOpts);
          group.push(p);
          for (const op of p.deferred?.ops ?? []) if ('batch' in op) pending += op.batch.length;
          if (group.length >= GROUP_ASSETS || pending >= GROUP_ROWS) {
            await commit(s, group);
            sinks.reset();
            group = [];
            pending = 0;
          }
        }
      }
      if (group.length) await commit(s, group);
    }
}

/**
 * Whether jobs should be worker threads. Where the engine can be opened from another thread (PostgreSQL), a run
 * that recomputes histories is bound by JavaScript (kernels, COPY encoding), which threads spread over the cores:
 * a 60 × 300 first build took 21 s on threads against 25 s on sessions of one thread. A daily run is bound by
 * round trips, which sessions of one thread overlap better, and threads cost their start-up: the same daily run
 * took 1.45 s on threads against 0.84 s. So: threads for --full-rebuild, narrowed runs, and runs where most
 * assets have no state yet. DuckDB admits one instance per file and process: there jobs are always sessions.
 */
async function buildHeavy(store: Store, opts: RefreshOptions, narrowed: boolean, assets: { id: number }[]): Promise<boolean> {
  if (opts.fullRebuild || narrowed) return true;
  const r = await store.query<{ n: number }>(
    `SELECT count(DISTINCT id) AS n FROM ${q(refreshState.name)} WHERE id IN (${idList(assets.map((a) => a.id))})`,
  );
  return Number(r[0].n) * 2 <= assets.length;
}

export async function runRefresh(store: Store, opts: RefreshOptions): Promise<RefreshSummary> {
  const narrowed = opts.tfs !== undefined || opts.periods !== undefined || opts.combos !== undefined;
  const tfs = opts.tfs ?? (opts.combos ? [...new Map(opts.combos.map((c) => [c.tf.tf, c.tf])).values()] : defaultTimeframes());
  const periods = opts.periods ?? (opts.combos ? [...new Set(opts.combos.map((c) => c.period))] : DEFAULT_PERIODS);
  const shard = opts.shard ?? { k: 0, n: 1 };
  const jobs = Math.max(1, opts.jobs ?? 1);
  const lookbackDays = opts.lookbackDays ?? 3;
  const stalenessHours = opts.stalenessHours ?? 48;
  let assets = await selectAssets(store, opts.ids);
  if (shard.n > 1) assets = assets.filter((a) => shardOf(a.id, shard.n) === shard.k);

  // The shared run lock first: a baseline holds it exclusively while it deletes and rebuilds.
  const unlockRun = opts.dryRun ? async () => undefined : await acquireRunLock(store, 'refresh');
  let unlockShard: () => Promise<void>;
  try {
    unlockShard = opts.dryRun ? async () => undefined : await lockRun(store, shard);
  } catch (e) {
    await unlockRun();
    throw e;
  }
  const unlock = async () => {
    await unlockShard();
    await unlockRun();
  };
  let runId = 'dry-run';
  if (!opts.dryRun) {
    try {
      runId = (await startRun(store, opts)).runId;
    } catch (e) {
      await unlock();
      throw e;
    }
  }
  const tables = [
    ...(opts.components.includes('bars') ? BARS_STATE_TABLES : []),
    ...(opts.components.includes('emas') ? EMAS_STATE_TABLES : []),
  ];
  const summary: RefreshSummary = {
    runId, dryRun: !!opts.dryRun, tables, timeframes: tfs.map((t) => t.tf), periods, components: [], ok: true, threads: 0,
    checkpointMs: 0,
  };
  const ctx: StepContext = {
    opts, tfs, periods, narrowed, lookbackDays, stalenessHours, runId, barsFailed: new Set(), barsDone: new Set(),
  };
  const sessions: Store[] = [store];
  let pool: StepPool | undefined;
  let release: (() => Promise<number>) | undefined;
  try {
    if (!opts.dryRun) release = await holdCheckpoints(store);
    const open = store.openArgs?.();
    const width = Math.min(jobs, assets.length);
    if (open && width > 1 && (await buildHeavy(store, opts, narrowed, assets))) {
      pool = await StepPool.open(open, width);
      summary.threads = width;
    }
    else for (let j = 1; j < width; j++) sessions.push(await store.connect());
    opts.phases?.lap('plan');
    let stopped: string | null = null;
    for (const component of opts.components) {
      const t0 = Date.now();
      const sum: ComponentSummary = { component, ms: 0, rows: {}, assets: [], repairs: 0, rejects: 0, gaps: 0 };
      summary.components.push(sum);
      if (stopped) {
        sum.error = `not run: ${stopped} (use --continue-on-error to run the remaining steps)`;
        continue;
      }
      opts.onEvent?.({ kind: 'start', component, assets: assets.length });
      try {
        if (opts.dryRun) await planStep(store, component, assets, ctx, sum);
        else if (pool) await pool.runStep(component, assets, ctx, sum);
        else await runStep(sessions, component, assets, ctx, sum);
      } catch (e) {
        sum.error = (e as Error).message;
        if (!opts.continueOnError) stopped = `the ${component} step failed`;
      }
      sum.assets.sort((x, y) => x.id - y.id);
      sum.ms = Date.now() - t0;
      opts.onEvent?.({ kind: 'end', component, ms: sum.ms });
      opts.phases?.lap(component);
    }
    summary.ok = summary.components.every((c) => !c.error && c.assets.every((a) => a.status !== 'failed'));
    if (!opts.dryRun) await finishRun(store, runId, summary);
    return summary;
  } catch (e) {
    if (!opts.dryRun) await abortRun(store, runId, (e as Error).message);
    throw e;
  } finally {
    if (!opts.dryRun && store.dialect === 'postgres') {
      await store.query(`SELECT pg_advisory_unlock(${RUN_LOCK_SQL}) AS ok`, [runId]).catch(() => undefined);
    }
    await pool?.close();
    for (const s of sessions.slice(1)) await s.close();
    opts.phases?.lap('finish');
    try {
      summary.checkpointMs = (await release?.()) ?? 0;
      opts.phases?.lap('checkpoint');
    } finally {
      await unlock();
      opts.phases?.lap('finish');
    }
  }
}

export { isSystemic };
