// The four EMA families (emas.md §3 with SPEC §6 decisions), as pure functions from one asset's daily closes
// (+ one timeframe's canonical closes) to a RowBatch shaped like the EMA table, for one or many periods.
//
// Shared shape of every family, per period:
//   1. plan: find the seed row cheaply (emaSeedIndex over ≤ K bar closes, or N daily closes for v2) so the
//      batch for all periods is allocated once at its final size;
//   2. compute the series over daily rows [seed row, N) into full-length scratch arrays (reused per period);
//   3. derivatives over the same range (derivatives.ts);
//   4. copy rows [lo, N) into the batch (lo = seed row, or later with EmaOptions.fromTs).
// Rows are ordered by period (in the order asked), then ts — the tables' key order (id, tf, period, ts).
//
// Every value of a row depends only on daily rows and canonical closes at or before its ts, so computing on a
// prefix of the history gives exactly the full run's rows up to that prefix (prefix stability; tested). An
// incremental refresh can therefore recompute an asset and write only `fromTs` onwards.
//
// tf_days is Timeframe.daysNominal for every family: SPEC E3 makes the nominal days the `d` of every formula,
// and storing the d that was actually used keeps a row self-describing (the predecessor's COALESCE(tf_days_min…)
// stored 28 for months and 1 for anchors, which is how its bug B4 happened).

import type { RowBatch } from '../../store/columns.js';
import { ema, emaSeedIndex, emaStep } from './kernel.js';
import { diffCanonical, diffRoll } from './derivatives.js';
import { lowerBound } from '../../util/search.js';
import {
  alignCanonical, checkAscending, checkTf, EmaBatchBuilder, emitFrom, lengthOf, normPeriods, scratch,
  type CanonicalCloses, type DailyCloses, type EmaOptions, type PeriodPlan, type TfSpec,
} from './inputs.js';

export type { CanonicalCloses, DailyCloses, EmaOptions, TfSpec } from './inputs.js';

/** v2's horizon-scaled α: a plain EMA of span d·p on daily closes. */
export function v2Alpha(period: number, d: number): number {
  return 2 / (d * period + 1);
}

/** cal's daily-space α, α_ds = 2/(p·d+1) (the predecessor's ema_alpha_lookup.alpha_ema_dailyspace). */
export function calAlpha(period: number, d: number): number {
  return 2 / (period * d + 1);
}

/** anchor's daily-equivalent α: compounding it over d days gives exactly the bar α 2/(p+1). */
export function anchorAlpha(period: number, d: number): number {
  return 1 - Math.pow(1 - 2 / (period + 1), 1 / d);
}

/** v2's minimum-history guard (emas.md §2.2): floor(N/d) ≥ 3p, otherwise the pair emits nothing. */
export function v2Guard(n: number, d: number, period: number): boolean {
  return Math.floor(n / d) >= 3 * period;
}

function label(family: string, daily: DailyCloses, tf: TfSpec): string {
  return `ema ${family} id ${daily.id} tf ${tf.tf}`;
}

function finishDerivatives(s: ReturnType<typeof scratch>, start: number, n: number, dual: boolean): void {
  diffRoll(s.ema, start, n, s.d1r, s.d2r);
  diffCanonical(s.ema, s.roll, start, n, s.d1, s.d2);
  if (dual) {
    diffRoll(s.emaBar, start, n, s.d1rb, s.d2rb);
    diffCanonical(s.emaBar, s.rollBar, start, n, s.d1b, s.d2b);
  }
}

function totalRows(plans: PeriodPlan[], n: number): number {
  let total = 0;
  for (const p of plans) total += n - p.lo;
  return total;
}

// ---------------------------------------------------------------------------------------------------------------
// v1 — ema_multi_tf (emas.md §3.1)

/**
 * Bar-space EMA with a one-step preview. The bar EMA E (α = 2/(p+1), SMA seed over the first p bars) runs on
 * the canonical closes; a daily row on a canonical close gets E there (roll = false), every other daily row gets
 * the uncommitted update α·close + (1−α)·E_prev from the latest canonical close strictly before it (roll = true).
 * Rows: every daily row with ts ≥ T_p (the p-th usable bar close). For tf 1D pass the daily series as
 * `canonical`: every row is then canonical and `ema` is the plain daily EMA.
 *
 * One deliberate difference from phase 25: the preview builds on the latest canonical close by ts, even when
 * that close's day is absent from the daily grid (phase 25 forward-filled over grid rows only and so skipped
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
  const k = lengthOf(canonical, `${what}: canonical`);
  checkAscending(daily.ts, n, `${what}: daily`);
  checkAscending(canonical.ts, k, `${what}: canonical`);
  const cTs = canonical.ts;
  const C = canonical.close.subarray(0, k);

  const plans: PeriodPlan[] = [];
  for (const p of ps) {
    const k0 = emaSeedIndex(C, p);
    if (k0 < 0) continue;
    const start = lowerBound(daily.ts, cTs[k0], n);
    if (start >= n) continue;
    plans.push({ period: p, start, lo: emitFrom(daily.ts, n, start, opts) });
  }
  const out = new EmaBatchBuilder(daily.id, tf, false, totalRows(plans, n));
  if (plans.length === 0) return out.done();

  const { canonAt } = alignCanonical(daily.ts, n, cTs, k);
  const s = scratch(n, false);
  const bar = new Float64Array(k);
  const close = daily.close;
  for (const { period, start, lo } of plans) {
    ema(C, period, bar);
    const alpha = 2 / (period + 1);
    const beta = 1 - alpha;
    let cj = 0;
    let lastBar = NaN;
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
    finishDerivatives(s, start, n, false);
    out.emit(period, daily.ts, s, lo, n);
  }
  return out.done();
}

// ---------------------------------------------------------------------------------------------------------------
// v2 — ema_multi_tf_v2 (emas.md §3.2)

/**
 * Daily EMA with the horizon-scaled α = 2/(d·p+1), seeded with the mean of the first d·p closes. Canonical
 * (roll = false) every d-th daily row counted from the asset's first row: (i+1) mod d = 0. Rows N − d·p + 1, and
 * none at all unless floor(N/d) ≥ 3p (`v2Guard`). With clean closes the seed row is i = d·p − 1, which is always
 * canonical; should a close ever be NaN inside the first window, rows start where the kernel seeds (never a
 * NULL ema, the column is NOT NULL in the predecessor's DDL).
 *
 * Note for the refresher: because of the guard, a (tf, period) pair emits nothing until the history is long
 * enough and then emits its whole series at once; rows never change after that (prefix stability holds for
 * every history that passes the guard).
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
  const close = daily.close.subarray(0, n);

  const plans: PeriodPlan[] = [];
  for (const p of ps) {
    if (!v2Guard(n, d, p)) continue;
    const start = emaSeedIndex(close, d * p);
    if (start < 0) continue;
    plans.push({ period: p, start, lo: emitFrom(daily.ts, n, start, opts) });
  }
  const out = new EmaBatchBuilder(daily.id, tf, false, totalRows(plans, n));
  if (plans.length === 0) return out.done();

  const s = scratch(n, false);
  for (let i = 0; i < n; i++) s.roll[i] = (i + 1) % d === 0 ? 0 : 1;
  for (const { period, start, lo } of plans) {
    ema(close, d * period, s.ema, v2Alpha(period, d));
    finishDerivatives(s, start, n, false);
    out.emit(period, daily.ts, s, lo, n);
  }
  return out.done();
}

// ---------------------------------------------------------------------------------------------------------------
// cal — ema_multi_tf_cal_us / _iso (emas.md §3.3)

/**
 * Dual EMA on full calendar windows. Canonical closes are the daily closes on the canonical timestamps (the
 * cal bar table's is_partial_end = false rows; a timestamp absent from the daily grid is ignored, as in phase
 * 25). B = bar EMA (α = 2/(p+1)) over them. From the p-th canonical day T_p on, with α_ds = 2/(p·d+1):
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

  const plans: (PeriodPlan & { k0: number })[] = [];
  for (const p of ps) {
    const k0 = emaSeedIndex(C, p);
    if (k0 < 0) continue;
    const start = rowOf[k0];
    plans.push({ period: p, start, lo: emitFrom(daily.ts, n, start, opts), k0 });
  }
  const out = new EmaBatchBuilder(daily.id, tf, true, totalRows(plans, n));
  if (plans.length === 0) return out.done();

  const s = scratch(n, true);
  for (let i = 0; i < n; i++) s.roll[i] = pos[i] >= 0 ? 0 : 1;
  s.rollBar.set(s.roll);
  const bar = new Float64Array(m);
  for (const { period, start, lo, k0 } of plans) {
    ema(C, period, bar);
    const alpha = calAlpha(period, d);
    const beta = 1 - alpha;
    let e = bar[k0];
    let eb = e;
    s.ema[start] = e;
    s.emaBar[start] = eb;
    for (let i = start + 1; i < n; i++) {
      const c = close[i];
      e = emaStep(e, c, alpha, beta);
      const j = pos[i];
      eb = j >= 0 ? bar[j] : emaStep(eb, c, alpha, beta);
      s.ema[i] = e;
      s.emaBar[i] = eb;
    }
    finishDerivatives(s, start, n, true);
    out.emit(period, daily.ts, s, lo, n);
  }
  return out.done();
}

// ---------------------------------------------------------------------------------------------------------------
// cal_anchor — ema_multi_tf_cal_anchor_us / _iso (emas.md §3.4, SPEC E3/E4)

export interface AnchorOptions extends EmaOptions {
  /**
   * The anchor bar table's is_partial_end for each daily row (aligned with `daily`; 1 = partial or no bar row
   * that day, 0 = a window's scheduled end). It only sets `roll_bar` (and so d1_bar/d2_bar); canonical days are
   * roll_bar = false regardless. Omitted: roll_bar = roll, which is what SPEC B3 bars imply, since
   * is_partial_end = false exists only on a window's scheduled end day, i.e. exactly on the canonical closes.
   */
  isPartialEnd?: Uint8Array;
}

/**
 * Dual EMA on anchored calendar windows. Canonical closes = the anchor bar table's is_partial_end = false rows
 * (ts, close), i.e. only a window's scheduled end — the partial first window counts, the still-open last one
 * does not. A = bar EMA (α = 2/(p+1)) over those closes. From the first canonical day with a defined A (the
 * seed row) on, with α_eq = 1 − (1 − 2/(p+1))^(1/d), d nominal (SPEC E3; the predecessor used d = 1):
 *   ema     = A at the seed row, then α_eq·close + (1−α_eq)·ema_prev every day — never snapped again;
 *   ema_bar = A on every canonical day (snap), α_eq·close + (1−α_eq)·ema_bar_prev on the others.
 * roll = "not a canonical day"; roll_bar see AnchorOptions. Rows: every daily row from the seed row on — no
 * NULL-padded rows before it (SPEC E4), and nothing for a period that never seeds.
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
  const k = lengthOf(canonical, `${what}: canonical`);
  checkAscending(daily.ts, n, `${what}: daily`);
  checkAscending(canonical.ts, k, `${what}: canonical`);
  const flags = opts?.isPartialEnd;
  if (flags !== undefined && flags.length < n) {
    throw new RangeError(`${what}: isPartialEnd has ${flags.length} entries for ${n} daily rows`);
  }
  const d = tf.daysNominal;
  const close = daily.close;
  const C = canonical.close.subarray(0, k);
  const { canonAt, dailyAt } = alignCanonical(daily.ts, n, canonical.ts, k);

  const plans: (PeriodPlan & { seedJ: number })[] = [];
  for (const p of ps) {
    let j = emaSeedIndex(C, p);
    if (j < 0) continue;
    // A defined A whose day is off the grid cannot seed a daily row; the next on-grid canonical day does.
    while (j < k && dailyAt[j] < 0) j++;
    if (j >= k) continue;
    const start = dailyAt[j];
    plans.push({ period: p, start, lo: emitFrom(daily.ts, n, start, opts), seedJ: j });
  }
  const out = new EmaBatchBuilder(daily.id, tf, true, totalRows(plans, n));
  if (plans.length === 0) return out.done();

  const s = scratch(n, true);
  for (let i = 0; i < n; i++) {
    const canon = canonAt[i] >= 0;
    s.roll[i] = canon ? 0 : 1;
    s.rollBar[i] = canon ? 0 : flags === undefined ? 1 : flags[i] !== 0 ? 1 : 0;
  }
  const bar = new Float64Array(k);
  for (const { period, start, lo, seedJ } of plans) {
    ema(C, period, bar);
    const alpha = anchorAlpha(period, d);
    const beta = 1 - alpha;
    let e = bar[seedJ];
    let eb = e;
    s.ema[start] = e;
    s.emaBar[start] = eb;
    for (let i = start + 1; i < n; i++) {
      const c = close[i];
      e = emaStep(e, c, alpha, beta);
      const j = canonAt[i];
      eb = j >= 0 ? bar[j] : emaStep(eb, c, alpha, beta);
      s.ema[i] = e;
      s.emaBar[i] = eb;
    }
    finishDerivatives(s, start, n, true);
    out.emit(period, daily.ts, s, lo, n);
  }
  return out.done();
}
