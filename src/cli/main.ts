#!/usr/bin/env node
// The `talab` command: parses arguments, calls the library, reports. No business rules live here.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { UserError } from '../util/errors.js';
import { registerDemo } from './demo.js';
import { registerImport } from './import.js';
import { registerAssets } from './assets.js';
import { registerInitStatus } from './status.js';
import { registerRefresh } from './refresh.js';
import { registerValidate } from './validate.js';
import { registerBaseline } from './baseline.js';
import { registerDiff } from './diff.js';
import { registerFeatures } from './features.js';
import { registerTimeframes } from './timeframes.js';
import { addExamples } from './help.js';

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
  registerAssets(program);
  registerRefresh(program);
  registerValidate(program);
  registerBaseline(program);
  registerDiff(program);
  registerFeatures(program);
  registerTimeframes(program);
  registerDemo(program);
  addExamples(program); // last: it walks every registered command
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

// Run only as the entry point (bin link, node dist/cli/main.js, tsx src/cli/main.ts); a test that imports
// buildProgram() to dry-parse documented commands must not start a run.
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // `talab status | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });

  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
