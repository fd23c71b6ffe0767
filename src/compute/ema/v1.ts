// v1 — ema_multi_tf: bar-space EMA with a one-step preview on open-bar days.

import type { RowBatch } from '../../columnar/columns.js';
import { lowerBound } from '../../util/search.js';
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


/**
 * Bar-space EMA with a one-step preview. The bar EMA E (α = 2/(p+1), SMA seed over the first p bars) runs on
 * the canonical closes; a daily row on a canonical close gets E there (roll = false), every other daily row gets
 * the uncommitted update α·close + (1−α)·E_prev from the latest canonical close strictly before it (roll = true).
 * Rows: every daily row with ts ≥ T_p (the p-th usable bar close). For tf 1D pass the daily series as
 * `canonical`: every row is then canonical and `ema` is the plain daily EMA.
 *
 * One deliberate difference from the original pipeline: the preview builds on the latest canonical close by ts, even when
 * that close's day is absent from the daily grid (the original forward-filled over grid rows only and so skipped
 * it). Bars are built from the same daily rows, so this never arises from our own tables.
 */
export function emaV1(
  daily: DailyCloses,
  canonical: CanonicalCloses,
  tf: TfSpec,
  periods: number | readonly number[],
  opts?: EmaOptions,
): RowBatch {
  checkTf(tf);
  const what = label('v1', daily, tf);
  const ps = normPeriods(periods, tf);
  const n = lengthOf(daily, `${what}: daily`);
  const kAll = lengthOf(canonical, `${what}: canonical`);
  checkAscending(daily.ts, n, `${what}: daily`);
  checkAscending(canonical.ts, kAll, `${what}: canonical`);
  const cw = openCarry(EMA_CARRY_FAMILY.v1, what, ps, tf.daysNominal, opts, daily.ts, n, canonical.ts, kAll);
  const wantCarry = opts?.carryOut !== undefined;
  const cTs = canonical.ts;
  // Closes after the last daily row affect no row of this call; they are not folded (the next call gets them).
  const k = n > 0 ? countUpTo(cTs, daily.ts[n - 1], kAll) : 0;
  const C = canonical.close.subarray(0, k);

  const plans: Plan[] = [];
  for (let q = 0; q < ps.length; q++) {
    const p = ps[q];
    const carried = cw[q * L + S.STARTED] === 1;
    let start = n;
    if (carried) start = 0;
    else {
      const k0 = emaSeedIndex(C, p, 0, k, cw[q * L + S.RUN]);
      if (k0 >= 0) start = lowerBound(daily.ts, cTs[k0], n);
    }
    if (start < n || wantCarry) plans.push({ q, period: p, start, lo: emitFrom(daily.ts, n, start, opts), carried });
  }
  const out = new EmaBatchBuilder(daily.id, tf, false, totalRows(plans, n), opts?.sink);

  let canonAt: Int32Array | undefined;
  let s: Scratch | undefined;
  const bar = new Float64Array(k);
  const close = daily.close;
  for (const { q, period, start, lo } of plans) {
    const o = q * L;
    const alpha = 2 / (period + 1);
    const beta = 1 - alpha;
    // The bar EMA at the carry's last folded close (seeded iff the series has begun: v1 rows start with the bar).
    let lastBar = cw[o + S.ACC];
    foldCarried(C, period, alpha, cw, o, bar, k);
    if (start >= n) continue;
    cw[o + S.STARTED] = 1;
    canonAt ??= alignCanonical(daily.ts, n, cTs, k).canonAt;
    s ??= scratch(n, false);
    let cj = 0;
    for (let i = start; i < n; i++) {
      const t = daily.ts[i];
      while (cj < k && cTs[cj] < t) lastBar = bar[cj++];
      const j = canonAt[i];
      if (j >= 0) {
        s.ema[i] = bar[j];
        s.roll[i] = 0;
      } else {
        s.ema[i] = emaStep(lastBar, close[i], alpha, beta);
        s.roll[i] = 1;
      }
    }
    finishDerivatives(s, start, n, false, cw, o);
    out.emit(period, daily.ts, s, lo, n);
  }
  closeCarry(cw, opts, daily.ts, n, k);
  return out.done();
}
