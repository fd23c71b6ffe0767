// Source fingerprints: what the bars last consumed of an asset's price_histories, so that rows changed, added
// or removed by anything other than `talab import` (SQL by hand, another loader) are noticed by the next
// refresh instead of leaving the derived tables stale.
//
// The history is cut into blocks of BLOCK_DAYS days (by epoch day, the same cut on every engine and run). A
// block's fingerprint is its row count and the sum of a per-row hash of every column the bars read; a sum is
// order-independent, so the database computes it in one grouped pass without sorting. The asset's aggregate
// is the sum over its blocks. The engine's own hash functions are used (DuckDB hash(), PostgreSQL
// hash_record_extended): a fingerprint is only ever compared with one computed by the same database, and should an
// engine upgrade change its hash, every asset is recomputed once from its first block — slower, never wrong.
import type { Engine } from '../store/engine.js';
import type { Store } from '../store/store.js';
import { idList } from './state.js';

export const BLOCK_DAYS = 256;
const BLOCK_SECONDS = BLOCK_DAYS * 86_400;
const BLOCK_MS = BLOCK_SECONDS * 1000;

/** One block: its index (epoch day div BLOCK_DAYS), row count and hash sum (an exact integer). */
export interface Block {
  blk: number;
  n: number;
  h: bigint;
}

/** Price columns whose values reach the derived tables (provenance such as source_file does not). */
const HASHED = ['ts', 'time_open', 'time_close', 'time_high', 'time_low', 'open', 'high', 'low', 'close', 'volume', 'market_cap', 'src_name'];

function rowHash(e: Engine): string {
  return e.rowHash(HASHED.map((c) => `p.${c}`).join(', '));
}

function blockOf(e: Engine): string {
  return `CAST(floor(${e.epochSeconds('p.ts')} / ${BLOCK_SECONDS}) AS INTEGER)`;
}

export interface SourceScan {
  /** Extent of the asset's rows. */
  n: number;
  lo: number;
  hi: number;
  /** Fingerprint of every row now (what the state records once the bars have consumed them). */
  now: Block[];
  /** Fingerprint of the rows dated up to the bars' watermark (what to compare with the recorded one). */
  old: Block[];
}

/**
 * One grouped pass over the source rows of `ids`: extent, and per block the fingerprint of all rows and of
 * those up to each asset's bars watermark (its price_bars_1d state row). Assets without rows are absent.
 */
export async function scanSources(store: Store, ids: readonly number[]): Promise<Map<number, SourceScan>> {
  const d = store.engine;
  const h = rowHash(d);
  // The row hash once per row (inner select), then summed twice: over all rows and over those up to the watermark.
  const rows = await store.query<{ id: number; blk: number; n: number; lo: number; hi: number; h: string; n_old: number; h_old: string | null }>(
    `SELECT id, blk, count(*) AS n, min(ts) AS lo, max(ts) AS hi, CAST(sum(h) AS TEXT) AS h,
       count(*) FILTER (WHERE ts <= wm) AS n_old, CAST(sum(h) FILTER (WHERE ts <= wm) AS TEXT) AS h_old
     FROM (SELECT p.id, p.ts, ${blockOf(d)} AS blk, s.last_src_ts AS wm, ${h} AS h
           FROM price_histories p LEFT JOIN refresh_state s ON s.id = p.id AND s.table_name = 'price_bars_1d'
           WHERE p.id IN (${idList(ids)})) x
     GROUP BY id, blk ORDER BY id, blk`,
  );
  const out = new Map<number, SourceScan>();
  for (const r of rows) {
    const id = Number(r.id);
    let s = out.get(id);
    if (!s) out.set(id, (s = { n: 0, lo: Infinity, hi: -Infinity, now: [], old: [] }));
    s.n += Number(r.n);
    s.lo = Math.min(s.lo, Number(r.lo));
    s.hi = Math.max(s.hi, Number(r.hi));
    s.now.push({ blk: Number(r.blk), n: Number(r.n), h: BigInt(r.h) });
    if (Number(r.n_old) > 0) s.old.push({ blk: Number(r.blk), n: Number(r.n_old), h: BigInt(r.h_old ?? '0') });
  }
  return out;
}

/** As kept in refresh_state.src_fp: `blk:n:hash` per block, ascending, separated by spaces. */
export function encodeBlocks(blocks: readonly Block[]): string {
  return blocks.map((b) => `${b.blk}:${b.n}:${b.h}`).join(' ');
}

/** The blocks of a recorded fingerprint; null when there is none or it does not parse (then nothing is compared). */
export function decodeBlocks(text: string | null | undefined): Block[] | null {
  if (text === null || text === undefined) return null;
  const out: Block[] = [];
  for (const part of text.split(' ').filter(Boolean)) {
    const m = /^(-?\d+):(\d+):(-?\d+)$/.exec(part);
    if (!m) return null;
    out.push({ blk: Number(m[1]), n: Number(m[2]), h: BigInt(m[3]) });
  }
  return out;
}

/**
 * First day (epoch ms) of the earliest block whose rows differ between the recorded fingerprint and the rows
 * now up to the watermark, or Infinity when they agree. The aggregate (count and hash sum) is compared first;
 * only when it differs are the blocks walked.
 */
export function firstChangedDay(recorded: readonly Block[], current: readonly Block[]): number {
  const total = (bs: readonly Block[]) => bs.reduce((a, b) => ({ n: a.n + b.n, h: a.h + b.h }), { n: 0, h: 0n });
  const a = total(recorded);
  const b = total(current);
  if (a.n === b.n && a.h === b.h) return Infinity;
  const rec = new Map(recorded.map((x) => [x.blk, x]));
  const cur = new Map(current.map((x) => [x.blk, x]));
  const blks = [...new Set([...rec.keys(), ...cur.keys()])].sort((x, y) => x - y);
  for (const k of blks) {
    const x = rec.get(k);
    const y = cur.get(k);
    if (!x || !y || x.n !== y.n || x.h !== y.h) return k * BLOCK_MS;
  }
  return -Infinity; // unreachable: the totals differ, so some block does
}
