import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { diffDatabases } from '../baseline/against.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { idListArg } from './args.js';
import { addCompareOptions, methodOf, printReport, type CompareFlags } from './baseline.js';

/**
 * `DB[:table]`: the table is what follows the last ':' when that is a plain identifier, so
 * `postgres://u:pw@host:5432/db` (whose last ':' is followed by `5432/db`) names no table.
 */
export function parseSideArg(v: string): { db: string; table?: string } {
  const i = v.lastIndexOf(':');
  if (i > 0) {
    const table = v.slice(i + 1);
    const db = v.slice(0, i);
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) return { db, table };
  }
  return { db: v };
}

async function openSide(label: string, db: string): Promise<Store> {
  if (!/^postgres(ql)?:\/\//i.test(db) && !existsSync(db)) throw new UserError(`${label} ${db}: no such DuckDB file`);
  return openStore(db, { mustExist: true });
}

export function registerDiff(program: Command): void {
  addCompareOptions(program
    .command('diff')
    .description(
      'Compare the derived tables of two databases — DuckDB or PostgreSQL, either way round — every row by checksum ' +
        'bisection, with the baseline tolerance rules and report. DB[:table] compares one table (a snapshot table ' +
        'is compared as its base table). Exit 0 PASS, 1 FAIL.',
    )
    .requiredOption('--left <db[:table]>', 'the reference side: a DuckDB file or postgres:// URL, optionally :table')
    .requiredOption('--right <db[:table]>', 'the side checked against it, same form')
    .option('--ids <list>', 'compare only these assets', idListArg))
    .action(async (opts: CompareFlags & { left: string; right: string }) => {
      const { method, sample } = methodOf(opts);
      const l = parseSideArg(opts.left);
      const r = parseSideArg(opts.right);
      const left = await openSide('--left', l.db);
      try {
        // One DuckDB file cannot be opened twice in a process: the same database on both sides shares its store.
        const right = r.db === l.db ? left : await openSide('--right', r.db);
        try {
          const report = await diffDatabases({ store: left, table: l.table }, { store: right, table: r.table }, {
            ids: opts.ids, method, sample, topN: opts.top, outputDir: opts.outputDir, progress: process.stderr.isTTY === true,
            log: (line) => console.log(line),
          });
          printReport(report, opts.outputDir);
        } finally {
          if (right !== left) await right.close();
        }
      } finally {
        await left.close();
      }
    });
}
