// PostgreSQL's answers to the engine questions (../engine.ts).
import type { ColType, Table } from '../../schema/table-types.js';
import type { Engine } from '../engine.js';

const TYPES: Record<ColType, string> = {
  int: 'integer', bigint: 'bigint', double: 'double precision', text: 'text', bool: 'boolean', ts: 'timestamptz',
  json: 'jsonb', blob: 'bytea',
};

export const postgresEngine: Engine = {
  name: 'postgres',
  type: (t: ColType) => TYPES[t],
  columnSuffix: () => '',
  enforcesKey: (_t: Table) => true,
  addedColumnsNullable: false,
  needsAnalyze: true,
  // One connection runs one query at a time: a second session lets the server scan two sides in parallel.
  parallelQuery: false,
  maxIdentLength: 63,
  driverPackages: ['pg', 'pg-copy-streams'],
  // date_part returns a double (extract returns numeric, several times slower).
  epochMs: (col) => `CAST(round(date_part('epoch', ${col}) * 1000) AS BIGINT)`,
  epochMsExtract: (col) => `CAST(round(extract(epoch FROM ${col}) * 1000) AS BIGINT)`,
  hexToBigint: (hex) => `CAST(CAST('x' || lpad(${hex}, 8, '0') AS BIT(32)) AS BIGINT)`,
  // md5 hex compared under the database's collation could order differently from DuckDB's bytewise one.
  bytewiseCollation: ' COLLATE "C"',
  // OFFSET 0 keeps the planner from inlining a subquery, which would evaluate each of its values twice.
  optimisationFence: ' OFFSET 0',
  // COPY TO a file writes on the server's disk, and only CSV/text.
  copiesToFiles: false,
  label: 'PostgreSQL',
  checkpointSql: null,
  // The instant seen in UTC.
  utcDate: (col) => `(${col} AT TIME ZONE 'UTC')::date`,
  // With the statistics of tables just built and not yet analysed, the planner expects one row everywhere and
  // re-reads an EMA pivot for every bar in a nested loop; hash joins read each side once whatever it expects.
  hashJoinsOnly: 'SET LOCAL enable_nestloop = off',
  // A text form of the row cost ~2.5× as much.
  rowHash: (cols) => `hash_record_extended(ROW(${cols}), 0)`,
  epochSeconds: (col) => `extract(epoch from ${col})`,
  nonFinite: (col) => `(${col} IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8))`,
  // time_close is the last column of the key, so `id IN … AND time_close > $1` walked each asset's whole part of
  // the index (716 index pages per table for bitcoin's 5,860 days: 70–150 ms of a one-asset daily EMA step, for
  // a handful of rows). Within an (id, tf) the key order is time order, so the rows wanted are the end of that
  // range: per (asset, timeframe), the last key at or before the asset's instant is found by a backward probe,
  // and the rows after it by a range of the index.
  barsAfterSql: (table, select, bounds, tfs, where) => {
    if (!tfs) return `SELECT ${select} FROM ${table} b JOIN ${bounds} ON b.id = w.id AND b.time_close > w.lo WHERE b.time_close > $1::timestamptz AND ${where}`;
    const tfList = tfs.map((tf) => `'${tf.replace(/'/g, "''")}'`).join(', ');
    return `SELECT ${select} FROM ${bounds} CROSS JOIN unnest(ARRAY[${tfList}]::text[]) AS f(tf)
      LEFT JOIN LATERAL (SELECT p.bar_seq, p.time_close FROM ${table} p WHERE p.id = w.id AND p.tf = f.tf AND p.time_close <= w.lo
        ORDER BY p.bar_seq DESC, p.time_close DESC LIMIT 1) lb ON true
      CROSS JOIN LATERAL (SELECT * FROM ${table} r WHERE r.id = w.id AND r.tf = f.tf
        AND (r.bar_seq, r.time_close) > (coalesce(lb.bar_seq, -2147483648), coalesce(lb.time_close, '-infinity'::timestamptz)) OFFSET 0) b
      WHERE b.time_close > w.lo AND b.time_close > $1::timestamptz AND ${where}`;
  },
};
