// Which keys are compared. The sample is drawn ONCE from the union of the snapshot's and the live table's
// keys and then looked up on both sides, so both sides are compared on the same keys and a row present on
// one side only is still seen (sampling each side independently would compare almost disjoint key sets).
//
// Per series — a key minus its time column, e.g. (id, tf, period) — the sample holds the first N days,
// the last N days and a seeded pseudo-random fraction of the interior. The pseudo-random choice is an md5
// of the seed and the key rendered as text, which both engines compute identically, so a given seed picks
// the same keys on DuckDB and Postgres and on every run.
import { q } from '../schema/ddl.js';
import type { Engine } from '../store/engine.js';
import type { Table } from '../schema/tables.js';

export interface SampleConfig {
  /** Compare every key; the window settings are then ignored. */
  full: boolean;
  beginningDays: number;
  endDays: number;
  /** Fraction in [0, 1] of interior keys. */
  randomFraction: number;
  seed: number;
}

export const DEFAULT_SAMPLE: SampleConfig = { full: false, beginningDays: 30, endDays: 30, randomFraction: 0.05, seed: 42 };

/**
 * Key columns that number positions inside a series rather than name one: bar_seq moves with time
 * within (id, tf), so windows are taken per (id, tf), not per bar.
 */
const POSITION_COLUMNS = new Set(['bar_seq']);

export interface SeriesShape {
  /** The key's time column: its last timestamp column. */
  time: string;
  /** Key columns that identify one series. */
  series: string[];
}

export function seriesShape(table: Table): SeriesShape {
  const tsKeys = table.key.filter((k) => table.columns.find((c) => c.name === k)?.type === 'ts');
  if (tsKeys.length === 0) throw new Error(`${table.name}: its key has no timestamp column to sample by`);
  const time = tsKeys[tsKeys.length - 1];
  return { time, series: table.key.filter((k) => k !== time && !POSITION_COLUMNS.has(k)) };
}

/** `WHERE id IN (…)` for the selected assets, or '' for all; ids are validated integers. */
export function idWhere(ids: number[] | undefined, alias?: string): string {
  if (!ids) return '';
  const col = alias ? `${alias}.${q('id')}` : q('id');
  return ids.length ? `WHERE ${col} IN (${ids.join(', ')})` : 'WHERE false';
}

/** The key rendered as text the same way on both engines (timestamps as epoch ms). */
function keyTextSql(engine: Engine, table: Table, alias: string): string {
  return table.key
    .map((k) => {
      const type = table.columns.find((c) => c.name === k)!.type;
      const col = `${alias}.${q(k)}`;
      if (type === 'text') return col;
      if (type === 'ts') return `CAST(${engine.epochMsExtract(col)} AS VARCHAR)`;
      return `CAST(${col} AS VARCHAR)`;
    })
    .join(` || '|' || `);
}

/** md5 hex prefix below this 8-hex-digit threshold selects a key; the fraction of the 2^32 range. */
export function fractionThreshold(fraction: number): string {
  const n = Math.min(0xffffffff, Math.floor(fraction * 2 ** 32));
  return n.toString(16).padStart(8, '0');
}

export const KEYS_TABLE = '_baseline_keys';

/**
 * SQL creating the temp table of keys: every key of the union with a `stratum` — 'beginning', 'end',
 * 'random' or 'all' (--full) when sampled, NULL when not. Keeping the unsampled keys lets the report say
 * how much of the table the sample covered.
 */
export function keysTableSql(
  engine: Engine, table: Table, snapshot: string, ids: number[] | undefined, cfg: SampleConfig,
): string {
  const keyList = table.key.map(q).join(', ');
  const union = `SELECT ${keyList} FROM ${q(snapshot)} UNION SELECT ${keyList} FROM ${q(table.name)} ${idWhere(ids)}`;
  if (cfg.full) {
    return `CREATE TEMP TABLE ${q(KEYS_TABLE)} AS SELECT u.*, 'all' AS stratum FROM (${union}) u`;
  }
  const { time, series } = seriesShape(table);
  const part = series.map((c) => `u.${q(c)}`).join(', ');
  const tcol = `w.${q(time)}`;
  const coll = engine.bytewiseCollation;
  const random = cfg.randomFraction <= 0 ? 'false'
    : cfg.randomFraction >= 1 ? 'true'
      : `substr(md5('${Math.trunc(cfg.seed)}|' || ${keyTextSql(engine, table, 'w')}), 1, 8)${coll} < '${fractionThreshold(cfg.randomFraction)}'`;
  return `CREATE TEMP TABLE ${q(KEYS_TABLE)} AS
SELECT ${table.key.map((k) => `w.${q(k)}`).join(', ')},
  CASE WHEN ${tcol} < w._lo + INTERVAL '${cfg.beginningDays} days' THEN 'beginning'
       WHEN ${tcol} > w._hi - INTERVAL '${cfg.endDays} days' THEN 'end'
       WHEN ${random} THEN 'random' END AS stratum
FROM (SELECT u.*, min(u.${q(time)}) OVER (PARTITION BY ${part}) AS _lo, max(u.${q(time)}) OVER (PARTITION BY ${part}) AS _hi
      FROM (${union}) u) w`;
}
