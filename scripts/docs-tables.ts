// Writes docs/tables.md from the schema definitions: `npm run docs:tables`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderTablesMarkdown } from '../src/results/dictionary.js';

const out = join(import.meta.dirname, '..', 'docs', 'tables.md');
writeFileSync(out, renderTablesMarkdown());
console.log(`wrote ${out}`);
