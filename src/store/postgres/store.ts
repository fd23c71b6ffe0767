// PostgreSQL engine: one connection per Store (a transaction needs one session). Bulk writes stream
// COPY … FROM STDIN into the target, or into a TEMP staging table followed by one INSERT … ON CONFLICT
// for upserts. COPY is binary (copy-binary.ts) unless a batch holds text where a number belongs.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { onConflictUpdate, q } from '../../schema/ddl.js';
import type { ColType, Table } from '../../schema/tables.js';
import { EXIT, UserError } from '../../util/errors.js';
import { redactUrl } from '../../util/redact.js';
import { binaryCopyPossible, copyBinary } from './copy-binary.js';
import { clientTimeoutMs, pgTimeouts, type PgTimeouts } from './timeouts.js';
import type { RowBatch } from '../../columnar/columns.js';
import type { HeldLock, LockOptions } from '../locks.js';
import { postgresEngine } from './engine.js';
import { pgLock } from './locks.js';
import { normRow, type Row, type Store } from '../store.js';

// int8 and numeric come back as strings by default; our bigints stay below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));
pg.types.setTypeParser(1700, (v: string) => Number(v));

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly engine = postgresEngine;
  private txDepth = 0;
  /** Advisory locks share the server's lock table (max_locks_per_transaction × max_connections, 6,400 by default) with every session. */
  readonly locksPerSession = 64;
  private staged = new Set<string>();

  private constructor(
    private client: pg.Client,
    readonly location: string,
    private readonly url: string,
    private readonly schema?: string,
    private readonly timeouts: PgTimeouts = pgTimeouts(url),
  ) {}

  /** `schema` (optional) isolates a test run: it is created if missing and put first on the search_path. */
  static async open(url: string, schema?: string): Promise<PostgresStore> {
    const t = pgTimeouts(url);
    let client: pg.Client;
    try {
      client = new pg.Client({
        connectionString: url, connectionTimeoutMillis: t.connectMs, keepAlive: true, keepAliveInitialDelayMillis: 10_000,
        // Server side: a statement running too long, a session idle inside a transaction. Client side: an
        // answer that never comes (a frozen network), a little after the server would have given up.
        statement_timeout: t.statementMs || undefined, query_timeout: clientTimeoutMs(t) || undefined,
        idle_in_transaction_session_timeout: t.idleMs || undefined,
      });
    } catch (e) {
      throw new UserError(`invalid PostgreSQL URL ${redactUrl(url)}: ${(e as Error).message}`);
    }
    client.on('error', () => undefined); // a dropped connection surfaces on the next query instead
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ERR_INVALID_URL' || err instanceof TypeError) throw new UserError(`invalid PostgreSQL URL ${redactUrl(url)}: ${err.message}`);
      // The server answered but refuses us (unknown database or role, bad password): a usage problem.
      if (/^(3D000|28000|28P01|42704)$/.test(err.code ?? '')) throw new UserError(`PostgreSQL at ${redactUrl(url)}: ${err.message}`);
      const why = err.code === 'ECONNREFUSED' ? 'connection refused' : /timeout/i.test(err.message) ? `no answer within ${t.connectMs / 1000} s` : err.message;
      throw new UserError(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${why}`, EXIT.database);
    }
    try {
      await client.query("SET TIME ZONE 'UTC'");
      await client.query('SET client_min_messages = warning');
      if (schema) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`);
        await client.query(`SET search_path TO ${q(schema)}`);
      } else {
        const r = await client.query<{ s: string | null; p: string }>("SELECT current_schema() AS s, current_setting('search_path') AS p");
        if (r.rows[0].s === null) {
          throw new UserError(
            `PostgreSQL at ${redactUrl(url)}: search_path '${r.rows[0].p}' names no existing schema; create it (CREATE SCHEMA …) or fix the URL's options`,
          );
        }
      }
    } catch (e) {
      await client.end().catch(() => undefined);
      if (e instanceof UserError) throw e;
      throw new UserError(`PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}`, EXIT.database);
    }
    return new PostgresStore(client, redactUrl(url) + (schema ? ` (schema ${schema})` : ''), url, schema, t);
  }

  openArgs(): { db: string; pgSchema?: string } {
    return { db: this.url, pgSchema: this.schema };
  }

  async query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    const r = await this.client.query(sql, params as unknown[] | undefined);
    return r.rows.map((x: Row) => normRow(x) as T);
  }

  async exec(sql: string, params?: unknown[]): Promise<void> {
    await this.client.query(sql, params as unknown[] | undefined);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.txDepth > 0) return fn();
    await this.client.query('BEGIN');
    this.txDepth++;
    try {
      const out = await fn();
      await this.client.query('COMMIT');
      return out;
    } catch (e) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      this.staged.clear(); // temp tables created inside the transaction are gone with it
      throw e;
    } finally {
      this.txDepth--;
    }
  }

  private async copyInto(target: string, table: Table, batch: RowBatch): Promise<void> {
    const names = table.columns.map((c) => q(c.name)).join(', ');
    const binary = copyFormat() === 'binary' && binaryCopyPossible(table, batch);
    const stream = this.client.query(copyStreams.from(`COPY ${q(target)} (${names}) FROM STDIN${binary ? ' (FORMAT binary)' : ''}`));
    // COPY is outside the driver's query timeout: a frozen connection would hold it forever. Past the
    // statement timeout the connection is cut, which fails the COPY and then the session, as a lost connection.
    const ms = clientTimeoutMs(this.timeouts);
    const timer = ms ? setTimeout(() => stream.destroy(new Error(`Connection terminated: COPY into ${target} got no answer within ${ms / 1000} s`)), ms) : undefined;
    try {
      await pipeline(Readable.from(binary ? copyBinary(table, batch) : copyText(table, batch)), stream);
    } catch (e) {
      if (timer) (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  async append(table: Table, batch: RowBatch, opts?: { into?: string }): Promise<number> {
    if (batch.length === 0) return 0;
    await this.copyInto(opts?.into ?? table.name, table, batch);
    return batch.length;
  }

  async upsert(table: Table, batch: RowBatch): Promise<number> {
    if (batch.length === 0) return 0;
    const stg = `_stg_${table.name}`;
    if (!this.staged.has(stg)) {
      await this.client.query(`CREATE TEMP TABLE IF NOT EXISTS ${q(stg)} (LIKE ${q(table.name)})`);
      this.staged.add(stg);
    }
    await this.client.query(`TRUNCATE ${q(stg)}`);
    await this.copyInto(stg, table, batch);
    const names = table.columns.map((c) => q(c.name)).join(', ');
    await this.client.query(`INSERT INTO ${q(table.name)} (${names}) SELECT ${names} FROM ${q(stg)} ${onConflictUpdate(table)}`);
    return batch.length;
  }

  lock(keys: string | string[], opts?: LockOptions): Promise<HeldLock | null> {
    return pgLock((sql, params) => this.query(sql, params), typeof keys === 'string' ? [keys] : keys, opts);
  }

  /** The server checkpoints on its own, without holding up client transactions: nothing to hold. */
  async holdCheckpoints(): Promise<() => Promise<number>> {
    return async () => 0;
  }

  async engineVersion(): Promise<string> {
    const r = await this.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return `PostgreSQL ${r[0].v}`;
  }

  connect(): Promise<Store> {
    return PostgresStore.open(this.url, this.schema);
  }

  /**
   * After a lost connection: this Store gets a new session (the old one is ended). Session state is gone
   * with the old one — an open transaction was rolled back by the server, advisory locks released, temp
   * tables dropped — so callers take their locks again.
   */
  async reconnect(): Promise<void> {
    const fresh = await PostgresStore.open(this.url, this.schema);
    const old = this.client;
    this.client = fresh.client;
    this.txDepth = 0;
    this.staged.clear();
    // The old socket may be frozen rather than closed: cut it, so that ending it cannot wait.
    (old as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    await old.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** `TALAB_PG_COPY=text` keeps the text format everywhere (for comparison in the bench, or a server that refuses binary). */
function copyFormat(): 'binary' | 'text' {
  return process.env.TALAB_PG_COPY === 'text' ? 'text' : 'binary';
}

function escapeText(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r'));
}

/** bytea in COPY text format: hex input form, its backslash escaped for COPY. */
function encodeBytea(v: Uint8Array): string {
  return '\\\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
}

function encodeNumber(type: ColType, v: number): string {
  if (Number.isNaN(v)) return '\\N';
  if (type === 'ts') return new Date(v).toISOString();
  if (type === 'bool') return v !== 0 ? 't' : 'f';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  // String(-0) is "0": the sign of a negative zero would be lost on the way (the binary format keeps it).
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** COPY text-format lines for the batch, in pieces of a few thousand rows. */
function* copyText(table: Table, batch: RowBatch): Generator<string> {
  const now = new Date().toISOString();
  const cols = table.columns.map((c) => ({ c, data: batch.cols[c.name] }));
  const PIECE = 4096;
  for (let start = 0; start < batch.length; start += PIECE) {
    const end = Math.min(batch.length, start + PIECE);
    const lines: string[] = [];
    for (let i = start; i < end; i++) {
      const fields: string[] = new Array(cols.length);
      for (let k = 0; k < cols.length; k++) {
        const { c, data } = cols[k];
        if (data === undefined) {
          fields[k] = c.default === undefined ? '\\N' : c.default === 'now()' ? now : c.default;
        } else if (Array.isArray(data)) {
          const v = data[i];
          fields[k] = v === null || v === undefined ? '\\N' : typeof v === 'string' ? escapeText(v) : encodeBytea(v);
        } else {
          fields[k] = encodeNumber(c.type, data[i]);
        }
      }
      lines.push(fields.join('\t'));
    }
    yield lines.join('\n') + '\n';
  }
}
