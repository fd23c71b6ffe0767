import { Option, type Command } from 'commander';
import { DEFAULT_PERIODS, type Timeframe } from '../catalog/timeframes.js';
import { EXPORT_FORMATS, exportResults, type ExportFormat } from '../results/export.js';
import type { Selection } from '../results/query.js';
import { defaultFamily, EMA_FAMILIES, familyHas, type EmaFamily } from '../schema/view-sources.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { dayArg, dbOf, idListArg, outFileArg } from './args.js';
import { list, parsePeriod, parseTf } from './refresh.js';

interface ExportOpts {
  symbol?: string[]; ids?: number[]; tf: Timeframe[]; periods?: number[]; from?: string; to?: string;
  family?: EmaFamily; format?: ExportFormat; out?: string;
}

const FORMAT_OF_EXT: Record<string, ExportFormat> = { parquet: 'parquet', csv: 'csv', json: 'json' };

function formatOf(opts: ExportOpts): ExportFormat {
  const ext = opts.out ? /\.([a-z]+)$/i.exec(opts.out)?.[1]?.toLowerCase() : undefined;
  const byExt = ext ? FORMAT_OF_EXT[ext] : undefined;
  if (opts.format && byExt && opts.format !== byExt) {
    throw new UserError(`--format ${opts.format} does not match --out ${opts.out}; give a .${opts.format} file name`);
  }
  const format = opts.format ?? byExt ?? (opts.out ? undefined : 'csv');
  if (!format) throw new UserError(`--out ${opts.out}: say the format with --format parquet|csv|json or a file name ending in one`);
  if (format === 'parquet' && !opts.out) throw new UserError('--format parquet needs --out FILE (Parquet is not written to the terminal)');
  return format;
}

/** Asset ids named by --symbol and --ids, checked against dim_assets; every asset when neither is given. */
async function resolveIds(store: Store, opts: ExportOpts): Promise<number[]> {
  const assets = await store.query<{ id: number; symbol: string }>('SELECT id, symbol FROM dim_assets ORDER BY id');
  if (!opts.symbol && !opts.ids) return assets.map((a) => Number(a.id));
  const ids = new Set<number>();
  for (const s of opts.symbol ?? []) {
    const hits = assets.filter((a) => a.symbol === s);
    const loose = hits.length ? hits : assets.filter((a) => a.symbol.toUpperCase() === s.toUpperCase());
    if (loose.length === 0) throw new UserError(`--symbol ${s}: no such asset in dim_assets (\`npx talab assets\` lists them)`);
    if (loose.length > 1) throw new UserError(`--symbol ${s}: ${loose.length} assets share this symbol (ids ${loose.map((a) => a.id).join(', ')}); use --ids`);
    ids.add(Number(loose[0].id));
  }
  const known = new Set(assets.map((a) => Number(a.id)));
  for (const id of opts.ids ?? []) {
    if (!known.has(id)) throw new UserError(`--ids: no asset with id ${id} in dim_assets (\`npx talab assets\` lists them)`);
    ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

function selectionTfs(opts: ExportOpts): Selection['tfs'] {
  return opts.tf.map((tf) => {
    const family = opts.family ?? defaultFamily(tf);
    if (!familyHas(family, tf)) throw new UserError(`--tf ${tf.tf} is not in --family ${family}; ${tf.tf} is in ${EMA_FAMILIES.filter((f) => familyHas(f, tf)).join(', ')}`);
    return { tf, family };
  });
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('Finished bars joined with their EMAs, one row per asset, timeframe and bar close, with a UTC day column; as Parquet, CSV or JSON')
    .requiredOption('--tf <list>', 'timeframes (required), e.g. 1D or 7D,1W_CAL_ISO', (v) => list(v, '--tf', '1D,7D').map((n) => parseTf(n, '--tf')))
    .option('--symbol <list>', 'only these assets, by symbol (default: every asset)', (v) => list(v, '--symbol', 'BTC,ETH'))
    .option('--ids <list>', 'only these assets, by id', idListArg)
    .option('--periods <list>', `EMA periods, one column each (default: ${DEFAULT_PERIODS.join(',')})`, (v) => list(v, '--periods', '20,50').map((p) => parsePeriod(p, '--periods')))
    .option('--from <day>', 'first UTC day, YYYY-MM-DD (inclusive)', dayArg('--from'))
    .option('--to <day>', 'last UTC day, YYYY-MM-DD (inclusive)', dayArg('--to'))
    .addOption(new Option('--family <name>', 'EMA family to read (default: v1 for day timeframes; for calendar ones the cal or anchor family of their week scheme, US for months and years)').choices(EMA_FAMILIES))
    .addOption(new Option('--format <format>', 'output format (default: from the --out file name; csv on stdout)').choices(EXPORT_FORMATS))
    .option('--out <file>', 'write to this file (default: stdout, csv and json only)', outFileArg('--out'))
    .action(async (opts: ExportOpts, cmd) => {
      const format = formatOf(opts);
      if (opts.from && opts.to && opts.from > opts.to) throw new UserError(`--from ${opts.from} is after --to ${opts.to}`);
      const tfs = selectionTfs(opts);
      const periods = [...new Set(opts.periods ?? DEFAULT_PERIODS)];
      const store = await openStore(dbOf(cmd), { mustExist: true, readOnlyRetryMs: 3000 });
      try {
        const ids = await resolveIds(store, opts);
        const sel: Selection = { tfs, periods, ids, from: opts.from, to: opts.to };
        const { rows, emptyColumns } = await exportResults(store, sel, format, opts.out, (text) => console.log(text));
        if (opts.out) console.log(`exported ${rows} rows (${tfs.map((t) => `${t.tf.tf} ${t.family}`).join(', ')}; ${ids.length} asset(s)) to ${opts.out}`);
        // Notes go to stderr: on stdout they would become part of the CSV or JSON.
        if (rows === 0) console.error('note: no finished bars match these filters (has `npx talab refresh` built them?)');
        if (emptyColumns.length) {
          console.error(`note: ${emptyColumns.join(', ')} empty in every row: those periods are not built for these timeframes `
            + '(`npx talab refresh --emas --periods …`), or need more bars than the history has');
        }
      } finally {
        await store.close();
      }
    });
}
