// DuckDB engine: a file database (default talab.duckdb). Appends go through the appender straight into the
// target, whole typed columns per DataChunk (chunks.ts). Upserts, and tables with JSON columns, go
// through a TEMP staging table (filled the same way): UPDATE … FROM it + INSERT … SELECT, or a JSON cast.
import { existsSync } from 'node:fs';
import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import { duckdbApi } from './api.js';
import { q } from '../../schema/ddl.js';
import type { ColType, Table } from '../../schema/tables.js';
import type { RowBatch } from '../../columnar/columns.js';
import { chunkTypes, CHUNK_ROWS, directlyAppendable, fillChunk } from './chunks.js';
import type { HeldLock, LockOptions } from '../locks.js';
import { holdCheckpoints } from './checkpoints.js';
import { duckdbEngine } from './engine.js';
import { LocalLocks } from './locks.js';
import { normRow, type Row, type Store } from '../store.js';
import { EXIT, UserError } from '../../util/errors.js';
import { isDuckDbLockMessage } from '../errors.js';

/** Name under which a database file is attached (every session USEs it). */
const CATALOG = 'talab';

/**
 * Rows per row group of the tables talab writes (DuckDB's default is 122,880). A checkpoint rewrites the last,
 * partly filled row group of every table that received rows, whatever it held before: with the default that was
 * ~61k rows per table on average, for a daily run that adds a few thousand to each — 88 of the 102 MB a
 * 200-asset daily checkpoint wrote. With 16,384 the rewrite is a few thousand rows, and a group commit's
 * appends of more than that go straight to the file in whole row groups (not through the WAL). Full builds
 * and file size measured the same (20 × 3,000: 57 s vs 61 s, 1.94 vs 1.91 GB). Older files keep their big row
 * groups; rows added from now on go into small ones.
 */
const ROW_GROUP_SIZE = 16_384;

/**
 * DuckDB writes new files in its v1.0 storage format unless told otherwise, and in that format a checkpoint
 * rewrites the metadata of every row group of each table it touches: a daily run's checkpoint then grew with the
 * size of the tables (one 60M-row table: 140 ms for 15,000 appended rows, 67 ms in this format). A file written
 * in this format is read by DuckDB 1.5 or later only; talab pins 1.5 (older files are upgraded on first open).
 */
const STORAGE_VERSION = 'v1.5.0';

/**
 * Block size of the files talab creates (DuckDB's default is 256 KiB). A commit that appends rows to a table
 * first loads the last, partly filled block of each of its columns into a fresh block-sized buffer, so a daily
 * run, which appends a few rows to each of 13 tables of 12–31 columns, touched ~70 MB of new memory in its two
 * commits (17,700 page faults) at 256 KiB blocks. Touching new memory costs a page fault per 4 KiB, which is
 * expensive on virtual machines: a one-asset daily run took 0.96–1.20 s with 256 KiB blocks and 0.76–0.87 s
 * with 64 KiB on the same machine (37,000 → 22,000 page faults), for a file 3 % smaller and a full build within
 * the noise. 16 KiB blocks cut a little more (0.73–0.78 s) but made the file 17 % larger and the build 25 %
 * slower. The block size is fixed when a file is created and DuckDB refuses another one on open, so it is given
 * only to a new file; older files keep theirs.
 */
const NEW_FILE_BLOCK_SIZE = 65_536;

/** JSON travels as VARCHAR in the staging table and is cast on the way into the target. */
function fromStaging(t: ColType, col: string): string {
  return t === 'json' ? `CAST(${col} AS JSON)` : col;
}

/** One lock table per open database, shared by its sessions. */
const LOCKS = new WeakMap<DuckDBInstance, LocalLocks>();

export class DuckDbStore implements Store {
  readonly dialect = 'duckdb' as const;
  readonly engine = duckdbEngine;
  private txDepth = 0;
  /** In memory: no table to fill. */
  readonly locksPerSession = Infinity;
  /** Transaction locks taken in the open transaction, let go at its end. */
  private txLocks: (() => void)[] = [];

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly location: string,
    /** Sessions made by connect() share the instance; only the owner closes it. */
    private readonly ownsInstance = true,
    /** The attached file's catalog (undefined for ':memory:'). */
    private readonly catalog?: string,
    partRows = duckdbPartRows(),
  ) {
    this.partRows = partRows;
  }

  /**
   * A file is attached to an in-memory instance rather than opened as its main database, because only ATTACH
   * takes a row group size, and DuckDB does not keep it in the file: every open must ask again (see
   * ROW_GROUP_SIZE). ':memory:' is opened as is.
   */
  static async open(path: string, readOnly = false): Promise<DuckDbStore> {
    const memory = path === ':memory:';
    const partRows = duckdbPartRows(); // a bad setting is refused before the file is opened
    const instance = await duckdbApi.DuckDBInstance.create(':memory:', {
      memory_limit: duckdbMemoryLimit(),
      // An in-memory instance would spill to ./.tmp; a file's spill goes beside it, as when it is the main database.
      ...(memory ? {} : { temp_directory: `${path}.tmp` }),
    });
    const conn = await instance.connect();
    if (!memory) {
      const created = !readOnly && !existsSync(path);
      try {
        await conn.run(
          `ATTACH '${path.replace(/'/g, "''")}' AS ${CATALOG} ${
            // A reader takes DuckDB's shared lock: any number of readers at once, and no schema changes.
            readOnly
              ? '(READ_ONLY)'
              : `(ROW_GROUP_SIZE ${ROW_GROUP_SIZE}, STORAGE_VERSION '${STORAGE_VERSION}'${created ? `, BLOCK_SIZE ${NEW_FILE_BLOCK_SIZE}` : ''})`
          }`,
        );
      } catch (e) {
        conn.closeSync();
        instance.closeSync();
        const msg = (e as Error).message;
        // Another process holds the file's lock (this is also the refresh lock on DuckDB). DuckDB's message names
        // that process ("Conflicting lock is held in /usr/bin/python3 (PID 4242)"); pass both on with what to do.
        if (isDuckDbLockMessage(msg)) throw new UserError(lockMessage(path, msg, readOnly), EXIT.database);
        throw e;
      }
    }
    const store = new DuckDbStore(instance, conn, path, true, memory ? undefined : CATALOG, partRows);
    await store.initSession(conn);
    return store;
  }

  /** Every session works in the attached file and in UTC. */
  private async initSession(conn: DuckDBConnection): Promise<void> {
    if (this.catalog) await conn.run(`USE ${this.catalog}`);
    // All timestamps are UTC instants; the session zone only matters for TIMESTAMP<->TIMESTAMPTZ casts.
    await conn.run("SET TimeZone = 'UTC'");
  }

  async query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql, params as DuckDBValue[] | undefined);
    return reader.getRowObjectsJS().map((r) => normRow(r as Row) as T);
  }

  async exec(sql: string, params?: unknown[]): Promise<void> {
    await this.conn.run(sql, params as DuckDBValue[] | undefined);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.txDepth > 0) return fn();
    await this.conn.run('BEGIN TRANSACTION');
    this.txDepth++;
    try {
      const out = await fn();
      await this.conn.run('COMMIT');
      return out;
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      this.txDepth--;
      for (const release of this.txLocks.splice(0)) release();
    }
  }

  lock(keys: string | string[], opts: LockOptions = {}): Promise<HeldLock | null> {
    let table = LOCKS.get(this.instance);
    if (!table) LOCKS.set(this.instance, (table = new LocalLocks()));
    // Outside a transaction a transaction lock ends at once, as each statement is its own transaction.
    return table.lock(this, typeof keys === 'string' ? [keys] : keys, opts, (release) => (this.txDepth > 0 ? this.txLocks.push(release) : release()));
  }

  private async stage(table: Table, batch: RowBatch): Promise<string> {
    const stg = `_stg_${table.name}`;
    // Recreated every time: emptying it with DELETE would leave the deleted rows of a big earlier batch
    // to be scanned by every later INSERT … SELECT in this session.
    const cols = table.columns.map((c) => `${q(c.name)} ${c.type === 'json' ? 'VARCHAR' : duckdbEngine.type(c.type)}`).join(', ');
    await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${q(stg)} (${cols})`);
    await this.appendChunks(table, batch, stg, 'temp');
    return stg;
  }

  /** The batch through one appender into `target`, in DataChunks of the table's column types. */
  private async appendChunks(table: Table, batch: RowBatch, target: string, catalog?: string): Promise<void> {
    const appender = await this.conn.createAppender(target, 'main', catalog);
    const types = chunkTypes(table);
    const now = Date.now();
    try {
      for (let start = 0; start < batch.length; start += CHUNK_ROWS) {
        appender.appendDataChunk(fillChunk(table, types, batch, start, Math.min(CHUNK_ROWS, batch.length - start), now));
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /** Stage the batch, then one INSERT … SELECT into `target`. */
  private async insertStaged(table: Table, batch: RowBatch, target: string): Promise<number> {
    if (batch.length === 0) return 0;
    await this.insertFromStage(table, await this.stage(table, batch), target);
    return batch.length;
  }

  /** INSERT … SELECT the staged rows (those `where` keeps) into `target`, casting JSON. */
  private async insertFromStage(table: Table, stg: string, target: string, where = ''): Promise<void> {
    const names = table.columns.map((c) => q(c.name)).join(', ');
    const sel = table.columns.map((c) => fromStaging(c.type, `s.${q(c.name)}`)).join(', ');
    await this.conn.run(`INSERT INTO ${q(target)} (${names}) SELECT ${sel} FROM ${q(stg)} s ${where}`);
  }

  async append(table: Table, batch: RowBatch, opts?: { into?: string }): Promise<number> {
    const target = opts?.into ?? table.name;
    if (!directlyAppendable(table)) return this.insertStaged(table, batch, target);
    if (batch.length === 0) return 0;
    // A table's own name is one of talab's persistent tables; only an explicit `into` may be a TEMP table.
    await this.appendChunks(table, batch, target, opts?.into !== undefined && (await this.isTemp(target)) ? 'temp' : undefined);
    return batch.length;
  }

  private readonly temps = new Map<string, boolean>();

  /** Whether `name` is a TEMP table of this session (the appender must be told its catalog). */
  private async isTemp(name: string): Promise<boolean> {
    let t = this.temps.get(name);
    if (t === undefined) {
      const r = await this.query<{ t: boolean }>(
        'SELECT bool_or(temporary) AS t FROM duckdb_tables() WHERE table_name = $1', [name]);
      t = r[0]?.t === true;
      this.temps.set(name, t);
    }
    return t;
  }

  /**
   * Update the rows whose key is staged, in place, then insert the others: every column is written, as with
   * ON CONFLICT DO UPDATE (which costs more here, most on refresh_state's carries). Not DELETE + INSERT: DuckDB
   * keeps deleted rows in their row group until it can merge whole row groups, so refresh_state (rewritten every
   * run, all in one row group) grew by its whole size each run, and with it every checkpoint and every read of
   * it — 1.0 → 5.7 s of checkpoint over three daily runs at 1,000 assets.
   */
  upsert(table: Table, batch: RowBatch): Promise<number> {
    if (batch.length === 0) return Promise.resolve(0);
    return this.transaction(async () => {
      const stg = await this.stage(table, batch);
      const on = table.key.map((k) => `${q(table.name)}.${q(k)} = s.${q(k)}`).join(' AND ');
      const sets = table.columns.filter((c) => !table.key.includes(c.name))
        .map((c) => `${q(c.name)} = ${fromStaging(c.type, `s.${q(c.name)}`)}`).join(', ');
      let updated = 0;
      if (sets) {
        const r = await this.conn.runAndReadAll(`UPDATE ${q(table.name)} SET ${sets} FROM ${q(stg)} s WHERE ${on}`);
        updated = Number(r.getRows()[0]?.[0] ?? 0);
      }
      // Every staged key was there (a daily run's state rows): no new key to insert, and no anti-join to pay.
      if (updated < batch.length) {
        await this.insertFromStage(table, stg, table.name, `WHERE NOT EXISTS (SELECT 1 FROM ${q(table.name)} WHERE ${on})`);
      }
      return batch.length;
    });
  }

  /**
   * DuckDB keeps bookkeeping for every row a transaction appends outside its buffer pool (and so outside
   * memory_limit) until the commit: ~30 bytes a row, so one asset's 30,000-day recompute (40 M rows in one
   * transaction) peaked at 1.9 GB against 1.1 GB in parts of this size (docs/performance.md).
   */
  readonly partRows: number;

  async commitPart(): Promise<void> {
    if (this.txDepth === 0) return;
    await this.conn.run('COMMIT');
    await this.conn.run('BEGIN TRANSACTION');
  }

  holdCheckpoints(): Promise<() => Promise<number>> {
    return holdCheckpoints(this);
  }

  async engineVersion(): Promise<string> {
    const r = await this.query<{ v: string }>('SELECT version() AS v');
    return `DuckDB ${r[0].v}`;
  }

  async connect(): Promise<Store> {
    const conn = await this.instance.connect();
    const store = new DuckDbStore(this.instance, conn, this.location, false, this.catalog, this.partRows);
    await store.initSession(conn);
    return store;
  }

  async close(): Promise<void> {
    LOCKS.get(this.instance)?.drop(this);
    this.conn.closeSync();
    if (this.ownsInstance) this.instance.closeSync();
  }
}

/**
 * DuckDB's buffer-pool limit for talab's processes: TALAB_DUCKDB_MEMORY (e.g. "2GB"), default 512MB. DuckDB's own
 * default (80 % of RAM) lets it keep every block it ever wrote cached, so a refresh's resident memory grew with the
 * database; with a limit it evicts (and spills large sorts/joins to <db>.tmp) instead. docs/performance.md has the
 * measurements behind the default.
 */
export function duckdbMemoryLimit(): string {
  const v = process.env.TALAB_DUCKDB_MEMORY?.trim();
  if (!v) return '512MB';
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(v)) {
    throw new UserError(`TALAB_DUCKDB_MEMORY must be a size such as 512MB or 2GB, got '${v}'`, 2);
  }
  return v;
}

/**
 * Rows a long recompute writes per transaction on DuckDB: TALAB_DUCKDB_PART_ROWS, default 1,048,576 (about
 * 30 MB of DuckDB's per-transaction bookkeeping).
 */
export function duckdbPartRows(): number {
  const v = process.env.TALAB_DUCKDB_PART_ROWS?.trim();
  if (!v) return 1_048_576;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
    throw new UserError(`TALAB_DUCKDB_PART_ROWS must be a whole number of rows of at least 1, got '${v}'`, 2);
  }
  return n;
}

/** Who holds the file and what to do about it: for a writer, the holder must close it; a reader waits for a writer. */
export function lockMessage(path: string, duckdbMessage: string, readOnly: boolean): string {
  const m = /held in (.+?) \(PID (\d+)\)/.exec(duckdbMessage);
  const who = m ? ` (pid ${m[2]}, ${m[1]})` : /PID (\d+)/.test(duckdbMessage) ? ` (pid ${/PID (\d+)/.exec(duckdbMessage)![1]})` : '';
  return readOnly
    ? `${path} is in use by another process${who} that has it open for writing; run again when it has finished`
    : `${path} is in use by another process${who}: talab can write only while no other program has the file open. `
      + 'Close it there (a notebook: con.close(); the DuckDB CLI: .quit) or wait for that process to finish, then run again';
}
