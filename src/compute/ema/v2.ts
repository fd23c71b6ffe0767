// v2 — ema_multi_tf_v2: daily EMA with the horizon-scaled alpha, canonical every d-th row.

import type { RowBatch } from '../../columnar/columns.js';
import { v2Alpha, v2Guard } from './alphas.js';
import { closeCarry, EMA_CARRY_FAMILY, EMA_CARRY_LEN as L, EMA_CARRY_SLOT as S, openCarry } from './carry.js';
import { checkAscending, checkTf, lengthOf, normPeriods, type DailyCloses, type EmaOptions, type TfSpec } from './inputs.js';
import { emaSeedIndex } from './kernel.js';
import { EmaBatchBuilder } from './output.js';
import { emitFrom, totalRows, type Plan } from './plan.js';
import { scratch } from './scratch.js';
import { finishDerivatives, foldCarried, label } from './steps.js';


/**
 * Daily EMA with the horizon-scaled α = 2/(d·p+1), seeded with the mean of the first d·p closes. Canonical
 * (roll = false) every d-th daily row counted from the asset's first row: (i+1) mod d = 0. Rows N − d·p + 1, and
 * none at all unless floor(N/d) ≥ 3p (`v2Guard`). With clean closes the seed row is i = d·p − 1, which is always
 * canonical; should a close ever be NaN inside the first window, rows start where the kernel seeds (never a
 * NULL ema, the column is NOT NULL in the original pipeline's DDL).
 *
 * Note for the refresher: because of the guard, a (tf, period) pair emits nothing until the history is long
 * enough and then emits its whole series at once; rows never change after that (prefix stability holds for
 * every history that passes the guard). With a carry: roll counts rows from the asset's first row (the carry's
 * ROWS), the guard looks at the total, and a flip throws 'v2 guard flip …' (see the header).
 */
export function emaV2(
  daily: DailyCloses,
  tf: TfSpec,
  periods: number | readonly number[],
  opts?: EmaOptions,
): RowBatch {
  checkTf(tf);
  const what = label('v2', daily, tf);
  const ps = normPeriods(periods, tf);
  const n = lengthOf(daily, `${what}: daily`);
  checkAscending(daily.ts, n, `${what}: daily`);
  const d = tf.daysNominal;
  const cw = openCarry(EMA_CARRY_FAMILY.v2, what, ps, d, opts, daily.ts, n, daily.ts, 0);
  const wantCarry = opts?.carryOut !== undefined;
  const close = daily.close.subarray(0, n);
  const n0 = ps.length > 0 ? cw[S.ROWS] : 0; // daily rows before this call: row i here is the asset's row n0 + i
  const total = n0 + n;

  const plans: (Plan & { emit: boolean })[] = [];
  for (let q = 0; q < ps.length; q++) {
    const p = ps[q];
    const emit = v2Guard(total, d, p);
    if (n0 > 0 && v2Guard(n0, d, p) !== emit) {
      throw new Error(
        `v2 guard flip: ${what} period ${p}: floor(N/d) ≥ 3p fails after ${n0} daily rows but holds after ${total}; `
        + 'the pair emits its whole series now, which a continuation cannot do: recompute it from the whole history',
      );
    }
    if (!emit && !wantCarry) continue;
    const carried = cw[q * L + S.STARTED] === 1;
    let start = n;
    if (carried) start = 0;
    else {
      const i0 = emaSeedIndex(close, d * p, 0, n, cw[q * L + S.RUN]);
      if (i0 >= 0) start = i0;
    }
    // A pair failing the guard is still computed when a carry is asked for (its state is kept as if emitting).
    plans.push({ q, period: p, start, lo: emit ? emitFrom(daily.ts, n, start, opts) : n, carried, emit });
  }
  const out = new EmaBatchBuilder(daily.id, tf, false, totalRows(plans, n), opts?.sink);

  if (plans.length > 0 && n > 0) {
    const s = scratch(n, false);
    for (let i = 0; i < n; i++) s.roll[i] = (n0 + i + 1) % d === 0 ? 0 : 1;
    for (const { q, period, start, lo, emit } of plans) {
      const o = q * L;
      foldCarried(close, d * period, v2Alpha(period, d), cw, o, s.ema, n);
      if (start >= n) continue;
      cw[o + S.STARTED] = 1;
      finishDerivatives(s, start, n, false, cw, o);
      if (emit) out.emit(period, daily.ts, s, lo, n);
    }
  }
  closeCarry(cw, opts, daily.ts, n, n);
  return out.done();
}
