// Public surface of the EMA kernels (pure compute: no I/O, no DB): the four families, as pure functions from one asset's daily closes
// (+ one timeframe's canonical closes) to a RowBatch shaped like the EMA table, for one or many periods.
//
// Shared shape of every family, per period:
//   1. plan: find the seed row cheaply (emaSeedIndex over ≤ K bar closes, or N daily closes for v2) so the
//      batch for all periods is allocated once at its final size;
//   2. compute the series over daily rows [seed row, N) into full-length scratch arrays (reused per period);
//   3. derivatives over the same range (derivatives.ts, via steps.ts);
//   4. copy rows [lo, N) into the batch (lo = seed row, or later with EmaOptions.fromTs).
// Rows are ordered by period (in the order asked), then ts — the tables' key order (id, tf, period, ts).
//
// Every value of a row depends only on daily rows and canonical closes at or before its ts, so computing on a
// prefix of the history gives exactly the full run's rows up to that prefix (prefix stability; tested). An
// incremental refresh can therefore recompute an asset and write only `fromTs` onwards.
//
// Continuation (EmaOptions.carry / carryOut): better still, a refresh need not recompute at all. Every family is
// a left fold over the daily rows merged with the canonical closes, and its whole state after a day fits in
// EMA_CARRY_LEN doubles per period (layout: EMA_CARRY_SLOT in carry.ts) — the bar EMA as a kernel EmaState
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

//
// Where each concept lives:
//   kernel.ts       the EMA fold itself (seed, step) on plain arrays
//   derivatives.ts  d1 / d2 over a series, rolling and canonical
//   v1.ts v2.ts cal.ts anchor.ts   one family each
//   alphas.ts       each family's alpha and v2's history guard
//   inputs.ts       what a call takes (closes, timeframe, periods, options) and its checks
//   carry.ts        the carry layout, opening and closing it
//   plan.ts         which rows each period computes and emits
//   scratch.ts      the working arrays of one call
//   steps.ts        the steps every family shares (bar EMA into the carry, derivatives)
//   output.ts       the output columns (layout read off EMA_TABLES) and the batch builder

export { ema, emaAlpha, emaContinue, emaFold, emaSeedIndex, emaStep, type EmaState } from './kernel.js';
export { diffCanonical, diffRoll } from './derivatives.js';
export { anchorAlpha, calAlpha, v2Alpha, v2Guard } from './alphas.js';
export { emaV1 } from './v1.js';
export { emaV2 } from './v2.js';
export { emaCal } from './cal.js';
export { emaAnchor, type AnchorOptions } from './anchor.js';
export {
  EMA_CARRY_FAMILY, EMA_CARRY_LEN, EMA_CARRY_SLOT, emaCarryInit, emaCarryLastTs, emaCarryRows, emaCarryStarted,
} from './carry.js';
export { emaSinkColumns } from './output.js';
export type { CanonicalCloses, DailyCloses, EmaOptions, TfSpec } from './inputs.js';
