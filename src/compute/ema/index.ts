// Public surface of the EMA kernels (pure compute: no I/O, no DB).
export { ema, emaAlpha, emaContinue, emaFold, emaSeedIndex, emaStep, type EmaState } from './kernel.js';
export { diffCanonical, diffRoll } from './derivatives.js';
export {
  anchorAlpha, calAlpha, emaAnchor, emaCal, emaV1, emaV2, v2Alpha, v2Guard, type AnchorOptions,
  EMA_CARRY_FAMILY, EMA_CARRY_LEN, EMA_CARRY_SLOT, emaCarryInit, emaCarryLastTs, emaCarryRows, emaCarryStarted,
} from './families.js';
export type { CanonicalCloses, DailyCloses, EmaOptions, TfSpec } from './inputs.js';
