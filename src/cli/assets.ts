import type { Command } from 'commander';
import { listAssets, renameAsset, type AssetListing } from '../importer/assets.js';
import { mergeAssets } from '../importer/merge.js';
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
  const assets = program.command('assets');
  assets
    .command('merge')
    .description('Move one asset\'s history into another and remove it (the same coin stored under two ids); the next refresh rebuilds the kept asset')
    .requiredOption('--from <id>', 'the asset to merge and remove', intArg('--from', 1))
    .requiredOption('--into <id>', 'the asset that stays (its id, symbol and name are kept)', intArg('--into', 1))
    .option('--force', 'merge although days both assets hold differ (the --into values are kept)')
    .option('--json', 'one JSON document on stdout (docs/json.md)')
    .action(async (opts: { from: number; into: number; force?: boolean; json?: boolean }, cmd) => {
      const store = await openStore(dbOf(cmd), { mustExist: true });
      try {
        const r = await mergeAssets(store, opts.from, opts.into, { force: opts.force });
        // `assets` has a --json of its own, which commander gives the parent when the program's options are not positional.
        if (opts.json || cmd.parent?.opts().json) {
          console.log(JSON.stringify({
            from: r.from, into: r.into, moved: r.moved, overlap: r.overlap, differing: r.differing,
            changed_from: r.changedFrom, market_cap_optional: r.marketCapOptional,
          }, null, 2));
        } else {
          console.log(
            `asset ${r.from} merged into ${r.into}: ${r.moved} day(s) moved, ${r.overlap} held by both` +
              `${r.differing ? ` (${r.differing} differing, ${r.into}'s values kept)` : ''}; asset ${r.from} removed` +
              (r.changedFrom ? `\n  history changed from ${r.changedFrom}: the next refresh recomputes from there` : ''),
          );
        }
      } finally {
        await store.close();
      }
    });
  assets
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
