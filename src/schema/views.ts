// The tidy views: what a notebook or the DuckDB CLI reads instead of joining and pivoting the derived tables.
// The migrations drop and create them at every schema upgrade, so they always match this code, and comment
// every view and column from the docs below.
import { q, type DdlDialect } from './ddl.js';
import { columnDoc } from './column-docs.js';
import { BAR_TABLES, dimAssets, EMA_TABLES } from './tables.js';
import {
  BAR_SOURCES, dayExpr, EMA_FAMILIES, emaBarColumn, emaColumn, emaWideSql, isDual, VIEW_PERIODS,
} from './view-sources.js';

export interface ViewColumn {
  name: string;
  doc: string;
}

export interface View {
  name: string;
  doc: string;
  columns: ViewColumn[];
  sql: (d: DdlDialect) => string;
}

/** A bar column's description as the snapshot tables give it. */
const barDoc = (name: string) => columnDoc(BAR_TABLES.multi_tf, BAR_TABLES.multi_tf.columns.find((c) => c.name === name)!);
const DAY_DOC = 'The UTC calendar date of the row (ts without its time of day), the same in every session time zone.';
const TS_DOC = 'The same day as an instant: its last millisecond, YYYY-MM-DDT23:59:59.999Z.';

const BAR_COLUMNS: ViewColumn[] = [
  { name: 'family', doc: 'Bar table the row comes from: 1d (price_bars_1d), multi_tf (rolling N-day bars), cal_us / cal_iso (whole calendar windows), cal_anchor_us / cal_anchor_iso (calendar windows, partial first window kept).' },
  { name: 'id', doc: columnDoc(dimAssets, dimAssets.columns[0]) },
  { name: 'symbol', doc: 'Ticker symbol of the asset (dim_assets.symbol).' },
  { name: 'tf', doc: barDoc('tf') },
  { name: 'bar_seq', doc: barDoc('bar_seq') },
  { name: 'day', doc: DAY_DOC },
  { name: 'ts', doc: `The day the bar closed. ${TS_DOC}` },
  { name: 'time_open', doc: barDoc('time_open') },
  ...['open', 'high', 'low', 'close', 'volume', 'market_cap'].map((n) => ({ name: n, doc: barDoc(n) })),
  { name: 'tf_days', doc: `${barDoc('tf_days')} 1 for daily bars.` },
  { name: 'is_partial_start', doc: barDoc('is_partial_start') },
  { name: 'is_missing_days', doc: barDoc('is_missing_days') },
  { name: 'count_missing_days', doc: `${barDoc('count_missing_days')} 0 for daily bars.` },
];

function barsSql(d: DdlDialect): string {
  const inner = BAR_COLUMNS.filter((c) => !['family', 'symbol', 'day', 'ts'].includes(c.name)).map((c) => c.name);
  const branches = BAR_SOURCES.map((s) => {
    const cols = inner.map((n) => (s.fixed[n] !== undefined ? `${s.fixed[n]} AS ${q(n)}` : q(n)));
    return `SELECT '${s.family}' AS family, ${q(s.day)} AS ts, ${cols.join(', ')} FROM ${q(s.table.name)} WHERE ${s.finished}`;
  });
  const out = BAR_COLUMNS.map((c) =>
    c.name === 'symbol' ? `a.symbol` : c.name === 'day' ? `${dayExpr(d, 'u.ts')} AS day` : `u.${q(c.name)}`);
  return `SELECT ${out.join(', ')} FROM (\n  ${branches.join('\n  UNION ALL ')}\n) u LEFT JOIN ${q(dimAssets.name)} a ON a.id = u.id`;
}

export const emaDoc = (p: number | string) =>
  `EMA of period ${p} at this bar close (the ema column of the family's table, period ${p}); NULL before it is seeded.`;
export const emaBarDoc = (p: number | string) =>
  `Bar EMA of period ${p} over canonical calendar-bar closes (ema_bar), cal and anchor families only; NULL for v1 and v2.`;

const EMA_COLUMNS: ViewColumn[] = [
  { name: 'family', doc: 'EMA family: v1 (bar-space EMA on rolling bars, ema_multi_tf), v2 (daily EMA with alpha 2/(d*p+1), ema_multi_tf_v2), cal_us / cal_iso (on whole calendar bars), cal_anchor_us / cal_anchor_iso (on anchored calendar bars). To join v_bars: v1 and v2 sit on the bars of family 1d (tf 1D) and multi_tf, every other family on the bars of the family of the same name, matched on id, tf and ts.' },
  { name: 'id', doc: 'Asset id (dim_assets.id).' },
  { name: 'symbol', doc: 'Ticker symbol of the asset (dim_assets.symbol).' },
  { name: 'tf', doc: barDoc('tf') },
  { name: 'day', doc: DAY_DOC },
  { name: 'ts', doc: `The canonical bar close the values belong to. ${TS_DOC}` },
  ...VIEW_PERIODS.map((p) => ({ name: emaColumn(p), doc: emaDoc(p) })),
  ...VIEW_PERIODS.map((p) => ({ name: emaBarColumn(p), doc: emaBarDoc(p) })),
];

function emaSql(d: DdlDialect): string {
  const branches = EMA_FAMILIES.map((f) => {
    const dual = isDual(f);
    const wide = emaWideSql(EMA_TABLES[f], VIEW_PERIODS, dual, []);
    const bars = dual ? '' : `, ${VIEW_PERIODS.map((p) => `CAST(NULL AS DOUBLE PRECISION) AS ${q(emaBarColumn(p))}`).join(', ')}`;
    return `SELECT '${f}' AS family, w.*${bars} FROM (${wide}) w`;
  });
  const out = EMA_COLUMNS.map((c) =>
    c.name === 'symbol' ? 'a.symbol' : c.name === 'day' ? `${dayExpr(d, 'u.ts')} AS day` : `u.${q(c.name)}`);
  return `SELECT ${out.join(', ')} FROM (\n  ${branches.join('\n  UNION ALL ')}\n) u LEFT JOIN ${q(dimAssets.name)} a ON a.id = u.id`;
}

export const VIEWS: View[] = [
  {
    name: 'v_bars',
    doc: 'Finished bars of every family, one row per (family, id, tf, bar): the canonical snapshot of each bar (is_partial_end = false) and every daily bar, with the asset symbol and a UTC day column.',
    columns: BAR_COLUMNS,
    sql: barsSql,
  },
  {
    name: 'v_ema',
    doc: `EMAs at finished bar closes (roll = false), wide by period: one row per (family, id, tf, day) with one column per default period (${VIEW_PERIODS.join(', ')}). Other periods are in the ema_multi_tf* tables.`,
    columns: EMA_COLUMNS,
    sql: emaSql,
  },
];

/** Statements that (re)create the views; run inside the migration's transaction. */
export function viewStatements(d: DdlDialect): string[] {
  return VIEWS.flatMap((v) => [`DROP VIEW IF EXISTS ${q(v.name)}`, `CREATE VIEW ${q(v.name)} AS ${v.sql(d)}`]);
}
