// Exclusion between `talab refresh` and `talab baseline` on one database schema. Refreshes share the lock
// (they exclude each other per asset or shard by their own means); a baseline takes it exclusively,
// because it deletes and rebuilds rows that a refresh would be writing. On PostgreSQL this is a session
// advisory lock, released at the end of the run or when the connection dies (a killed run leaves no lock
// behind). On DuckDB the file admits one writing process, which already excludes the two.
import type { Store } from '../store/store.js';
import { EXIT, UserError } from '../util/errors.js';

export type RunKind = 'refresh' | 'baseline';

const KEY_SQL = "hashtext('talab-run:' || current_schema())";

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
  if (store.dialect !== 'postgres') return async () => undefined;
  const [tryFn, unlockFn] = kind === 'baseline'
    ? ['pg_try_advisory_lock', 'pg_advisory_unlock'] : ['pg_try_advisory_lock_shared', 'pg_advisory_unlock_shared'];
  const deadline = Date.now() + Math.max(0, opts.waitSeconds ?? 0) * 1000;
  let told = false;
  for (;;) {
    const r = await store.query<{ ok: boolean }>(`SELECT ${tryFn}(${KEY_SQL}) AS ok`);
    if (r[0].ok) break;
    if (Date.now() >= deadline) throw new UserError(busyMessage(kind), EXIT.database);
    if (!told) {
      opts.onWait?.(`${busyMessage(kind).split(';')[0]}; waiting up to ${opts.waitSeconds} s for it`);
      told = true;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  return async () => {
    await store.query(`SELECT ${unlockFn}(${KEY_SQL}) AS ok`).catch(() => undefined);
  };
}
