// Rolling N-day bars (price_bars_multi_tf), one forward pass per (asset, timeframe).

import type { Timeframe } from '../../catalog/timeframes.js';
import type { RowBatch } from '../../columnar/columns.js';
import { DAY_MS, type DailySeries } from '../daily.js';
import { BarState } from './bar-state.js';
import {
  C_FIRST_DAY, C_LAST_DAY, C_LAST_TS, C_POS, C_SEQ, C_STATE, checkCarry, saveCarry, tfSignature,
  type SnapshotBuildOptions,
} from './carry.js';
import { checkSeries } from './input.js';
import { SnapshotOut } from './output.js';


/**
 * Rolling N-day bars (multi_tf): row k (1-based) of the asset's daily rows belongs to
 * bar ⌊(k−1)/N⌋+1 at position ((k−1) mod N)+1. Bars count rows, not calendar days, so a gap lengthens a
 * bar instead of shifting membership. pos_in_bar is the row position; count_days, as in every family, the
 * calendar days from the bar's first day to the snapshot day, so count_days = pos_in_bar + count_missing_days.
 * Missing days are the calendar days skipped between the bar's own rows (the gap before a bar's first row
 * belongs to no bar), so they are always "interior", and count_days can exceed tf_days when a bar has a gap.
 */
export function buildRolling(series: DailySeries, tf: Timeframe, opts: SnapshotBuildOptions = {}): RowBatch {
  if (tf.alignment !== 'tf_day') throw new Error(`buildRolling: ${tf.tf} is not a day-horizon timeframe`);
  const N = tf.daysNominal;
  if (!(N >= 1) || !Number.isInteger(N)) throw new Error(`buildRolling: ${tf.tf} has invalid length ${N}`);
  checkSeries(series);
  const sig = tfSignature(tf, false);
  const folded = checkCarry('buildRolling', series, tf, sig, opts);
  const n = series.n;
  const out = new SnapshotOut(n, opts.sink);
  const st = new BarState();
  // Running state; a bar starts on the first row and whenever the previous one is full.
  let pos = 0;
  let seq = 0;
  let firstDay = NaN;
  let lastDay = NaN;
  let lastTs = NaN;
  if (folded > 0) {
    const c = opts.carry!;
    pos = c[C_POS];
    seq = c[C_SEQ];
    firstDay = c[C_FIRST_DAY];
    lastDay = c[C_LAST_DAY];
    lastTs = c[C_LAST_TS];
    st.load(c, C_STATE);
  }
  for (let i = 0; i < n; i++) {
    if (pos === N || pos === 0) {
      pos = 1;
      seq++;
      // time_open: 1 ms after the previous folded row's close; the asset's first row gets a synthetic open.
      // effStart = the row's own day: no "start" run for row-count bars.
      const timeOpen = i > 0 ? series.ts[i - 1] + 1 : folded > 0 ? lastTs + 1 : series.ts[0] - DAY_MS + 1;
      st.reset(series, i, timeOpen, series.day[i]);
    } else {
      pos++;
      st.next(series, i);
    }
    const w = out.base + i;
    st.write(out, w, series, i);
    out.barSeq[w] = seq;
    out.tfDays[w] = N;
    out.posInBar[w] = pos;
    out.countDays[w] = pos + out.countMissing[w];
    out.countRemaining[w] = N - pos;
    out.partialEnd[w] = pos < N ? 1 : 0;
  }
  if (opts.carryOut !== undefined) {
    if (n > 0 && folded === 0) firstDay = series.day[0];
    saveCarry(opts.carryOut, series, st, {
      sig, folded: folded + n, emitted: folded + n, firstDay, lastDay, lastTs, seq, pos,
      base: NaN, winEnd: NaN, effStart: NaN, tfDays: NaN, partialStart: NaN,
    });
  }
  return out.toBatch(series.id, tf.tf);
}
