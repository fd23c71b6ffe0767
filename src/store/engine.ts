// What differs between the engines, other than running queries: capabilities, SQL fragments and DDL
// details. Code above src/store/ asks the Store's engine (store.engine) instead of testing which engine
// it is talking to; each engine's answers live in its own folder (duckdb/engine.ts, postgres/engine.ts).
import type { DdlDialect } from '../schema/ddl.js';

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
  /** SQL: a timestamptz as seconds since 1970 (a double). */
  epochSeconds(col: string): string;
  /** SQL: a predicate true for NaN and ±Infinity of a double column. */
  nonFinite(col: string): string;
  /**
   * SQL: `select` (columns of alias b) over the rows of a snapshot bar table, keyed (id, tf, bar_seq, time_close),
   * of the assets of `bounds` (`(VALUES (id, instant), …) AS w(id, lo)`) whose time_close is after their asset's
   * instant and that pass `where`; when `tfs` is given, only rows of those timeframes. $1 is the earliest instant.
   */
  barsAfterSql(table: string, select: string, bounds: string, tfs: readonly string[] | undefined, where: string): string;
}
