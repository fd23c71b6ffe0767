// Steps every EMA family shares: folding the bar EMA into the carried state, the derivatives over a period's
// series, and the label of a call in error messages.

import { diffCanonical, diffRoll } from './derivatives.js';
import { EMA_CARRY_SLOT as S } from './carry.js';
import type { DailyCloses, TfSpec } from './inputs.js';
import { emaFold, type EmaState } from './kernel.js';
import type { Scratch } from './scratch.js';

/**
 * Fold x[0, to) into the EMA state kept in the carry at offset o (RUN/ACC: the partial seed, then the EMA),
 * writing the EMA after each input into out — the bar EMA of v1, cal and anchor, and v2's daily EMA.
 */
export function foldCarried(
  x: ArrayLike<number>, period: number, alpha: number, cw: Float64Array, o: number, out: Float64Array, to: number,
): void {
  const st: EmaState = { run: cw[o + S.RUN], acc: cw[o + S.ACC] };
  emaFold(x, period, alpha, st, out, 0, to);
  cw[o + S.RUN] = st.run;
  cw[o + S.ACC] = st.acc;
}

export function label(family: string, daily: DailyCloses, tf: TfSpec): string {
  return `ema ${family} id ${daily.id} tf ${tf.tf}`;
}

/** Derivatives over [start, n), continuing from (and updating) the period's carried running state at `o`. */
export function finishDerivatives(s: Scratch, start: number, n: number, dual: boolean, cw: Float64Array, o: number): void {
  diffRoll(s.ema, start, n, s.d1r, s.d2r, cw, o + S.EMA);
  diffCanonical(s.ema, s.roll, start, n, s.d1, s.d2, cw, o + S.EMA_CANON);
  if (dual) {
    diffRoll(s.emaBar, start, n, s.d1rb, s.d2rb, cw, o + S.EMA_BAR);
    diffCanonical(s.emaBar, s.rollBar, start, n, s.d1b, s.d2b, cw, o + S.EMA_BAR_CANON);
  }
}
