// Every `npx talab …` command shown in a fenced shell block of README.md or docs/*.md must parse with the
// CLI's own commander program (a dry parse: actions replaced by no-ops, nothing opened or run), so a renamed
// flag or command cannot leave the docs behind. Commands added later are checked without touching this file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { buildProgram } from '../src/cli/main.js';

const ROOT = join(import.meta.dirname, '..');
const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'cron']);

interface DocCommand {
  where: string; // file:line
  argv: string[]; // after `npx talab`
}

/** Words of one shell command line: quotes and backslash escapes honoured, no expansion. */
function shellWords(s: string): string[] {
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
function dryProgram(): { program: Command; output: string[] } {
  const output: string[] = [];
  const program = buildProgram();
  const visit = (c: Command) => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => output.push(s), writeErr: (s) => output.push(s) });
    if ((c as unknown as { _actionHandler: unknown })._actionHandler) c.action(() => {});
    c.commands.forEach(visit);
  };
  visit(program);
  return { program, output };
}

function dryParse(argv: string[]): string | null {
  const { program, output } = dryProgram();
  try {
    program.parse(argv, { from: 'user' });
    return null;
  } catch (e) {
    if (e instanceof CommanderError && e.exitCode === 0) return null; // --help, --version
    return e instanceof CommanderError ? output.join('').trim() || e.message : String(e);
  }
}

function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return ['README.md', ...docs.sort()];
}

test('every `npx talab` command in README.md and docs/ parses with the CLI', () => {
  const failures: string[] = [];
  const bare: string[] = [];
  let n = 0;
  for (const f of docFiles()) {
    const r = docCommands(f, readFileSync(join(ROOT, f), 'utf8'));
    bare.push(...r.bare);
    for (const c of r.commands) {
      n++;
      const err = dryParse(c.argv);
      if (err) failures.push(`${c.where}: npx talab ${c.argv.join(' ')}\n    ${err.split('\n')[0]}`);
    }
  }
  assert.ok(n >= 10, `only ${n} documented commands found: is the extraction broken?`);
  assert.deepEqual(bare, [], 'write `npx talab …`: a bare `talab` is not on PATH in a clone');
  assert.deepEqual(failures, []);
});

test('the docs check itself: extraction and a dry parse that can fail', () => {
  const md = [
    '```sh',
    'TALAB_DB=x.duckdb npx talab refresh --all --tfs 7D,1M_CAL \\',
    '  --periods 10  # comment',
    'npx talab import "a b.csv" && npx talab status --json > out.json',
    'talab status',
    'ls -l',
    '```',
    '```text',
    'npx talab not-checked-here',
    '```',
  ].join('\n');
  const { commands, bare } = docCommands('x.md', md);
  assert.deepEqual(commands.map((c) => c.argv), [
    ['refresh', '--all', '--tfs', '7D,1M_CAL', '--periods', '10'],
    ['import', 'a b.csv'],
    ['status', '--json'],
  ]);
  assert.equal(commands[0].where, 'x.md:2');
  assert.deepEqual(bare, ['x.md:5: talab status']);
  assert.equal(dryParse(['status', '--json']), null);
  assert.equal(dryParse(['refresh', '--help']), null);
  assert.match(dryParse(['status', '--no-such-flag']) ?? '', /unknown option/);
  assert.match(dryParse(['no-such-command']) ?? '', /unknown command/);
  assert.match(dryParse(['import', '--id', 'x', 'a.csv']) ?? '', /integer/);
});
