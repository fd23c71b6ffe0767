// Every `npx talab …` command shown in a fenced shell block of README.md or docs/*.md must parse with the
// CLI's own commander program (a dry parse: actions replaced by no-ops, nothing opened or run), so a renamed
// flag or command cannot leave the docs behind. Commands added later are checked without touching this file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { docCommands, dryParse } from './helpers/cli-parse.js';

const ROOT = join(import.meta.dirname, '..');

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
