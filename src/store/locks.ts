// The one lock API. Every exclusion talab needs between runs goes through Store.lock with a key from here:
//   run          refresh (shared) against baseline (exclusive) on one database schema;
//   run:<id>     held by a live refresh run for its lifetime, so a `running` ledger row without it is a leftover;
//   asset:<id>   one refresh at a time works on an asset, whatever its shard layout or selection;
//   import:<id>  imports of one asset take turns, so its change records are dated in commit order.
// PostgreSQL: advisory locks on a 64-bit hash of the key and the current schema — session locks live until
// released or until the connection ends (a killed run leaves none behind), transaction locks until its
// commit or rollback. Keys are taken one by one in the order given, so callers that take several keys and
// may wait take them in ascending order and never deadlock among themselves.
// DuckDB: a file admits one writing process, which already keeps other processes out; the locks only have
// to order the sessions of this process, so they are kept in memory per open database.

export interface LockOptions {
  /** Shared holders admit each other and keep exclusive ones out. */
  shared?: boolean;
  /** false: do not wait; resolve null at once if any key is busy (default: wait). */
  wait?: boolean;
  /** 'transaction': released by the commit or rollback of the caller's open transaction (default: 'session'). */
  scope?: 'session' | 'transaction';
}

export interface HeldLock {
  /** Let go of the keys (a transaction lock is let go by its transaction; release is then a no-op). */
  release(): Promise<void>;
  /** The database's clock (epoch ms) once every key was granted. */
  at: number;
}

export const RUN_LOCK = 'run';
export const runLiveKey = (runId: string) => `run:${runId}`;
export const assetKey = (id: number) => `asset:${id}`;
export const importKey = (id: number) => `import:${id}`;
