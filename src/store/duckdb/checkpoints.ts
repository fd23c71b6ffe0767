// DuckDB's checkpoint policy during a bulk run (Store.holdCheckpoints).
import type { Store } from '../store.js';

/**
 * For the length of a run, checkpoints happen where the run decides (the refresh runner's checkpoint gate, and at the end)
 * instead of each time the WAL passes DuckDB's checkpoint_threshold (16 MB). Every checkpoint rewrites the
 * partly filled last row group of each table written to, however little was added: 25–70 ms per table, up
 * to 3 s per checkpoint at 100 × 3,000. A daily run of 1,000 assets writes ~200 MB of WAL, so under the
 * default it paid that about twelve times. At the end the run checkpoints once if its WAL has reached the
 * threshold, as DuckDB would have; a smaller WAL is left to the next checkpoint (a closing CLI makes one).
 * Returns the restore.
 */
export async function holdCheckpoints(store: Store): Promise<() => Promise<number>> {
  const r = await store.query<{ v: string }>("SELECT current_setting('checkpoint_threshold') AS v");
  const threshold = r[0].v;
  await store.exec("SET checkpoint_threshold = '1TB'");
  return async () => {
    const wal = await store.query<{ n: number }>("SELECT wal_size AS n FROM pragma_database_size() WHERE database_name = current_database()");
    const t0 = Date.now();
    // A failed checkpoint loses nothing (the data is committed); DuckDB retries at the next one.
    if (walBytes(String(wal[0]?.n ?? 0)) >= walBytes(threshold)) await store.exec('CHECKPOINT').catch(() => undefined);
    const ms = Date.now() - t0;
    await store.exec(`SET checkpoint_threshold = '${threshold.replace(/'/g, "''")}'`);
    return ms;
  };
}

/** Bytes of a DuckDB size string such as '16.0 MiB' or '0 bytes'. */
function walBytes(v: string): number {
  const m = /^([\d.]+)\s*([KMGT]?i?B|bytes?)?$/i.exec(v.trim());
  if (!m) return 0;
  const unit = (m[2] ?? 'B').toUpperCase();
  const pow = { B: 0, BYTE: 0, BYTES: 0, KB: 1, KIB: 1, MB: 2, MIB: 2, GB: 3, GIB: 3, TB: 4, TIB: 4 }[unit] ?? 0;
  return Number(m[1]) * (unit.includes('I') || pow === 0 ? 1024 : 1000) ** pow;
}
