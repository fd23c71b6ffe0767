// The failure of a fast-check run whose inputs (whole histories) are too long to print usefully: the seed and
// path reproduce the counterexample, and the first 2,000 characters of its error say what broke.
import assert from 'node:assert/strict';
import type fc from 'fast-check';

export function assertNoCounterexample<T>(result: fc.RunDetails<T>): void {
  if (!result.failed) return;
  const err = result.errorInstance as Error | undefined;
  assert.fail(`seed ${result.seed}, path ${result.counterexamplePath}: ${String(err?.message ?? err).slice(0, 2000)}`);
}
