import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { importFile, type FileReport } from '../importer/import.js';
import { printable } from '../util/text.js';
import { recordRun } from '../ops/runs.js';
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
      `${r.read} read, ${r.inserted} inserted, ${r.revised} revised, ${r.deleted} deleted, ${r.unchanged} unchanged, ${r.rejected} rejected`,
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
    .option('--force', 'import although the asset\'s stored symbol/name differs (renaming it) or more than 10 % of its stored days would be revised or deleted')
    .option('--replace', 'each file is its asset\'s whole history: stored days absent from the file are deleted (the next refresh recomputes from the earliest)')
    .option('--allow-early', 'accept CoinMarketCap rows dated before 2009-01-03 (never before 1950-01-01)')
    .option('--dry-run', 'parse and compare, write nothing')
    .option('--json', 'one JSON document on stdout instead of the text report (docs/json.md)')
    .action(async (files: string[], opts: { id?: number; symbol?: string; rejectsOut?: string; dryRun?: boolean; allowEarly?: boolean; force?: boolean; replace?: boolean; json?: boolean }, cmd) => {
      const startedAt = new Date();
      const store = await openStore(dbOf(cmd));
      const reports: FileReport[] = [];
      const failures: { file: string; error: string }[] = [];
      const say = (s: string) => {
        if (!opts.json) console.log(s);
      };
      const sum = (k: 'inserted' | 'revised' | 'deleted' | 'unchanged' | 'rejected') => reports.reduce((s, r) => s + r[k], 0);
      // A bar on stderr for many files on a terminal; the per-file lines stay on stdout.
      const bar = files.length > 1 && process.stderr.isTTY && !opts.json ? fileBar(files.length) : null;
      try {
        for (const f of files) {
          try {
            const r = await importFile(store, f, opts);
            reports.push(r);
            bar?.clear();
            say(formatFileReport(r));
            if (r.read > 0 && r.rejected === r.read) {
              const msg = `${f}: every one of its ${r.read} rows was rejected; nothing loaded`;
              failures.push({ file: f, error: msg });
              console.error(`talab: ${msg}`);
            }
          } catch (e) {
            // One file's failure (bad input, or a database error on its transaction) never stops the next file.
            const msg = e instanceof UserError ? e.message : `${f}: import failed: ${printable((e as Error).message)}`;
            failures.push({ file: f, error: msg });
            bar?.clear();
            console.error(`talab: ${msg}`);
          }
          bar?.tick(basename(f));
        }
        if (!opts.dryRun) {
          await recordRun(store, {
            kind: 'import', startedAt, status: failures.length ? 'failed' : 'finished', rows: sum('inserted') + sum('revised') + sum('deleted'),
            summary: {
              files: files.length, failed: failures.length, inserted: sum('inserted'), revised: sum('revised'), deleted: sum('deleted'),
              unchanged: sum('unchanged'), rejected: sum('rejected'),
              detail: failures.length ? `${failures.length} file(s) failed — ${failures[0].error}` : null,
            },
          });
        }
      } finally {
        bar?.stop();
        await store.close();
      }
      say(
        `${opts.dryRun ? '[dry run, nothing written] ' : ''}${reports.length} file(s) imported, ${failures.length} failed: ` +
          `${sum('inserted')} inserted, ${sum('revised')} revised, ${sum('deleted')} deleted, ${sum('unchanged')} unchanged, ${sum('rejected')} rejected`,
      );
      if (opts.rejectsOut) {
        const out = ['file,line,reason,raw'];
        for (const r of reports) for (const rj of r.rejects) out.push([r.file, String(rj.line), rj.reason, rj.raw].map(csvField).join(','));
        writeFileSync(opts.rejectsOut, out.join('\n') + '\n');
        say(`rejects written to ${opts.rejectsOut} (${out.length - 1})`);
      }
      if (opts.json) {
        console.log(JSON.stringify({
          dry_run: !!opts.dryRun, ok: failures.length === 0,
          totals: { files: files.length, imported: reports.length, failed: failures.length, inserted: sum('inserted'), revised: sum('revised'), deleted: sum('deleted'), unchanged: sum('unchanged'), rejected: sum('rejected') },
          files: reports.map((r) => ({
            file: r.file, format: r.format, asset_id: r.asset.id, symbol: r.asset.symbol, first_day: r.firstDay, last_day: r.lastDay,
            read: r.read, inserted: r.inserted, revised: r.revised, deleted: r.deleted, unchanged: r.unchanged, rejected: r.rejected,
            changed_from: r.changedFrom, warnings: r.warnings,
            rejects: r.rejects.map((rj) => ({ line: rj.line, reason: rj.reason })),
          })),
          failures,
        }, null, 2));
      }
      if (failures.length) process.exitCode = 1;
    });
}

/** Files done / total with an ETA shown as '—' until the first file has finished. */
function fileBar(total: number) {
  const t0 = Date.now();
  let done = 0;
  const width = Math.min(80, process.stderr.columns || 80) - 1;
  const draw = (last: string) => {
    const left = done ? Math.round(((Date.now() - t0) / done) * (total - done) / 1000) : null;
    const line = `import ${done}/${total} | ETA ${left === null ? '—' : `${left}s`} | ${last}`;
    process.stderr.write(`\r${line.slice(0, width).padEnd(width)}`);
  };
  draw('');
  return {
    tick(last: string) {
      done++;
      draw(last);
    },
    clear() {
      process.stderr.write(`\r${' '.repeat(width)}\r`);
    },
    stop() {
      process.stderr.write('\n');
    },
  };
}
