// Argument parsers shared by the subcommands: each turns a bad value into a usage error (exit 2), at parse
// time, before the command opens the database or writes anything.
import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '../util/errors.js';
import { checkOutputFile, ensureDir } from '../util/paths.js';

/** Largest value of a 32-bit integer column (asset ids) and the default ceiling of every count flag. */
export const INT32_MAX = 2_147_483_647;

export function intArg(name: string, min = 0, max = INT32_MAX): (v: string) => number {
  return (v: string) => {
    if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be an integer, got '${v}'`);
    const n = Number(v);
    if (n < min) throw new InvalidArgumentError(`${name} must be ≥ ${min}, got ${v.trim()}`);
    if (n > max) throw new InvalidArgumentError(`${name} must be ≤ ${max}, got ${v.trim()}`);
    return n;
  };
}

export function idListArg(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError(`--ids needs a comma-separated list of asset ids`);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new InvalidArgumentError(`--ids: '${p}' is not an asset id`);
    const n = Number(p);
    if (n > INT32_MAX) throw new InvalidArgumentError(`--ids: '${p}' is beyond the largest asset id (${INT32_MAX})`);
    return n;
  });
}

/** Re-throws a path problem found by src/util/paths as commander's usage error. */
function asArgError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UserError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

/** A file the command will write: its directory must exist now, so that nothing is done for a report that cannot be saved. */
export function outFileArg(flag: string): (v: string) => string {
  return (v: string) => asArgError(() => checkOutputFile(flag, v));
}

/** A directory the command will write into: created now (one level at a time), or a usage error. */
export function dirArg(flag: string): (v: string) => string {
  return (v: string) => asArgError(() => {
    ensureDir(flag, v);
    return v;
  });
}

export function dbOf(cmd: Command): string | undefined {
  return cmd.optsWithGlobals().db as string | undefined;
}

export function dayArg(name: string): (v: string) => string {
  return (v: string) => {
    const s = v.trim();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) !== s) {
      throw new InvalidArgumentError(`${name} must be a date YYYY-MM-DD, got '${v}'`);
    }
    return s;
  };
}
