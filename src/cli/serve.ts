// `talab serve` (a local web view) and `talab chart` (the same chart as one self-contained HTML file).
import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_OUTPUT_DIR } from '../baseline/baseline.js';
import { getTimeframe } from '../catalog/timeframes.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { assetById, assetBySymbol, chartData, familyOf, ParamError, parseFamily, type Family } from '../web/data.js';
import { standalonePage } from '../web/page.js';
import { parsePeriods, startServer } from '../web/server.js';
import { dbOf, intArg, outFileArg } from './args.js';

export const DEFAULT_PORT = 8321;
export const DEFAULT_HOST = '127.0.0.1';

/** Readers wait this long for a writer (a refresh) to let go of a DuckDB file. */
const READ_RETRY_MS = 3000;

const openReader = (db: string | undefined) => () => openStore(db, { mustExist: true, readOnlyRetryMs: READ_RETRY_MS });

/** An empty host would make node listen on every interface, the opposite of what an empty value suggests. */
function hostArg(v: string): string {
  if (v.trim() === '') throw new InvalidArgumentError('--host is empty: give an address such as 127.0.0.1');
  return v.trim();
}

function tfArg(v: string): string {
  if (!getTimeframe(v)) throw new InvalidArgumentError(`unknown timeframe '${v}' (npx talab timeframes lists them)`);
  return v;
}

function familyArg(v: string): Family {
  try {
    return parseFamily(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function periodsArg(v: string): number[] {
  try {
    const p = parsePeriods(v, '--periods');
    if (p.length === 0) throw new InvalidArgumentError('--periods needs a comma-separated list such as 10,50');
    return p;
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** A problem found in the database (unknown symbol, a family without that timeframe) is a usage error. */
async function asUsage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ParamError) throw new UserError(e.message.startsWith('--') ? e.message : `--${e.param}: ${e.message}`);
    throw e;
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Local read-only web view: candlesticks, volume and EMAs per asset and timeframe, refresh runs, freshness, baseline reports')
    .option('--port <n>', 'TCP port (0 picks a free one)', intArg('--port', 0, 65535), DEFAULT_PORT)
    .option('--host <addr>', `address to listen on (${DEFAULT_HOST}: this machine only; 0.0.0.0: every interface)`, hostArg, DEFAULT_HOST)
    .option('--reports-dir <dir>', 'where baseline reports (baseline-*.json, diff-*.json) are read from', DEFAULT_OUTPUT_DIR)
    .action(async (opts: { port: number; host: string; reportsDir: string }, cmd: Command) => {
      const db = dbOf(cmd);
      // Fail now on a missing or unreadable database rather than on the first page load.
      const probe = await openReader(db)();
      const location = probe.location;
      await probe.close();
      let srv;
      try {
        srv = await startServer({ open: openReader(db), host: opts.host, port: opts.port, reportsDir: opts.reportsDir });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'EADDRINUSE') throw new UserError(`--port ${opts.port}: already in use on ${opts.host}; pick another with --port`);
        if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') throw new UserError(`--host ${opts.host}: not an address of this machine`);
        if (err.code === 'EACCES') throw new UserError(`--port ${opts.port}: not allowed to listen there (ports below 1024 need privileges)`);
        throw e;
      }
      console.log(`talab serve: ${srv.url} (database ${location}, read-only; Ctrl-C stops)`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          srv.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  program
    .command('chart')
    .description('Write one self-contained HTML file (chart library and data inlined) with the candlesticks, volume and EMAs of one asset and timeframe')
    .option('--symbol <symbol>', 'the asset, by symbol')
    .option('--id <id>', 'the asset, by id (instead of --symbol)', intArg('--id', 0))
    .requiredOption('--tf <tf>', 'timeframe, e.g. 1D, 7D, 1W_CAL_ISO, 1M_CAL_ANCHOR', tfArg)
    .option('--family <family>', 'bar family, for months and years which two families hold (default: inferred from --tf, US for months/years)', familyArg)
    .option('--periods <list>', 'EMA periods to overlay, e.g. 10,50 (default: none)', periodsArg)
    .requiredOption('--out <file>', 'the HTML file to write', outFileArg('--out'))
    .action(async (opts: { symbol?: string; id?: number; tf: string; family?: Family; periods?: number[]; out: string }, cmd: Command) => {
      if ((opts.symbol === undefined) === (opts.id === undefined)) throw new UserError('chart: give the asset as exactly one of --symbol or --id');
      const family = await asUsage(async () => familyOf(opts.tf, opts.family));
      const store: Store = await openReader(dbOf(cmd))();
      try {
        const data = await asUsage(async () => {
          const asset = opts.symbol !== undefined ? await assetBySymbol(store, opts.symbol) : await assetById(store, opts.id!);
          return chartData(store, { id: asset.id, family, tf: opts.tf, periods: opts.periods ?? [] });
        });
        if (data.bars.length === 0) {
          throw new UserError(`${data.symbol} has no finished ${opts.tf} bars in family ${family}: run \`npx talab refresh --all\` (or --tfs ${opts.tf}) first`);
        }
        const missing = Object.entries(data.emas).filter(([, v]) => v.length === 0).map(([p]) => p);
        if (missing.length) {
          throw new UserError(`--periods: no ${opts.tf} EMA for period(s) ${missing.join(', ')} of ${data.symbol}; build them with \`npx talab refresh --emas --tfs ${opts.tf} --periods ${missing.join(',')}\``);
        }
        await writeFile(opts.out, standalonePage(data));
        console.log(`${opts.out}: ${data.symbol} ${opts.tf} (${family}), ${data.bars.length} bars, EMA ${data.periods.join(', ') || 'none'}`);
      } finally {
        await store.close();
      }
    });
}
