// Public surface of the EMA kernels (pure compute: no I/O, no DB).
export { ema, emaAlpha, emaContinue, emaSeedIndex, emaStep } from './kernel.js';
export { diffCanonical, diffRoll } from './derivatives.js';
export {
  anchorAlpha, calAlpha, emaAnchor, emaCal, emaV1, emaV2, v2Alpha, v2Guard, type AnchorOptions,
} from './families.js';
export type { CanonicalCloses, DailyCloses, EmaOptions, TfSpec } from './inputs.js';
