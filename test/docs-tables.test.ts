// docs/tables.md is the data dictionary rendered from the schema definitions: the committed file must be what
// `npm run docs:tables` writes now, and it must describe every table and view.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { VIEWS } from '../src/schema/views.js';
import { renderTablesMarkdown } from '../src/results/dictionary.js';
import { ALL_TABLES } from '../src/schema/tables.js';

test('docs/tables.md is current (run `npm run docs:tables` after changing a table, column or view)', () => {
  const committed = readFileSync(join(import.meta.dirname, '..', 'docs', 'tables.md'), 'utf8');
  const now = renderTablesMarkdown();
  assert.equal(committed, now);
  for (const name of [...ALL_TABLES.map((t) => t.name), ...VIEWS.map((v) => v.name)]) assert.ok(now.includes(`### \`${name}\``), name);
});
