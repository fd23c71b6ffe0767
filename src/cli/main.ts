#!/usr/bin/env node
// The `talab` command: parses arguments, calls the library, reports. No business rules live here.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// Exit codes (src/util/errors.ts EXIT): 0 ok, 1 a component failed, 2 usage, 3 database unreachable or locked.
import { Command, CommanderError, Option } from 'commander';
import { describeError } from '../store/errors.js';
import { EXIT, redactUrl, UserError } from '../util/errors.js';
import { redactSecrets } from '../ops/log.js';
import { printable } from '../util/text.js';
import { registerDemo } from './demo.js';
import { registerImport } from './import.js';
import { registerDelete } from './delete.js';
import { registerAssets } from './assets.js';
import { registerInitStatus } from './status.js';
import { registerRefresh } from './refresh.js';
import { registerValidate } from './validate.js';
import { registerBaseline } from './baseline.js';
import { registerDiff } from './diff.js';
import { registerFeatures } from './features.js';
import { registerTimeframes } from './timeframes.js';
import { addExamples } from './help.js';
import { registerFreshness } from './freshness.js';
import { registerDaily } from './daily.js';
import { registerRuns } from './runs.js';
import { registerServe } from './serve.js';
import { registerExport } from './export.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('talab')
    .description('Market-data pipeline for technical analysis: import OHLCV, build bars and EMAs, keep them fresh.')
    .version('0.1.0')
    .addOption(
      new Option('--db <target>', 'DuckDB file path or postgres:// URL (default: $TALAB_DB or ./talab.duckdb)'),
    )
    .addHelpText('after', '\nExit codes: 0 ok, 1 a component failed, 2 usage error, 3 database unreachable or locked.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerInitStatus(program);
  registerImport(program);
  registerDelete(program);
  registerAssets(program);
  registerRefresh(program);
  registerValidate(program);
  registerBaseline(program);
  registerDiff(program);
  registerFeatures(program);
  registerTimeframes(program);
  registerFreshness(program);
  registerDaily(program);
  registerRuns(program);
  registerServe(program);
  registerExport(program);
  registerDemo(program);
  addExamples(program); // last: it walks every registered command
  return program;
}

/** One line for the user: credentials removed, control characters shown as escapes. */
const clean = (s: string) => printable(redactSecrets(redactUrl(s)));

/** A database error (a PostgreSQL error has a five-character SQLSTATE) rather than a bug of ours. */
function isDatabaseError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in (e as object);
}

export function exitFor(e: unknown): { code: number; message: string } {
  if (e instanceof CommanderError) return { code: e.exitCode === 0 ? EXIT.ok : EXIT.usage, message: '' };
  if (e instanceof UserError) return { code: e.exitCode, message: clean(e.message) };
  const err = e as Error;
  const kind = describeError(e);
  if (kind.kind === 'transient') {
    const what = kind.why === 'connection lost' || /^(E[A-Z]+|SQLSTATE 08|SQLSTATE 57P)/.test(kind.why) ? 'the database connection was lost' : `database error (${kind.why})`;
    return { code: EXIT.failure, message: clean(`${what}: ${err.message}`) };
  }
  if (isDatabaseError(e)) return { code: EXIT.failure, message: clean(`database error: ${err.message} (${(e as { code: string }).code})`) };
  return { code: EXIT.failure, message: clean(`internal error: ${err?.stack ?? String(e)}`) };
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const { code, message } = exitFor(e);
    // help, version and parse problems were already printed by commander
    if (message) process.stderr.write(`talab: ${message}\n`);
    return code;
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
