// The run ledger for `talab runs`: refresh runs come from refresh_runs (written by the refresh itself),
// import, daily and baseline runs from the `runs` table written here when they finish.
import { randomUUID } from 'node:crypto';
import { q } from '../schema/ddl.js';
import { opsRuns, refreshRuns } from '../schema/tables.js';
import type { Store } from '../store/store.js';

export type RunKind = 'refresh' | 'import' | 'daily' | 'baseline';
export const RUN_KINDS: readonly RunKind[] = ['refresh', 'import', 'daily', 'baseline'];

export interface RunRecord {
  run_id: string;
  kind: RunKind;
  status: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  /** Rows written (refresh: to the derived tables; import: inserted + revised; daily: both; baseline: its rebuild's). */
  rows: number | null;
  /** What failed, in one line, or null. */
  detail: string | null;
}

export async function recordRun(
  store: Store, r: { kind: Exclude<RunKind, 'refresh'>; startedAt: Date; status: 'finished' | 'failed'; rows: number; summary: unknown },
): Promise<void> {
  await store.exec(
    `INSERT INTO ${q(opsRuns.name)} (run_id, kind, started_at, finished_at, status, rows, summary) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [randomUUID(), r.kind, r.startedAt.toISOString(), new Date().toISOString(), r.status, r.rows, JSON.stringify(r.summary)],
  );
}

const toMs = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  const n = Date.parse(String(v));
  return Number.isFinite(n) ? n : null;
};

function refreshDetail(summary: string | null): { rows: number | null; detail: string | null } {
  if (!summary) return { rows: null, detail: null };
  try {
    const comps = JSON.parse(summary) as { component: string; rows: Record<string, number>; failed: { id: number; reason: string }[] }[];
    const rows = comps.reduce((s, c) => s + Object.values(c.rows).reduce((a, b) => a + Number(b), 0), 0);
    const failed = comps.flatMap((c) => c.failed.map((f) => `${c.component} ${f.id}: ${f.reason}`));
    return { rows, detail: failed.length ? `${failed.length} failed — ${failed[0]}` : null };
  } catch {
    return { rows: null, detail: null };
  }
}

/** The newest runs first, every kind together. */
export async function listRuns(store: Store, opts: { limit: number; kind?: RunKind }): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  if (!opts.kind || opts.kind === 'refresh') {
    const rows = await store.query<{ run_id: string; started_at: unknown; finished_at: unknown; status: string; summary: string | null }>(
      `SELECT run_id, started_at, finished_at, status, summary FROM ${q(refreshRuns.name)} ORDER BY started_at DESC LIMIT ${opts.limit}`,
    );
    for (const r of rows) {
      const s = toMs(r.started_at)!;
      const f = toMs(r.finished_at);
      out.push({ run_id: r.run_id, kind: 'refresh', status: r.status, started_at: new Date(s).toISOString(), finished_at: f === null ? null : new Date(f).toISOString(), duration_ms: f === null ? null : f - s, ...refreshDetail(r.summary) });
    }
  }
  if (opts.kind !== 'refresh') {
    const rows = await store.query<{ run_id: string; kind: RunKind; started_at: unknown; finished_at: unknown; status: string; rows: number; summary: string | null }>(
      `SELECT run_id, kind, started_at, finished_at, status, rows, summary FROM ${q(opsRuns.name)}${opts.kind ? ` WHERE kind = $1` : ''} ORDER BY started_at DESC LIMIT ${opts.limit}`,
      opts.kind ? [opts.kind] : [],
    );
    for (const r of rows) {
      const s = toMs(r.started_at)!;
      const f = toMs(r.finished_at)!;
      let detail: string | null = null;
      try {
        detail = (JSON.parse(r.summary ?? 'null') as { detail?: string } | null)?.detail ?? null;
      } catch { /* a summary written by hand: no detail */ }
      out.push({ run_id: r.run_id, kind: r.kind, status: r.status, started_at: new Date(s).toISOString(), finished_at: new Date(f).toISOString(), duration_ms: f - s, rows: Number(r.rows), detail });
    }
  }
  return out.sort((a, b) => b.started_at.localeCompare(a.started_at)).slice(0, opts.limit);
}
