// The refresh orchestration: which assets, bars before EMAs, a freshness gate between them, one transaction
// per asset and component (data and state together), failures isolated to the asset that failed, parallel
// workers, shards, a lock, resumable runs. The per-asset rules live in bars.ts / emas.ts / state.ts.
import { randomUUID } from 'node:crypto';
import { DEFAULT_PERIODS, defaultTimeframes } from '../catalog/timeframes.js';
import type { AssetOutcome, Component, ComponentSummary, RefreshOptions, RefreshSummary, StepContext } from './types.js';
import { acquireRunLock } from '../store/run-lock.js';
import { q } from '../schema/ddl.js';
import { refreshRuns, refreshState } from '../schema/tables.js';
import { describeError, retryAttempts, retryMinMs } from '../store/errors.js';
import { retryTransient } from '../store/retry.js';
import { assetKey, runLiveKey, type HeldLock } from '../store/locks.js';
import type { Store } from '../store/store.js';
import './families/builtin.js';
import { allFamilies, familyNamed, familyRun, getFamily, stepFamily } from './families/registry.js';
import type { FamilyResult, FamilyRun } from './families/types.js';
import { selectAssets } from './load.js';
import { commitBuffers, DirectWrites, WriteBuffer } from './writes.js';
import { StepPool } from './pool.js';
import { Sinks } from './sinks.js';
import { planStep } from './plan.js';
import { idList } from './state.js';
import { describeResult, markFailed, recordResult, upstreamDone, upstreamFailure } from './outcomes.js';

export type {
  AssetOutcome, AssetStatus, Component, ComponentSummary, RefreshEvent, RefreshOptions, RefreshSummary, Shard, StepContext,
} from './types.js';

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
/** Daily rows beyond which an asset is refreshed in its own transaction, its writes not held for a group commit. */
const LONG_HISTORY_DAYS = 10_000;
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

  constructor(private active: number, private readonly every: number, private readonly sql: string) {}

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
      await s.exec(this.sql);
    } catch {
      // Memory only; the data is committed either way.
    } finally {
      this.rows = 0;
      for (const resolve of this.waiting.splice(0)) resolve();
    }
  }
}

function optionsKey(o: RefreshOptions): string {
  return JSON.stringify({
    components: o.components, ids: o.ids ?? null, tfs: o.tfs?.map((t) => t.tf) ?? null, periods: o.periods ?? null,
    combos: o.combos?.map((c) => `${c.tf.tf}:${c.period}`) ?? null, fullRebuild: !!o.fullRebuild,
    shard: o.shard ? `${o.shard.k}/${o.shard.n}` : null, from: o.from ?? null,
  });
}

/**
 * Runs left `running` by a process that died (killed, power lost) are marked `abandoned`: each run holds a
 * session lock on its id for its lifetime, and a row whose lock can be taken has no live owner.
 */
async function markAbandoned(store: Store): Promise<void> {
  const running = await store.query<{ run_id: string }>(`SELECT run_id FROM ${q(refreshRuns.name)} WHERE status = 'running'`);
  for (const { run_id } of running) {
    const probe = await store.lock(runLiveKey(run_id), { wait: false });
    if (!probe) continue; // its process is alive
    await probe.release();
    await store.exec(`UPDATE ${q(refreshRuns.name)} SET status = 'abandoned', finished_at = now() WHERE run_id = $1 AND status = 'running'`, [run_id]);
  }
}

/** With --resume: the last unfinished run with the same options, whose finished assets are skipped. */
async function startRun(store: Store, o: RefreshOptions): Promise<{ runId: string; resumed: boolean; live: HeldLock }> {
  const key = optionsKey(o);
  await markAbandoned(store);
  let runId = '';
  if (o.resume) {
    const prev = await store.query<{ run_id: string }>(
      `SELECT run_id FROM ${q(refreshRuns.name)} WHERE status IN ('abandoned', 'failed', 'interrupted') AND options = $1 ` +
        'ORDER BY started_at DESC LIMIT 1',
      [key],
    );
    if (prev.length) runId = prev[0].run_id;
  }
  const resumed = runId !== '';
  if (!resumed) runId = randomUUID();
  const live = (await store.lock(runLiveKey(runId)))!;
  try {
    if (resumed) await store.exec(`UPDATE ${q(refreshRuns.name)} SET status = 'running', finished_at = NULL WHERE run_id = $1`, [runId]);
    else await store.exec(`INSERT INTO ${q(refreshRuns.name)} (run_id, options, status) VALUES ($1, $2, 'running')`, [runId, key]);
  } catch (e) {
    await live.release();
    throw e;
  }
  return { runId, resumed, live };
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
    [runId, s.interrupted ? 'interrupted' : s.ok ? 'finished' : 'failed', JSON.stringify(brief)],
  );
}

/**
 * One component over `assets` on a pool of sessions (one per job): prefetch per chunk, prepare asset by asset,
 * commit in groups. Fills `sum` and reports each asset through ctx.opts.onEvent.
 */
export async function runStep(
  sessions: Store[], component: Component, assets: { id: number; symbol: string }[], ctx: StepContext, sum: ComponentSummary,
): Promise<void> {
  const { opts, narrowed, stalenessHours, runId } = ctx;
  const family = getFamily(component);
  // One settings object per step (the families cache their layouts per object), one more per session with its sinks.
  const run = familyRun(ctx, component);
    interface Prepared {
      a: { id: number; symbol: string };
      out: AssetOutcome;
      r?: FamilyResult;
      /** The asset's writes held for the group commit (none when they were made at once). */
      buffer?: WriteBuffer;
      t0: number;
    }
    /** Read and compute one asset; its writes are recorded, not yet made. */
    const prepare = async (s: Store, a: { id: number; symbol: string }, facts: unknown, sinkRun: FamilyRun): Promise<Prepared> => {
      const p: Prepared = { a, out: { id: a.id, symbol: a.symbol, status: 'built', reason: '', ms: 0 }, t0: Date.now() };
      try {
        const upFailed = upstreamFailure(ctx, family.upstream, a.id);
        const stale = family.waitReason && !upFailed && !upstreamDone(ctx, family.upstream, a.id) && !opts.skipStaleCheck
          ? await family.waitReason(s, a.id, facts, stalenessHours) : null;
        const own = family.state(facts);
        if (upFailed) {
          Object.assign(p.out, { status: 'skipped', reason: upFailed });
          markFailed(ctx, component, a.id, upFailed);
        } else if (stale) {
          Object.assign(p.out, { status: 'skipped', reason: stale });
        } else if (opts.resume && own?.last_run_id === runId) {
          Object.assign(p.out, { status: 'current', reason: 'done earlier in the resumed run' });
        } else {
          // A whole rebuild writes the asset's entire history: write it straight away in its own
          // transaction rather than holding it in memory for a group commit. So does a very long history,
          // whose recompute after a revision would otherwise wait in memory for the group commit whole.
          const whole = !!opts.fullRebuild || narrowed || !own || family.historyDays(facts) > LONG_HISTORY_DAYS;
          // Held writes are views of the session's sinks until the group commit (direct ones go at once).
          if (!whole) p.buffer = new WriteBuffer();
          const refresh = () => family.refresh(s, p.buffer ?? new DirectWrites(s, { parts: true }), a.id, facts, whole ? run : sinkRun);
          p.r = whole ? await s.transaction(refresh) : await refresh();
          gate?.wrote(Object.values(p.r.rows).reduce((a, b) => a + b, 0));
          describeResult(p.out, p.r, 'built');
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
      markFailed(ctx, component, p.a.id);
    };
    /** Commit the group's writes in one transaction; if that fails, asset by asset to isolate the culprit. */
    const commit = async (s: Store, group: Prepared[]): Promise<void> => {
      const c0 = Date.now();
      const writing = group.filter((p) => p.buffer && p.buffer.ops.length > 0 && p.out.status !== 'failed');
      try {
        if (writing.length) await commitBuffers(s, writing.map((p) => p.buffer!));
      } catch (e) {
        if (isSystemic(e)) throw e;
        for (const p of writing) {
          try {
            await commitBuffers(s, [p.buffer!]);
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
        const written = p.r && p.out.status !== 'failed' ? recordResult(ctx, component, p.a.id, p.r, sum) : 0;
        p.out.ms = Date.now() - p.t0;
        sum.assets.push(p.out);
        opts.onEvent?.({ kind: 'asset', component, id: p.a.id, symbol: p.a.symbol, status: p.out.status, reason: p.out.reason, ms: p.out.ms, rows: written });
      }
    };
    // A fixed pool of sessions pulls chunks of assets from one queue. Each session reads what a chunk needs
    // in a few queries (prefetch.ts), then prepares its assets one by one and commits them in groups bounded
    // by asset count and pending rows, so memory stays bounded whatever the asset sizes.
    // When one session loses the database (or a signal asks to stop), the others stop at their next asset and
    // drop their uncommitted group: nothing half-written, and what is not in `sum` is redone by a retry.
    let next = 0;
    let failed = false;
    const halted = () => failed || !!opts.signal?.aborted;
    const size = Math.max(1, Math.min(CHUNK_ASSETS, sessions[0].locksPerSession, Math.ceil(assets.length / sessions.length)));
    const checkpointSql = sessions[0].engine.checkpointSql;
    const gate = checkpointSql ? new CheckpointGate(sessions.length, CHECKPOINT_ROWS, checkpointSql) : undefined;
    const results = await Promise.allSettled(sessions.map(async (s) => {
      try {
        await work(s);
      } catch (e) {
        failed = true;
        throw e;
      } finally {
        await gate?.leave(s);
      }
    }));
    const lost = results.find((r) => r.status === 'rejected');
    if (lost) throw (lost as PromiseRejectedResult).reason;
    await gate?.finish(sessions[0]);
    async function work(s: Store): Promise<void> {
      let group: Prepared[] = [];
      let pending = 0;
      const sinks = new Sinks();
      const sinkRun: FamilyRun = { ...run, sinks };
      const flush = async () => {
        await commit(s, group);
        sinks.reset();
        group = [];
        pending = 0;
      };
      while (next < assets.length && !halted()) {
        const chunk = assets.slice(next, next + size);
        next += chunk.length;
        const ids = chunk.map((a) => a.id);
        // The chunk's assets are this session's until their commit: another run (any shard layout or
        // selection) waits for them. Taken in ascending id order, and only one chunk's at a time, so two
        // runs never wait for each other in a circle.
        const held = await s.lock([...ids].sort((x, y) => x - y).map(assetKey));
        try {
          let facts: Map<number, unknown> | undefined;
          try {
            facts = await family.prefetch(s, ids, run);
          } catch (e) {
            if (isSystemic(e)) throw e;
            for (const a of chunk) {
              const p: Prepared = { a, out: { id: a.id, symbol: a.symbol, status: 'built', reason: '', ms: 0 }, t0: Date.now() };
              fail(p, e);
              group.push(p);
            }
          }
          for (const a of facts ? chunk : []) {
            if (halted()) return;
            await gate?.pause(s); // between transactions: no open one on this session
            const p = await prepare(s, a, facts!.get(a.id)!, sinkRun);
            group.push(p);
            pending += p.buffer?.rows ?? 0;
            if (group.length >= GROUP_ASSETS || pending >= GROUP_ROWS) {
              if (halted()) return;
              await flush();
            }
          }
          if (group.length && !halted()) await flush(); // before the chunk's locks go
        } finally {
          await held?.release();
        }
      }
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
  const attempts = retryAttempts(); // a bad setting is a usage error before anything is locked or written
  retryMinMs();
  let assets = await selectAssets(store, opts.ids);
  if (shard.n > 1) assets = assets.filter((a) => shardOf(a.id, shard.n) === shard.k);

  // The shared run lock first: a baseline holds it exclusively while it deletes and rebuilds. Refreshes
  // exclude each other per asset (runStep), whatever their shards or selections.
  let unlock = opts.dryRun ? async () => undefined : await acquireRunLock(store, 'refresh');
  let runId = 'dry-run';
  let live: HeldLock | undefined;
  if (!opts.dryRun) {
    try {
      ({ runId, live } = await startRun(store, opts));
    } catch (e) {
      await unlock();
      throw e;
    }
  }
  // Registry order (upstreams first); an unknown name is refused before anything runs.
  for (const c of opts.components) familyNamed(c);
  const tables = allFamilies().filter((f) => opts.components.includes(f.name)).flatMap((f) => f.stateTables);
  const summary: RefreshSummary = {
    runId, dryRun: !!opts.dryRun, tables, timeframes: tfs.map((t) => t.tf), periods, components: [], ok: true, threads: 0,
    checkpointMs: 0,
  };
  const ctx: StepContext = {
    opts, tfs, periods, narrowed, lookbackDays, stalenessHours, runId, failed: new Map(), done: new Map(),
  };
  const sessions: Store[] = [store];
  let pool: StepPool | undefined;
  let release: (() => Promise<number>) | undefined;
  const open = store.openArgs?.();
  const width = Math.min(jobs, assets.length);
  /**
   * After a lost connection: new sessions for every job (and new worker threads), and on the run's own session
   * the locks it held, which the server released with the old one.
   */
  const reconnect = async (): Promise<void> => {
    for (const s of sessions.splice(1)) await s.close().catch(() => undefined);
    if (pool) {
      await pool.close();
      pool = undefined;
      pool = await StepPool.open(open!, summary.threads);
    }
    if (store.reconnect) {
      await store.reconnect();
      if (!opts.dryRun) {
        unlock = await acquireRunLock(store, 'refresh');
        live = (await store.lock(runLiveKey(runId))) ?? undefined;
      }
    }
    if (!pool) for (let j = 1; j < width; j++) sessions.push(await store.connect());
  };
  try {
    if (!opts.dryRun) release = await store.holdCheckpoints();
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
        sum.error = summary.interrupted ? `not run: ${stopped}` : `not run: ${stopped} (use --continue-on-error to run the remaining steps)`;
        continue;
      }
      opts.onEvent?.({ kind: 'start', component, assets: assets.length });
      // Committed assets are in sum.assets; a transient error loses only the groups in flight, so each attempt
      // takes the assets not yet recorded.
      const todo = () => {
        const done = new Set(sum.assets.map((a) => a.id));
        return assets.filter((a) => !done.has(a.id));
      };
      try {
        const own = stepFamily(component);
        if (own) await retryTransient(() => own.runStep(store, todo(), ctx, sum), { reconnect, signal: opts.signal });
        else if (opts.dryRun) await planStep(store, component, assets, ctx, sum);
        else await retryTransient(async () => {
          if (pool) await pool.runStep(component, todo(), ctx, sum);
          else await runStep(sessions, component, todo(), ctx, sum);
        }, {
          reconnect, signal: opts.signal,
          onRetry: (r) => opts.onEvent?.({
            kind: 'retry', component, attempt: r.attempt, attempts, why: r.why, error: (r.error as Error).message, remaining: todo().length,
          }),
        });
      } catch (e) {
        const why = describeError(e);
        sum.error = why.kind === 'transient' && attempts > 1
          ? `${(e as Error).message} (${why.why}; gave up after ${attempts} attempts, TALAB_RETRY_ATTEMPTS)` : (e as Error).message;
        if (!opts.continueOnError) stopped = `the ${component} step failed`;
      }
      sum.assets.sort((x, y) => x.id - y.id);
      sum.ms = Date.now() - t0;
      opts.onEvent?.({ kind: 'end', component, ms: sum.ms });
      opts.phases?.lap(component);
      if (opts.signal?.aborted) {
        summary.interrupted = true;
        stopped = 'the run was interrupted';
      }
    }
    summary.ok = !summary.interrupted && summary.components.every((c) => !c.error && c.assets.every((a) => a.status !== 'failed'));
    // The ledger is written on a live session even when the steps ended by losing theirs.
    if (!opts.dryRun) {
      try {
        await retryTransient(() => finishRun(store, runId, summary), { reconnect });
      } catch (e) {
        if (describeError(e).kind !== 'transient') throw e;
        // The database is still away: the summary is all the user gets; the next start marks the row abandoned.
        summary.ok = false;
        summary.ledgerError = (e as Error).message;
      }
    }
    return summary;
  } catch (e) {
    if (!opts.dryRun) await abortRun(store, runId, (e as Error).message);
    throw e;
  } finally {
    await live?.release();
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

/** Errors that mean the database went away or the work collided with another transaction: worth redoing the group. */
export function isSystemic(e: unknown): boolean {
  return describeError(e).kind === 'transient';
}
