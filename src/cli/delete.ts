// `talab delete`: days out of price_histories, by asset and date range.
import type { Command } from 'commander';
import { deleteRange, type DeleteReport } from '../importer/delete.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { dayArg, dbOf, idListArg } from './args.js';

interface DeleteOpts { symbol?: string; ids?: number[]; from?: string; to?: string; dryRun?: boolean; json?: boolean }

const dayMs = (d: string) => Date.parse(`${d}T00:00:00Z`);

/** The assets named by --symbol / --ids, each known to dim_assets (else a usage error naming it). */
async function namedAssets(store: Store, opts: DeleteOpts): Promise<{ id: number; symbol: string }[]> {
  const out: { id: number; symbol: string }[] = [];
  if (opts.symbol !== undefined) {
    const r = await store.query<{ id: number; symbol: string }>('SELECT id, symbol FROM dim_assets WHERE upper(symbol) = upper($1) ORDER BY id', [opts.symbol]);
    if (r.length === 0) throw new UserError(`--symbol: no asset ${opts.symbol} in ${store.location} (see \`talab assets\`)`);
    if (r.length > 1) throw new UserError(`--symbol ${opts.symbol} names ${r.length} assets (ids ${r.map((a) => a.id).join(', ')}): give --ids instead`);
    out.push({ id: Number(r[0].id), symbol: r[0].symbol });
  }
  for (const id of opts.ids ?? []) {
    const r = await store.query<{ symbol: string }>('SELECT symbol FROM dim_assets WHERE id = $1', [id]);
    if (r.length === 0) throw new UserError(`--ids: unknown asset id ${id} (not in dim_assets of ${store.location})`);
    if (!out.some((a) => a.id === id)) out.push({ id, symbol: r[0].symbol });
  }
  return out;
}

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .description('Delete days from price_histories (the next refresh recomputes the derived tables from the earliest deleted day)')
    .option('--symbol <sym>', 'the asset, by its stored symbol')
    .option('--ids <list>', 'comma-separated asset ids', idListArg)
    .option('--from <date>', 'first day deleted, YYYY-MM-DD (default: the asset\'s first day)', dayArg('--from'))
    .option('--to <date>', 'last day deleted, YYYY-MM-DD, inclusive (default: the asset\'s last day)', dayArg('--to'))
    .option('--dry-run', 'say how many days would be deleted; delete nothing')
    .option('--json', 'one JSON document on stdout instead of the text report (docs/json.md)')
    .action(async (opts: DeleteOpts, cmd: Command) => {
      if (opts.symbol === undefined && opts.ids === undefined) throw new UserError('delete needs --symbol S or --ids N: which asset');
      if (opts.from === undefined && opts.to === undefined) throw new UserError('delete needs --from and/or --to: at least one bound of the days to delete');
      if (opts.from !== undefined && opts.to !== undefined && opts.to < opts.from) throw new UserError(`--to ${opts.to} is before --from ${opts.from}`);
      const store = await openStore(dbOf(cmd), { mustExist: true });
      const reports: DeleteReport[] = [];
      try {
        const assets = await namedAssets(store, opts);
        const range = { from: opts.from === undefined ? undefined : dayMs(opts.from), to: opts.to === undefined ? undefined : dayMs(opts.to), dryRun: opts.dryRun };
        for (const a of assets) reports.push(await deleteRange(store, a, range));
        const deleted = reports.reduce((s, r) => s + r.deleted, 0);
        if (opts.json) {
          console.log(JSON.stringify({
            dry_run: !!opts.dryRun, from: opts.from ?? null, to: opts.to ?? null, deleted,
            assets: reports.map((r) => ({ asset_id: r.id, symbol: r.symbol, deleted: r.deleted, first_day: r.firstDay, last_day: r.lastDay, remaining: r.remaining })),
          }, null, 2));
          return;
        }
        const verb = opts.dryRun ? 'would delete' : 'deleted';
        for (const r of reports) {
          console.log(`${r.symbol} (id ${r.id}): ${verb} ${r.deleted} day(s)${r.deleted ? ` ${r.firstDay}..${r.lastDay}` : ''}, ${r.remaining} remain`);
        }
        console.log(opts.dryRun
          ? `[dry run, nothing deleted] ${deleted} day(s) would be deleted`
          : `${deleted} day(s) deleted${deleted ? ': the next refresh recomputes the derived tables from the earliest of them' : ''}`);
      } finally {
        await store.close();
      }
    });
}
