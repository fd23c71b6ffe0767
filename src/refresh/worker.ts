// A refresh worker thread (see pool.ts): opens its own connection, then runs the steps it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { mergeWire, toWire } from './outcomes.js';
import type { FromWorker, ToWorker, WorkerArgs } from './pool.js';
import { runStep, type ComponentSummary, type StepContext } from './runner.js';

const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
const args = workerData as WorkerArgs;

let store: Store | undefined;
/** Family modules imported so far (each registers its family once). */
const imported = new Set<string>();
try {
  store = await openStore(args.db, { pgSchema: args.pgSchema, migrate: false });
  post({ kind: 'ready' });
} catch (e) {
  post({ kind: 'open-failed', message: (e as Error).message });
  port.close();
}

if (store) {
  const s = store;
  // Steps arrive one at a time (the pool waits for every worker between components).
  port.on('message', async (m: ToWorker) => {
    if (m.kind === 'close') {
      await s.close().catch(() => undefined);
      port.close();
      return;
    }
    try {
      for (const mod of m.modules) {
        if (imported.has(mod)) continue;
        imported.add(mod);
        await import(mod);
      }
    } catch (e) {
      post({ kind: 'failed', message: `a family's module could not be loaded: ${(e as Error).message}` });
      return;
    }
    const ctx: StepContext = {
      ...m.ctx,
      opts: { ...m.ctx.opts, onEvent: (event) => post({ kind: 'event', event }) },
      failed: new Map(),
      done: new Map(),
    };
    mergeWire(ctx, m.ctx);
    const sum: ComponentSummary = { component: m.component, ms: 0, rows: {}, assets: [], repairs: 0, rejects: 0, gaps: 0 };
    try {
      await runStep([s], m.component, m.assets, ctx, sum);
      post({ kind: 'done', sum, outcomes: toWire(ctx) });
    } catch (e) {
      post({ kind: 'failed', message: (e as Error).message });
    }
  });
}
