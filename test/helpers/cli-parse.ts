// Dry parsing of documented `npx talab …` commands with the CLI's own commander program: actions replaced by
// no-ops, output captured, nothing opened or run. Used by the docs check and the --help examples check.
import { Command, CommanderError } from 'commander';
import { loadCommands, programWith } from '../../src/cli/main.js';

const everyCommand = await loadCommands();

const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'cron']);

export interface DocCommand {
  where: string; // file:line
  argv: string[]; // after `npx talab`
}

/** Words of one shell command line: quotes and backslash escapes honoured, no expansion. */
export function shellWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (q) {
      if (ch === q) q = null;
      else if (ch === '\\' && q === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      q = ch;
      has = true;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** The `npx talab` commands of one markdown text; bare `talab …` lines are reported as errors. */
export function docCommands(file: string, text: string): { commands: DocCommand[]; bare: string[] } {
  const commands: DocCommand[] = [];
  const bare: string[] = [];
  const lines = text.split('\n');
  let inBlock = false;
  let checked = false;
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```(\S*)/.exec(lines[i]);
    if (fence) {
      checked = !inBlock && SHELL_LANGS.has(fence[1]);
      inBlock = !inBlock;
      continue;
    }
    if (!inBlock || !checked) continue;
    const start = i;
    let line = lines[i];
    while (/\\\s*$/.test(line) && i + 1 < lines.length) line = line.replace(/\\\s*$/, ' ') + lines[++i];
    line = line.replace(/(^|\s)#.*$/, ''); // a shell comment
    for (const part of line.split(/&&|\|\||;|\|/)) {
      const seg = part.trim();
      const at = seg.search(/(^|\s)npx talab(\s|$)/);
      if (at >= 0) {
        const words = shellWords(seg.slice(at).trim());
        const redirect = words.findIndex((w) => /^\d?[<>]/.test(w));
        commands.push({ where: `${file}:${start + 1}`, argv: words.slice(2, redirect < 0 ? undefined : redirect) });
      } else if (/^(\S+=\S*\s+)*talab(\s|$)/.test(seg)) {
        bare.push(`${file}:${start + 1}: ${seg}`);
      }
    }
  }
  return { commands, bare };
}

/** The real program, with every action a no-op and output captured: parsing only. */
export function dryProgram(): { program: Command; output: string[] } {
  const output: string[] = [];
  const program = programWith(everyCommand);
  const visit = (c: Command) => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => output.push(s), writeErr: (s) => output.push(s) });
    if ((c as unknown as { _actionHandler: unknown })._actionHandler) c.action(() => {});
    c.commands.forEach(visit);
  };
  visit(program);
  return { program, output };
}

export function dryParse(argv: string[]): string | null {
  const { program, output } = dryProgram();
  try {
    program.parse(argv, { from: 'user' });
    return null;
  } catch (e) {
    if (e instanceof CommanderError && e.exitCode === 0) return null; // --help, --version
    return e instanceof CommanderError ? output.join('').trim() || e.message : String(e);
  }
}

