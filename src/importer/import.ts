// `talab import`: parse → resolve asset → diff against what is stored → one transaction per file that
// upserts new and changed days, records revisions/backfills for the refresh, and logs rejects.
import { basename } from 'node:path';
import { importRejects, priceChanges, priceHistories } from '../schema/tables.js';
import type { RowBatch } from '../columnar/columns.js';
import { importKey } from '../store/locks.js';
import type { Store } from '../store/store.js';
import { resolveAsset, type AssetRef } from './assets.js';
import { parseSourceFile, type ParsedFile, type Reject, type SourceRow } from './parse.js';
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
  /** What reject numbers count: lines of a text file, data rows of a Parquet file. */
  unit: 'line' | 'row';
  asset: AssetRef;
  /** The asset builds bars without market cap (its source has none). */
  marketCapOptional: boolean;
  unknownColumns: string[];
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

/** A one-asset file (every format but the multi-asset long layout) into its asset. */
export async function importFile(store: Store, path: string, opts: ImportOptions = {}): Promise<FileReport> {
  const parsed = await parseSourceFile(path, { allowEarly: opts.allowEarly });
  if (parsed.multiAsset) {
    throw new UserError(`${path}: has a symbol column (several assets); import it with importSource`);
  }
  const asset = await resolveAsset(store, path, opts);
  return importRows(store, path, parsed, asset, parsed.rows, parsed.rejects, opts);
}

/**
 * Any source file: one report per asset. A multi-asset long file (date,symbol,open,…) resolves each symbol as
 * --symbol would (a stored asset, a built-in coin, else a new local asset) and imports each asset's rows in its
 * own transaction. A reject whose symbol could not be read is kept with the file's first asset.
 */
export async function importSource(store: Store, path: string, opts: ImportOptions = {}): Promise<FileReport[]> {
  const parsed = await parseSourceFile(path, { allowEarly: opts.allowEarly });
  if (!parsed.multiAsset) return [await importRows(store, path, parsed, await resolveAsset(store, path, opts), parsed.rows, parsed.rejects, opts)];
  if (opts.id !== undefined || opts.symbol !== undefined) {
    throw new UserError(`${path}: the file names its assets in its symbol column; --id and --symbol do not apply to it`);
  }
  const symbols = [...new Set([...parsed.rows.map((r) => r.symbol!), ...parsed.rejects.flatMap((r) => (r.symbol ? [r.symbol] : []))])].sort();
  if (symbols.length === 0) {
    const first = parsed.rejects[0];
    throw new UserError(`${path}: no row has a readable symbol${first ? ` (${parsed.unit} ${first.line}: ${first.reason})` : ''}`);
  }
  const reports: FileReport[] = [];
  for (const sym of symbols) {
    const asset = await resolveAsset(store, path, { symbol: sym, force: opts.force });
    const rejects = parsed.rejects.filter((r) => r.symbol === sym || (!r.symbol && sym === symbols[0]));
    reports.push(await importRows(store, path, parsed, asset, parsed.rows.filter((r) => r.symbol === sym), rejects, opts));
  }
  return reports;
}

async function importRows(
  store: Store, path: string, parsed: ParsedFile, asset: AssetRef, rows: SourceRow[], rejects: Reject[], opts: ImportOptions,
): Promise<FileReport> {
  const file = basename(path);
  const report: FileReport = {
    file: path, format: parsed.format, unit: parsed.unit, asset, marketCapOptional: !parsed.hasMarketCap,
    unknownColumns: parsed.unknownColumns, read: parsed.multiAsset ? rows.length + rejects.length : parsed.lines,
    inserted: 0, revised: 0, deleted: 0, unchanged: 0, rejected: rejects.length, rejects, warnings: [...parsed.warnings],
    firstDay: rows.length ? iso(rows[0].ts) : null, lastDay: rows.length ? iso(rows[rows.length - 1].ts) : null,
    changedFrom: null,
  };

  if (opts.replace && rows.length === 0) {
    throw new UserError(`${path}: no valid rows; --replace with it would delete the whole stored history of ${asset.symbol} (id ${asset.id}). Nothing written`);
  }
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
    // A source has market cap for this asset when its column exists and holds at least one value for it.
    const hasMarketCap = parsed.hasMarketCap && rows.some((r) => !Number.isNaN(r.marketCap));
    const flip = await marketCapRule(store, path, asset, hasMarketCap, lo !== null, opts.force);
    report.marketCapOptional = flip.optional;
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
    // Making market cap optional changes which stored days the 1D builder accepts: rebuild from the first.
    if (flip.changed && lo !== null && !changes.some((c) => c.ts === lo)) changes.push({ ts: lo, kind: 'revision' });
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
      `INSERT INTO dim_assets (id, symbol, name, source, market_cap_optional) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET symbol = excluded.symbol, name = coalesce(dim_assets.name, excluded.name),
       market_cap_optional = excluded.market_cap_optional, updated_at = now()`,
      [asset.id, asset.symbol, asset.name, file, flip.optional],
    );
    await store.upsert(priceHistories, historyBatch(asset.id, file, write));
    await deleteDays(store, asset.id, gone);
    await recordChanges(store, asset.id, changes, detectedAt, file);
    if (rejects.length) {
      const rj = rejects;
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

/**
 * Whether the asset builds bars without market cap after this import. An asset's first rows decide: a source
 * without a market cap column makes it optional. Later, a file without market cap over an asset whose stored days
 * have one would leave every new day rejected, so it stops unless forced, and forcing makes market cap optional
 * for the whole asset (`changed`: its bars are rebuilt). A file with market cap into an optional asset keeps it
 * optional: its values are stored, and its empty ones stay accepted.
 */
async function marketCapRule(
  store: Store, path: string, asset: AssetRef, fileHasMarketCap: boolean, hasRows: boolean, force?: boolean,
): Promise<{ optional: boolean; changed: boolean }> {
  const cur = await store.query<{ o: boolean | null }>('SELECT market_cap_optional AS o FROM dim_assets WHERE id = $1', [asset.id]);
  const stored = cur.length ? !!cur[0].o : null;
  if (!hasRows || stored === null) return { optional: !fileHasMarketCap, changed: false };
  if (stored || fileHasMarketCap) return { optional: stored, changed: false };
  if (!force) {
    throw new UserError(
      `${path}: has no market cap for ${asset.symbol}, but its stored days (id ${asset.id}) have one, so the daily bar builder ` +
        'would reject every day of this file. Nothing written; import it as another asset (--symbol), or pass --force to make market cap optional for this asset',
    );
  }
  return { optional: true, changed: true };
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

