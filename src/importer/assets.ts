// Which asset a file belongs to: --id/--symbol, else the file name (the CMC export convention
// "Bitcoin_1_1_2010-…_historical_data_coinmarketcap.csv", or our "bitcoin.csv" / "bitcoin__extra.csv").
import { basename } from 'node:path';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';

export interface AssetRef {
  id: number;
  symbol: string;
  name: string;
}

// CoinMarketCap ids of common coins.
const KNOWN: [string, number, string][] = [
  ['bitcoin', 1, 'BTC'], ['litecoin', 2, 'LTC'], ['xrp', 52, 'XRP'], ['dogecoin', 74, 'DOGE'],
  ['maidsafecoin', 291, 'MAID'], ['tether', 825, 'USDT'], ['ethereum', 1027, 'ETH'], ['bnb', 1839, 'BNB'],
  ['tron', 1958, 'TRX'], ['chainlink', 1975, 'LINK'], ['cardano', 2010, 'ADA'], ['wrapped bitcoin', 3717, 'WBTC'],
  ['polygon', 3890, 'MATIC'], ['solana', 5426, 'SOL'], ['avalanche', 5805, 'AVAX'], ['shiba inu', 5994, 'SHIB'],
  ['polkadot', 6636, 'DOT'], ['toncoin', 11419, 'TON'], ['arbitrum', 11841, 'ARB'], ['worldcoin', 13502, 'WLD'],
  ['sui', 20947, 'SUI'], ['sei', 23149, 'SEI'], ['mantle', 27075, 'MNT'], ['hyperliquid', 32196, 'HYPE'],
];
const BY_NAME = new Map(KNOWN.map(([n, id, s]) => [n, { id, symbol: s, name: n }]));

/** "Wrapped Bitcoin_11_09_2022-…" → "wrapped bitcoin"; "bitcoin__cmc_raw_2010.csv" → "bitcoin";
 * "BTCUSDT-1d-2024-01.csv" (a Binance dump) → "btcusdt". */
export function assetNameFromFile(path: string): string {
  const stem = basename(path).replace(/\.[^.]+$/, '').split('__')[0];
  const tokens = stem.split(/[_\s-]+/); // "BTCUSDT-1d-2024-01" → "btcusdt": the name stops at the first number
  const kept: string[] = [];
  for (const t of tokens) {
    if (/^\d/.test(t)) break;
    kept.push(t);
  }
  return kept.join(' ').replace(/[-\s]+/g, ' ').trim().toLowerCase();
}

/** Ids talab gives assets it creates itself (a coin or ticker without a CoinMarketCap id). CoinMarketCap ids
 * are below 100,000 today; this range starts at one billion so the two can never meet, and still fits the
 * 32-bit id column. */
export const LOCAL_ID_MIN = 1_000_000_000;
export const LOCAL_ID_MAX = 2_147_483_647;

const BY_SYMBOL = new Map(KNOWN.map(([n, id, s]) => [s, { id, symbol: s, name: n }]));

export interface ResolveFlags {
  id?: number;
  symbol?: string;
  /** Accept an --id whose stored (or known) symbol/name differs from what this import says. */
  force?: boolean;
}

type Stored = { id: number; symbol: string; name: string | null };

async function nextLocalId(store: Store): Promise<number> {
  const r = await store.query<{ hi: number | null }>('SELECT max(id) AS hi FROM dim_assets WHERE id >= $1', [LOCAL_ID_MIN]);
  const hi = r[0]?.hi === null || r[0]?.hi === undefined ? LOCAL_ID_MIN - 1 : Number(r[0].hi);
  if (hi >= LOCAL_ID_MAX) throw new UserError(`no local asset id left (range ${LOCAL_ID_MIN}..${LOCAL_ID_MAX} used up)`);
  return hi + 1;
}

/** A symbol made from a name when the file gives nothing else: "shiba inu" → "SHIBAINU". */
function symbolFromName(name: string): string {
  return name.replace(/[^a-z0-9]/gi, '').toUpperCase().slice(0, 16);
}

/**
 * Which asset a file belongs to. --id: that id (CoinMarketCap's, or a local one), refusing without --force a
 * symbol or name that contradicts what is stored or known for it. --symbol alone: the stored asset with that
 * symbol, else a built-in coin, else a new local asset. Neither: the same by the file's name. A new local asset
 * is created only by an import that writes (the caller upserts dim_assets).
 */
export async function resolveAsset(store: Store, path: string, flags: ResolveFlags): Promise<AssetRef & { isNew: boolean }> {
  const fileName = assetNameFromFile(path);
  const wantSymbol = flags.symbol?.trim().toUpperCase();
  if (wantSymbol !== undefined && !/^[A-Z0-9._-]{1,32}$/.test(wantSymbol)) {
    throw new UserError(`--symbol '${flags.symbol}': use 1-32 letters, digits, '.', '_' or '-'`);
  }
  if (flags.id !== undefined) {
    const existing = (await store.query<Stored>('SELECT id, symbol, name FROM dim_assets WHERE id = $1', [flags.id]))[0];
    const known = [...BY_NAME.values()].find((k) => k.id === flags.id);
    const owner = existing ? { symbol: existing.symbol, name: existing.name ?? '' } : known;
    if (owner && !flags.force) {
      const where = existing ? 'stored as' : "is CoinMarketCap's";
      if (wantSymbol && wantSymbol !== owner.symbol.toUpperCase()) {
        throw new UserError(
          `${path}: id ${flags.id} ${where} ${owner.symbol} (${owner.name}), not ${wantSymbol}; this would overwrite another asset. ` +
            'Check --id, or pass --force to rename it',
        );
      }
      const otherStored = (await store.query<Stored>('SELECT id, symbol, name FROM dim_assets WHERE lower(name) = $1 AND id <> $2', [fileName, flags.id]))[0];
      const fileOwner = otherStored ?? BY_NAME.get(fileName);
      if (fileOwner && fileOwner.id !== flags.id && owner.name && owner.name.toLowerCase() !== fileName) {
        throw new UserError(
          `${path}: the file name says ${fileName} (id ${fileOwner.id}) but id ${flags.id} ${where} ${owner.symbol} (${owner.name}). ` +
            'Check --id, or pass --force',
        );
      }
    }
    const symbol = wantSymbol ?? owner?.symbol;
    if (!symbol) throw new UserError(`${path}: asset ${flags.id} is new; give its --symbol too`);
    return { id: flags.id, symbol, name: existing?.name ?? known?.name ?? (fileName || symbol.toLowerCase()), isNew: !existing };
  }
  if (wantSymbol) {
    const stored = await store.query<Stored>('SELECT id, symbol, name FROM dim_assets WHERE upper(symbol) = $1 ORDER BY id', [wantSymbol]);
    if (stored.length > 1) {
      throw new UserError(`${path}: symbol ${wantSymbol} is held by ids ${stored.map((r) => r.id).join(', ')}; pass --id`);
    }
    if (stored.length === 1) return { id: stored[0].id, symbol: stored[0].symbol, name: stored[0].name ?? fileName, isNew: false };
    const known = BY_SYMBOL.get(wantSymbol);
    if (known) return { ...known, isNew: true };
    return { id: await nextLocalId(store), symbol: wantSymbol, name: fileName || wantSymbol.toLowerCase(), isNew: true };
  }
  if (!fileName) {
    throw new UserError(`${path}: the file name does not name an asset; pass --symbol SYM (or --id N for a CoinMarketCap id)`);
  }
  const stored = await store.query<Stored>('SELECT id, symbol, name FROM dim_assets WHERE lower(name) = $1 ORDER BY id', [fileName]);
  if (stored.length > 1) throw new UserError(`${path}: name '${fileName}' is held by ids ${stored.map((r) => r.id).join(', ')}; pass --id`);
  if (stored.length === 1) return { id: stored[0].id, symbol: stored[0].symbol, name: stored[0].name ?? fileName, isNew: false };
  // "btc.csv": a file named by its symbol.
  const bySym = await store.query<Stored>('SELECT id, symbol, name FROM dim_assets WHERE upper(symbol) = $1 ORDER BY id', [symbolFromName(fileName)]);
  if (bySym.length === 1) return { id: bySym[0].id, symbol: bySym[0].symbol, name: bySym[0].name ?? fileName, isNew: false };
  const known = BY_NAME.get(fileName) ?? BY_SYMBOL.get(symbolFromName(fileName));
  if (known) return { ...known, isNew: true };
  return { id: await nextLocalId(store), symbol: symbolFromName(fileName), name: fileName, isNew: true };
}

export interface AssetListing {
  id: number;
  symbol: string;
  name: string | null;
  local: boolean;
  days: number;
  firstDay: string | null;
  lastDay: string | null;
}

export async function listAssets(store: Store): Promise<AssetListing[]> {
  const rows = await store.query<{ id: number; symbol: string; name: string | null; days: number; lo: number | null; hi: number | null }>(
    `SELECT a.id, a.symbol, a.name, count(p.ts) AS days, min(p.ts) AS lo, max(p.ts) AS hi
     FROM dim_assets a LEFT JOIN price_histories p ON p.id = a.id
     GROUP BY a.id, a.symbol, a.name ORDER BY a.id`,
  );
  const day = (ms: number | null) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString().slice(0, 10));
  return rows.map((r) => ({
    id: Number(r.id), symbol: r.symbol, name: r.name, local: Number(r.id) >= LOCAL_ID_MIN,
    days: Number(r.days), firstDay: day(r.lo), lastDay: day(r.hi),
  }));
}

/** Renames an asset's symbol and/or name; its id and data stay. A symbol held by another asset is refused. */
export async function renameAsset(store: Store, id: number, to: { symbol?: string; name?: string }): Promise<AssetListing> {
  const symbol = to.symbol?.trim().toUpperCase();
  if (symbol !== undefined && !/^[A-Z0-9._-]{1,32}$/.test(symbol)) {
    throw new UserError(`--symbol '${to.symbol}': use 1-32 letters, digits, '.', '_' or '-'`);
  }
  const name = to.name?.trim().toLowerCase();
  if (name !== undefined && name === '') throw new UserError('--name must not be empty');
  const cur = await store.query<Stored>('SELECT id, symbol, name FROM dim_assets WHERE id = $1', [id]);
  if (cur.length === 0) throw new UserError(`asset ${id} does not exist (talab assets lists them)`);
  if (symbol !== undefined) {
    const other = await store.query<Stored>('SELECT id, symbol, name FROM dim_assets WHERE upper(symbol) = $1 AND id <> $2', [symbol, id]);
    if (other.length) throw new UserError(`symbol ${symbol} is already held by asset ${other[0].id} (${other[0].name ?? ''})`);
  }
  await store.exec('UPDATE dim_assets SET symbol = $2, name = $3, updated_at = now() WHERE id = $1', [
    id, symbol ?? cur[0].symbol, name ?? cur[0].name,
  ]);
  return (await listAssets(store)).find((a) => a.id === id)!;
}
