// Argument parsers shared by the subcommands: each turns a bad value into a usage error (exit 2).
import { existsSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '../util/errors.js';

export function intArg(name: string, min = 0): (v: string) => number {
  return (v: string) => {
    if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be an integer, got '${v}'`);
    const n = Number(v);
    if (n < min) throw new InvalidArgumentError(`${name} must be ≥ ${min}, got ${n}`);
    return n;
  };
}

export function idListArg(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError(`--ids needs a comma-separated list of asset ids`);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new InvalidArgumentError(`--ids: '${p}' is not an asset id`);
    return Number(p);
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

/** Commands that only read refuse a DuckDB path that does not exist: opening it would create an empty file. */
export function requireExistingDb(db: string, what: string): void {
  if (db !== ':memory:' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(db) && !existsSync(db)) {
    throw new UserError(`no database at ${db}: nothing to ${what} (give --db or set TALAB_DB)`);
  }
}
