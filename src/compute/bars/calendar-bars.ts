// Calendar bars on the global window grid (the four cal / cal_anchor tables), one forward pass per (asset,
// timeframe).

import type { Timeframe } from '../../catalog/timeframes.js';
import type { RowBatch } from '../../columnar/columns.js';
import { DAY_MS, type DailySeries } from '../daily.js';
import { BarState } from './bar-state.js';
import { firstWindowStartingOnOrAfter, windowByIndex, windowIndexOf } from './calendar.js';
import {
  C_BASE, C_EFF_START, C_EMITTED, C_FIRST_DAY, C_LAST_DAY, C_LAST_TS, C_PARTIAL_START, C_SEQ, C_STATE, C_TF_DAYS,
  C_WIN_END, checkCarry, saveCarry, tfSignature, type SnapshotBuildOptions,
} from './carry.js';
import { checkSeries } from './input.js';
import { SnapshotOut } from './output.js';

export interface CalendarBuildOptions extends SnapshotBuildOptions {
  /** true = cal_anchor family (keep the partial first window), false = cal family. Default: tf.calendarAnchor. */
  anchored?: boolean;
}

/**
 * Calendar bars on the global window grid.
 *
 * - cal (anchored = false): only complete windows. Rows before the first window that starts on or after the
 *   asset's first day are dropped, and that first kept row gets the synthetic time_open, as if the history
 *   began there. bar_seq 1 = that first complete window.
 * - anchor (anchored = true): the window holding the first day is kept with is_partial_start = true and its
 *   effective start = the first data day. bar_seq 1 = that window.
 * bar_seq = global window index − index of bar 1 + 1, so windows without data leave holes.
 *
 * Counters (B6): count_days = pos_in_bar = calendar days from the effective start to the snapshot day;
 * tf_days = the full window length, also for the partial first window; count_days_remaining = window end −
 * snapshot day (see the note in the body); the row is canonical (is_partial_end = false) only on the window's
 * last day.
 *
 * With a carry, "the asset's first day" is the carry's first folded day, not series.day[0].
 */
export function buildCalendar(series: DailySeries, tf: Timeframe, opts: CalendarBuildOptions = {}): RowBatch {
  if (tf.alignment !== 'calendar') throw new Error(`buildCalendar: ${tf.tf} is not a calendar timeframe`);
  const anchored = opts.anchored ?? tf.calendarAnchor === true;
  if (tf.calendarAnchor !== null && anchored !== tf.calendarAnchor) {
    throw new Error(`buildCalendar: ${tf.tf} belongs to the ${tf.calendarAnchor ? 'anchored' : 'calendar'} family`);
  }
  checkSeries(series);
  const sig = tfSignature(tf, anchored);
  const folded = checkCarry('buildCalendar', series, tf, sig, opts);
  const n = series.n;
  const st = new BarState();
  // Running state (the carry's slots); see the layout above.
  let emitted = 0;
  let firstDay = NaN;
  let lastDay = NaN;
  let lastTs = NaN;
  let baseIndex = NaN;
  let winEnd = -Infinity;
  let effStart = 0;
  let seq = 0;
  let tfDays = 0;
  let partialStart = 0;
  if (folded > 0) {
    const c = opts.carry!;
    emitted = c[C_EMITTED];
    firstDay = c[C_FIRST_DAY];
    lastDay = c[C_LAST_DAY];
    lastTs = c[C_LAST_TS];
    baseIndex = c[C_BASE];
    winEnd = c[C_WIN_END];
    effStart = c[C_EFF_START];
    seq = c[C_SEQ];
    tfDays = c[C_TF_DAYS];
    partialStart = c[C_PARTIAL_START];
    st.load(c, C_STATE);
  } else if (n > 0) {
    firstDay = series.day[0];
    baseIndex = anchored ? windowIndexOf(tf, firstDay) : firstWindowStartingOnOrAfter(tf, firstDay).index;
  }

  // cal family: rows before bar 1's window are folded (they fix the first day) but never emitted.
  let first = 0;
  if (!anchored && emitted === 0 && n > 0) {
    const baseStart = windowByIndex(tf, baseIndex).start;
    while (first < n && series.day[first] < baseStart) first++;
  }

  const out = new SnapshotOut(n - first, opts.sink);
  for (let i = first, r = 0; i < n; i++, r++) {
    const d = series.day[i];
    if (d > winEnd) {
      // Window bounds are computed once per bar, not per row.
      const idx = windowIndexOf(tf, d);
      const w = windowByIndex(tf, idx);
      winEnd = w.end;
      tfDays = w.end - w.start + 1;
      seq = idx - baseIndex + 1;
      // Only the anchored family can see a window that began before the first data day.
      partialStart = w.start < firstDay ? 1 : 0;
      effStart = partialStart ? firstDay : w.start;
      // time_open: 1 ms after the previous folded row's close (once rows are emitted, every row is); the first
      // emitted row gets a synthetic open.
      const timeOpen = r > 0 ? series.ts[i - 1] + 1 : emitted > 0 ? lastTs + 1 : series.ts[i] - DAY_MS + 1;
      st.reset(series, i, timeOpen, effStart);
    } else {
      st.next(series, i);
    }
    const w = out.base + r;
    st.write(out, w, series, i);
    const countDays = d - effStart + 1;
    out.barSeq[w] = seq;
    out.tfDays[w] = tfDays;
    out.posInBar[w] = countDays;
    out.countDays[w] = countDays;
    // Days left until the window's scheduled end. Equal to tf_days − count_days except in the anchored
    // partial first window, where count_days starts at the first data day; there the rule keeps
    // window_end − day, which is what makes "remaining = 0" coincide with the
    // canonical row in every window.
    out.countRemaining[w] = winEnd - d;
    out.partialStart[w] = partialStart;
    out.partialEnd[w] = d < winEnd ? 1 : 0;
  }
  if (opts.carryOut !== undefined) {
    saveCarry(opts.carryOut, series, st, {
      sig, folded: folded + n, emitted: emitted + n - first, firstDay, lastDay, lastTs, seq, pos: 0,
      base: baseIndex, winEnd, effStart, tfDays, partialStart,
    });
  }
  return out.toBatch(series.id, tf.tf);
}
