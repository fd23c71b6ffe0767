import { Worker } from 'node:worker_threads';
const ts = import.meta.url.endsWith('.ts');
const entry = new URL(ts ? './b.ts' : './b.js', import.meta.url);
const w = ts
  ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true, workerData: { x: 1 } })
  : new Worker(entry, { workerData: { x: 1 } });
w.on('message', (m) => { console.log('got', m); w.terminate(); });
w.on('error', (e) => console.log('err', e.message));
