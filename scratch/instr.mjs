import { DuckDbStore } from '/work/main/dist/store/duckdb.js';
const stats = new Map();
const add = (k, ms) => { const s = stats.get(k) ?? [0, 0]; s[0]++; s[1] += ms; stats.set(k, s); };
for (const m of ['exec', 'query', 'append', 'upsert', 'transaction']) {
  const orig = DuckDbStore.prototype[m];
  DuckDbStore.prototype[m] = async function (...a) {
    const t = performance.now();
    try { return await orig.apply(this, a); } finally {
      const k = m === 'append' || m === 'upsert' ? `${m} ${a[0].name}` : m === 'transaction' ? 'transaction(total)' : `${m} ${String(a[0]).trim().slice(0, 40).replace(/\s+/g, ' ')}`;
      add(k, performance.now() - t);
    }
  };
}
process.on('exit', () => {
  const arr = [...stats].sort((a, b) => b[1][1] - a[1][1]).slice(0, 30);
  for (const [k, [n, ms]] of arr) process.stderr.write(`${ms.toFixed(0).padStart(7)} ms ${String(n).padStart(6)}x  ${k}\n`);
});
import { DuckDBConnection } from '@duckdb/node-api';
const origRun = DuckDBConnection.prototype.run;
DuckDBConnection.prototype.run = async function (sql, ...rest) {
  const t = performance.now();
  try { return await origRun.call(this, sql, ...rest); } finally {
    if (/^(COMMIT|BEGIN|CHECKPOINT|CREATE)/.test(sql)) add('run ' + sql.slice(0, 20), performance.now() - t);
  }
};
