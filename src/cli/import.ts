import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { importSource, type FileReport } from '../importer/import.js';
import { printable } from '../util/text.js';
import { recordRun } from '../ops/runs.js';
import { openStore } from '../store/open.js';
import { UserError } from '../util/errors.js';
import { progressLine } from '../util/progress.js';
import { retryAttempts, retryMinMs } from '../store/errors.js';
import { retryTransient } from '../store/retry.js';
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
  if (r.marketCapOptional) lines.push('  market cap: optional for this asset (its source has none); days without it still build bars');
  for (const rj of r.rejects.slice(0, SHOWN_REJECTS)) {
    lines.push(`  reject ${r.file}${r.unit === 'row' ? ` row ${rj.line}` : `:${rj.line}`}: ${rj.reason}`);
  }
  if (r.rejects.length > SHOWN_REJECTS) {
    lines.push(`  … ${r.rejects.length - SHOWN_REJECTS} more rejects (--rejects-out FILE writes them all)`);
  }
  return lines.join('\n');
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('Load CoinMarketCap exports, Yahoo, Binance kline, plain or multi-asset OHLCV CSV and Parquet files into price_histories (upsert on id, day)')
    .argument('<files...>', 'files to import')
    .option('--id <n>', 'asset id for every file, e.g. its CoinMarketCap id (default: resolved from --symbol or the file name)', intArg('--id', 1))
    .option('--symbol <sym>', 'asset symbol: a stored asset, a built-in coin, or else a new asset with a local id (default: from the file name)')
    .option('--rejects-out <file>', 'write every rejected line (file, line, reason, raw) to this CSV', outFileArg('--rejects-out'))
    .option('--force', 'import although the asset\'s stored symbol/name differs (renaming it), more than 10 % of its stored days would be revised or deleted, or a file without market cap goes into an asset whose days have one (making market cap optional for it)')
    .option('--replace', 'each file is its asset\'s whole history: stored days absent from the file are deleted (the next refresh recomputes from the earliest)')
    .option('--allow-early', 'accept CoinMarketCap rows dated before 2009-01-03 (never before 1950-01-01)')
    .option('--dry-run', 'parse and compare, write nothing')
    .option('--json', 'one JSON document on stdout instead of the text report (docs/json.md)')
    .action(async (files: string[], opts: { id?: number; symbol?: string; rejectsOut?: string; dryRun?: boolean; allowEarly?: boolean; force?: boolean; replace?: boolean; json?: boolean }, cmd) => {
      const startedAt = new Date();
      retryAttempts(); // bad retry settings: a usage error before the first file
      retryMinMs();
      const store = await openStore(dbOf(cmd));
      const reports: FileReport[] = [];
      const failures: { file: string; error: string }[] = [];
      let ledgerError = '';
      const say = (s: string) => {
        if (!opts.json) console.log(s);
      };
      const sum = (k: 'inserted' | 'revised' | 'deleted' | 'unchanged' | 'rejected') => reports.reduce((s, r) => s + r[k], 0);
      // A bar on stderr for many files on a terminal; the per-file lines stay on stdout.
      const bar = files.length > 1 && process.stderr.isTTY && !opts.json ? fileBar(files.length) : null;
      try {
        for (const f of files) {
          try {
            // One transaction per file: a transient error rolled it back whole, so the file is redone on a new session.
            const done = await retryTransient(() => importSource(store, f, opts), {
              reconnect: store.reconnect && (() => store.reconnect!()),
              onRetry: (x) => console.error(`talab: ${f}: database error (${x.why}): ${printable((x.error as Error).message)}; ` +
                `attempt ${x.attempt} of ${x.attempts} failed, reconnecting to redo the file`),
            });
            reports.push(...done);
            bar?.clear();
            for (const r of done) say(formatFileReport(r));
            const read = done.reduce((s, r) => s + r.read, 0);
            if (read > 0 && done.every((r) => r.rejected === r.read)) {
              const msg = `${f}: every one of its ${read} rows was rejected; nothing loaded`;
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
          // The files' own transactions are committed (or not) whatever happens here: a ledger that cannot be
          // written is said, not thrown, so that the summary still follows.
          await retryTransient(() => recordRun(store, {
            kind: 'import', startedAt, status: failures.length ? 'failed' : 'finished', rows: sum('inserted') + sum('revised') + sum('deleted'),
            summary: {
              files: files.length, failed: failures.length, inserted: sum('inserted'), revised: sum('revised'), deleted: sum('deleted'),
              unchanged: sum('unchanged'), rejected: sum('rejected'),
              detail: failures.length ? `${failures.length} file(s) failed — ${failures[0].error}` : null,
            },
          }), { reconnect: store.reconnect && (() => store.reconnect!()) }).catch((e) => {
            ledgerError = `the run could not be recorded in the runs table: ${printable((e as Error).message)}`;
            console.error(`talab: ${ledgerError}`);
          });
        }
      } finally {
        bar?.stop();
        await store.close();
      }
      say(
        `${opts.dryRun ? '[dry run, nothing written] ' : ''}${new Set(reports.map((r) => r.file)).size} file(s) imported` +
          `${reports.length > new Set(reports.map((r) => r.file)).size ? ` (${reports.length} assets)` : ''}, ${failures.length} failed: ` +
          `${sum('inserted')} inserted, ${sum('revised')} revised, ${sum('deleted')} deleted, ${sum('unchanged')} unchanged, ${sum('rejected')} rejected`,
      );
      if (opts.rejectsOut) {
        const out = ['file,line,reason,raw'];
        // A Parquet reject's number is its data row (the header is no row); a text file's is its line.
        for (const r of reports) for (const rj of r.rejects) out.push([r.file, String(rj.line), rj.reason, rj.raw].map(csvField).join(','));
        writeFileSync(opts.rejectsOut, out.join('\n') + '\n');
        say(`rejects written to ${opts.rejectsOut} (${out.length - 1})`);
      }
      if (opts.json) {
        console.log(JSON.stringify({
          dry_run: !!opts.dryRun, ok: failures.length === 0,
          totals: { files: files.length, imported: new Set(reports.map((r) => r.file)).size, assets: new Set(reports.map((r) => r.asset.id)).size, failed: failures.length, inserted: sum('inserted'), revised: sum('revised'), deleted: sum('deleted'), unchanged: sum('unchanged'), rejected: sum('rejected') },
          files: reports.map((r) => ({
            file: r.file, format: r.format, asset_id: r.asset.id, symbol: r.asset.symbol, market_cap_optional: r.marketCapOptional,
            first_day: r.firstDay, last_day: r.lastDay,
            read: r.read, inserted: r.inserted, revised: r.revised, deleted: r.deleted, unchanged: r.unchanged, rejected: r.rejected,
            changed_from: r.changedFrom, warnings: r.warnings, unknown_columns: r.unknownColumns,
            rejects: r.rejects.map((rj) => (r.unit === 'row' ? { row: rj.line, reason: rj.reason } : { line: rj.line, reason: rj.reason })),
          })),
          failures,
        }, null, 2));
      }
      if (failures.length || ledgerError) process.exitCode = 1;
    });
}

/** Files done / total with an ETA shown as '—' until the first file has finished. */
function fileBar(total: number) {
  const t0 = Date.now();
  let done = 0;
  const width = Math.min(80, process.stderr.columns || 80) - 1;
  const draw = (last: string) => {
    const line = progressLine({ label: 'import', done, total, elapsedMs: Date.now() - t0, extra: 'files', last }, width);
    process.stderr.write(`\r${line.padEnd(width)}`);
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
