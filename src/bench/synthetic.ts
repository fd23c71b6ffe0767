// Seeded synthetic data for the bench (no side effects: importable from scripts and tests).
import type { RowBatch } from '../columnar/columns.js';

const DAY = 86_400_000;

/**
 * A seeded synthetic universe written straight into price_histories: `assets` assets of up to `days` days
 * ending on day `lastDay` (every fifth asset is young: a quarter of the history), random walks with ~1 %
 * missing days; then `extra` further days for every asset, one batch per day (the daily increments). With
 * `base` false the history itself is not kept (the same increments, for a universe already written).
 */
export function syntheticHistory(
  assets: number, days: number, seed = 1, lastDay = 20_000, extra = 1, base = true,
): { batch: RowBatch; next: RowBatch; more: RowBatch[] } {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  type R = { id: number; day: number; o: number; h: number; l: number; c: number; v: number };
  const rows: R[] = [];
  const later: R[][] = Array.from({ length: extra }, () => []);
  for (let a = 0; a < assets; a++) {
    const len = a % 5 === 4 ? Math.floor(days / 4) : days;
    let px = 10 + rnd() * 1000;
    for (let d = lastDay - len + 1; d <= lastDay + extra; d++) {
      if (d < lastDay && rnd() < 0.01) continue;
      const o = px;
      const c = Math.max(0.0001, o * (1 + (rnd() - 0.5) * 0.08));
      const row = { id: 1000 + a, day: d, o, h: Math.max(o, c) * (1 + rnd() * 0.02), l: Math.min(o, c) * (1 - rnd() * 0.02), c, v: rnd() * 1e9 };
      if (d > lastDay) later[d - lastDay - 1].push(row);
      else if (base) rows.push(row);
      px = c;
    }
  }
  const toBatch = (r: R[]): RowBatch => ({
    length: r.length,
    cols: {
      id: Int32Array.from(r, (x) => x.id), ts: Float64Array.from(r, (x) => (x.day + 1) * DAY - 1),
      time_open: Float64Array.from(r, (x) => x.day * DAY), time_close: Float64Array.from(r, (x) => (x.day + 1) * DAY - 1),
      time_high: Float64Array.from(r, (x) => x.day * DAY + 43_200_000), time_low: Float64Array.from(r, (x) => x.day * DAY + 3_600_000),
      open: Float64Array.from(r, (x) => x.o), high: Float64Array.from(r, (x) => x.h), low: Float64Array.from(r, (x) => x.l),
      close: Float64Array.from(r, (x) => x.c), volume: Float64Array.from(r, (x) => x.v), market_cap: Float64Array.from(r, (x) => x.c * 1e7),
    },
  });
  const more = later.map(toBatch);
  return { batch: toBatch(rows), next: more[0] ?? toBatch([]), more };
}
