import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { importFile, type FileReport } from '../importer/import.js';
import { printable } from '../importer/parse.js';
import { openStore } from '../store/open.js';
import { UserError } from '../util/errors.js';
import { dbOf, intArg, outFileArg } from './args.js';

const SHOWN_REJECTS = 10;

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatFileReport(r: FileReport): string {
  const lines = [
    `${r.file} → ${r.asset.symbol} (id ${r.asset.id}), ${r.format}, ${r.firstDay ?? '-'}..${r.lastDay ?? '-'}: ` +
      `${r.read} read, ${r.inserted} inserted, ${r.revised} revised, ${r.unchanged} unchanged, ${r.rejected} rejected`,
  ];
  if (r.changedFrom) lines.push(`  history changed from ${r.changedFrom}: the next refresh recomputes from there`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  for (const rj of r.rejects.slice(0, SHOWN_REJECTS)) lines.push(`  reject ${r.file}:${rj.line}: ${rj.reason}`);
  if (r.rejects.length > SHOWN_REJECTS) {
    lines.push(`  … ${r.rejects.length - SHOWN_REJECTS} more rejects (--rejects-out FILE writes them all)`);
  }
  return lines.join('\n');
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('Load CoinMarketCap exports, Yahoo, Binance kline or plain OHLCV CSV/Parquet files into price_histories (upsert on id, day)')
    .argument('<files...>', 'files to import')
    .option('--id <n>', 'asset id for every file, e.g. its CoinMarketCap id (default: resolved from --symbol or the file name)', intArg('--id', 1))
    .option('--symbol <sym>', 'asset symbol: a stored asset, a built-in coin, or else a new asset with a local id (default: from the file name)')
    .option('--rejects-out <file>', 'write every rejected line (file, line, reason, raw) to this CSV', outFileArg('--rejects-out'))
    .option('--force', 'import although the asset\'s stored symbol/name differs (renaming it) or more than 10 % of its stored days would be revised')
    .option('--allow-early', 'accept CoinMarketCap rows dated before 2009-01-03 (never before 1950-01-01)')
    .option('--dry-run', 'parse and compare, write nothing')
    .action(async (files: string[], opts: { id?: number; symbol?: string; rejectsOut?: string; dryRun?: boolean; allowEarly?: boolean; force?: boolean }, cmd) => {
      const store = await openStore(dbOf(cmd));
      const reports: FileReport[] = [];
      let failed = 0;
      try {
        for (const f of files) {
          try {
            const r = await importFile(store, f, opts);
            reports.push(r);
            console.log(formatFileReport(r));
            if (r.read > 0 && r.rejected === r.read) {
              failed++;
              console.error(`talab: ${f}: every one of its ${r.read} rows was rejected; nothing loaded`);
            }
          } catch (e) {
            // One file's failure (bad input, or a database error on its transaction) never stops the next file.
            failed++;
            console.error(`talab: ${e instanceof UserError ? e.message : `${f}: import failed: ${printable((e as Error).message)}`}`);
          }
        }
      } finally {
        await store.close();
      }
      const sum = (k: 'inserted' | 'revised' | 'unchanged' | 'rejected') => reports.reduce((s, r) => s + r[k], 0);
      console.log(
        `${opts.dryRun ? '[dry run, nothing written] ' : ''}${files.length} file(s), ${failed} failed: ` +
          `${sum('inserted')} inserted, ${sum('revised')} revised, ${sum('unchanged')} unchanged, ${sum('rejected')} rejected`,
      );
      if (opts.rejectsOut) {
        const out = ['file,line,reason,raw'];
        for (const r of reports) for (const rj of r.rejects) out.push([r.file, String(rj.line), rj.reason, rj.raw].map(csvField).join(','));
        writeFileSync(opts.rejectsOut, out.join('\n') + '\n');
        console.log(`rejects written to ${opts.rejectsOut} (${out.length - 1})`);
      }
      if (failed) process.exitCode = 1;
    });
}
