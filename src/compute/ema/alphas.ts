// The smoothing constants and the history guard of the EMA families.

/** v2's horizon-scaled α: a plain EMA of span d·p on daily closes. */
export function v2Alpha(period: number, d: number): number {
  return 2 / (d * period + 1);
}

/** cal's daily-space α, α_ds = 2/(p·d+1) (the original pipeline's ema_alpha_lookup.alpha_ema_dailyspace). */
export function calAlpha(period: number, d: number): number {
  return 2 / (period * d + 1);
}

/** anchor's daily-equivalent α: compounding it over d days gives exactly the bar α 2/(p+1). */
export function anchorAlpha(period: number, d: number): number {
  return 1 - Math.pow(1 - 2 / (period + 1), 1 / d);
}

/** v2's minimum-history guard: floor(N/d) ≥ 3p, otherwise the pair emits nothing. */
export function v2Guard(n: number, d: number, period: number): boolean {
  return Math.floor(n / d) >= 3 * period;
}
