import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(process.argv[2], { memory_limit: '512MB' });
const c = await inst.connect();
await c.run("SET checkpoint_threshold='10GB'");
await c.run('CHECKPOINT');
const t0 = async (label, sql) => {
  let t = performance.now(); for (const s of sql) await c.run(s); const tw = performance.now() - t;
  t = performance.now(); await c.run('CHECKPOINT'); console.log(label, 'write', tw.toFixed(0), 'ms, checkpoint', (performance.now() - t).toFixed(0), 'ms');
};
await t0('state carries rewritten', ["UPDATE refresh_state SET carry = carry || '' WHERE carry IS NOT NULL"]);
const tabs = (await c.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'ema_multi%' OR table_name LIKE 'price_bars%'")).getRows().map((r) => r[0]);
await t0('one day appended to 12 tables', tabs.map((t) => `INSERT INTO ${t} SELECT * FROM ${t} WHERE ${t.startsWith('ema') || t === 'price_bars_1d' || t === 'price_bars_1d_rejects' ? 'ts' : 'time_close'} = (SELECT max(${t.startsWith('ema') || t.startsWith('price_bars_1d') ? 'ts' : 'time_close'}) FROM ${t})`));
await t0('again', tabs.map((t) => `INSERT INTO ${t} SELECT * FROM ${t} WHERE ${t.startsWith('ema') || t.startsWith('price_bars_1d') ? 'ts' : 'time_close'} = (SELECT max(${t.startsWith('ema') || t.startsWith('price_bars_1d') ? 'ts' : 'time_close'}) FROM ${t})`));
