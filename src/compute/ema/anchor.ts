// cal_anchor — ema_multi_tf_cal_anchor_us / _iso: dual EMA on anchored calendar windows.

import type { RowBatch } from '../../columnar/columns.js';
import { anchorAlpha } from './alphas.js';
import { closeCarry, EMA_CARRY_FAMILY, EMA_CARRY_LEN as L, EMA_CARRY_SLOT as S, openCarry } from './carry.js';
import {
  alignCanonical, checkAscending, checkTf, lengthOf, normPeriods,
  type CanonicalCloses, type DailyCloses, type EmaOptions, type TfSpec,
} from './inputs.js';
import { emaSeedIndex, emaStep } from './kernel.js';
import { EmaBatchBuilder } from './output.js';
import { countUpTo, emitFrom, totalRows, type Plan } from './plan.js';
import { scratch, type Scratch } from './scratch.js';
import { finishDerivatives, foldCarried, label } from './steps.js';


export interface AnchorOptions extends EmaOptions {
  /**
   * The anchor bar table's is_partial_end for each daily row (aligned with `daily`; 1 = partial or no bar row
   * that day, 0 = a window's scheduled end). It only sets `roll_bar` (and so d1_bar/d2_bar); canonical days are
   * roll_bar = false regardless. Omitted: roll_bar = roll, which is what snapshot bars imply, since
   * is_partial_end = false exists only on a window's scheduled end day, i.e. exactly on the canonical closes.
   * With a carry: aligned with the call's daily rows (the tail), like everything else.
   */
  isPartialEnd?: Uint8Array;
}

/**
 * Dual EMA on anchored calendar windows. Canonical closes = the anchor bar table's is_partial_end = false rows
 * (ts, close), i.e. only a window's scheduled end — the partial first window counts, the still-open last one
 * does not. A = bar EMA (α = 2/(p+1)) over those closes. From the first canonical day with a defined A (the
 * seed row) on, with α_eq = 1 − (1 − 2/(p+1))^(1/d), d nominal:
 *   ema     = A at the seed row, then α_eq·close + (1−α_eq)·ema_prev every day — never snapped again;
 *   ema_bar = A on every canonical day (snap), α_eq·close + (1−α_eq)·ema_bar_prev on the others.
 * roll = "not a canonical day"; roll_bar see AnchorOptions. Rows: every daily row from the seed row on — no
 * NULL-padded rows before it, and nothing for a period that never seeds.
 */
export function emaAnchor(
  daily: DailyCloses,
  canonical: CanonicalCloses,
  tf: TfSpec,
  periods: number | readonly number[],
  opts?: AnchorOptions,
): RowBatch {
  checkTf(tf);
  const what = label('cal_anchor', daily, tf);
  const ps = normPeriods(periods, tf);
  const n = lengthOf(daily, `${what}: daily`);
  const kAll = lengthOf(canonical, `${what}: canonical`);
  checkAscending(daily.ts, n, `${what}: daily`);
  checkAscending(canonical.ts, kAll, `${what}: canonical`);
  const flags = opts?.isPartialEnd;
  if (flags !== undefined && flags.length < n) {
    throw new RangeError(`${what}: isPartialEnd has ${flags.length} entries for ${n} daily rows`);
  }
  const d = tf.daysNominal;
  const cw = openCarry(EMA_CARRY_FAMILY.anchor, what, ps, d, opts, daily.ts, n, canonical.ts, kAll);
  const wantCarry = opts?.carryOut !== undefined;
  const close = daily.close;
  // Closes after the last daily row affect no row of this call; they are not folded (the next call gets them).
  const k = n > 0 ? countUpTo(canonical.ts, daily.ts[n - 1], kAll) : 0;
  const C = canonical.close.subarray(0, k);
  const { canonAt, dailyAt } = alignCanonical(daily.ts, n, canonical.ts, k);

  const plans: (Plan & { seedJ: number })[] = [];
  for (let q = 0; q < ps.length; q++) {
    const p = ps[q];
    const o = q * L;
    const carried = cw[o + S.STARTED] === 1;
    let start = n;
    let seedJ = -1;
    if (carried) start = 0;
    else {
      // Seeded before this call (on a close off the grid) but not started: any on-grid close here starts it.
      let j = cw[o + S.RUN] === p ? 0 : emaSeedIndex(C, p, 0, k, cw[o + S.RUN]);
      if (j >= 0) {
        // A defined A whose day is off the grid cannot seed a daily row; the next on-grid canonical day does.
        while (j < k && dailyAt[j] < 0) j++;
        if (j < k) {
          start = dailyAt[j];
          seedJ = j;
        }
      }
    }
    if (start < n || wantCarry) plans.push({ q, period: p, start, lo: emitFrom(daily.ts, n, start, opts), carried, seedJ });
  }
  const out = new EmaBatchBuilder(daily.id, tf, true, totalRows(plans, n), opts?.sink);

  let s: Scratch | undefined;
  const bar = new Float64Array(k);
  for (const { q, period, start, lo, carried, seedJ } of plans) {
    const o = q * L;
    foldCarried(C, period, 2 / (period + 1), cw, o, bar, k);
    if (start >= n) continue;
    cw[o + S.STARTED] = 1;
    if (s === undefined) {
      s = scratch(n, true);
      for (let i = 0; i < n; i++) {
        const canon = canonAt[i] >= 0;
        s.roll[i] = canon ? 0 : 1;
        s.rollBar[i] = canon ? 0 : flags === undefined ? 1 : flags[i] !== 0 ? 1 : 0;
      }
    }
    const alpha = anchorAlpha(period, d);
    const beta = 1 - alpha;
    // ema / ema_bar continue from the last row's values, or start at the seed row from the bar EMA.
    let e = cw[o + S.EMA];
    let eb = cw[o + S.EMA_BAR];
    let i = start;
    if (!carried) {
      e = eb = bar[seedJ];
      s.ema[i] = e;
      s.emaBar[i] = eb;
      i++;
    }
    for (; i < n; i++) {
      const c = close[i];
      e = emaStep(e, c, alpha, beta);
      const j = canonAt[i];
      eb = j >= 0 ? bar[j] : emaStep(eb, c, alpha, beta);
      s.ema[i] = e;
      s.emaBar[i] = eb;
    }
    finishDerivatives(s, start, n, true, cw, o);
    out.emit(period, daily.ts, s, lo, n);
  }
  closeCarry(cw, opts, daily.ts, n, k);
  return out.done();
}
