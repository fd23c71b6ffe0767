// `npm start`: the main job on the bundled real sample (data/sample), end to end.
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { importSource } from '../importer/import.js';
import { openStore } from '../store/open.js';
import { dbOf } from './args.js';
import { formatFileReport } from './import.js';

export const SAMPLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../data/sample');

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Import the bundled sample (data/sample), refresh every table, validate, and show the status')
    .action(async (_opts, cmd) => {
      const files = readdirSync(SAMPLE_DIR).filter((f) => f.endsWith('.csv')).sort().map((f) => join(SAMPLE_DIR, f));
      const store = await openStore(dbOf(cmd));
      try {
        console.log(`talab demo → ${store.location}`);
        for (const f of files) for (const r of await importSource(store, f)) console.log(formatFileReport(r));
      } finally {
        await store.close();
      }
      const db = dbOf(cmd);
      const global = db ? ['--db', db] : [];
      await program.parseAsync([...global, 'refresh', '--all', '--validate'], { from: 'user' });
      await program.parseAsync([...global, 'status'], { from: 'user' });
    });
}
