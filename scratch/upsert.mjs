import { openStore } from '/work/main/dist/store/open.js';
import { refreshState } from '/work/main/dist/schema/tables.js';
import { rmSync, mkdtempSync } from 'node:fs';
const dir = mkdtempSync('/tmp/ups-');
const store = await openStore(dir + '/u.duckdb');
const n = 30;
const mk = () => ({ length: n, cols: { id: Int32Array.from({ length: n }, (_, i) => 1000 + (i % 5)), table_name: Array.from({ length: n }, (_, i) => 't' + Math.floor(i / 5)), last_src_ts: new Float64Array(n).fill(1.7e12), daily_min_seen: new Float64Array(n).fill(1e12), dirty_from: new Float64Array(n).fill(NaN), source_rows: new Int32Array(n).fill(3000), last_run_ts: new Float64Array(n).fill(Date.now()), last_run_id: new Array(n).fill('x'), rows_written: new Float64Array(n), repaired_timehigh: new Int32Array(n), repaired_timelow: new Int32Array(n), rejected: new Int32Array(n), rows_ahead: new Uint8Array(n), carry_key: new Array(n).fill('k'), carry: new Array(n).fill('~' + 'A'.repeat(20000)) } });
for (let r = 0; r < 5; r++) {
  let t = performance.now();
  await store.transaction(() => store.upsert(refreshState, mk()));
  const up = performance.now() - t;
  t = performance.now();
  await store.transaction(async () => {
    await store.exec(`DELETE FROM refresh_state WHERE id IN (1000,1001,1002,1003,1004)`);
    await store.append(refreshState, mk());
  });
  console.log('upsert', up.toFixed(1), 'ms; delete+append', (performance.now() - t).toFixed(1), 'ms');
}
console.log((await store.query('SELECT count(*) AS n FROM refresh_state'))[0]);
await store.close(); rmSync(dir, { recursive: true });
