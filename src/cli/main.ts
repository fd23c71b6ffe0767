#!/usr/bin/env node
// The `talab` command: parses arguments, calls the library, reports. No business rules live here.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// Exit codes (src/util/errors.ts EXIT): 0 ok, 1 a component failed, 2 usage, 3 database unreachable or locked.
import { Command, CommanderError, Option } from 'commander';
import { describeError } from '../store/errors.js';
import { EXIT, UserError } from '../util/errors.js';
import { redactSecrets } from '../util/redact.js';
import { printable } from '../util/text.js';
import { addExamples } from './help.js';

type Register = (program: Command) => void;

/**
 * Every command, in the order `talab --help` lists them, with the module that defines it. A module is imported
 * only when its command runs: loading all of them (and through them DuckDB, pg, pino, the web server, …) cost
 * more than the daily refresh's own work.
 */
const COMMANDS: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ['init', 'status'], load: async () => (await import('./status.js')).registerInitStatus },
  { names: ['import'], load: async () => (await import('./import.js')).registerImport },
  { names: ['delete'], load: async () => (await import('./delete.js')).registerDelete },
  { names: ['assets'], load: async () => (await import('./assets.js')).registerAssets },
  { names: ['refresh'], load: async () => (await import('./refresh.js')).registerRefresh },
  { names: ['validate'], load: async () => (await import('./validate.js')).registerValidate },
  { names: ['baseline'], load: async () => (await import('./baseline.js')).registerBaseline },
  { names: ['diff'], load: async () => (await import('./diff.js')).registerDiff },
  { names: ['features'], load: async () => (await import('./features.js')).registerFeatures },
  { names: ['timeframes'], load: async () => (await import('./timeframes.js')).registerTimeframes },
  { names: ['freshness'], load: async () => (await import('./freshness.js')).registerFreshness },
  { names: ['daily'], load: async () => (await import('./daily.js')).registerDaily },
  { names: ['runs'], load: async () => (await import('./runs.js')).registerRuns },
  { names: ['serve', 'chart'], load: async () => (await import('./serve.js')).registerServe },
  { names: ['export'], load: async () => (await import('./export.js')).registerExport },
  { names: ['demo'], load: async () => (await import('./demo.js')).registerDemo },
];

/** The command word of an argv (after node and the script): the first word that is not a global option. */
export function commandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--db') i++; // its value
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}

/**
 * The modules of the command `args` names, or of every command when it names none of them (`--help`, `help`,
 * a typo that commander should answer with a suggestion). None for `--version` alone, which needs no command
 * (loading them all, DuckDB's library included, took longer than the answer). Without `args`: every command.
 */
export async function loadCommands(args?: readonly string[]): Promise<Register[]> {
  if (args?.length === 1 && (args[0] === '--version' || args[0] === '-V')) return [];
  const word = args && commandOf(args);
  const one = COMMANDS.filter((c) => word !== undefined && c.names.includes(word));
  return Promise.all((one.length ? one : COMMANDS).map((c) => c.load()));
}

/** A fresh program with these commands registered. */
export function programWith(registers: readonly Register[]): Command {
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
  for (const register of registers) register(program);
  addExamples(program); // last: it walks every registered command
  return program;
}

export async function buildProgram(args?: readonly string[]): Promise<Command> {
  return programWith(await loadCommands(args));
}

/** One line for the user: credentials removed, control characters shown as escapes. */
const clean = (s: string) => printable(redactSecrets(s));

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
  try {
    const program = await buildProgram(argv.slice(2));
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
