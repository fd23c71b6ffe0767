// `talab features …`: the feature matrix (docs/features.md). Parses, calls src/features, reports.
import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { buildFeatures } from '../features/build.js';
import { isValidDate } from '../features/dates.js';
import { exportMatrix, GROUP_NAMES, type ExportLayout } from '../features/export.js';
import { TECHNICAL_EMAS, type EmaPair, type GroupName } from '../features/fields.js';
import { forgetSymbol, recordBuild } from '../features/refresh.js';
import { pairsKey, parseTechnicals } from '../features/technicals.js';
import { writeFlatFile } from '../features/flatfile.js';
import { ingestFile, ingestRows, type IngestOptions, type IngestReport } from '../features/ingest.js';
import { deleteSymbol, readMatrix } from '../features/matrix.js';
import type { CellsCheck } from '../features/quality.js';
import { BUILTIN_REGIMES_CSV, loadRegimeFile, loadRegimes, parseRegimeCsv, regimeStatus, type RegimeLoadSummary } from '../features/regimes.js';
import { ensureFeatureSchema } from '../features/schema.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { dbOf, idListArg, intArg, outFileArg } from './args.js';

const SHOWN = 10;

function dateArg(name: string): (v: string) => string {
  return (v: string) => {
    if (!isValidDate(v)) throw new InvalidArgumentError(`${name} must be a YYYY-MM-DD date, got '${v}'`);
    return v;
  };
}

function secondsArg(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^\d+(\.\d+)?$/.test(v.trim()) || !(n > 0)) throw new InvalidArgumentError(`${name} must be a positive number of seconds, got '${v}'`);
    return n;
  };
}

function groupListArg(v: string): GroupName[] {
  const names = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const bad = names.filter((x) => !(GROUP_NAMES as string[]).includes(x));
  if (bad.length || names.length === 0) {
    throw new InvalidArgumentError(`--groups: unknown group '${bad[0] ?? v}' (known: ${GROUP_NAMES.join(', ')})`);
  }
  return names as GroupName[];
}

function technicalsArg(v: string): EmaPair[] {
  try {
    return parseTechnicals(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function layoutArg(v: string): ExportLayout {
  if (v !== 'nested' && v !== 'flat') throw new InvalidArgumentError(`--layout must be nested or flat, got '${v}'`);
  return v;
}

interface IngestFlags {
  batchSize?: number;
  maxDatesPerBatch?: number;
  retryDeadline?: number;
  requireCoverage?: boolean;
  minDate?: string;
  maxDate?: string;
  force?: boolean;
  maxBadRows?: number;
  reportOut?: string;
  json?: boolean;
}

function addIngestOptions(cmd: Command): Command {
  return cmd
    .option('--batch-size <n>', 'rows per batch (default 5000)', intArg('--batch-size', 1))
    .option('--max-dates-per-batch <n>', 'distinct data_date values per batch (default 3500)', intArg('--max-dates-per-batch', 1))
    .option('--retry-deadline <seconds>', 'give up retrying a batch after this long (default 300)', secondsArg('--retry-deadline'))
    .option('--require-coverage', 'fail when any date has no regime (default: skip and list those rows)')
    .option('--min-date <date>', 'reject rows dated before this YYYY-MM-DD', dateArg('--min-date'))
    .option('--max-date <date>', 'reject rows dated after this YYYY-MM-DD', dateArg('--max-date'))
    .option('--max-bad-rows <n>', 'load the good rows when at most N rows are bad, and list the bad ones with their line ' +
      'numbers (default: any bad row fails the whole file)', intArg('--max-bad-rows', 0))
    .option('--force', 'load batches even if the ledger says they were loaded (rows are upserted, never duplicated)')
    .option('--report-out <file>', 'write the full JSON report to this file', outFileArg('--report-out'))
    .option('--json', 'print the full JSON report instead of the summary');
}

function ingestOptions(f: IngestFlags): IngestOptions {
  return {
    batchSize: f.batchSize, maxDatesPerBatch: f.maxDatesPerBatch, requireCoverage: f.requireCoverage, minDate: f.minDate,
    maxDate: f.maxDate, force: f.force, maxBadRows: f.maxBadRows, ...(f.retryDeadline ? { retry: { deadlineMs: f.retryDeadline * 1000 } } : {}),
    onEvent: (e) => {
      // Retries are the one thing worth seeing while a long ingest runs; they go to stderr, beside the report.
      if (e.kind === 'retry') {
        console.error(`  batch ${e.batch}: attempt ${e.attempt} failed (${e.why}: ${e.error}); retrying in ${(e.sleepMs / 1000).toFixed(1)} s`);
      }
    },
  };
}

function cellLines<T extends { row: number; column: string; value: string; problem?: string }>(label: string, c: CellsCheck<T>): string[] {
  if (c.is_valid) return [];
  const out = [`  ${label}: ${c.count}`];
  for (const x of c.cells.slice(0, SHOWN)) out.push(`    row ${x.row}, ${x.column}: ${x.problem ?? `'${x.value}'`}`);
  if (c.count > SHOWN) out.push(`    … ${c.count - SHOWN} more (--report-out FILE has up to 1000)`);
  return out;
}

export function formatIngestReport(source: string, r: IngestReport): string {
  const v = r.validation_report;
  const out: string[] = [];
  // Rows set aside under --max-bad-rows are listed once, row by row, below instead of check by check.
  const rejectedAndLoaded = !!v.rejected_row_count && v.overall_valid;
  const req = v.required_fields;
  if (!rejectedAndLoaded) {
    if (req.missing_fields.length) out.push(`  missing required column(s): ${req.missing_fields.join(', ')}`);
    for (const [c, n] of Object.entries(req.null_counts)) {
      if (n) out.push(`  ${c} is empty in ${n} row(s): rows ${req.null_rows.filter((x) => x.column === c).slice(0, SHOWN).map((x) => x.row).join(', ')}${n > SHOWN ? ', …' : ''}`);
    }
    if ('error' in v.date_range) out.push(`  date range: ${v.date_range.error}`);
    else if (!v.date_range.is_valid) {
      out.push(`  ${v.date_range.out_of_range_count} row(s) outside ${v.date_range.bounds.min ?? '…'}..${v.date_range.bounds.max ?? '…'}: ` +
        v.date_range.out_of_range_rows.slice(0, SHOWN).map((x) => `row ${x.row} (${x.data_date})`).join(', '));
    }
    if ('error' in v.duplicates) { if (!req.missing_fields.length) out.push(`  duplicates: ${v.duplicates.error}`); }
    else if (!v.duplicates.is_valid) {
      out.push(`  ${v.duplicates.duplicate_count} row(s) share a (symbol, data_date): ` +
        v.duplicates.duplicate_rows.slice(0, SHOWN).map((x) => `row ${x.row} (${x.symbol} ${x.data_date})`).join(', '));
    }
    out.push(...cellLines('non-finite values (NaN/Infinity)', v.non_finite));
    out.push(...cellLines('non-numeric values', v.non_numeric));
    out.push(...cellLines('invalid values', v.invalid_values));
  }
  if (v.ignored_columns.length) out.push(`  ignored column(s), not recognised: ${v.ignored_columns.join(', ')}`);
  if (v.rejected_row_count) {
    const loadedAnyway = v.overall_valid;
    out.push(`  ${v.rejected_row_count} bad row(s)${loadedAnyway ? ' REJECTED, the other rows loaded:' : ', more than --max-bad-rows allows'}`);
    for (const x of (v.rejected_rows ?? []).slice(0, loadedAnyway ? SHOWN : 0)) {
      out.push(`    row ${x.row}${x.line !== undefined ? ` (line ${x.line})` : ''}${x.symbol ? ` ${x.symbol}` : ''}` +
        `${x.data_date ? ` ${x.data_date}` : ''}: ${x.problems.join('; ')}`);
    }
    if (loadedAnyway && v.rejected_row_count > SHOWN) out.push(`    … ${v.rejected_row_count - SHOWN} more (--report-out FILE has up to 1000)`);
  }
  const cov = v.regime_coverage;
  if (cov && cov.uncovered_row_count) {
    out.push(`  regime coverage ${cov.coverage_pct.toFixed(1)} %: ${cov.uncovered_row_count} row(s) on ${cov.missing_dates.length} date(s) ` +
      `without a regime${r.status === 'success' ? ' were SKIPPED' : ''}: ` +
      cov.uncovered_rows.slice(0, SHOWN).map((x) => `row ${x.row} (${x.data_date})`).join(', ') + (cov.uncovered_row_count > SHOWN ? ', …' : ''));
  }
  const head = `${source}: ${v.rows_processed ?? '?'} row(s) checked` +
    (v.rows_enriched !== undefined ? `, ${v.rows_enriched} enriched, ${v.rows_skipped} skipped (no regime)` : '');
  const details = 'batch_details' in r ? r.batch_details ?? [] : [];
  for (const b of details) {
    out.push(`  batch ${b.index} (${b.min_date}..${b.max_date}, ${b.rows} rows): ${b.status === 'loaded' ? 'loaded' : `already loaded by run ${b.loaded_by_run}`}` +
      (b.attempts > 1 ? ` after ${b.attempts} attempts` : ''));
  }
  if (r.status === 'success') {
    out.push(`features ingest: success — ${r.rows_loaded} row(s) loaded in ${r.batches} batch(es)` +
      (r.rows_already_loaded ? `, ${r.rows_already_loaded} already loaded earlier` : '') +
      (r.retries ? `, ${r.retries} retr${r.retries === 1 ? 'y' : 'ies'}` : '') +
      ` in ${r.duration_seconds.toFixed(1)} s; run ${r.run_id}`);
  } else if (r.failed_batch !== undefined) {
    out.push(`features ingest: FAILED at batch ${r.failed_batch} (${r.error_kind}, ${r.attempts} attempt(s)): ${r.reason}`);
    out.push(r.rows_loaded
      ? `  ${r.rows_loaded} row(s) of the earlier batches are committed and stay loaded; re-running the same input loads only the rest`
      : '  nothing was loaded');
  } else {
    out.push(`features ingest: FAILED — ${r.reason}${r.detail ? ` (${r.detail})` : ''}; nothing was loaded`);
    if (r.detail === 'no_regime_coverage') out.push('  load regimes covering these dates: talab features regimes FILE (or --builtin)');
  }
  return [head, ...out].join('\n');
}

function emit(source: string, r: IngestReport, f: IngestFlags): void {
  if (f.reportOut) writeFileSync(f.reportOut, JSON.stringify(r, null, 2) + '\n');
  console.log(f.json ? JSON.stringify(r, null, 2) : formatIngestReport(source, r));
  if (r.status !== 'success') process.exitCode = 1;
}

function formatRegimes(s: RegimeLoadSummary): string {
  const lines = [`${s.regimes} regime(s), ${s.days} calendar day(s)${s.firstDate ? `, ${s.firstDate}..${s.lastDate}` : ''}`];
  if (s.gaps.length) {
    lines.push(`  ${s.gaps.length} gap(s) with no regime: ` + s.gaps.slice(0, SHOWN).map((g) => `${g.from}..${g.to}`).join(', ') +
      (s.gaps.length > SHOWN ? ', …' : ''));
  }
  return lines.join('\n');
}

async function withStore<T>(cmd: Command, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(dbOf(cmd), { mustExist: true });
  try {
    await ensureFeatureSchema(store);
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function registerFeatures(program: Command): void {
  const features = program
    .command('features')
    .description('The ML feature matrix (ml_feature_matrix): regimes, ingest, build from bars, export');

  features
    .command('regimes')
    .description('Load regime ranges (CSV regime,start,end,weight[,description][,research_rationale]) into regime_calendar ' +
      'and regime_weights, replacing what is there; without FILE or --builtin, show what is loaded')
    .argument('[file]', 'regime CSV')
    .option('--builtin', 'load the built-in registry (1998–2029 regimes plus a 1900–2099 baseline catch-all)')
    .action(async (file: string | undefined, opts: { builtin?: boolean }, cmd: Command) => {
      if (file && opts.builtin) throw new UserError('features regimes: give either FILE or --builtin, not both');
      await withStore(cmd, async (store) => {
        if (file) console.log(`regimes loaded from ${file}: ${formatRegimes(await loadRegimeFile(store, file))}`);
        else if (opts.builtin) {
          const s = await loadRegimes(store, parseRegimeCsv(BUILTIN_REGIMES_CSV, 'built-in registry'), 'built-in registry');
          console.log(`built-in regimes loaded: ${formatRegimes(s)}`);
        } else {
          const s = await regimeStatus(store);
          console.log(`regimes: ${formatRegimes(s)}`);
          for (const p of s.perRegime) {
            console.log(`  ${p.regime.padEnd(32)} weight ${String(p.weight ?? '-').padStart(5)}  ${p.days} day(s)` +
              (p.first ? ` ${p.first}..${p.last}` : '') + (p.weight === null ? '  (no weight: rows get weight 0)' : ''));
          }
          if (s.days === 0) console.log('  (empty: load some with `talab features regimes FILE` or `--builtin`)');
        }
      });
    });

  addIngestOptions(
    features
      .command('ingest')
      .description('Load a flat feature file (CSV or Parquet, the recognised columns of docs/features.md) into ml_feature_matrix')
      .argument('<file>', 'CSV or .parquet file'),
  ).action(async (file: string, f: IngestFlags, cmd: Command) => {
    await withStore(cmd, async (store) => emit(file, await ingestFile(store, file, ingestOptions(f)), f));
  });

  addIngestOptions(
    features
      .command('build')
      .description('Compute market_data, pivots and golden_zone from price_bars_1d and technicals from the EMA and calendar bar tables; write a flat file (--out) or ingest directly')
      .option('--ids <list>', 'comma-separated asset ids (default: every asset with daily bars)', idListArg)
      .option('--technicals <pairs>', `EMA pairs the technicals group computes, TF:PERIOD comma-separated (default all: ${pairsKey(TECHNICAL_EMAS)}); ` +
        'the other pairs\' fields are NULL, and `talab refresh --all` keeps the choice', technicalsArg)
      .option('--out <file>', 'write the flat rows here (.csv or .parquet) instead of ingesting them', outFileArg('--out')),
  ).action(async (f: IngestFlags & { ids?: number[]; out?: string; technicals?: EmaPair[] }, cmd: Command) => {
    await withStore(cmd, async (store) => {
      const built = await buildFeatures(store, { ids: f.ids, technicals: f.technicals });
      // With --json stdout carries the one JSON document and nothing else.
      if (!f.json) for (const a of built.assets) console.log(`  ${a.symbol} (${a.id}): ${a.rows} day(s) ${a.from ?? ''}..${a.to ?? ''}`);
      // Not an error (a bars-only database is valid), but NULL technicals must not pass unnoticed.
      for (const a of built.assets.filter((x) => x.missing_technicals.length)) {
        console.error(`features build: ${a.symbol} (${a.id}) has no rows for ${a.missing_technicals.join(', ')}; ` +
          'their technicals are NULL (run `npx talab refresh --all` first)');
      }
      if (f.out) {
        await writeFlatFile(built.input, f.out);
        if (f.json) {
          console.log(JSON.stringify({
            out: f.out, rows: built.input.rows.length,
            assets: built.assets.map((a) => ({
              id: a.id, symbol: a.symbol, rows: a.rows, from: a.from ?? null, to: a.to ?? null, missing_technicals: a.missing_technicals,
            })),
          }, null, 2));
        } else console.log(`features build: ${built.input.rows.length} row(s) for ${built.assets.length} asset(s) written to ${f.out}`);
      } else {
        const r = await ingestRows(store, built.input, ingestOptions(f));
        // From here `talab refresh --all` keeps these assets' rows current (ml_feature_state).
        if (r.status === 'success') await recordBuild(store, built, r.run_id);
        emit('features build', r, f);
      }
    });
  });

  features
    .command('export')
    .description('Write ml_feature_matrix rows to Parquet (groups nested, or flat with --layout flat) or CSV (flat, ' +
      'columns named group.field); --from/--to/--ids/--groups select what goes out')
    .requiredOption('--out <file>', 'output file, .parquet or .csv', outFileArg('--out'))
    .option('--from <date>', 'first data_date, YYYY-MM-DD (inclusive)', dateArg('--from'))
    .option('--to <date>', 'last data_date, YYYY-MM-DD (inclusive)', dateArg('--to'))
    .option('--ids <list>', 'comma-separated asset ids (their symbols in dim_assets)', idListArg)
    .option('--symbol <sym>', 'only this symbol (with --ids: also this symbol)')
    .option('--groups <list>', `comma-separated groups (default all: ${GROUP_NAMES.join(',')})`, groupListArg)
    .option('--layout <layout>', 'nested (Parquet default) or flat (CSV default and only choice)', layoutArg)
    .action(async (opts: { out: string; from?: string; to?: string; ids?: number[]; symbol?: string; groups?: GroupName[];
      layout?: ExportLayout }, cmd: Command) => {
      await withStore(cmd, async (store) => {
        const r = await exportMatrix(store, opts.out, {
          from: opts.from, to: opts.to, ids: opts.ids, symbols: opts.symbol === undefined ? undefined : [opts.symbol],
          groups: opts.groups, layout: opts.layout,
        });
        console.log(`features export: ${r.rows} row(s) written to ${r.path}`);
      });
    });

  features
    .command('show')
    .description('Print matrix rows as nested JSON, one per line')
    .option('--symbol <sym>', 'only this symbol')
    .option('--limit <n>', 'at most this many rows (default 20)', intArg('--limit', 0), 20)
    .action(async (opts: { symbol?: string; limit: number }, cmd: Command) => {
      await withStore(cmd, async (store) => {
        for (const r of await readMatrix(store, { symbol: opts.symbol, limit: opts.limit })) console.log(JSON.stringify(r));
      });
    });

  features
    .command('delete')
    .description("Delete a symbol's matrix rows and the ledger entries of its batches (e.g. test data)")
    .requiredOption('--symbol <sym>', 'symbol to delete')
    .action(async (opts: { symbol: string }, cmd: Command) => {
      await withStore(cmd, async (store) => {
        const r = await deleteSymbol(store, opts.symbol);
        // Otherwise the refresh would go on adding the symbol's new days to a matrix emptied of the old ones.
        await forgetSymbol(store, opts.symbol);
        console.log(`features delete: ${r.rows} row(s) and ${r.batches} ledger batch(es) of ${opts.symbol} removed`);
      });
    });
}
