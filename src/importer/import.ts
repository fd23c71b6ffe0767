// `talab import`: parse → resolve asset → diff against what is stored → one transaction per file that
// upserts new and changed days, records revisions/backfills for the refresh, and logs rejects.
import { basename } from 'node:path';
import { importRejects, priceChanges, priceHistories } from '../schema/tables.js';
import type { RowBatch } from '../columnar/columns.js';
import type { Store } from '../store/store.js';
import { lockAssetForImport } from '../refresh/asset-lock.js';
import { resolveAsset, type AssetRef } from './assets.js';
import { parseSourceFile, type Reject, type SourceRow } from './parse.js';
import { UserError } from '../util/errors.js';

export interface ImportOptions {
  id?: number;
  symbol?: string;
  dryRun?: boolean;
  /** Accept crypto rows dated before the Bitcoin genesis block. */
  allowEarly?: boolean;
  /** Go ahead although the asset's identity contradicts what is stored, or most stored days would be revised. */
  force?: boolean;
  /** The file is the asset's whole history: stored days absent from it are deleted. */
  replace?: boolean;
}

/** An import revising more stored days than this share (and more than REVISE_FREE days) is most likely the
 * wrong asset's file; it stops unless forced. Routine corrections touch a handful of days. */
export const REVISE_SHARE = 0.1;
export const REVISE_FREE = 5;

export interface FileReport {
  file: string;
  format: string;
  asset: AssetRef;
  read: number;
  inserted: number;
  revised: number;
  /** Stored days absent from the file, deleted (--replace only). */
  deleted: number;
  unchanged: number;
  rejected: number;
  rejects: Reject[];
  warnings: string[];
  firstDay: string | null;
  lastDay: string | null;
  /** Earliest day whose change requires the refresh to recompute (revision, backfill or gap fill). */
  changedFrom: string | null;
}

const VALUE_FIELDS = [
  ['time_open', 'timeOpen'], ['time_close', 'timeClose'], ['time_high', 'timeHigh'], ['time_low', 'timeLow'],
  ['open', 'open'], ['high', 'high'], ['low', 'low'], ['close', 'close'], ['volume', 'volume'],
  ['market_cap', 'marketCap'], ['circulating_supply', 'circulatingSupply'],
] as const;

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function sameValue(a: unknown, b: number): boolean {
  const x = a === null || a === undefined ? NaN : Number(a);
  return Number.isNaN(x) ? Number.isNaN(b) : x === b;
}

export async function importFile(store: Store, path: string, opts: ImportOptions = {}): Promise<FileReport> {
  const parsed = await parseSourceFile(path, { allowEarly: opts.allowEarly });
  const asset = await resolveAsset(store, path, opts);
  const file = basename(path);
  const rows = parsed.rows;
  const report: FileReport = {
    file: path, format: parsed.format, asset, read: parsed.lines, inserted: 0, revised: 0, deleted: 0, unchanged: 0,
    rejected: parsed.rejects.length, rejects: parsed.rejects, warnings: parsed.warnings,
    firstDay: rows.length ? iso(rows[0].ts) : null, lastDay: rows.length ? iso(rows[rows.length - 1].ts) : null,
    changedFrom: null,
  };

  if (opts.replace && rows.length === 0) {
    throw new UserError(`${path}: no valid rows; --replace with it would delete the whole stored history of ${asset.symbol} (id ${asset.id}). Nothing written`);
  }
  await store.transaction(async () => {
    // Taken before the diff reads, so a concurrent import of the same asset is diffed against this one's rows.
    const detectedAt = await lockAssetForImport(store, asset.id);
    const bounds = await store.query<{ lo: number | null; hi: number | null }>(
      'SELECT min(ts) AS lo, max(ts) AS hi FROM price_histories WHERE id = $1', [asset.id],
    );
    const lo = bounds[0]?.lo ?? null;
    const hi = bounds[0]?.hi ?? null;
    const existing = new Map<number, Record<string, unknown>>();
    if (rows.length && lo !== null) {
      const stored = await store.query(
        `SELECT ts, ${VALUE_FIELDS.map(([c]) => c).join(', ')} FROM price_histories
         WHERE id = $1 AND ts >= $2::timestamptz AND ts <= $3::timestamptz`,
        [asset.id, new Date(rows[0].ts).toISOString(), new Date(rows[rows.length - 1].ts).toISOString()],
      );
      for (const s of stored) existing.set(s.ts as number, s);
    }
    const write: SourceRow[] = [];
    const changes: { ts: number; kind: string }[] = [];
    for (const r of rows) {
      const old = existing.get(r.ts);
      if (!old) {
        write.push(r);
        report.inserted++;
        if (lo !== null && r.ts < lo) changes.push({ ts: r.ts, kind: 'backfill' });
        else if (hi !== null && r.ts < hi) changes.push({ ts: r.ts, kind: 'gapfill' });
      } else if (VALUE_FIELDS.every(([c, f]) => sameValue(old[c], r[f]))) {
        report.unchanged++;
      } else {
        write.push(r);
        report.revised++;
        changes.push({ ts: r.ts, kind: 'revision' });
      }
    }
    // --replace: the stored days the file does not have go (the rows outside its range were not read above).
    const gone: number[] = [];
    if (opts.replace && lo !== null) {
      const inFile = new Set(rows.map((r) => r.ts));
      const all = await store.query<{ ts: number }>('SELECT ts FROM price_histories WHERE id = $1', [asset.id]);
      for (const { ts } of all) if (!inFile.has(Number(ts))) gone.push(Number(ts));
      report.deleted = gone.length;
      for (const ts of gone) changes.push({ ts, kind: 'deletion' });
    }
    if (changes.length) report.changedFrom = iso(Math.min(...changes.map((c) => c.ts)));
    if (!opts.force && report.revised + report.deleted > REVISE_FREE) {
      const n = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_histories WHERE id = $1', [asset.id]);
      const stored = Number(n[0]?.n ?? 0);
      if (report.revised + report.deleted > REVISE_SHARE * stored) {
        const what = report.deleted ? `revise ${report.revised} and delete ${report.deleted}` : `revise ${report.revised}`;
        throw new UserError(
          `${path}: would ${what} of the ${stored} stored days of ${asset.symbol} (id ${asset.id}), ` +
            `more than ${REVISE_SHARE * 100} %: is this the right asset? Nothing written; pass --force if it is`,
        );
      }
    }
    if (opts.dryRun) return;

    await store.exec(
      `INSERT INTO dim_assets (id, symbol, name, source) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET symbol = excluded.symbol, name = coalesce(dim_assets.name, excluded.name),
       updated_at = now()`,
      [asset.id, asset.symbol, asset.name, file],
    );
    await store.upsert(priceHistories, historyBatch(asset.id, file, write));
    await deleteDays(store, asset.id, gone);
    await recordChanges(store, asset.id, changes, detectedAt, file);
    if (parsed.rejects.length) {
      const rj = parsed.rejects;
      await store.upsert(importRejects, {
        length: rj.length,
        cols: {
          id: Int32Array.from(rj, () => asset.id),
          source_file: rj.map(() => file),
          source_line: Int32Array.from(rj, (r) => r.line),
          rejected_at: new Float64Array(rj.length).fill(Date.now()),
          reason: rj.map((r) => r.reason),
          raw: rj.map((r) => r.raw.slice(0, 1000)),
        },
      });
    }
  });
  return report;
}

/** Delete these days (epoch ms) of one asset's price_histories, a few hundred per statement. */
export async function deleteDays(store: Store, id: number, days: readonly number[]): Promise<void> {
  for (let i = 0; i < days.length; i += 500) {
    const part = days.slice(i, i + 500);
    await store.exec(
      `DELETE FROM price_histories WHERE id = $1 AND ts IN (${part.map((_, k) => `$${k + 2}::timestamptz`).join(', ')})`,
      [id, ...part.map((d) => new Date(d).toISOString())],
    );
  }
}

/** Record changes for the next refresh (every one kept for audit; the refresh needs the earliest unconsumed one). */
export async function recordChanges(store: Store, id: number, changes: readonly { ts: number; kind: string }[], detectedAt: number, file: string | null): Promise<void> {
  if (!changes.length) return;
  await store.upsert(priceChanges, {
    length: changes.length,
    cols: {
      id: Int32Array.from(changes, () => id),
      ts: Float64Array.from(changes, (c) => c.ts),
      detected_at: Float64Array.from(changes, () => detectedAt),
      kind: changes.map((c) => c.kind),
      source_file: changes.map(() => file),
      consumed_at: new Float64Array(changes.length).fill(NaN),
    },
  });
}

function historyBatch(id: number, file: string, rows: SourceRow[]): RowBatch {
  const n = rows.length;
  const f64 = (f: (r: SourceRow) => number) => Float64Array.from(rows, f);
  return {
    length: n,
    cols: {
      id: new Int32Array(n).fill(id),
      ts: f64((r) => r.ts),
      time_open: f64((r) => r.timeOpen),
      time_close: f64((r) => r.timeClose),
      time_high: f64((r) => r.timeHigh),
      time_low: f64((r) => r.timeLow),
      src_name: rows.map((r) => r.srcName),
      open: f64((r) => r.open),
      high: f64((r) => r.high),
      low: f64((r) => r.low),
      close: f64((r) => r.close),
      volume: f64((r) => r.volume),
      market_cap: f64((r) => r.marketCap),
      circulating_supply: f64((r) => r.circulatingSupply),
      source_file: rows.map(() => file),
      source_line: Int32Array.from(rows, (r) => r.line),
    },
  };
}

