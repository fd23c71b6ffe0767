// In-process locks behind Store.lock on DuckDB (semantics in ../locks.ts). A file admits one writing process,
// so only the sessions of this process can meet; they share one lock table per open database.
import type { HeldLock, LockOptions } from '../locks.js';

interface Hold {
  owner: object;
  exclusive: boolean;
}

export class LocalLocks {
  private readonly held = new Map<string, Hold[]>();
  private waiters: (() => void)[] = [];

  /** As PostgreSQL's: a session's own holds never stand in its way; others' must all be shared, as the request. */
  private free(key: string, owner: object, shared: boolean): boolean {
    return (this.held.get(key) ?? []).every((h) => h.owner === owner || (shared && !h.exclusive));
  }

  private take(key: string, owner: object, shared: boolean): Hold {
    const h = { owner, exclusive: !shared };
    const list = this.held.get(key);
    if (list) list.push(h);
    else this.held.set(key, [h]);
    return h;
  }

  private put(key: string, h: Hold): void {
    const list = this.held.get(key) ?? [];
    const i = list.indexOf(h);
    if (i >= 0) list.splice(i, 1);
    if (!list.length) this.held.delete(key);
  }

  /** A closed session lets go of everything it held, as a PostgreSQL connection does when it ends. */
  drop(owner: object): void {
    for (const [k, list] of this.held) {
      const keep = list.filter((h) => h.owner !== owner);
      if (keep.length) this.held.set(k, keep);
      else this.held.delete(k);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * `owner` is the session asking. `onRelease` receives the release of a transaction lock, for the
   * transaction's end to call.
   */
  async lock(owner: object, keys: string[], opts: LockOptions, onRelease?: (release: () => void) => void): Promise<HeldLock | null> {
    const shared = !!opts.shared;
    const holds: [string, Hold][] = [];
    if (opts.wait === false) {
      if (!keys.every((k) => this.free(k, owner, shared))) return null;
      for (const k of keys) holds.push([k, this.take(k, owner, shared)]);
    } else {
      for (const k of keys) {
        while (!this.free(k, owner, shared)) await new Promise<void>((res) => this.waiters.push(res));
        holds.push([k, this.take(k, owner, shared)]);
      }
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const [k, h] of holds) this.put(k, h);
      this.wake();
    };
    if (opts.scope === 'transaction') {
      onRelease?.(release);
      return { at: Date.now(), release: async () => undefined };
    }
    return { at: Date.now(), release: async () => release() };
  }
}
