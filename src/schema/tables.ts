// The logical schema, defined once. Both engines render their DDL from this (schema/ddl.ts), the bulk
// writers encode values from these types, and the baseline comparison reads keys and column families from it.
import { FEATURE_TABLES } from './feature-tables.js';
import type { ColType, Column, Table } from './table-types.js';

export type { ColType, Column, Table } from './table-types.js';

const c = (name: string, type: ColType, notNull = false, dflt?: string): Column =>
  dflt === undefined ? { name, type, notNull } : { name, type, notNull, default: dflt };

const ingestedAt = c('ingested_at', 'ts', true, 'now()');

const OHLCV = ['open', 'high', 'low', 'close', 'volume', 'market_cap'];

export const dimAssets: Table = {
  name: 'dim_assets',
  doc: 'One row per asset: id, symbol, display name, where it was first seen, and whether its source has no market cap.',
  key: ['id'],
  columns: [
    c('id', 'int', true), c('symbol', 'text', true), c('name', 'text'), c('source', 'text'),
    c('created_at', 'ts', true, 'now()'), c('updated_at', 'ts', true, 'now()'),
    // True for an asset whose source has no market cap (Yahoo, plain OHLCV, exchange klines): the 1D builder
    // then accepts its days without one instead of rejecting them all.
    c('market_cap_optional', 'bool', true, 'false'),
  ],
};

export const dimTimeframe: Table = {
  name: 'dim_timeframe',
  doc: 'The timeframe catalog (catalog/timeframes.ts), seeded by `talab init`.',
  key: ['tf'],
  columns: [
    c('tf', 'text', true), c('base_unit', 'text', true), c('tf_qty', 'int', true), c('tf_days_nominal', 'int', true),
    c('alignment_type', 'text', true), c('calendar_anchor', 'bool'), c('calendar_scheme', 'text'),
    c('roll_policy', 'text', true), c('allow_partial_start', 'bool', true), c('allow_partial_end', 'bool', true),
    c('tf_days_min', 'int', true), c('tf_days_max', 'int', true), c('sort_order', 'int', true),
    c('is_default', 'bool', true),
  ],
};

export const priceHistories: Table = {
  name: 'price_histories',
  doc: 'Raw daily rows as imported; ts = the day close instant (YYYY-MM-DDT23:59:59.999Z).',
  key: ['id', 'ts'],
  columns: [
    c('id', 'int', true), c('ts', 'ts', true), c('time_open', 'ts'), c('time_close', 'ts'), c('time_high', 'ts'),
    c('time_low', 'ts'), c('src_name', 'text'), ...OHLCV.map((n) => c(n, 'double')), c('circulating_supply', 'double'),
    c('source_file', 'text'), c('source_line', 'int'), c('load_ts', 'ts', true, 'now()'),
  ],
};

export const priceChanges: Table = {
  name: 'price_changes',
  doc: 'Revisions (a stored day whose values changed) and backfills (a day before the first stored day) seen by '
    + 'import; the refresh recomputes each asset from its earliest unconsumed change.',
  key: ['id', 'ts', 'detected_at'],
  columns: [
    c('id', 'int', true), c('ts', 'ts', true), c('detected_at', 'ts', true), c('kind', 'text', true),
    c('source_file', 'text'), c('consumed_at', 'ts'),
  ],
};

export const importRejects: Table = {
  name: 'import_rejects',
  doc: 'Source rows that import could not load, with file, line and reason.',
  key: ['id', 'source_file', 'source_line'],
  columns: [
    c('id', 'int', true), c('source_file', 'text', true), c('source_line', 'int', true), c('rejected_at', 'ts', true),
    c('reason', 'text', true), c('raw', 'text'),
  ],
};

const bars1dCore: Column[] = [
  c('id', 'int', true), c('ts', 'ts', true), c('tf', 'text', true), c('bar_seq', 'int', true),
  c('time_open', 'ts', true), c('time_close', 'ts', true), c('time_high', 'ts', true), c('time_low', 'ts', true),
  // market_cap stays NULL for an asset whose source has none (dim_assets.market_cap_optional).
  ...OHLCV.map((n) => c(n, 'double', n !== 'market_cap')),
  c('is_partial_start', 'bool', true), c('is_partial_end', 'bool', true), c('is_missing_days', 'bool', true),
  c('src_name', 'text'), c('src_load_ts', 'ts'), c('src_file', 'text'),
  c('repaired_timehigh', 'bool', true), c('repaired_timelow', 'bool', true),
];

export const priceBars1d: Table = {
  name: 'price_bars_1d',
  doc: 'Validated, repaired daily bars; the only input of every other derived table.',
  key: ['id', 'ts'],
  derived: 'bars',
  columns: [...bars1dCore, ingestedAt],
};

export const priceBars1dRejects: Table = {
  name: 'price_bars_1d_rejects',
  doc: 'Daily rows the 1D builder refused, each with the first failing rule as reason.',
  key: ['id', 'ts'],
  columns: [
    c('id', 'int', true), c('ts', 'ts', true), c('reason', 'text', true), c('bar_seq', 'int'),
    c('time_open', 'ts'), c('time_close', 'ts'), c('time_high', 'ts'), c('time_low', 'ts'),
    ...OHLCV.map((n) => c(n, 'double')), c('src_file', 'text'), c('rejected_at', 'ts', true, 'now()'),
  ],
};

/** Columns of the five snapshot tables, in this order. */
export const SNAPSHOT_BAR_COLUMNS: Column[] = [
  c('id', 'int', true), c('tf', 'text', true), c('bar_seq', 'int', true), c('time_close', 'ts', true),
  c('tf_days', 'int', true), c('time_open', 'ts', true), c('time_high', 'ts', true), c('time_low', 'ts', true),
  c('open', 'double', true), c('high', 'double', true), c('low', 'double', true), c('close', 'double', true),
  c('volume', 'double', true), c('market_cap', 'double'),
  c('timestamp', 'ts', true), c('last_ts_half_open', 'ts', true), c('pos_in_bar', 'int', true),
  c('is_partial_start', 'bool', true), c('is_partial_end', 'bool', true), c('is_missing_days', 'bool', true),
  c('count_days', 'int', true), c('count_days_remaining', 'int', true), c('count_missing_days', 'int', true),
  c('count_missing_days_start', 'int', true), c('count_missing_days_end', 'int', true),
  c('count_missing_days_interior', 'int', true), c('missing_days_where', 'text'),
  c('first_missing_day', 'ts'), c('last_missing_day', 'ts'), ingestedAt,
];

function snapshotTable(name: string, doc: string): Table {
  return { name, doc, key: ['id', 'tf', 'bar_seq', 'time_close'], derived: 'bars', columns: SNAPSHOT_BAR_COLUMNS };
}

export const BAR_TABLES = {
  multi_tf: snapshotTable('price_bars_multi_tf', 'Rolling N-day bars counted in rows from the first day.'),
  cal_iso: snapshotTable('price_bars_multi_tf_cal_iso', 'Full ISO-week / month / year windows only.'),
  cal_us: snapshotTable('price_bars_multi_tf_cal_us', 'Full US-week / month / year windows only.'),
  cal_anchor_iso: snapshotTable('price_bars_multi_tf_cal_anchor_iso', 'Global ISO grid, partial first window kept.'),
  cal_anchor_us: snapshotTable('price_bars_multi_tf_cal_anchor_us', 'Global US grid, partial first window kept.'),
} as const;

const emaKey = ['id', 'tf', 'period', 'ts'];
const emaBase: Column[] = [
  c('id', 'int', true), c('tf', 'text', true), c('period', 'int', true), c('ts', 'ts', true),
  c('tf_days', 'int', true), c('roll', 'bool', true), c('ema', 'double'),
  c('d1', 'double'), c('d2', 'double'), c('d1_roll', 'double'), c('d2_roll', 'double'),
];
const emaDual: Column[] = [
  ...emaBase, c('ema_bar', 'double'), c('roll_bar', 'bool', true), c('d1_bar', 'double'), c('d2_bar', 'double'),
  c('d1_roll_bar', 'double'), c('d2_roll_bar', 'double'),
];

function emaTable(name: string, dual: boolean, doc: string): Table {
  return { name, doc, key: emaKey, derived: 'emas', columns: [...(dual ? emaDual : emaBase), ingestedAt] };
}

export const EMA_TABLES = {
  v1: emaTable('ema_multi_tf', false, 'Bar-space EMA on rolling bars with a one-step preview on open-bar days.'),
  v2: emaTable('ema_multi_tf_v2', false, 'Daily EMA with alpha 2/(d*p+1); canonical every d-th row.'),
  cal_us: emaTable('ema_multi_tf_cal_us', true, 'Dual EMA on full US calendar bars.'),
  cal_iso: emaTable('ema_multi_tf_cal_iso', true, 'Dual EMA on full ISO calendar bars.'),
  cal_anchor_us: emaTable('ema_multi_tf_cal_anchor_us', true, 'Dual EMA on anchored US calendar bars.'),
  cal_anchor_iso: emaTable('ema_multi_tf_cal_anchor_iso', true, 'Dual EMA on anchored ISO calendar bars.'),
} as const;

export const refreshState: Table = {
  name: 'refresh_state',
  doc: 'Per (asset, derived table): watermark (last source day built), earliest day seen, a recompute asked for '
    + 'by hand (dirty_from), daily rows at the last run, last run time and counters. '
    + 'All timeframes and periods of a table move together, so one row per (asset, table) is enough; `carry` '
    + 'holds, for every timeframe (and period) of the default selection, the kernel state after the last row, so '
    + 'the next run continues from it instead of re-reading the history (`carry_key` names its layout); '
    + '`rows_ahead`: a narrowed run wrote rows after the watermark, which the next default run replaces; '
    + '`src_fp` (price_bars_1d row only): fingerprint of the source rows the bars consumed, per block of days; '
    + '`changed_from`: the earliest day the family rewrote that a family reading its rows has not taken in yet.',
  key: ['id', 'table_name'],
  columns: [
    c('id', 'int', true), c('table_name', 'text', true), c('last_src_ts', 'ts'), c('daily_min_seen', 'ts'),
    c('dirty_from', 'ts'), c('source_rows', 'int', true, '0'), c('last_run_ts', 'ts', true, 'now()'),
    c('last_run_id', 'text'), c('rows_written', 'bigint', true, '0'), c('repaired_timehigh', 'int', true, '0'),
    c('repaired_timelow', 'int', true, '0'), c('rejected', 'int', true, '0'), c('carry_key', 'text'), { ...c('carry', 'blob'), uncompressed: true },
    c('rows_ahead', 'bool', true, 'false'), c('src_fp', 'text'), c('changed_from', 'ts'),
  ],
};

export const refreshRuns: Table = {
  name: 'refresh_runs',
  doc: 'One row per `talab refresh` run: its options and whether it finished; `--resume` continues the last '
    + 'unfinished run with the same options.',
  key: ['run_id'],
  columns: [
    c('run_id', 'text', true), c('started_at', 'ts', true, 'now()'), c('finished_at', 'ts'), c('options', 'text', true),
    c('status', 'text', true), c('summary', 'text'),
  ],
};

export const opsRuns: Table = {
  name: 'runs',
  doc: 'One row per `talab import`, `talab daily` and `talab baseline` run (refresh runs are in refresh_runs): kind, outcome, rows '
    + 'written and a JSON summary; `talab runs` lists both.',
  key: ['run_id'],
  columns: [
    c('run_id', 'text', true), c('kind', 'text', true), c('started_at', 'ts', true), c('finished_at', 'ts', true),
    c('status', 'text', true), c('rows', 'bigint', true), c('summary', 'text'),
  ],
};

export const schemaMigrations: Table = {
  name: 'schema_migrations',
  doc: 'Applied schema versions; `talab init` is safe to run any number of times.',
  key: ['version'],
  columns: [c('version', 'int', true), c('applied_at', 'ts', true, 'now()'), c('description', 'text')],
};

export const DERIVED_TABLES: Table[] = [priceBars1d, ...Object.values(BAR_TABLES), ...Object.values(EMA_TABLES)];

export const ALL_TABLES: Table[] = [
  schemaMigrations, dimAssets, dimTimeframe, priceHistories, priceChanges, importRejects, priceBars1dRejects,
  ...DERIVED_TABLES, refreshState, refreshRuns, opsRuns, ...FEATURE_TABLES,
];

const BY_NAME = new Map(ALL_TABLES.map((t) => [t.name, t]));
export function tableByName(name: string): Table {
  const t = BY_NAME.get(name);
  if (!t) throw new Error(`unknown table ${name}`);
  return t;
}
