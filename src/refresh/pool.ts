// Refresh jobs on worker threads, for engines another thread can open (PostgreSQL). Each worker owns one
// connection and runs steps (runStep) over the assets it is handed; this side splits the assets, relays the
// workers' events and merges their step summaries, so the run reads the same as one with in-thread jobs.
import { Worker } from 'node:worker_threads';
import type { Component, ComponentSummary, RefreshEvent, RefreshOptions, StepContext } from './types.js';
import { mergeWire, toWire, type WireOutcomes } from './outcomes.js';
import { familyModules } from './families/registry.js';

type Asset = { id: number; symbol: string };

/** StepContext as it crosses to a worker: no callback, sets as arrays. */
export interface WireContext extends Omit<StepContext, 'opts' | 'failed' | 'done'> {
  opts: Omit<RefreshOptions, 'onEvent'>;
  failed: WireOutcomes['failed'];
  done: WireOutcomes['done'];
}

export type ToWorker =
  /** `modules`: what registers the families defined outside the built-in ones (imported once by each worker). */
  | { kind: 'step'; component: Component; assets: Asset[]; ctx: WireContext; modules: string[] }
  | { kind: 'close' };

export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'open-failed'; message: string }
  | { kind: 'event'; event: RefreshEvent }
  | { kind: 'done'; sum: ComponentSummary; outcomes: WireOutcomes }
  | { kind: 'failed'; message: string };

export interface WorkerArgs {
  db: string;
  pgSchema?: string;
}

function spawn(args: WorkerArgs): Worker {
  const here = import.meta.url;
  // Under tsx (tests, `npm start` from source) the worker is TypeScript and needs tsx's loader registered in it.
  if (here.endsWith('.ts')) {
    const entry = new URL('./worker.ts', here).href;
    // Resolved here: an eval worker resolves bare specifiers from the working directory, not from this file.
    const tsx = import.meta.resolve('tsx/esm/api');
    return new Worker(
      `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`,
      { eval: true, workerData: args },
    );
  }
  return new Worker(new URL('./worker.js', here), { workerData: args });
}

/** The next message of `w` that `accept` takes, or the worker's error/exit as a rejection. */
function until<T>(w: Worker, accept: (m: FromWorker) => T | undefined, onOther?: (m: FromWorker) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: FromWorker) => {
      let v: T | undefined;
      try {
        v = accept(m);
      } catch (e) {
        off();
        reject(e);
        return;
      }
      if (v === undefined) {
        onOther?.(m);
        return;
      }
      off();
      resolve(v);
    };
    const onError = (e: Error) => {
      off();
      reject(e);
    };
    const onExit = (code: number) => {
      off();
      reject(new Error(`refresh worker exited (code ${code})`));
    };
    const off = () => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
  });
}

export class StepPool {
  private constructor(private readonly workers: Worker[]) {}

  /** Start `n` workers, each connected to the database; fails (and stops them) if any cannot connect. */
  static async open(args: WorkerArgs, n: number): Promise<StepPool> {
    const workers = Array.from({ length: n }, () => spawn(args));
    try {
      await Promise.all(workers.map((w) => until(w, (m) => {
        if (m.kind === 'open-failed') throw new Error(`refresh worker could not open the database: ${m.message}`);
        return m.kind === 'ready' ? true : undefined;
      })));
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new StepPool(workers);
  }

  /**
   * One component over `assets`, split round-robin across the workers. Merges what they report into `sum`
   * and the bars hand-over sets of `ctx`; a worker's failure as a whole fails the step (as in-thread jobs do).
   */
  async runStep(component: Component, assets: Asset[], ctx: StepContext, sum: ComponentSummary): Promise<void> {
    const n = this.workers.length;
    const { onEvent, signal, ...plain } = ctx.opts; // functions and signals stay on this thread
    const wire: WireContext = { ...ctx, opts: plain, ...toWire(ctx) };
    const modules = familyModules();
    const results = await Promise.allSettled(this.workers.map((w, k) => {
      const mine = assets.filter((_, i) => i % n === k);
      if (!mine.length) return Promise.resolve(undefined);
      const done = until(w, (m) => {
        if (m.kind === 'failed') throw new Error(m.message);
        return m.kind === 'done' ? m : undefined;
      }, (m) => {
        if (m.kind === 'event' && (m.event.kind === 'asset' || m.event.kind === 'computed' || m.event.kind === 'commit')) onEvent?.(m.event);
      });
      w.postMessage({ kind: 'step', component, assets: mine, ctx: wire, modules } satisfies ToWorker);
      return done;
    }));
    let failure: unknown;
    for (const r of results) {
      if (r.status === 'rejected') {
        failure ??= r.reason;
        continue;
      }
      if (!r.value) continue;
      const { sum: part, outcomes } = r.value;
      for (const [k, v] of Object.entries(part.rows)) sum.rows[k] = (sum.rows[k] ?? 0) + v;
      sum.assets.push(...part.assets);
      sum.repairs += part.repairs;
      sum.rejects += part.rejects;
      sum.gaps += part.gaps;
      mergeWire(ctx, outcomes);
    }
    if (failure !== undefined) throw failure;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(async (w) => {
      if (w.threadId < 0) return; // already gone
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.postMessage({ kind: 'close' } satisfies ToWorker);
      const timer = setTimeout(() => void w.terminate(), 10_000);
      await exited;
      clearTimeout(timer);
    }));
  }
}
