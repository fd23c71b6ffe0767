// DuckDB's answers to the engine questions (../engine.ts).
import type { ColType, Column, Table } from '../../schema/table-types.js';
import { q } from '../../schema/ddl.js';
import type { Engine, NestedColumns, NestedType } from '../engine.js';

const TYPES: Record<ColType, string> = {
  int: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE', text: 'VARCHAR', bool: 'BOOLEAN', ts: 'TIMESTAMPTZ', json: 'JSON',
  blob: 'BLOB',
};

const structType = (t: Pick<NestedType, 'fields'>) => `STRUCT(${t.fields.map((x) => `${q(x.name)} ${TYPES[x.type]}`).join(', ')})`;
const norm = (s: string) => s.replace(/["\s]/g, '');

/** STRUCT columns: the type is written inline, so widening one is an ALTER of the column itself. */
const nested: NestedColumns = {
  declare: async () => undefined,
  columnType: structType,
  async widenColumn(db, table, column, declared, t, mismatch) {
    if (norm(declared) === norm(structType(t))) return;
    // Which leading part of the field list the stored STRUCT is, if any: the rest is appended.
    const k = t.fields.findIndex((_, i) => i > 0 && norm(declared) === norm(structType({ fields: t.fields.slice(0, i) })));
    const list = (struct: string) => struct.replace(/^STRUCT\((.*)\)$/s, '$1');
    if (k <= 0) throw mismatch(list(declared), list(structType(t)));
    const fields = t.fields.map((x, i) => `${q(x.name)} := ` +
      (i < k ? `struct_extract(${q(column)}, '${x.name.replace(/'/g, "''")}')` : `CAST(NULL AS ${TYPES[x.type]})`));
    // A NULL value stays NULL rather than becoming a STRUCT of NULLs.
    await db.exec(
      `ALTER TABLE ${q(table)} ALTER COLUMN ${q(column)} SET DATA TYPE ${structType(t)} ` +
        `USING CASE WHEN ${q(column)} IS NULL THEN NULL ELSE struct_pack(${fields.join(', ')}) END`,
    );
  },
  pack: (t, exprs) => `CAST(struct_pack(${t.fields.map((x, i) => `${q(x.name)} := ${exprs[i]}`).join(', ')}) AS ${structType(t)})`,
  field: (value, field) => `(${value}).${q(field)}`,
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
  // hash(a, b, …) XORs the last value's hash into a mix of the others; hashing that result once more mixes
  // every value, so a sum over rows does not let moved values cancel.
  checksumRowHash: (cols, seed) => `hash(hash(${seed}, ${cols}))`,
  checksumSettings: [],
  epochSeconds: (col) => `epoch(${col})`,
  nonFinite: (col) => `(isnan(${col}) OR isinf(${col}))`,
  // A file admits one writing process. ON CONFLICT DO UPDATE made the feature matrix's batch write take ~1.7×
  // as long as the same INSERT without it, with no key clashing (docs/performance.md).
  insertWhenNoKeyClash: true,
  nested,
  // The row groups' min/max of time_close skip all but the newest rows, whatever the timeframes.
  barsAfterSql: (table, select, bounds, _tfs, where) =>
    `SELECT ${select} FROM ${table} b JOIN ${bounds} ON b.id = w.id AND b.time_close > w.lo WHERE b.time_close > $1::timestamptz AND ${where}`,
};
