// The gate between the two steps: an asset's EMAs wait while its bars lag its source.
import type { Store } from '../store/store.js';
import type { EmasFacts } from './prefetch.js';
import { BARS_STATE_TABLES, commonState } from './state.js';

/** Why an asset's EMAs must wait: its bars are missing or behind its source. */
export async function staleReason(store: Store, id: number, f: EmasFacts, hours: number): Promise<string | null> {
  const bars = commonState(f.states, BARS_STATE_TABLES);
  // The state knows the last source day the bars saw (rejected days included); a narrowed build keeps no
  // state, so then the 1D table's own last day stands in.
  let built = bars?.last_src_ts ?? null;
  if (built === null) {
    const d = await store.query<{ hi: number | null }>('SELECT max(ts) AS hi FROM price_bars_1d WHERE id = $1', [id]);
    built = d[0].hi;
  }
  if (built === null) return 'bars never built';
  const lag = ((f.srcHi ?? 0) - built) / 3_600_000;
  return lag > hours ? `bars stale: ${lag.toFixed(0)} h behind the source's last day (limit ${hours} h)` : null;
}
