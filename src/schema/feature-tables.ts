// Tables of the feature-matrix subsystem. Kept apart from tables.ts so that subsystem owns them;
// ALL_TABLES includes them, so migrations create them on both engines like every other table.
// The matrix itself (ml_feature_matrix) has STRUCT / composite columns the logical schema cannot express;
// src/features/schema.ts creates it on first use.
import type { Column, ColType, Table } from './table-types.js';

const c = (name: string, type: ColType, notNull = false, dflt?: string): Column =>
  dflt === undefined ? { name, type, notNull } : { name, type, notNull, default: dflt };

// Dates are YYYY-MM-DD text: the logical schema has no DATE type, and ISO text sorts and compares correctly.
export const regimeCalendar: Table = {
  name: 'regime_calendar',
  doc: 'One row per calendar day: the regime in force, materialised from ranges by `talab features regimes`.',
  key: ['date'],
  columns: [c('date', 'text', true), c('regime', 'text', true), c('valid_from', 'text'), c('valid_to', 'text')],
};

export const regimeWeights: Table = {
  name: 'regime_weights',
  doc: 'Training weight of each regime.',
  key: ['regime'],
  columns: [
    c('regime', 'text', true), c('weight', 'int', true), c('description', 'text'), c('research_rationale', 'text'),
    c('created_at', 'ts', true, 'now()'),
  ],
};

// symbols: a JSON array of the batch's symbols, kept as text (the JSON type needs an extension on DuckDB).
export const featureBatches: Table = {
  name: 'ml_feature_batches',
  doc: 'Ledger of loaded feature-matrix batches keyed by their deterministic id: a batch already here is never loaded again.',
  key: ['batch_id'],
  columns: [
    c('batch_id', 'text', true), c('run_id', 'text', true), c('batch_index', 'int', true), c('row_count', 'int', true),
    c('symbols', 'text', true), c('min_date', 'text', true), c('max_date', 'text', true),
    c('loaded_at', 'ts', true, 'now()'),
  ],
};

// Dates are YYYY-MM-DD text like the tables above; row_fp is 8 bytes per built day (features/fingerprint.ts).
export const featureState: Table = {
  name: 'ml_feature_state',
  doc: 'Per asset whose matrix rows talab builds (`talab features build`): the technicals pairs they were built with, '
    + 'the days built and a fingerprint of each built row, so `talab refresh --all` rewrites only the rows from the '
    + 'first day whose row changed (new days, or a revision of the bars or EMAs).',
  key: ['id'],
  columns: [
    c('id', 'int', true), c('symbol', 'text', true), c('technicals', 'text', true), c('first_day', 'text'),
    c('last_day', 'text'), c('days', 'int', true, '0'), { ...c('row_fp', 'blob'), uncompressed: true }, c('last_from', 'text'),
    c('rows_written', 'bigint', true, '0'), c('last_run_ts', 'ts', true, 'now()'), c('last_run_id', 'text'), c('inputs', 'text'),
  ],
};

export const FEATURE_TABLES: Table[] = [regimeCalendar, regimeWeights, featureBatches, featureState];
