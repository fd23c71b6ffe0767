// `talab import`: parse → resolve asset → diff against what is stored → one transaction per file that
// upserts new and changed days, records revisions/backfills for the refresh, and logs rejects.
import { basename } from 'node:path';
import { importRejects, priceChanges, priceHistories } from '../schema/tables.js';
import type { RowBatch } from '../columnar/columns.js';
import { importKey } from '../store/locks.js';
import type { Store } from '../store/store.js';
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
    file: path, format: parsed.format, asset, read: parsed.lines, inserted: 0, revised: 0, unchanged: 0,
    rejected: parsed.rejects.length, rejects: parsed.rejects, warnings: parsed.warnings,
    firstDay: rows.length ? iso(rows[0].ts) : null, lastDay: rows.length ? iso(rows[rows.length - 1].ts) : null,
    changedFrom: null,
  };

  await store.transaction(async () => {
    // Imports of one asset take turns, the lock taken before the diff reads, so a concurrent import of the
    // same asset is diffed against this one's rows. The change records are dated by the database's clock once
    // the lock is granted — later than any change committed by an import that held it before — so a refresh
    // that read the changes up to some detected_at consumes exactly those, and a change it did not see is
    // dated later and stays pending.
    const detectedAt = (await store.lock(importKey(asset.id), { scope: 'transaction' }))!.at;
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
    if (changes.length) report.changedFrom = iso(Math.min(...changes.map((c) => c.ts)));
    if (!opts.force && report.revised > REVISE_FREE) {
      const n = await store.query<{ n: number }>('SELECT count(*) AS n FROM price_histories WHERE id = $1', [asset.id]);
      const stored = Number(n[0]?.n ?? 0);
      if (report.revised > REVISE_SHARE * stored) {
        throw new UserError(
          `${path}: would revise ${report.revised} of the ${stored} stored days of ${asset.symbol} (id ${asset.id}), ` +
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
    if (changes.length) {
      // Every changed day is kept (audit); the refresh only needs the earliest unconsumed one per asset.
      const now = detectedAt;
      await store.upsert(priceChanges, {
        length: changes.length,
        cols: {
          id: Int32Array.from(changes, () => asset.id),
          ts: Float64Array.from(changes, (c) => c.ts),
          detected_at: Float64Array.from(changes, () => now),
          kind: changes.map((c) => c.kind),
          source_file: changes.map(() => file),
          consumed_at: new Float64Array(changes.length).fill(NaN),
        },
      });
    }
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

