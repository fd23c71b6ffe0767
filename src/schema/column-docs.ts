// What every column means, in the words of docs/concepts.md. One entry per column name, because a name means the
// same in every table that has it; `table.column` entries say where a table uses a name differently. Rendered as
// COMMENT ON COLUMN by the migrations and as docs/tables.md by `npm run docs:tables`.
import type { Column, Table } from './tables.js';

const DAY = 'YYYY-MM-DDT23:59:59.999Z';

const BY_NAME: Record<string, string> = {
  // identity
  id: 'Asset id (dim_assets.id).',
  symbol: 'Ticker symbol of the asset, e.g. BTC.',
  name: 'Display name of the asset.',
  source: 'Where the asset was first seen (the import file or source name).',
  tf: 'Timeframe label, e.g. 1D, 7D, 1W_CAL_US, 1M_CAL, 1W_CAL_ANCHOR_ISO; `npx talab timeframes` lists them all.',
  ts: `The UTC day this row belongs to, as that day's last millisecond (${DAY}).`,
  period: 'EMA period p (smoothing alpha = 2/(p+1) in bar space).',
  tf_days: 'Length of the window in days: N for rolling bars, 7n for weeks, the real length of the month(s) or year(s) for calendar bars.',
  // prices
  open: 'Opening price.',
  high: 'Highest price.',
  low: 'Lowest price.',
  close: 'Closing price.',
  volume: 'Traded volume (a missing daily volume counts as 0 in a bar).',
  market_cap: 'Market capitalisation at the close (a bar carries its last non-NULL value).',
  circulating_supply: 'Circulating supply as given by the source.',
  time_open: 'Instant the period opened.',
  time_close: 'Instant the period closed.',
  time_high: 'Instant of the period high.',
  time_low: 'Instant of the period low.',
  // bars
  bar_seq: 'Number of the bar within (id, tf), from 1; calendar windows without data leave gaps.',
  is_partial_start: 'True for an anchored family\'s partial first window (it began before the asset\'s first day); always false elsewhere.',
  is_partial_end: 'False on the canonical row: the snapshot on the bar\'s scheduled last day, i.e. the finished bar. True on every earlier snapshot of the bar.',
  is_missing_days: 'True when some day of the bar so far has no data.',
  timestamp: 'The snapshot\'s close instant (same as time_close).',
  last_ts_half_open: 'Exclusive end of the snapshot: time_close + 1 ms.',
  pos_in_bar: 'How far into the bar this snapshot is: calendar days from the bar\'s start (row position for rolling bars).',
  count_days: 'Calendar days from the bar\'s effective start to the snapshot day; for rolling bars the row position.',
  count_days_remaining: 'Days from the snapshot day to the window\'s end; 0 exactly on the canonical row.',
  count_missing_days: 'Days of the bar so far without data.',
  count_missing_days_start: 'Missing days at the start of the bar.',
  count_missing_days_end: 'Missing days at the end of the bar so far.',
  count_missing_days_interior: 'Missing days inside the bar.',
  missing_days_where: 'Where the missing days lie: start, interior or start,interior; NULL when none are missing.',
  first_missing_day: `Close instant (${DAY}) of the first missing day, NULL when none.`,
  last_missing_day: `Close instant (${DAY}) of the last missing day, NULL when none.`,
  src_name: 'Asset name as written in the source file.',
  src_load_ts: 'When the source row was imported (price_histories.load_ts).',
  src_file: 'File the source row came from.',
  repaired_timehigh: 'time_high was missing or outside the day and was replaced by the open or close instant.',
  repaired_timelow: 'time_low was missing or outside the day and was replaced by the open or close instant.',
  ingested_at: 'When this row was written.',
  // EMAs
  roll: 'False on a canonical bar close (every row for 1D), true on a day inside a bar.',
  ema: 'The EMA value (for cal and anchor families: the daily-space EMA that keeps its own path).',
  d1: 'ema minus the previous canonical row\'s ema (bar-to-bar change); only on canonical rows (roll = false), NULL elsewhere.',
  d2: 'd1 minus the previous canonical row\'s d1; only on canonical rows.',
  d1_roll: 'ema minus the previous row\'s ema: the daily change.',
  d2_roll: 'd1_roll minus the previous row\'s d1_roll.',
  ema_bar: 'Bar EMA over canonical calendar-bar closes; between closes it advances daily and snaps back at each close.',
  roll_bar: 'roll for ema_bar: false on a canonical close (always equal to roll).',
  d1_bar: 'd1 taken on ema_bar (canonical = roll_bar false).',
  d2_bar: 'd2 taken on ema_bar.',
  d1_roll_bar: 'd1_roll taken on ema_bar.',
  d2_roll_bar: 'd2_roll taken on ema_bar.',
  // import and rejects
  source_file: 'File the row was read from.',
  source_line: 'Line of the source file (1 = the header).',
  load_ts: 'When the row was imported.',
  detected_at: 'When import saw the change.',
  kind: 'What kind of row this is (see the table description).',
  consumed_at: 'When a refresh recomputed from this change; NULL while pending.',
  rejected_at: 'When the row was rejected.',
  reason: 'Why the row was rejected (the first failing rule).',
  raw: 'The source line as read (unprintable characters escaped).',
  // timeframe catalog
  base_unit: 'D (days), W (weeks), M (months) or Y (years).',
  tf_qty: 'How many base units one window spans.',
  tf_days_nominal: 'Nominal length in days (N; 7n for weeks, 30n for months, 365n for years): the d of every EMA formula.',
  alignment_type: 'tf_day (rolling windows of N available days) or calendar (windows on the global calendar grid).',
  calendar_anchor: 'True for anchored families (partial first window kept), false for full calendar windows, NULL for day horizons.',
  calendar_scheme: 'Week scheme: US (Sunday–Saturday) or ISO (Monday–Sunday); NULL for day horizons, months and years.',
  roll_policy: 'multiple_of_tf (rolling bars) or calendar_anchor (calendar bars).',
  allow_partial_start: 'Whether a partial first window is kept.',
  allow_partial_end: 'Whether a window may end before its scheduled last day.',
  tf_days_min: 'Shortest window in days.',
  tf_days_max: 'Longest window in days.',
  sort_order: 'Display order of the catalog.',
  is_default: 'Built by a refresh that names no --tfs.',
  // state and runs
  table_name: 'Derived table this state row is about.',
  last_src_ts: 'Watermark: the last source day built into the table.',
  daily_min_seen: 'Earliest source day seen at the last run.',
  dirty_from: 'A recompute asked for from this day (set by hand); the next refresh recomputes from it and clears it.',
  source_rows: 'Daily rows of the asset at the last run.',
  last_run_ts: 'When the table was last refreshed for this asset.',
  last_run_id: 'run_id of that refresh.',
  rows_written: 'Rows written by the last run.',
  rejected: 'Daily rows rejected at the last run.',
  carry_key: 'Layout of carry (timeframes and periods it covers).',
  carry: 'Packed kernel state after the last row, so the next run continues instead of re-reading the history.',
  rows_ahead: 'A narrowed run wrote rows after the watermark, which the next default run replaces.',
  run_id: 'Run identifier.',
  started_at: 'When the run started.',
  finished_at: 'When the run finished; NULL while running or if it never finished.',
  options: 'The run\'s options (JSON).',
  status: 'Outcome of the run.',
  summary: 'JSON summary of the run.',
  rows: 'Rows written by the run.',
  version: 'Schema version.',
  applied_at: 'When the version was applied.',
  description: 'What it is, in words.',
  created_at: 'When the row was created.',
  updated_at: 'When the row last changed.',
  // feature matrix
  date: 'Calendar day (YYYY-MM-DD).',
  regime: 'Regime name.',
  valid_from: 'First day of the regime range (YYYY-MM-DD).',
  valid_to: 'Last day of the regime range (YYYY-MM-DD).',
  weight: 'Training weight of the regime.',
  research_rationale: 'Why the regime has this weight.',
  batch_id: 'Deterministic id of the batch (a batch already loaded is never loaded again).',
  batch_index: 'Position of the batch in its run.',
  row_count: 'Rows in the batch.',
  symbols: 'JSON array of the symbols in the batch.',
  min_date: 'First data day of the batch.',
  max_date: 'Last data day of the batch.',
  loaded_at: 'When the batch was loaded.',
};

/** Where a table uses a name in its own sense. */
const BY_TABLE: Record<string, string> = {
  'price_histories.ts': `The UTC day of the imported row, as its last millisecond (${DAY}).`,
  'price_histories.time_open': 'Opening instant as given by the source.',
  'price_histories.time_close': 'Closing instant as given by the source.',
  'price_histories.time_high': 'Instant of the high as given by the source.',
  'price_histories.time_low': 'Instant of the low as given by the source.',
  'price_changes.ts': `The changed day (${DAY}).`,
  'price_changes.kind': 'revision (a stored day whose values changed) or backfill (a day before the first stored day).',
  'runs.kind': 'import or daily.',
  'price_bars_1d.bar_seq': 'Dense rank of the day among all the asset\'s source rows, rejected ones included.',
  'price_bars_1d.time_open': 'Day\'s opening instant (repaired when missing).',
  'price_bars_1d.time_close': `Day\'s closing instant (${DAY}).`,
  'price_bars_1d.is_partial_start': 'Always false: a day is never partial.',
  'price_bars_1d.is_partial_end': 'Always false: every daily bar is finished.',
  'price_bars_1d.is_missing_days': 'Always false for a daily bar.',
  'price_bars_1d_rejects.bar_seq': 'bar_seq the day would have had.',
  'import_rejects.id': 'Asset id the row was meant for.',
  'import_rejects.source_line': 'Line of the rejected row in its file (1 = the header).',
  'dim_timeframe.tf': 'Timeframe label (primary key).',
  'refresh_state.changed_from': 'Earliest day this table\'s family rewrote in runs that a family reading it (the EMAs read the bars) has not run since; 0001-01-01 when it was rebuilt whole, NULL when there is nothing to take in. The reader recomputes from it; only the family itself writes it.',
  'refresh_state.src_fp': 'Fingerprint of the source rows the bars consumed (row count and summed row hash per 256-day block of price_histories): a refresh that finds it changed recomputes from the earliest differing block, so edits made outside import are seen.',
  'dim_assets.market_cap_optional': 'True when the asset\'s source has no market cap (Yahoo, exchange klines, plain OHLCV): its days build bars with market_cap NULL instead of being rejected.',
  'schema_migrations.description': 'What the version added.',
  'regime_weights.description': 'What the regime stands for.',
  'refresh_runs.status': 'running, finished, failed, or abandoned (a run that stopped without finishing; --resume continues it).',
  'refresh_runs.summary': 'JSON summary per component: time, rows, and the assets that failed with their reasons.',
  'ml_feature_batches.run_id': 'Feature build run that produced the batch.',
  'ml_feature_state.id': 'Asset id (dim_assets.id) whose matrix rows are kept current.',
  'ml_feature_state.symbol': 'The symbol its matrix rows are stored under (ml_feature_matrix is keyed by symbol).',
  'ml_feature_state.technicals': 'The EMA pairs (TF:PERIOD, comma-separated) its technicals group was built with; the refresh keeps them, `features build --technicals` changes them.',
  'ml_feature_state.first_day': 'First day (YYYY-MM-DD) built.',
  'ml_feature_state.last_day': 'Watermark: last day (YYYY-MM-DD) built.',
  'ml_feature_state.days': 'Days built (one matrix row each, rows without a regime excepted).',
  'ml_feature_state.row_fp': 'Fingerprint of every built row, 8 bytes per day in day order: the first day whose recomputed row differs is where the next refresh starts writing.',
  'ml_feature_state.last_from': 'First day (YYYY-MM-DD) the last build or refresh rewrote.',
  'ml_feature_state.rows_written': 'Matrix rows the last build or refresh wrote for the asset.',
  'ml_feature_state.last_run_ts': 'When the last build or refresh wrote the asset.',
  'ml_feature_state.inputs': 'Token of the refresh_state rows (bars, ISO calendar bars, EMAs) the rows were built from: while it is unchanged the refresh does not even recompute the asset.',
  'ml_feature_state.last_run_id': 'The refresh run (refresh_runs.run_id) or ingest run that wrote it last.',
};

/** The time-of-row columns of the snapshot tables, said for snapshots. */
const SNAPSHOT: Record<string, string> = {
  time_close: `The day of this snapshot (${DAY}): the bar as it stood at the end of that day.`,
  time_open: 'First day with data of the bar.',
  time_high: 'Instant of the bar\'s high so far.',
  time_low: 'Instant of the bar\'s low so far.',
};

const EMA_TS = `The day of the EMA value (${DAY}).`;

export function columnDoc(t: Table, col: Column): string {
  const own = BY_TABLE[`${t.name}.${col.name}`];
  if (own) return own;
  if (t.derived === 'bars' && t.key.includes('bar_seq') && SNAPSHOT[col.name]) return SNAPSHOT[col.name];
  if (t.derived === 'emas' && col.name === 'ts') return EMA_TS;
  if (t.derived === 'emas' && col.name === 'tf_days') return 'Nominal days d of the timeframe (7n for weeks, 30n for months, 365n for years), as used by every EMA formula.';
  const doc = BY_NAME[col.name];
  if (!doc) throw new Error(`no description for column ${t.name}.${col.name} (src/schema/column-docs.ts)`);
  return doc;
}
