// PostgreSQL's answers to the engine questions (../engine.ts).
import type { ColType, Table } from '../../schema/table-types.js';
import { q } from '../../schema/ddl.js';
import type { Engine, NestedColumns, SqlSession } from '../engine.js';

const TYPES: Record<ColType, string> = {
  int: 'integer', bigint: 'bigint', double: 'double precision', text: 'text', bool: 'boolean', ts: 'timestamptz',
  json: 'jsonb', blob: 'bytea',
};

/** format_type's spelling of each type (how the catalog reports a stored attribute). */
const CATALOG_NAMES: Partial<Record<ColType, string>> = {
  double: 'double precision', bigint: 'bigint', int: 'integer', bool: 'boolean', text: 'text', ts: 'timestamp with time zone',
  json: 'jsonb', blob: 'bytea',
};

async function compositeAttributes(db: SqlSession, typeName: string): Promise<{ name: string; type: string }[] | null> {
  const t = await db.query<{ oid: number }>(
    `SELECT t.oid FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typname = $1 AND n.nspname = current_schema()`,
    [typeName],
  );
  if (t.length === 0) return null;
  return db.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
     WHERE a.attrelid = (SELECT typrelid FROM pg_type WHERE oid = $1) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [t[0].oid],
  );
}

/** Composite types: created by name in the current schema; a field is appended with ALTER TYPE … ADD ATTRIBUTE. */
const nested: NestedColumns = {
  async declare(db, t, mismatch) {
    const attrs = await compositeAttributes(db, t.name);
    if (attrs === null) {
      await db.exec(`CREATE TYPE ${q(t.name)} AS (${t.fields.map((x) => `${q(x.name)} ${TYPES[x.type]}`).join(', ')})`);
      return;
    }
    const have = attrs.map((a) => `${a.name} ${a.type}`);
    const want = t.fields.map((x) => `${x.name} ${CATALOG_NAMES[x.type] ?? TYPES[x.type]}`);
    if (have.join(',') === want.join(',')) return;
    if (!(have.length < want.length && have.every((x, i) => x === want[i]))) throw mismatch(have.join(', '), want.join(', '));
    for (const x of t.fields.slice(have.length)) {
      await db.exec(`ALTER TYPE ${q(t.name)} ADD ATTRIBUTE ${q(x.name)} ${TYPES[x.type]}`);
    }
  },
  columnType: (t) => q(t.name),
  // The column's type is the named composite, which declare() has already brought up to date.
  widenColumn: async () => undefined,
  pack: (t, exprs) => `ROW(${exprs.join(', ')})::${q(t.name)}`,
  field: (value, field) => `(${value}).${q(field)}`,
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
  // The record hash is Σ 31^k·hash(value_k, 1): linear in the values' hashes, so values swapped between
  // two rows would cancel in a sum; hashing the record hash once more (hashint8extended) breaks that
  // linearity at the cost of one cheap call, where a per-row seed from the time (epoch, round, cast)
  // cost more. The seed is 1, not 0: a NULL's hash is 0 and so is hash(0.0, 0), while hash(0.0, 1) is 1.
  // Per-column typed hashes (hashfloat8extended(col, k) # …, with COALESCE for NULLs) were 2–3× slower
  // than one record hash: every operator is a function call of its own.
  checksumRowHash: (cols) => `hashint8extended(hash_record_extended(ROW(${cols}), 1), 0)`,
  // A bucketed segment is grouped by an expression of the time the planner takes for as many groups as
  // rows, so it sorts (spilling to disk) instead of hashing its 16 groups, and its cost estimate is high
  // enough to turn on JIT compilation, which costs more than it saves in these queries.
  checksumSettings: ['SET LOCAL enable_sort = off', 'SET LOCAL jit = off'],
  epochSeconds: (col) => `extract(epoch from ${col})`,
  nonFinite: (col) => `(${col} IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8))`,
  // Another session could insert a key between the check and the INSERT.
  insertWhenNoKeyClash: false,
  nested,
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
