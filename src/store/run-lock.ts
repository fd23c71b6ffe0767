// Exclusion between `talab refresh` and `talab baseline` on one database schema. Refreshes share the lock
// (they exclude each other per asset by their own locks); a baseline takes it exclusively, because it deletes
// and rebuilds rows that a refresh would be writing. It is a session lock (store/locks.ts): released at the
// end of the run or when the connection dies, so a killed run leaves no lock behind.
import { RUN_LOCK } from './locks.js';
import type { Store } from './store.js';
import { EXIT, UserError } from '../util/errors.js';

export type RunKind = 'refresh' | 'baseline';

export interface RunLockOptions {
  /** Seconds to wait for the lock before giving up (0: refuse at once). */
  waitSeconds?: number;
  /** Called once when the lock is busy and the run starts waiting. */
  onWait?: (message: string) => void;
}

function busyMessage(kind: RunKind): string {
  return kind === 'baseline'
    ? 'a talab refresh is running on this database; the baseline did not start (nothing was changed): wait for the refresh to finish, or pass --wait <seconds>'
    : 'a talab baseline is running on this database; the refresh did not start: wait for the baseline to finish';
}

/** Take the run lock for `kind`; returns its release. Throws a UserError (exit 3, locked) when it stays busy. */
export async function acquireRunLock(store: Store, kind: RunKind, opts: RunLockOptions = {}): Promise<() => Promise<void>> {
  const deadline = Date.now() + Math.max(0, opts.waitSeconds ?? 0) * 1000;
  let told = false;
  for (;;) {
    const held = await store.lock(RUN_LOCK, { shared: kind === 'refresh', wait: false });
    if (held) return () => held.release();
    if (Date.now() >= deadline) throw new UserError(busyMessage(kind), EXIT.database);
    if (!told) {
      opts.onWait?.(`${busyMessage(kind).split(';')[0]}; waiting up to ${opts.waitSeconds} s for it`);
      told = true;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}
