// PostgreSQL advisory locks behind Store.lock (semantics in ../locks.ts).
import type { HeldLock, LockOptions } from '../locks.js';
import type { Row } from '../store.js';

type Query = <T extends Row>(sql: string, params?: unknown[]) => Promise<T[]>;

/** One bigint per key and schema: the same name in two schemas is two locks. */
const KEY = "hashtextextended(k || '@' || current_schema(), 0)";

export async function pgLock(query: Query, keys: string[], opts: LockOptions = {}): Promise<HeldLock | null> {
  const shared = opts.shared ? '_shared' : '';
  const xact = opts.scope === 'transaction' ? '_xact' : '';
  const keyRows = 'FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i) ORDER BY i';
  if (opts.wait === false) {
    const r = await query<{ k: string; ok: boolean }>(`SELECT k, pg_try_advisory${xact}_lock${shared}(${KEY}) AS ok ${keyRows}`, [keys]);
    if (!r.every((x) => x.ok)) {
      const got = r.filter((x) => x.ok).map((x) => x.k);
      if (!xact && got.length) await unlock(query, got, shared);
      // A transaction lock cannot be let go early; the caller's rollback does it.
      return null;
    }
  } else {
    await query(`SELECT pg_advisory${xact}_lock${shared}(${KEY}) ${keyRows}`, [keys]);
  }
  const t = await query<{ t: number }>('SELECT clock_timestamp() AS t');
  return {
    at: Number(t[0].t),
    release: xact ? async () => undefined : async () => {
      // A lost connection has let go of its session locks already.
      await unlock(query, keys, shared).catch(() => undefined);
    },
  };
}

async function unlock(query: Query, keys: string[], shared: string): Promise<void> {
  await query(`SELECT pg_advisory_unlock${shared}(${KEY}) FROM unnest($1::text[]) AS u(k)`, [keys]);
}
