// cal — ema_multi_tf_cal_us / _iso: dual EMA on full calendar windows.

import type { RowBatch } from '../../columnar/columns.js';
import { calAlpha } from './alphas.js';
import { closeCarry, EMA_CARRY_FAMILY, EMA_CARRY_LEN as L, EMA_CARRY_SLOT as S, openCarry } from './carry.js';
import {
  alignCanonical, checkAscending, checkTf, lengthOf, normPeriods, type DailyCloses, type EmaOptions, type TfSpec,
} from './inputs.js';
import { emaSeedIndex, emaStep } from './kernel.js';
import { EmaBatchBuilder } from './output.js';
import { emitFrom, totalRows, type Plan } from './plan.js';
import { scratch, type Scratch } from './scratch.js';
import { finishDerivatives, foldCarried, label } from './steps.js';


/**
 * Dual EMA on full calendar windows. Canonical closes are the daily closes on the canonical timestamps (the
 * cal bar table's is_partial_end = false rows; a timestamp absent from the daily grid is ignored, as in the
 * original pipeline). B = bar EMA (α = 2/(p+1)) over them. From the p-th canonical day T_p on, with α_ds = 2/(p·d+1):
 *   ema     = B at T_p, then α_ds·close + (1−α_ds)·ema_prev every day — never snapped again;
 *   ema_bar = B on every canonical day (snap), α_ds·close + (1−α_ds)·ema_bar_prev on the others.
 * roll = roll_bar = "not a canonical day". Rows: every daily row with ts ≥ T_p.
 */
export function emaCal(
  daily: DailyCloses,
  canonicalTs: Float64Array,
  tf: TfSpec,
  periods: number | readonly number[],
  opts?: EmaOptions,
): RowBatch {
  checkTf(tf);
  const what = label('cal', daily, tf);
  const ps = normPeriods(periods, tf);
  const n = lengthOf(daily, `${what}: daily`);
  const k = canonicalTs.length;
  checkAscending(daily.ts, n, `${what}: daily`);
  checkAscending(canonicalTs, k, `${what}: canonical`);
  const d = tf.daysNominal;
  const cw = openCarry(EMA_CARRY_FAMILY.cal, what, ps, d, opts, daily.ts, n, canonicalTs, k);
  const wantCarry = opts?.carryOut !== undefined;
  const close = daily.close;

  // The canonical days that are on the grid, in order: their closes C and daily rows; pos[i] = index into C.
  const { dailyAt } = alignCanonical(daily.ts, n, canonicalTs, k);
  let m = 0;
  for (let j = 0; j < k; j++) if (dailyAt[j] >= 0) m++;
  const C = new Float64Array(m);
  const rowOf = new Int32Array(m);
  const pos = new Int32Array(n).fill(-1);
  m = 0;
  for (let j = 0; j < k; j++) {
    const i = dailyAt[j];
    if (i < 0) continue;
    C[m] = close[i];
    rowOf[m] = i;
    pos[i] = m++;
  }

  const plans: (Plan & { k0: number })[] = [];
  for (let q = 0; q < ps.length; q++) {
    const p = ps[q];
    const carried = cw[q * L + S.STARTED] === 1;
    let start = n;
    let k0 = -1;
    if (carried) start = 0;
    else {
      k0 = emaSeedIndex(C, p, 0, m, cw[q * L + S.RUN]);
      if (k0 >= 0) start = rowOf[k0];
    }
    if (start < n || wantCarry) plans.push({ q, period: p, start, lo: emitFrom(daily.ts, n, start, opts), carried, k0 });
  }
  const out = new EmaBatchBuilder(daily.id, tf, true, totalRows(plans, n), opts?.sink);

  let s: Scratch | undefined;
  const bar = new Float64Array(m);
  for (const { q, period, start, lo, carried, k0 } of plans) {
    const o = q * L;
    foldCarried(C, period, 2 / (period + 1), cw, o, bar, m);
    if (start >= n) continue;
    cw[o + S.STARTED] = 1;
    if (s === undefined) {
      s = scratch(n, true);
      for (let i = 0; i < n; i++) s.roll[i] = pos[i] >= 0 ? 0 : 1;
      s.rollBar.set(s.roll);
    }
    const alpha = calAlpha(period, d);
    const beta = 1 - alpha;
    // ema / ema_bar continue from the last row's values, or start at the seed row from the bar EMA.
    let e = cw[o + S.EMA];
    let eb = cw[o + S.EMA_BAR];
    let i = start;
    if (!carried) {
      e = eb = bar[k0];
      s.ema[i] = e;
      s.emaBar[i] = eb;
      i++;
    }
    for (; i < n; i++) {
      const c = close[i];
      e = emaStep(e, c, alpha, beta);
      const j = pos[i];
      eb = j >= 0 ? bar[j] : emaStep(eb, c, alpha, beta);
      s.ema[i] = e;
      s.emaBar[i] = eb;
    }
    finishDerivatives(s, start, n, true, cw, o);
    out.emit(period, daily.ts, s, lo, n);
  }
  closeCarry(cw, opts, daily.ts, n, m);
  return out.done();
}
