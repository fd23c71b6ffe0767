// The feature matrix's field list, defined once. The DDL of both engines,
// the flat input columns, the staging table, the reader and the Parquet export are all rendered from it.
import type { ColType } from '../schema/tables.js';

/** Every field type is also a logical column type, so flat staging tables reuse schema/ddl.ts. */
export type FieldType = Extract<ColType, 'double' | 'bigint' | 'int' | 'bool' | 'text'>;

export interface FeatureField {
  /** Name inside the STRUCT / composite type. */
  name: string;
  type: FieldType;
  /** The flat input column it comes from; null = filled from the regime cache, not from the input. */
  input: string | null;
}

export type GroupName = 'market_data' | 'pivots' | 'policy' | 'golden_zone' | 'regime' | 'technicals';

export interface FeatureGroup {
  name: GroupName;
  fields: FeatureField[];
}

const f = (name: string, type: FieldType, input: string | null = name): FeatureField => ({ name, type, input });
const dbl = (name: string) => f(name, 'double');

export const MATRIX_TABLE = 'ml_feature_matrix';

/** One EMA the technicals group reads: a timeframe label (`npx talab timeframes`) and a period. */
export interface EmaPair {
  tf: string;
  period: number;
}

/**
 * The EMAs whose distance and slope the technicals group carries, two fields each. This list is the one place to
 * change them: a pair appended here becomes two fields appended to the group, which an existing matrix gains in
 * place (NULL in its stored rows); removing or reordering pairs is refused like any other field change.
 * Each pair must be computed by `talab refresh --emas` (the default timeframes and periods include these).
 */
export const TECHNICAL_EMAS: readonly EmaPair[] = [
  { tf: '1D', period: 10 }, { tf: '1D', period: 50 }, { tf: '1D', period: 200 }, { tf: '7D', period: 20 },
  { tf: '1W_CAL_ISO', period: 20 },
];

/** Field-name stem of an EMA pair: `ema_1d_10`, `ema_1w_cal_iso_20`. */
export function emaStem(p: EmaPair): string {
  return `ema_${p.tf.toLowerCase()}_${p.period}`;
}

/** Fields of the technicals group that do not depend on the EMA list; they come first so pairs can be appended. */
export const TECHNICAL_FIXED_FIELDS = [
  'week_pos', 'month_pos', 'prev_week_high_dist_pct', 'prev_week_low_dist_pct', 'prev_month_high_dist_pct',
  'prev_month_low_dist_pct',
] as const;

export const GROUPS: FeatureGroup[] = [
  {
    name: 'market_data',
    // volume is DOUBLE, not the reference's INT64: our bars carry fractional quote volume and an integer
    // column would truncate it.
    fields: [dbl('open'), dbl('high'), dbl('low'), dbl('close'), dbl('volume'), dbl('vwap'), dbl('realized_vol_1h')],
  },
  {
    name: 'pivots',
    fields: [
      dbl('P'), dbl('R1'), dbl('R2'), dbl('S1'), dbl('S2'), dbl('distance_to_P'), dbl('distance_to_nearest_pivot'),
      dbl('weekly_pivot_distance'), f('price_above_P', 'bool'),
    ],
  },
  {
    name: 'policy',
    fields: [
      dbl('trump_action_prob'), dbl('trump_expected_zl_move'), dbl('trump_score'), dbl('trump_score_signed'),
      dbl('trump_confidence'), dbl('trump_sentiment_7d'), dbl('trump_tariff_intensity'),
      f('trump_procurement_alert', 'bool'), f('trump_mentions', 'bigint'), f('trumpxi_china_mentions', 'bigint'),
      dbl('trumpxi_sentiment_volatility'), dbl('trumpxi_policy_impact'), dbl('trumpxi_volatility_30d_ma'),
      dbl('trump_soybean_sentiment_7d'), dbl('policy_trump_topic_multiplier'), dbl('policy_trump_recency_decay'),
    ],
  },
  {
    name: 'golden_zone',
    fields: [
      f('state', 'int', 'golden_zone_state'), dbl('swing_high'), dbl('swing_low'), dbl('fib_50'), dbl('fib_618'),
      dbl('vol_decay_slope'), f('qualified_trigger', 'bool'),
    ],
  },
  {
    name: 'regime',
    fields: [f('name', 'text', null), f('weight', 'int', null), dbl('vol_percentile'), dbl('k_vol')],
  },
  {
    name: 'technicals',
    fields: [
      ...TECHNICAL_FIXED_FIELDS.map(dbl), f('days_since_missing', 'int'),
      ...TECHNICAL_EMAS.flatMap((p) => [dbl(`${emaStem(p)}_dist_pct`), dbl(`${emaStem(p)}_d1`)]),
    ],
  },
];

export const REQUIRED_COLUMNS = ['symbol', 'data_date'] as const;

/** One input-fed field with its group, e.g. golden_zone.state ← golden_zone_state. */
export interface InputField {
  group: GroupName;
  field: FeatureField;
  column: string;
}

export const INPUT_FIELDS: InputField[] = GROUPS.flatMap((g) =>
  g.fields.filter((x) => x.input !== null).map((x) => ({ group: g.name, field: x, column: x.input! })),
);

/** The recognised flat input columns (61 with the default EMA list), in the order `features build` writes them. */
export const INPUT_COLUMNS: string[] = ['symbol', 'data_date', 'timestamp', ...INPUT_FIELDS.map((x) => x.column)];

/** Column name of a nested field in flat (staging / export) form. */
export function flatName(group: GroupName, field: string): string {
  return `${group}__${field}`;
}

/** A matrix row in nested form: what the reader returns and the sink writes. */
export interface FeatureRecord {
  symbol: string;
  /** YYYY-MM-DD */
  data_date: string;
  /** RFC 3339 with Z, or null when the input had no observation time. */
  timestamp: string | null;
  market_data: Record<string, number | null>;
  pivots: Record<string, number | boolean | null>;
  policy: Record<string, number | boolean | null>;
  golden_zone: Record<string, number | boolean | null>;
  regime: { name: string | null; weight: number | null; vol_percentile: number | null; k_vol: number | null };
  technicals: Record<string, number | null>;
  regime_name: string | null;
  /** RFC 3339 with Z; set when the row is loaded. */
  ingestion_ts: string | null;
}

export type FieldValue = number | boolean | string | null;
