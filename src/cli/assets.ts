import type { Command } from 'commander';
import { listAssets, renameAsset, type AssetListing } from '../importer/assets.js';
import { openStore } from '../store/open.js';
import { UserError } from '../util/errors.js';
import { dbOf, intArg } from './args.js';

function table(rows: AssetListing[]): string {
  const head = ['id', 'symbol', 'name', 'id kind', 'days', 'first day', 'last day'];
  const body = rows.map((a) => [String(a.id), a.symbol, a.name ?? '', a.local ? 'local' : 'CoinMarketCap', String(a.days), a.firstDay ?? '-', a.lastDay ?? '-']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  return [head, ...body].map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

export function registerAssets(program: Command): void {
  program
    .command('assets')
    .description('List assets (id, symbol, name, stored days); --rename ID with --symbol/--name renames one')
    .option('--rename <id>', 'the asset to rename (its id and data stay)', intArg('--rename', 1))
    .option('--symbol <sym>', 'new symbol for --rename')
    .option('--name <name>', 'new name for --rename')
    .option('--json', 'machine-readable output')
    .action(async (opts: { rename?: number; symbol?: string; name?: string; json?: boolean }, cmd) => {
      if (opts.rename === undefined && (opts.symbol !== undefined || opts.name !== undefined)) {
        throw new UserError('--symbol and --name only apply with --rename ID');
      }
      if (opts.rename !== undefined && opts.symbol === undefined && opts.name === undefined) {
        throw new UserError('--rename needs --symbol and/or --name');
      }
      const store = await openStore(dbOf(cmd));
      try {
        if (opts.rename !== undefined) {
          const a = await renameAsset(store, opts.rename, { symbol: opts.symbol, name: opts.name });
          console.log(opts.json ? JSON.stringify(a) : `asset ${a.id} is now ${a.symbol} (${a.name ?? ''})`);
          return;
        }
        const all = await listAssets(store);
        if (opts.json) console.log(JSON.stringify(all, null, 2));
        else console.log(all.length ? table(all) : 'no assets yet: run `talab import FILE…`');
      } finally {
        await store.close();
      }
    });
}
