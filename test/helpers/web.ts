// A small database for the web view tests: two assets cut from the bundled sample, every default bar and EMA
// built, and the finished rows read straight from the tables to compare with what the server and page show.
import assert from 'node:assert/strict';
import { importFile } from '../../src/importer/import.js';
import { runRefresh } from '../../src/refresh/runner.js';
import type { Store } from '../../src/store/store.js';
import { sampleSlice, SAMPLE_IDS } from './sample.js';

export const ETH = SAMPLE_IDS.ethereum;
export const MNT = SAMPLE_IDS.mantle;

export async function buildWebSample(store: Store): Promise<void> {
  await importFile(store, sampleSlice('ethereum', 150));
  await importFile(store, sampleSlice('mantle', 60));
  const s = await runRefresh(store, { components: ['bars', 'emas'] });
  assert.ok(s.ok, JSON.stringify(s.components.map((c) => c.error)));
}

const day = (ms: number) => new Date(Number(ms)).toISOString().slice(0, 10);

/** Finished ISO-week bars and their bar-space EMAs, as the tables hold them. */
export async function expectedWeekly(store: Store, id: number, tf: string, periods: number[]) {
  const bars = await store.query<{ t: number; open: number; high: number; low: number; close: number; volume: number }>(
    `SELECT time_close AS t, open, high, low, close, volume FROM price_bars_multi_tf_cal_iso
     WHERE id = $1 AND tf = $2 AND is_partial_end = false ORDER BY time_close`, [id, tf],
  );
  const emas: Record<string, { time: string; value: number }[]> = {};
  for (const p of periods) {
    const rows = await store.query<{ t: number; v: number }>(
      `SELECT ts AS t, ema_bar AS v FROM ema_multi_tf_cal_iso WHERE id = $1 AND tf = $2 AND period = $3 AND roll_bar = false AND ema_bar IS NOT NULL ORDER BY ts`,
      [id, tf, p],
    );
    emas[String(p)] = rows.map((r) => ({ time: day(r.t), value: Number(r.v) }));
  }
  return {
    candles: bars.map((b) => ({ time: day(b.t), open: Number(b.open), high: Number(b.high), low: Number(b.low), close: Number(b.close) })),
    volume: bars.map((b) => ({ time: day(b.t), value: Number(b.volume) })),
    emas,
  };
}
