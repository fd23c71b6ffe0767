// Retry of batch loads (the original declared it but never applied it): the intended policy made explicit — truncated exponential
// backoff with full jitter (before retry n sleep U[0, min(initial·multiplierⁿ, max)]), an overall deadline
// checked between attempts, and retries on transient errors only. p-retry's randomisation is a [1, 2]
// factor, not full jitter, and it has no deadline, hence this small loop with an injectable clock.

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** Overall budget from the first attempt; a sleep that would pass it ends the retries. */
  deadlineMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialMs: 1000, maxMs: 60_000, multiplier: 2, deadlineMs: 300_000 };

export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Uniform in [0, 1). */
  random(): number;
}

export const REAL_CLOCK: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  random: () => Math.random(),
};

export type ErrorClass = { transient: true; why: string } | { transient: false; why: string };

// PostgreSQL SQLSTATEs worth another attempt: serialization failure, deadlock, lock not available,
// connection exceptions (class 08), operator intervention (shutdown, cannot connect now), statement timeout
// (57014), too many connections.
const PG_TRANSIENT = new Set(['40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '53300']);
const NODE_TRANSIENT = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EAI_AGAIN',
]);
const MESSAGE_TRANSIENT: [RegExp, string][] = [
  [/\bconnection (terminated|reset|refused|closed)|terminating connection|Connection terminated unexpectedly/i, 'connection lost'],
  [/\btime(d)? ?out\b|timed out/i, 'timeout'],
  // DuckDB: optimistic-concurrency conflicts and a database file held by another process.
  [/write-write conflict|\bConflict on (tuple|update)|\bTransaction conflict/i, 'DuckDB transaction conflict'],
  [/Could not set lock on file|IO Error:.*lock/i, 'DuckDB file lock'],
];

/** Transient = worth retrying unchanged. Anything not recognised as transient is permanent: never retried. */
export function classifyError(e: unknown): ErrorClass {
  const err = e as { code?: unknown; message?: unknown; transient?: unknown };
  if (typeof err?.transient === 'boolean') {
    return err.transient ? { transient: true, why: 'marked transient' } : { transient: false, why: 'marked permanent' };
  }
  const code = typeof err?.code === 'string' ? err.code : '';
  if (PG_TRANSIENT.has(code) || code.startsWith('08')) return { transient: true, why: `SQLSTATE ${code}` };
  if (NODE_TRANSIENT.has(code)) return { transient: true, why: code };
  if (/^[0-9A-Z]{5}$/.test(code)) return { transient: false, why: `SQLSTATE ${code}` };
  const msg = typeof err?.message === 'string' ? err.message : String(e);
  // DuckDB's error classes for bad SQL, schema and data: retrying the same batch cannot help.
  const duck = /^(Binder|Parser|Catalog|Constraint|Conversion|Invalid Input|Not implemented|Out of Range|Type Mismatch|Invalid Error) Error/.exec(msg);
  if (duck) return { transient: false, why: `DuckDB ${duck[1]} Error` };
  for (const [re, why] of MESSAGE_TRANSIENT) if (re.test(msg)) return { transient: true, why };
  return { transient: false, why: 'not a known transient error' };
}

export class RetryDeadlineError extends Error {
  constructor(readonly lastError: unknown, readonly attempts: number, deadlineMs: number) {
    super(`gave up after ${attempts} attempt(s): retry deadline of ${deadlineMs / 1000} s reached; last error: ${
      (lastError as Error)?.message ?? String(lastError)
    }`);
    this.name = 'RetryDeadlineError';
  }
}

export class PermanentError extends Error {
  constructor(override readonly cause: unknown, readonly attempts: number, readonly why: string) {
    super((cause as Error)?.message ?? String(cause));
    this.name = 'PermanentError';
  }
}

export interface RetryEvent {
  attempt: number;
  error: unknown;
  why: string;
  sleepMs: number;
}

/** Run fn until it succeeds, a permanent error occurs, or the next sleep would pass the deadline. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  clock: RetryClock = REAL_CLOCK,
  onRetry?: (e: RetryEvent) => void,
): Promise<{ value: T; attempts: number }> {
  const start = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(attempt), attempts: attempt };
    } catch (e) {
      const cls = classifyError(e);
      if (!cls.transient) throw new PermanentError(e, attempt, cls.why);
      const cap = Math.min(policy.initialMs * policy.multiplier ** (attempt - 1), policy.maxMs);
      const sleepMs = clock.random() * cap;
      if (clock.now() + sleepMs > start + policy.deadlineMs) throw new RetryDeadlineError(e, attempt, policy.deadlineMs);
      onRetry?.({ attempt, error: e, why: cls.why, sleepMs });
      await clock.sleep(sleepMs);
    }
  }
}
