#!/usr/bin/env node
// The `talab` command: parses arguments, calls the library, reports. No business rules live here.
import { Command, CommanderError, Option } from 'commander';
import { UserError } from '../util/errors.js';
import { registerDemo } from './demo.js';
import { registerImport } from './import.js';
import { registerInitStatus } from './status.js';
import { registerRefresh } from './refresh.js';
import { registerValidate } from './validate.js';
import { registerBaseline } from './baseline.js';
import { registerFeatures } from './features.js';
import { registerFreshness } from './freshness.js';
import { registerDaily } from './daily.js';
import { registerRuns } from './runs.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('talab')
    .description('Market-data pipeline for technical analysis: import OHLCV, build bars and EMAs, keep them fresh.')
    .version('0.1.0')
    .addOption(
      new Option('--db <target>', 'DuckDB file path or postgres:// URL (default: $TALAB_DB or ./talab.duckdb)'),
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerInitStatus(program);
  registerImport(program);
  registerRefresh(program);
  registerValidate(program);
  registerBaseline(program);
  registerFeatures(program);
  registerFreshness(program);
  registerDaily(program);
  registerRuns(program);
  registerDemo(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; every other parse problem is a usage error (already printed).
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UserError) {
      process.stderr.write(`talab: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`talab: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

// `talab status | head` closes the pipe early; that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv).then((code) => {
  process.exitCode = code;
});
