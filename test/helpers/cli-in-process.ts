// Runs talab subcommands inside the test process (no child process start-up): the given commands are
// registered on a fresh program, console.log is captured, and the outcome is mapped to the CLI's exit code.
import { Command, CommanderError } from 'commander';
import { UserError } from '../../src/util/errors.js';

export async function runInProcess(register: (program: Command) => void, argv: string[]): Promise<{ code: number; out: string }> {
  const program = new Command().exitOverride().option('--db <target>');
  program.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  register(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...x: unknown[]) => lines.push(x.join(' '));
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'talab', ...argv]);
    return { code: Number(process.exitCode ?? 0), out: lines.join('\n') };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode === 0 ? 0 : 2, out: e.message };
    if (e instanceof UserError) return { code: e.exitCode, out: e.message };
    throw e;
  } finally {
    console.log = log;
    process.exitCode = undefined;
  }
}
