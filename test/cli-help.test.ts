// Every command's --help ends with examples, and every example parses with the CLI (so a renamed flag cannot
// leave a stale example behind). A new command needs its examples in src/cli/help.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { buildProgram } from '../src/cli/main.js';
import { commandPath, EXAMPLES } from '../src/cli/help.js';
import { docCommands, dryParse } from './helpers/cli-parse.js';

function allCommands(program: Command): Command[] {
  const out: Command[] = [];
  const visit = (c: Command) => {
    out.push(c);
    c.commands.forEach(visit);
  };
  visit(program);
  return out;
}

function helpOf(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

test('every command has examples in its --help, and each example parses', async () => {
  const program = await buildProgram();
  const missing: string[] = [];
  const failures: string[] = [];
  let n = 0;
  for (const cmd of allCommands(program)) {
    const path = commandPath(cmd) || '(talab)';
    const help = helpOf(cmd);
    const at = help.indexOf('\nExamples:\n');
    if (at < 0) {
      missing.push(path);
      continue;
    }
    const block = ['```sh', ...help.slice(at + 11).split('\n').map((l) => l.trim()), '```'].join('\n');
    const { commands } = docCommands(`${path} --help`, block);
    assert.ok(commands.length > 0, `${path}: no npx talab line under Examples`);
    for (const c of commands) {
      n++;
      const err = dryParse(c.argv);
      if (err) failures.push(`${path}: npx talab ${c.argv.join(' ')}\n    ${err.split('\n')[0]}`);
    }
  }
  assert.deepEqual(missing, [], 'add examples for these commands to EXAMPLES in src/cli/help.ts');
  assert.deepEqual(failures, []);
  assert.ok(n >= 20, `${n} examples`);
});

test('every entry of EXAMPLES names an existing command', async () => {
  const paths = new Set(allCommands(await buildProgram()).map(commandPath));
  assert.deepEqual(Object.keys(EXAMPLES).filter((k) => !paths.has(k)), []);
});

test('a command loads only its own module; help and unknown words load every command', async () => {
  const names = async (args: string[]) => (await buildProgram(args)).commands.map((c) => c.name());
  assert.deepEqual(await names(['--db', 'x.duckdb', 'refresh', '--all']), ['refresh']);
  assert.deepEqual(await names(['--db=x.duckdb', 'status']), ['init', 'status']);
  assert.deepEqual(await names(['chart', '--id', '1']), ['serve', 'chart']);
  const every = await names([]);
  assert.ok(every.length === 18 && every.includes('delete') && every.includes('demo') && every.includes('refresh'), every.join(' '));
  for (const args of [['--help'], ['help', 'refresh'], ['refrsh', '--all'], ['--db', 'refresh']]) {
    assert.deepEqual(await names(args), every, args.join(' '));
  }
  assert.deepEqual(await names(['--version']), []);
  assert.deepEqual(await names(['-V']), []);
});

test('talab --version answers without loading a command', () => {
  for (const flag of ['--version', '-V']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', flag], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
  }
});
