// Redo a unit of work (a refresh step's uncommitted assets, an imported file, a ledger write) after a transient
// database error: exponential backoff with jitter from TALAB_RETRY_MIN_MS, at most TALAB_RETRY_ATTEMPTS
// attempts, a reconnect before each new attempt (its own failure counts as a failed attempt). Permanent and
// usage errors go straight through.
import pRetry from 'p-retry';
import { describeError, retryAttempts, retryMinMs } from './errors.js';

export interface RetryHooks {
  /** Before attempt 2, 3, …: a new session (and whatever it must hold again, such as locks). */
  reconnect?: () => Promise<void>;
  /** An attempt failed and another follows. */
  onRetry?: (info: { attempt: number; attempts: number; why: string; error: unknown }) => void;
  /** No new attempt once this is aborted. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export function retryTransient<T>(fn: (attempt: number) => Promise<T>, hooks: RetryHooks = {}): Promise<T> {
  const attempts = retryAttempts(hooks.env);
  const again = (e: unknown) => describeError(e).kind === 'transient' && !hooks.signal?.aborted;
  return pRetry(async (n) => {
    if (n > 1) await hooks.reconnect?.();
    return fn(n);
  }, {
    retries: attempts - 1, minTimeout: retryMinMs(hooks.env), factor: 2, randomize: true,
    shouldRetry: again,
    onFailedAttempt: (e) => {
      if (e.retriesLeft > 0 && again(e)) hooks.onRetry?.({ attempt: e.attemptNumber, attempts, why: describeError(e).why, error: e });
    },
  });
}
