// Argument parsers shared by the subcommands: each turns a bad value into a usage error (exit 2).
import { InvalidArgumentError, type Command } from 'commander';

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
