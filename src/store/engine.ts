// What differs between the engines, other than running queries: capabilities, SQL fragments and DDL
// details. Code above src/store/ asks the Store's engine (store.engine) instead of testing which engine
// it is talking to; each engine's answers live in its own folder (duckdb/engine.ts, postgres/engine.ts).
import type { DdlDialect } from '../schema/ddl.js';
import type { ColType } from '../schema/table-types.js';

export type EngineName = 'duckdb' | 'postgres';

export interface Engine extends DdlDialect {
  readonly name: EngineName;
  /** Helper tables filled in bulk want fresh planner statistics before they are joined (ANALYZE). */
  readonly needsAnalyze: boolean;
  /** One query already runs on every core; a second session over the same data would buy nothing. */
  readonly parallelQuery: boolean;
  /** Longest identifier the engine keeps whole (Infinity: no limit to speak of). */
  readonly maxIdentLength: number;
  /** npm packages of the driver, for the versions a report records. */
  readonly driverPackages: string[];
  /** SQL: a timestamptz column as epoch milliseconds (BIGINT). */
  epochMs(col: string): string;
  /** SQL: an epoch-milliseconds rendering whose rounding is that of the numeric `extract` (kept where keys were drawn with it). */
  epochMsExtract(col: string): string;
  /** SQL: a text of at most 7 hex digits as a BIGINT. */
  hexToBigint(hex: string): string;
  /** SQL suffix making text comparisons bytewise (md5 hex prefixes compare as on the other engine). */
  readonly bytewiseCollation: string;
  /** SQL suffix that keeps a subquery from being inlined into its parent (each value computed once). */
  readonly optimisationFence: string;
  /** COPY (query) TO writes a Parquet or CSV file where the client runs (else: read pages and write them elsewhere). */
  readonly copiesToFiles: boolean;
  /** Display name in messages. */
  readonly label: string;
  /**
   * The statement that moves committed data from the WAL into the file and lets freed blocks be reused, where
   * the engine leaves that to its client (null where the server does it on its own).
   */
  readonly checkpointSql: string | null;
  /** SQL run first in a transaction whose joins must not be nested loops (null where the planner needs no hint). */
  readonly hashJoinsOnly: string | null;
  /**
   * SQL: a 64-bit hash of a row from its columns' binary values (positional, NULL-aware, no text conversion),
   * instants by their UTC value whatever the session's time zone.
   */
  rowHash(cols: string): string;
  /**
   * SQL: a row's 64-bit hash for checksums that SUM row hashes. A record hash that is linear in its values'
   * hashes would let two values swapped between rows cancel out in the sum: the engine either mixes `seed`
   * (a BIGINT naming the row within its segment, e.g. its time) into every value's hash or hashes the
   * record hash once more. A NULL and any value, 0 and −0 included, hash differently; −0 and 0 hash
   * alike, and so do all NaNs.
   */
  checksumRowHash(cols: string, seed: string): string;
  /** Statements run first in the transaction of each segment-checksum query (planner settings; empty where none). */
  readonly checksumSettings: readonly string[];
  /** SQL: a timestamptz as seconds since 1970 (a double). */
  epochSeconds(col: string): string;
  /** SQL: a predicate true for NaN and ±Infinity of a double column. */
  nonFinite(col: string): string;
  /**
   * An upsert whose rows turn out to be all new is better written as a plain INSERT after checking that none of
   * their keys is there: ON CONFLICT costs much more than the check, and no other process can add a key between
   * the two (one writing process per database).
   */
  readonly insertWhenNoKeyClash: boolean;
  /** Columns holding a group of named fields (the feature matrix's groups). */
  readonly nested: NestedColumns;
  /**
   * SQL: `select` (columns of alias b) over the rows of a snapshot bar table, keyed (id, tf, bar_seq, time_close),
   * of the assets of `bounds` (`(VALUES (id, instant), …) AS w(id, lo)`) whose time_close is after their asset's
   * instant and that pass `where`; when `tfs` is given, only rows of those timeframes. $1 is the earliest instant.
   */
  barsAfterSql(table: string, select: string, bounds: string, tfs: readonly string[] | undefined, where: string): string;
}

/** A nested column's type: named fields, in order. */
export interface NestedType {
  /** Its name where the engine names such types (in the current schema); unused where the type is written inline. */
  name: string;
  fields: readonly { name: string; type: ColType }[];
}

/** The part of a session nested-column DDL needs (a Store is one). */
export interface SqlSession {
  query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string, params?: unknown[]): Promise<void>;
}

/**
 * Builds the error for a stored nested type that differs from the wanted one other than by fields appended at
 * its end (the caller knows what the type is for and what the user can do about it).
 */
export type NestedMismatch = (have: string, want: string) => Error;

/**
 * Nested columns on an engine: DuckDB writes a STRUCT type inline in the column, PostgreSQL names a composite
 * type first. Schema evolution is additive only: fields appended to a type are added in place, NULL in the values
 * already stored; any other difference (a field removed, renamed, retyped, reordered) is refused.
 */
export interface NestedColumns {
  /** Make a named type exist with t's fields, before any table uses it. Runs in the caller's transaction. */
  declare(db: SqlSession, t: NestedType, mismatch: NestedMismatch): Promise<void>;
  /** The SQL type of a column holding t. */
  columnType(t: NestedType): string;
  /**
   * Bring the existing column `column` of `table`, declared as `declared` (information_schema's data_type), to
   * t's fields; a NULL value stays NULL.
   */
  widenColumn(db: SqlSession, table: string, column: string, declared: string, t: NestedType, mismatch: NestedMismatch): Promise<void>;
  /** SQL: a value of t from one expression per field, in field order. */
  pack(t: NestedType, exprs: string[]): string;
  /** SQL: one field of a nested value. */
  field(value: string, field: string): string;
}
