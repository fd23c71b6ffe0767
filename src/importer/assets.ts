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

/** "Wrapped Bitcoin_11_09_2022-…" → "wrapped bitcoin"; "bitcoin__cmc_raw_2010.csv" → "bitcoin". */
export function assetNameFromFile(path: string): string {
  const stem = basename(path).replace(/\.[^.]+$/, '').split('__')[0];
  const tokens = stem.split('_');
  const kept: string[] = [];
  for (const t of tokens) {
    if (/^\d/.test(t)) break;
    kept.push(t);
  }
  return kept.join(' ').replace(/[-\s]+/g, ' ').trim().toLowerCase();
}

export async function resolveAsset(
  store: Store, path: string, flags: { id?: number; symbol?: string },
): Promise<AssetRef> {
  if (flags.id !== undefined) {
    const existing = await store.query<{ symbol: string; name: string | null }>(
      'SELECT symbol, name FROM dim_assets WHERE id = $1', [flags.id],
    );
    const known = [...BY_NAME.values()].find((k) => k.id === flags.id);
    const symbol = flags.symbol ?? existing[0]?.symbol ?? known?.symbol;
    if (!symbol) throw new UserError(`${path}: asset ${flags.id} is new; give its --symbol too`);
    return { id: flags.id, symbol: symbol.toUpperCase(), name: existing[0]?.name ?? known?.name ?? assetNameFromFile(path) };
  }
  const name = assetNameFromFile(path);
  const bySymbol = flags.symbol?.toUpperCase();
  const rows = await store.query<{ id: number; symbol: string; name: string | null }>(
    'SELECT id, symbol, name FROM dim_assets WHERE lower(name) = $1 OR upper(symbol) = $2 OR upper(symbol) = $3',
    [name, bySymbol ?? '', name.toUpperCase()],
  );
  if (rows.length === 1) return { id: rows[0].id, symbol: rows[0].symbol, name: rows[0].name ?? name };
  const known = BY_NAME.get(name);
  if (known) return { ...known, symbol: bySymbol ?? known.symbol };
  throw new UserError(
    `${path}: cannot tell which asset this file holds (name '${name}' is not known); pass --id N --symbol SYM`,
  );
}
