import { openStore } from '/work/main/dist/store/open.js';
import { EMA_TABLES } from '/work/main/dist/schema/tables.js';

import { rmSync } from 'node:fs';
const path = '/tmp/exp/c.duckdb'; rmSync(path, { force: true }); rmSync(path + '.wal', { force: true });
const store = await openStore(path);
for (const s of process.argv.slice(3)) await store.exec(s);
const T = Object.values(EMA_TABLES)[0];
const n = Number(process.argv[2]);
const cols = {};
for (const c of T.columns) {
  if (c.type === 'text') cols[c.name] = new Array(n).fill('1W_CAL_US');
  else { const a = new Float64Array(n); for (let i = 0; i < n; i++) a[i] = c.type === 'ts' ? 1.2e12 + i * 86400000 : c.type === 'bool' ? i & 1 : c.type === 'int' ? (i % 1000) : Math.sin(i); cols[c.name] = a; }
}
const batch = { length: n, cols };
for (let rep = 0; rep < 4; rep++) {
  cols.id = new Float64Array(n).fill(rep + 1);
  let t = performance.now(); let ta;
  await store.transaction(async () => { await store.append(T, batch); ta = performance.now() - t; });
  const tc = performance.now() - t - ta;
  console.log(`rep ${rep}: append ${ta.toFixed(0)} ms, commit ${tc.toFixed(0)} ms`);
}
let t = performance.now(); await store.exec('CHECKPOINT'); console.log(`checkpoint ${(performance.now() - t).toFixed(0)} ms`);
await store.close();
