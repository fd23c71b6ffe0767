// Price-level kernels of the feature matrix, pure per-asset functions of the daily bars:
//   pivots.ts      classic floor pivots per day (daily and weekly levels)
//   goldenzone.ts  swing, Fibonacci retracements and the golden-zone state per day
// features/build.ts loads the bars, calls these and writes their columns.
export * from './pivots.js';
export * from './goldenzone.js';
