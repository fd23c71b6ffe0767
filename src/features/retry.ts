// Retry of batch loads: the intended policy made explicit — truncated exponential
// backoff with full jitter (before retry n sleep U[0, min(initial·multiplierⁿ, max)]), an overall deadline
// checked between attempts, and retries on transient errors only. p-retry's randomisation is a [1, 2]
// factor, not full jitter, and it has no deadline, hence this small loop with an injectable clock.

import { describeError } from '../store/errors.js';

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

/** Transient = worth retrying unchanged (src/store/errors.ts decides). Anything else is never retried. */
export function classifyError(e: unknown): ErrorClass {
  const d = describeError(e);
  return d.kind === 'transient' ? { transient: true, why: d.why } : { transient: false, why: d.why };
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
