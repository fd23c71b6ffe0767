// Which database errors are worth another attempt. One list for every caller (refresh groups, import files,
// feature batches, the CLI's exit code), so that a connection lost mid-run is treated the same everywhere.
//   transient: the same work, redone on a fresh connection after a pause, can succeed (the connection was
//              lost or timed out, a serialization failure, a deadlock, a lock not granted in time, a DuckDB
//              write conflict or file lock);
//   usage:     the user asked for something that cannot work (a UserError: bad flag, bad file, refused login);
//   permanent: anything else (bad data, a constraint, a bug): retrying cannot help.
import { EXIT, UserError } from '../util/errors.js';

export type ErrorKind = 'transient' | 'permanent' | 'usage';

// PostgreSQL SQLSTATEs worth another attempt: serialization failure, deadlock, lock not available,
// connection exceptions (class 08), operator intervention (shutdown, cannot connect now), statement timeout
// (57014), too many connections.
const PG_TRANSIENT = new Set(['40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '53300']);
const NODE_TRANSIENT = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EAI_AGAIN',
]);
/**
 * DuckDB's message for a file another process holds ('IO Error: Could not set lock on file "…": Conflicting lock
 * is held in /usr/bin/python3 (PID 4242)'). "lock" as a word: "block" appears in messages about the file's
 * blocks (a corrupt block, a block size mismatch), which no wait or retry mends.
 */
const DUCKDB_FILE_LOCK = /Could not set lock on file|IO Error:.*\block\b/i;

export function isDuckDbLockMessage(msg: string): boolean {
  return DUCKDB_FILE_LOCK.test(msg);
}

const MESSAGE_TRANSIENT: [RegExp, string][] = [
  [/\bconnection (terminated|reset|refused|closed)|terminating connection|Connection terminated unexpectedly/i, 'connection lost'],
  // node-postgres, after its socket died: every later query on that client fails with one of these.
  [/Client has encountered a connection error|Client was closed and is not queryable|connection error|Connection closed|database has been closed/i, 'connection lost'],
  [/\btime(d)? ?out\b|timed out|Query read timeout|timeout exceeded when trying to connect/i, 'timeout'],
  // DuckDB: optimistic-concurrency conflicts and a database file held by another process.
  [/write-write conflict|\bConflict on (tuple|update)|\bTransaction conflict/i, 'DuckDB transaction conflict'],
  [DUCKDB_FILE_LOCK, 'DuckDB file lock'],
];

/** The kind of an error, and a few words saying why. */
export function describeError(e: unknown): { kind: ErrorKind; why: string } {
  // A database out of reach at (re)connect is an outage, not a typo: worth waiting for.
  if (e instanceof UserError) {
    return e.exitCode === EXIT.database ? { kind: 'transient', why: 'database unreachable' } : { kind: 'usage', why: 'usage error' };
  }
  const err = e as { code?: unknown; message?: unknown; transient?: unknown };
  if (typeof err?.transient === 'boolean') {
    return err.transient ? { kind: 'transient', why: 'marked transient' } : { kind: 'permanent', why: 'marked permanent' };
  }
  const code = typeof err?.code === 'string' ? err.code : '';
  if (PG_TRANSIENT.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return { kind: 'transient', why: `SQLSTATE ${code}` };
  if (NODE_TRANSIENT.has(code)) return { kind: 'transient', why: code };
  if (/^[0-9A-Z]{5}$/.test(code)) return { kind: 'permanent', why: `SQLSTATE ${code}` };
  const msg = typeof err?.message === 'string' ? err.message : String(e);
  // DuckDB's error classes for bad SQL, schema and data: retrying the same work cannot help.
  const duck = /^(Binder|Parser|Catalog|Constraint|Conversion|Invalid Input|Not implemented|Out of Range|Type Mismatch|Invalid Error) Error/.exec(msg);
  if (duck) return { kind: 'permanent', why: `DuckDB ${duck[1]} Error` };
  for (const [re, why] of MESSAGE_TRANSIENT) if (re.test(msg)) return { kind: 'transient', why };
  return { kind: 'permanent', why: 'not a known transient error' };
}

export function classifyError(e: unknown): ErrorKind {
  return describeError(e).kind;
}

/** Attempts of one unit of work (a refresh group, an imported file) before the run gives up. */
export function retryAttempts(env: NodeJS.ProcessEnv = process.env): number {
  return envInt(env, 'TALAB_RETRY_ATTEMPTS', 3, 1);
}

/** First pause between attempts (doubles each time, with jitter). */
export function retryMinMs(env: NodeJS.ProcessEnv = process.env): number {
  return envInt(env, 'TALAB_RETRY_MIN_MS', 1000, 0);
}

function envInt(env: NodeJS.ProcessEnv, key: string, def: number, min: number): number {
  const v = env[key];
  if (v === undefined || v.trim() === '') return def;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > 1_000_000) {
    throw new UserError(`${key} must be a whole number between ${min} and 1000000, got '${v}'`);
  }
  return Number(v);
}
