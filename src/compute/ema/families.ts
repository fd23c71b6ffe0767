// The four EMA families, as pure functions from one asset's daily closes
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
// Continuation (EmaOptions.carry / carryOut): better still, a refresh need not recompute at all. Every family is
// a left fold over the daily rows merged with the canonical closes, and its whole state after a day fits in
// EMA_CARRY_LEN doubles per period (layout: EMA_CARRY_SLOT in inputs.ts) — the bar EMA as a kernel EmaState
// (run of valid closes + running partial seed sum Σ x/p before the seed, the EMA after it; the same additions
// in the same order as `ema`), whether the series has begun, the last row's values (which are also cal's and
// anchor's running ema / ema_bar), the previous row's and the previous canonical row's value and d1 for the
// derivatives, the daily row count (v2's row index origin and guard), the last folded ts. A full computation is
// the continuation from the blank state, so both paths run the same code. Contract of a continuing call:
//   - daily = only the rows with ts > the carry's last folded ts (else an Error), canonical = only the closes
//     with ts > that same ts (else an Error); for tf 1D pass the daily tail as v1's canonical, as usual;
//   - the batch = exactly the full computation's rows for this call's daily rows (same order, every column to
//     the last bit), and carryOut = exactly the full computation's carryOut over the whole history;
//   - canonical closes after the call's last daily row are not folded (they affect no row yet): the next call
//     receives them again, as closes after the last folded ts;
//   - v2: rows are emitted only while the guard holds for the total row count, and a pair whose guard differs
//     between the carried count and the new total (with rows carried) throws 'v2 guard flip …' — such a pair
//     must be recomputed whole (check v2Guard(emaCarryRows(carry), d, p) vs the new total beforehand). The
//     state of a pair below the guard is kept as if it emitted, so its carry is the same either way;
//   - anchor: isPartialEnd, when given, is aligned with this call's daily rows.
// A carry from a call over empty daily rows (or emaCarryInit) holds nothing: continuing from it is a full
// computation. On an error nothing is written to carryOut.
//
// tf_days is Timeframe.daysNominal for every family: the nominal days are the `d` of every formula,
// and storing the d that was actually used keeps a row self-describing (the original pipeline's COALESCE(tf_days_min…)
// stored 28 for months and 1 for anchors, which is how its bug B4 happened).

import type { RowBatch } from '../../columnar/columns.js';
import { emaFold, emaSeedIndex, emaStep, type EmaState } from './kernel.js';
import { diffCanonical, diffRoll } from './derivatives.js';
import { lowerBound } from '../../util/search.js';
import {
  alignCanonical, checkAscending, checkTf, closeCarry, EMA_CARRY_FAMILY, EMA_CARRY_LEN, EMA_CARRY_SLOT as S,
  EmaBatchBuilder, emitFrom, lengthOf, normPeriods, openCarry, scratch,
  type CanonicalCloses, type DailyCloses, type EmaOptions, type PeriodPlan, type Scratch, type TfSpec,
} from './inputs.js';

export type { CanonicalCloses, DailyCloses, EmaOptions, TfSpec } from './inputs.js';
export {
  EMA_CARRY_FAMILY, EMA_CARRY_LEN, EMA_CARRY_SLOT, emaCarryInit, emaCarryLastTs, emaCarryRows, emaCarryStarted,
} from './inputs.js';

const L = EMA_CARRY_LEN;

/**
 * Fold x[0, to) into the EMA state kept in the carry at offset o (RUN/ACC: the partial seed, then the EMA),
 * writing the EMA after each input into out — the bar EMA of v1, cal and anchor, and v2's daily EMA.
 */
function foldCarried(
  x: ArrayLike<number>, period: number, alpha: number, cw: Float64Array, o: number, out: Float64Array, to: number,
): void {
  const st: EmaState = { run: cw[o + S.RUN], acc: cw[o + S.ACC] };
  emaFold(x, period, alpha, st, out, 0, to);
  cw[o + S.RUN] = st.run;
  cw[o + S.ACC] = st.acc;
}

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

function label(family: string, daily: DailyCloses, tf: TfSpec): string {
  return `ema ${family} id ${daily.id} tf ${tf.tf}`;
}

/** Derivatives over [start, n), continuing from (and updating) the period's carried running state at `o`. */
function finishDerivatives(s: Scratch, start: number, n: number, dual: boolean, cw: Float64Array, o: number): void {
  diffRoll(s.ema, start, n, s.d1r, s.d2r, cw, o + S.EMA);
  diffCanonical(s.ema, s.roll, start, n, s.d1, s.d2, cw, o + S.EMA_CANON);
  if (dual) {
    diffRoll(s.emaBar, start, n, s.d1rb, s.d2rb, cw, o + S.EMA_BAR);
    diffCanonical(s.emaBar, s.rollBar, start, n, s.d1b, s.d2b, cw, o + S.EMA_BAR_CANON);
  }
}

function totalRows(plans: PeriodPlan[], n: number): number {
  let total = 0;
  for (const p of plans) total += n - p.lo;
  return total;
}

/** Number of ts[0 … k) that are ≤ t (ts ascending). */
function countUpTo(ts: Float64Array, t: number, k: number): number {
  let lo = 0;
  let hi = k;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One period of a call: index q into periods / the carry; start = n when no row of this call is in its series. */
interface Plan extends PeriodPlan {
  q: number;
  /** the series began before this call (the carry's STARTED) */
  carried: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// v1 — ema_multi_tf

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

// ---------------------------------------------------------------------------------------------------------------
// v2 — ema_multi_tf_v2

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

// ---------------------------------------------------------------------------------------------------------------
// cal — ema_multi_tf_cal_us / _iso

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

// ---------------------------------------------------------------------------------------------------------------
// cal_anchor — ema_multi_tf_cal_anchor_us / _iso

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
