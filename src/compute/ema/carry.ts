// Carry of the EMA families (EmaOptions.carry / carryOut): the state of every period after the inputs folded so
// far, its layout, and how a call opens (validates, copies) and closes (accounts, writes out) it.

import type { EmaOptions } from './inputs.js';


/**
 * Slots of one period's state in a carry (a carry = these EMA_CARRY_LEN doubles per period, in the order of
 * the periods asked). "The bar EMA" is the EMA over the family's canonical closes (α = 2/(p+1)); for v2 it is
 * the daily EMA of span d·p itself.
 */
export const EMA_CARRY_SLOT = {
  /** family code (EMA_CARRY_FAMILY); 0 only in a blank carry (emaCarryInit) */
  KIND: 0,
  /** the period */
  PERIOD: 1,
  /** tf daysNominal */
  TF_DAYS: 2,
  /** ts of the last daily row folded; −Infinity when none */
  LAST_TS: 3,
  /** daily rows folded (v2's row index origin and guard count) */
  ROWS: 4,
  /** canonical closes folded: v1/anchor the canonical closes with ts ≤ LAST_TS, cal the on-grid canonical days, v2 = ROWS */
  BARS: 5,
  /** bar EMA EmaState.run: current run of non-NaN inputs while unseeded, = window (p, v2 d·p) once seeded */
  RUN: 6,
  /** bar EMA EmaState.acc: running partial seed sum Σ x/window while unseeded, then the bar EMA value */
  ACC: 7,
  /** 1 once the output series has begun (its seed row folded), else 0 */
  STARTED: 8,
  /** last row's ema (also the running ema state of cal/anchor), and its d1_roll; NaN before the first row */
  EMA: 9,
  D1_ROLL: 10,
  /** last canonical (roll = false) row's ema and its d1; NaN before the first */
  EMA_CANON: 11,
  D1: 12,
  /** the _bar twins (cal, anchor; NaN for v1/v2): last row's ema_bar and d1_roll_bar, last roll_bar = false row's ema_bar and d1_bar */
  EMA_BAR: 13,
  D1_ROLL_BAR: 14,
  EMA_BAR_CANON: 15,
  D1_BAR: 16,
} as const;

/** Doubles per period in a carry. */
export const EMA_CARRY_LEN = 17;

/** EMA_CARRY_SLOT.KIND values. */
export const EMA_CARRY_FAMILY = { v1: 1, v2: 2, cal: 3, anchor: 4 } as const;

const S = EMA_CARRY_SLOT;
const FAMILY_NAME = ['blank', 'v1', 'v2', 'cal', 'cal_anchor'];

function blankSlot(c: Float64Array, o: number): void {
  c.fill(0, o, o + S.EMA);
  c[o + S.LAST_TS] = -Infinity;
  c.fill(NaN, o + S.EMA, o + EMA_CARRY_LEN);
}

/**
 * A carry for `nPeriods` periods holding nothing folded: continuing from it is a fresh full computation, for
 * any family, timeframe and periods. (The carryOut of a call over empty inputs means the same, tagged.)
 */
export function emaCarryInit(nPeriods: number): Float64Array {
  const c = new Float64Array(nPeriods * EMA_CARRY_LEN);
  for (let q = 0; q < nPeriods; q++) blankSlot(c, q * EMA_CARRY_LEN);
  return c;
}

/** Daily rows folded into period `periodIndex`'s state (the same for every period of a carry). */
export function emaCarryRows(carry: Float64Array, periodIndex = 0): number {
  return carry[periodIndex * EMA_CARRY_LEN + S.ROWS];
}

/** ts of the last daily row folded into the carry, −Infinity when none (the same for every period). */
export function emaCarryLastTs(carry: Float64Array, periodIndex = 0): number {
  return carry[periodIndex * EMA_CARRY_LEN + S.LAST_TS];
}

/** Whether period `periodIndex`'s output series has begun (its seed row has been folded). */
export function emaCarryStarted(carry: Float64Array, periodIndex: number): boolean {
  return carry[periodIndex * EMA_CARRY_LEN + S.STARTED] === 1;
}

const iso = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString() : String(t));

/** Backing store of openCarry's working copy of a given carry (see there). */
let work = new Float64Array(0);

/**
 * The working state of one call: a copy of opts.carry (validated against the family, timeframe and periods)
 * or a blank one, tagged. Also refuses inputs that overlap what the carry has folded.
 */
export function openCarry(
  kind: number,
  what: string,
  periods: readonly number[],
  d: number,
  opts: EmaOptions | undefined,
  dailyTs: Float64Array,
  n: number,
  canonTs: Float64Array,
  k: number,
): Float64Array {
  const L = EMA_CARRY_LEN;
  const len = periods.length * L;
  const out = opts?.carryOut;
  if (out !== undefined && out.length !== len) {
    throw new RangeError(`${what}: carryOut has ${out.length} doubles, want ${periods.length} periods × ${L} = ${len}`);
  }
  const c = opts?.carry;
  let w: Float64Array;
  if (c === undefined) {
    w = emaCarryInit(periods.length);
  } else {
    if (c.length !== len) throw new RangeError(`${what}: carry has ${c.length} doubles, want ${periods.length} periods × ${L} = ${len}`);
    // The working copy lives in a buffer reused from call to call (kernels are synchronous and never nest):
    // a daily run makes ~100 calls per asset, and a fresh copy each was most of a call's allocation.
    if (work.length < len) work = new Float64Array(Math.max(len, 2 * work.length));
    w = work.subarray(0, len);
    w.set(c);
    const lastTs = w[S.LAST_TS];
    const rows = w[S.ROWS];
    for (let q = 0; q < periods.length; q++) {
      const o = q * L;
      const tag = w[o + S.KIND];
      const run = w[o + S.RUN];
      if (tag === 0) {
        if (w[o + S.ROWS] !== 0 || w[o + S.STARTED] !== 0 || run !== 0) throw new RangeError(`${what}: carry period #${q} is untagged but not blank`);
      } else if (tag !== kind || w[o + S.PERIOD] !== periods[q] || w[o + S.TF_DAYS] !== d) {
        throw new RangeError(
          `${what}: carry period #${q} is a ${FAMILY_NAME[tag] ?? `kind ${tag}`} state of period ${w[o + S.PERIOD]} with `
          + `daysNominal ${w[o + S.TF_DAYS]}, not ${FAMILY_NAME[kind]} period ${periods[q]} with daysNominal ${d}`,
        );
      }
      if (w[o + S.LAST_TS] !== lastTs || w[o + S.ROWS] !== rows) {
        throw new RangeError(`${what}: carry periods disagree on what was folded (period #${q} ${w[o + S.ROWS]} rows vs ${rows})`);
      }
      if (!(Number.isInteger(run) && run >= 0) || !(w[o + S.STARTED] === 0 || w[o + S.STARTED] === 1)) {
        throw new RangeError(`${what}: carry period #${q} is malformed (run ${run}, started ${w[o + S.STARTED]})`);
      }
    }
    if (!(rows >= 0 && Number.isInteger(rows)) || (rows === 0) !== (lastTs === -Infinity)) {
      throw new RangeError(`${what}: carry is malformed (${rows} rows, last ts ${lastTs})`);
    }
    if (n > 0 && !(dailyTs[0] > lastTs)) {
      throw new Error(
        `${what}: daily tail starts at ${iso(dailyTs[0])}, not after the carry's last folded day ${iso(lastTs)}: `
        + 'pass only the daily rows after it',
      );
    }
    if (k > 0 && !(canonTs[0] > lastTs)) {
      throw new Error(
        `${what}: canonical tail starts at ${iso(canonTs[0])}, not after the carry's last folded day ${iso(lastTs)}: `
        + 'pass only the canonical closes after it',
      );
    }
  }
  for (let q = 0; q < periods.length; q++) {
    const o = q * L;
    w[o + S.KIND] = kind;
    w[o + S.PERIOD] = periods[q];
    w[o + S.TF_DAYS] = d;
  }
  return w;
}

/** Account for the call's inputs (n daily rows up to dailyTs[n−1], `bars` canonical closes) and write carryOut. */
export function closeCarry(w: Float64Array, opts: EmaOptions | undefined, dailyTs: Float64Array, n: number, bars: number): void {
  const out = opts?.carryOut;
  if (out === undefined) return;
  for (let o = 0; o < w.length; o += EMA_CARRY_LEN) {
    if (n > 0) w[o + S.LAST_TS] = dailyTs[n - 1];
    w[o + S.ROWS] += n;
    w[o + S.BARS] += bars;
  }
  out.set(w);
}
