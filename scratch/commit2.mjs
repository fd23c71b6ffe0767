import { openStore } from '/work/main/dist/store/open.js';
import { EMA_TABLES } from '/work/main/dist/schema/tables.js';
import { migrate } from '/work/main/dist/store/migrate.js';
import { rmSync } from 'node:fs';
const path = '/tmp/exp/c2.duckdb'; rmSync(path, { force: true }); rmSync(path + '.wal', { force: true });
const store = await openStore(path);
const del = process.argv[3] === 'del';
const tables = Object.values(EMA_TABLES);
const n = Number(process.argv[2]);
function mk(T, id) {
  const cols = {};
  for (const c of T.columns) {
    if (c.type === 'text') cols[c.name] = new Array(n).fill('1W_CAL_US');
    else { const a = new Float64Array(n); for (let i = 0; i < n; i++) a[i] = c.name === 'id' ? id : c.type === 'ts' ? 1.2e12 + i * 86400000 : c.type === 'bool' ? i & 1 : c.type === 'int' ? (i % 1000) : Math.sin(i); cols[c.name] = a; }
  }
  return { length: n, cols };
}
for (let rep = 0; rep < 4; rep++) {
  const bs = tables.map((T) => mk(T, rep + 1));
  let t = performance.now(); let ta;
  await store.transaction(async () => {
    if (del) for (const T of tables) await store.exec(`DELETE FROM ${T.name} WHERE id = $1`, [rep + 1]);
    for (let k = 0; k < tables.length; k++) await store.append(tables[k], bs[k]);
    ta = performance.now() - t;
  });
  const tc = performance.now() - t - ta;
  console.log(`rep ${rep}: ${tables.length} tables × ${n}: append ${ta.toFixed(0)} ms, commit ${tc.toFixed(0)} ms`);
}
await store.close();
