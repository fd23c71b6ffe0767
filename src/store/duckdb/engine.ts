// DuckDB's answers to the engine questions (../engine.ts).
import type { ColType, Column, Table } from '../../schema/table-types.js';
import type { Engine } from '../engine.js';

const TYPES: Record<ColType, string> = {
  int: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE', text: 'VARCHAR', bool: 'BOOLEAN', ts: 'TIMESTAMPTZ', json: 'JSON',
  blob: 'BLOB',
};

export const duckdbEngine: Engine = {
  name: 'duckdb',
  type: (t: ColType) => TYPES[t],
  columnSuffix: (col: Column) => (col.uncompressed ? ' USING COMPRESSION uncompressed' : ''),
  // DuckDB backs a key with an ART index held in memory, which grows with the table (1.6 GB resident at 9 M
  // derived rows; an out-of-memory error at 56 M rows under a 1 GB limit) and cost ~45 % of the full build's
  // time. The derived tables are only ever written by the refresh, which deletes from the changed day before
  // appending, and `talab validate` checks their keys (duplicate_keys).
  enforcesKey: (t: Table) => !t.derived,
  // DuckDB cannot add constraints in ALTER: NOT NULL on an added column is enforced by the writers only.
  addedColumnsNullable: true,
  needsAnalyze: false,
  parallelQuery: true,
  maxIdentLength: Infinity,
  driverPackages: ['@duckdb/node-api'],
  epochMs: (col) => `epoch_ms(${col})`,
  epochMsExtract: (col) => `epoch_ms(${col})`,
  hexToBigint: (hex) => `CAST('0x' || ${hex} AS BIGINT)`,
  bytewiseCollation: '',
  // DuckDB computes each projection once anyway, and a LIMIT/OFFSET would cost it its parallelism.
  optimisationFence: '',
  copiesToFiles: true,
  label: 'DuckDB',
  checkpointSql: 'CHECKPOINT',
  // The instant's microseconds as a zone-less timestamp: a plain cast of a TIMESTAMPTZ would use the session
  // TimeZone, and 23:59:59.999Z is already the next day east of UTC.
  utcDate: (col) => `CAST(make_timestamp(epoch_us(${col})) AS DATE)`,
  hashJoinsOnly: null,
  rowHash: (cols) => `hash(${cols})`,
  epochSeconds: (col) => `epoch(${col})`,
  nonFinite: (col) => `(isnan(${col}) OR isinf(${col}))`,
  // The row groups' min/max of time_close skip all but the newest rows, whatever the timeframes.
  barsAfterSql: (table, select, bounds, _tfs, where) =>
    `SELECT ${select} FROM ${table} b JOIN ${bounds} ON b.id = w.id AND b.time_close > w.lo WHERE b.time_close > $1::timestamptz AND ${where}`,
};
