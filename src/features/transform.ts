// Flat → nested and micro-batching with deterministic batch ids.
import { createHash } from 'node:crypto';
import type { RowBatch } from '../columnar/columns.js';
import { GROUPS, INPUT_FIELDS, type FeatureRecord, type GroupName } from './fields.js';
import { FLAT_MATRIX, recordsToBatch } from './matrix.js';
import type { ParsedRow } from './quality.js';
import type { RegimeEntry } from './regimes.js';

/** Per group, each input-fed field's name and its position in ParsedRow.values, in field order. */
const GROUP_INPUTS = new Map(GROUPS.map((g) => [g.name, g.fields.flatMap((f) => {
  const pos = INPUT_FIELDS.findIndex((x) => x.group === g.name && x.field.name === f.name);
  return pos === -1 ? [] : [[f.name, pos] as const];
})]));

/** One typed input row plus its regime as a nested matrix record (ingestion_ts is set at load time). */
export function toRecord(r: ParsedRow, regime: RegimeEntry): FeatureRecord {
  const group = (name: GroupName) => {
    const out: Record<string, number | boolean | null> = {};
    for (const [f, pos] of GROUP_INPUTS.get(name)!) out[f] = r.values[pos];
    return out;
  };
  const reg = group('regime');
  return {
    symbol: r.symbol!,
    data_date: r.date!,
    // RFC 3339 with Z; no observation time is NULL rather than the load time, which would be invented data.
    timestamp: r.timestamp === null ? null : new Date(r.timestamp).toISOString(),
    market_data: group('market_data') as Record<string, number | null>,
    pivots: group('pivots'),
    policy: group('policy'),
    golden_zone: group('golden_zone'),
    regime: {
      name: regime.name, weight: regime.weight,
      vol_percentile: reg.vol_percentile as number | null, k_vol: reg.k_vol as number | null,
    },
    technicals: group('technicals') as Record<string, number | null>,
    regime_name: regime.name,
    ingestion_ts: null,
  };
}

export interface FeatureBatch {
  /** sha256 of the batch's canonical payload: the same rows always get the same id. */
  id: string;
  /** 1-based position in this run. */
  index: number;
  rows: FeatureRecord[];
  /** The rows in FLAT_MATRIX's columnar form (ingestion_ts unset), made once for the id and reused by the write. */
  flat?: RowBatch;
  symbols: string[];
  minDate: string;
  maxDate: string;
  distinctDates: number;
}

/** Bumped if the canonical payload ever changes, so old and new ids cannot collide. */
const PAYLOAD_VERSION = 'ml_feature_matrix/v2';

/**
 * The batch id: a hash of what would be stored (every column but ingestion_ts, in FLAT_MATRIX's columnar form), in
 * row order. Numbers are hashed as their 8 bytes: rendering them as text cost more than the rest of the ingest.
 */
export function batchId(rows: FeatureRecord[], flat: RowBatch = recordsToBatch(rows)): string {
  const h = createHash('sha256');
  h.update(`${PAYLOAD_VERSION}\n${rows.length}\n`);
  for (const c of FLAT_MATRIX.columns) {
    if (c.name === 'ingestion_ts') continue;
    h.update(`${c.name}\n`);
    const col = flat.cols[c.name];
    if (col instanceof Float64Array) h.update(new Uint8Array(col.buffer, col.byteOffset, col.byteLength));
    else {
      let text = '';
      for (let i = 0; i < flat.length; i++) text += (col[i] === null ? 'null' : JSON.stringify(col[i])) + '\n';
      h.update(text);
    }
  }
  return h.digest('hex');
}

export interface BatchLimits {
  /** Rows per batch (the original's 5,000). */
  batchSize: number;
  /** Distinct data_date values per batch (BigQuery's 4,000-partition lesson). */
  maxDatesPerBatch: number;
}

export const DEFAULT_LIMITS: BatchLimits = { batchSize: 5000, maxDatesPerBatch: 3500 };

/** Consecutive slices in input order, each within both limits. */
export function cutBatches(rows: FeatureRecord[], limits: BatchLimits = DEFAULT_LIMITS): FeatureBatch[] {
  if (!(limits.batchSize >= 1) || !(limits.maxDatesPerBatch >= 1)) throw new Error('batch limits must be ≥ 1');
  const out: FeatureBatch[] = [];
  let cur: FeatureRecord[] = [];
  let dates = new Set<string>();
  const flush = () => {
    if (!cur.length) return;
    const sorted = [...dates].sort();
    const flat = recordsToBatch(cur);
    out.push({
      id: batchId(cur, flat), index: out.length + 1, rows: cur, flat, symbols: [...new Set(cur.map((r) => r.symbol))].sort(),
      minDate: sorted[0], maxDate: sorted[sorted.length - 1], distinctDates: dates.size,
    });
    cur = [];
    dates = new Set();
  };
  for (const r of rows) {
    if (cur.length >= limits.batchSize || (!dates.has(r.data_date) && dates.size >= limits.maxDatesPerBatch)) flush();
    cur.push(r);
    dates.add(r.data_date);
  }
  flush();
  return out;
}
