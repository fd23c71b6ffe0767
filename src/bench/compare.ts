// Full-compare throughput: checksum bisection of a generated table against an identical copy, against a
// copy with one changed value in the middle and against one with float noise within tolerance in every
// row, next to `count(*)` and `count(close)` on the same table and to queries that read one column and every compared column. The tables are generated in SQL, so the figures are the
// database's own work, not the cost of shipping rows from Node.
import { compareByChecksum } from '../baseline/bisect.js';
import { comparedColumns } from '../baseline/tolerance.js';
import { createTableSql, q } from '../schema/ddl.js';
import type { EngineName } from '../store/engine.js';
import { priceBars1d, type Table } from '../schema/tables.js';
import type { Store } from '../store/store.js';

/** The value a generated row holds in a column of the given type; the same expression on both engines. */
function genExpr(col: string, type: string, series: number): string {
  if (col === 'id') return `CAST(1 + (i % ${series}) AS INTEGER)`;
  if (type === 'ts') return `TIMESTAMPTZ '2000-01-01 00:00:00+00' + CAST(i AS INTEGER) * INTERVAL '1 minute'`;
  if (type === 'double') return `CAST(i AS DOUBLE PRECISION) * 1.0000031 + ${col.length}.25`;
  if (type === 'bool') return `(i % 3 = 0)`;
  if (type === 'text') return `'v' || CAST(i % 7 AS VARCHAR)`;
  return `CAST(i % 1000 AS INTEGER)`;
}

/** Create `name` with the table's columns and fill it with `rows` generated rows in `series` series. */
export async function generateTable(store: Store, table: Table, name: string, rows: number, series = 4): Promise<void> {
  await store.exec(`DROP TABLE IF EXISTS ${q(name)}`);
  // Built like the real table (on PostgreSQL with its primary key, which the bisection's range queries use).
  await store.exec(createTableSql(store.engine, table, name));
  const cols = table.columns.filter((c) => c.default !== 'now()');
  await store.exec(`INSERT INTO ${q(name)} (${cols.map((c) => q(c.name)).join(', ')}) ` +
    `SELECT ${cols.map((c) => genExpr(c.name, c.type, series)).join(', ')} FROM generate_series(1, ${rows}) AS g(i)`);
  if (store.engine.needsAnalyze) await store.exec(`ANALYZE ${q(name)}`);
}

export async function copyTable(store: Store, from: string, to: string): Promise<void> {
  await store.exec(`DROP TABLE IF EXISTS ${q(to)}`);
  await store.exec(createTableSql(store.engine, priceBars1d, to));
  await store.exec(`INSERT INTO ${q(to)} SELECT * FROM ${q(from)}`);
  if (store.engine.needsAnalyze) await store.exec(`ANALYZE ${q(to)}`);
}

/** Change one value of the row in the middle of the table (by time within series 1). */
export async function changeMiddle(store: Store, name: string, rows: number, series = 4): Promise<string> {
  const i = Math.floor(rows / 2 / series) * series; // i % series = 0: series 1
  const ts = new Date(Date.UTC(2000, 0, 1) + i * 60_000).toISOString();
  await store.exec(`UPDATE ${q(name)} SET ${q('close')} = ${q('close')} * 1.001 WHERE id = 1 AND ts = CAST($1 AS TIMESTAMPTZ)`, [ts]);
  return ts;
}

export interface CompareFigure {
  engine: EngineName;
  what: string;
  rows: number;
  ms: number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** A query that reads every compared column of one table (count + max, or bool_or for booleans). */
function readAllSql(table: Table, name: string): string {
  const aggs = comparedColumns(table).map((c) => (c.type === 'bool' ? `bool_or(${q(c.name)})` : `max(${q(c.name)})`));
  return `SELECT count(*) AS n, ${aggs.join(', ')} FROM ${q(name)}`;
}

export async function benchCompare(store: Store, rows: number): Promise<CompareFigure[]> {
  const table = priceBars1d;
  const cols = comparedColumns(table);
  await generateTable(store, table, 'bench_cmp_a', rows);
  await copyTable(store, 'bench_cmp_a', 'bench_cmp_b');
  const out: CompareFigure[] = [];
  const add = (what: string, ms: number) => out.push({ engine: store.dialect, what, rows, ms });
  const a = { store, table: 'bench_cmp_a' };
  const b = { store, table: 'bench_cmp_b' };
  const pass = async (what: string, opts: Parameters<typeof compareByChecksum>[4]) => {
    const r = await compareByChecksum(a, b, table, cols, opts);
    if (r.status !== 'PASS') throw new Error(`bench: ${what}: the tables did not compare equal`);
    return r;
  };
  // Each measured twice; the second (warm cache) is kept, as a comparison of tables in use would be.
  for (let k = 0; k < 2; k++) {
    const c = await timed(() => store.query(`SELECT count(*) AS n FROM ${q('bench_cmp_a')}`));
    // DuckDB answers count(*) from metadata; counting a column's non-NULL values reads that column.
    const cc = await timed(() => store.query(`SELECT count(${q('close')}) AS n FROM ${q('bench_cmp_a')}`));
    const s = await timed(() => store.query(`SELECT count(*) AS n, sum(${q('close')}) AS s FROM ${q('bench_cmp_a')}`));
    const all = await timed(() => store.query(readAllSql(table, 'bench_cmp_a')));
    const u = await timed(() => pass('exact first', { topN: 10 }));
    const t = await timed(() => pass('tolerance-aware from the top', { topN: 10, exactFirst: false }));
    const x = await timed(() => pass('cross-engine checksums', { topN: 10, portable: true }));
    if (k === 1) {
      add('count(*) of one table', c);
      add('count(close) of one table (reads a column)', cc);
      add('count(*) + sum(close) of one table (reads a column)', s);
      add('count(*) + max of every compared column of one table (reads them all)', all);
      add('full compare, unchanged (exact checksums)', u);
      add('full compare, unchanged, tolerance-aware checksums from the top (no exact pass)', t);
      add('full compare, unchanged, with the cross-engine checksums', x);
    }
  }
  await changeMiddle(store, 'bench_cmp_b', rows);
  let pulled = 0;
  const one = await timed(async () => {
    const r = await compareByChecksum(a, b, table, cols, { topN: 10 });
    if (r.status !== 'FAIL' || r.columns.find((c) => c.column === 'close')!.mismatches !== 1) throw new Error('bench: the one change was not found');
    pulled = r.checksum.rowsPulled;
  });
  add(`full compare, one value changed (${pulled} rows pulled)`, one);
  // Float noise in every row, far within tolerance (a rebuild summing in another order): every series
  // differs exactly, the fallback's worst case. (Noise near rtol / 10^4 would put thousands of values across
  // a log-scale rounding boundary and pull most rows, with or without the exact pass.)
  await copyTable(store, 'bench_cmp_a', 'bench_cmp_b');
  await store.exec(`UPDATE ${q('bench_cmp_b')} SET ${q('close')} = ${q('close')} * (1 + 1e-12)`);
  if (store.engine.needsAnalyze) await store.exec(`ANALYZE ${q('bench_cmp_b')}`);
  let noisy = '';
  const n1 = await timed(async () => {
    let exact = '';
    const r = await pass('noise, exact first', { topN: 10, onFirstLevel: (f) => (exact = f.exact) });
    if (exact !== 'fallback') throw new Error(`bench: noise everywhere did not fall back (${exact})`);
    noisy = `${r.checksum.rowsPulled} rows pulled`;
  });
  const n0 = await timed(() => pass('noise, tolerance-aware from the top', { topN: 10, exactFirst: false }));
  add(`full compare, float noise (1e-12 relative) in every row, exact first then fallback (${noisy})`, n1);
  add('full compare, float noise (1e-12 relative) in every row, tolerance-aware from the top (no exact pass)', n0);
  for (const t of ['bench_cmp_a', 'bench_cmp_b']) await store.exec(`DROP TABLE IF EXISTS ${q(t)}`);
  return out;
}

export function compareReport(figs: CompareFigure[]): string {
  const lines = [
    '| engine | query | rows | seconds | rows/s | × count(*) | × count(close) | × count(*)+sum(close) | × read every compared column |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const ratio = (f: CompareFigure, prefix: string) => {
    const base = figs.find((x) => x.engine === f.engine && x.what.startsWith(prefix))!;
    return (f.ms / base.ms).toFixed(1);
  };
  for (const f of figs) {
    lines.push(`| ${f.engine} | ${f.what} | ${f.rows} | ${(f.ms / 1000).toFixed(3)} | ${Math.round(f.rows / (f.ms / 1000)).toLocaleString('en-US')} | ` +
      `${ratio(f, 'count(*) of')} | ${ratio(f, 'count(close) of')} | ${ratio(f, 'count(*) + sum')} | ${ratio(f, 'count(*) + max')} |`);
  }
  return lines.join('\n');
}
