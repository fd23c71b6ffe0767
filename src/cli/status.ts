import type { Command } from 'commander';
import { collectStatus } from '../refresh/status.js';
import { DERIVED_TABLES } from '../schema/tables.js';
import { openStore } from '../store/open.js';
import { parsePartitions, partitionsInSchema } from '../store/postgres/partitions.js';
import { dbOf } from './args.js';
import { snakeKeys } from './json.js';

export function registerInitStatus(program: Command): void {
  program
    .command('init')
    .description('Create or upgrade the schema and seed dim_timeframe (safe to re-run)')
    .option('--partitions <n>', 'PostgreSQL, new schema only: hash-partition every per-asset table on id into n partitions (default TALAB_PG_PARTITIONS, else none)', (v: string) => parsePartitions(v, '--partitions'))
    .action(async (opts: { partitions?: number }, cmd) => {
      const store = await openStore(dbOf(cmd), { pgPartitions: opts.partitions });
      try {
        const n = await store.query<{ n: number }>('SELECT count(*) AS n FROM dim_timeframe');
        const parts = await partitionsInSchema(store);
        const layout = parts ? `, per-asset tables in ${parts} hash partitions on id` : '';
        console.log(`${store.location}: schema ready (${await store.engineVersion()}), ${n[0].n} timeframes in dim_timeframe${layout}`);
      } finally {
        await store.close();
      }
    });

  program
    .command('status')
    .description('Per asset: first/last day, rows per table, freshness; which assets a refresh would update (behind) and which timeframes their history is still too short for')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd) => {
      const store = await openStore(dbOf(cmd), { mustExist: true, readOnlyRetryMs: 3000 });
      try {
        const status = await collectStatus(store);
        if (opts.json) {
          console.log(JSON.stringify({ database: store.location, assets: snakeKeys(status) }, null, 2));
          return;
        }
        console.log(`database: ${store.location}`);
        if (status.length === 0) {
          console.log('no assets yet: run `talab import FILE…`');
          return;
        }
        const short = (t: string) => t.replace(/^price_bars_/, 'bars_').replace(/^ema_multi_tf/, 'ema');
        const cols = ['id', 'symbol', 'first day', 'last day', 'age(d)', 'source', ...DERIVED_TABLES.map((t) => short(t.name))];
        const body = status.map((s) => [
          String(s.id), s.symbol, s.firstDay ?? '-', s.lastDay ?? '-', s.ageDays === null ? '-' : String(s.ageDays),
          String(s.sourceRows), ...DERIVED_TABLES.map((t) => String(s.rows[t.name])),
        ]);
        const width = cols.map((c, i) => Math.max(c.length, ...body.map((r) => r[i].length)));
        const fmt = (r: string[]) => r.map((v, i) => (i < 4 ? v.padEnd(width[i]) : v.padStart(width[i]))).join('  ');
        console.log(fmt(cols));
        for (const r of body) console.log(fmt(r));
        for (const s of status) {
          if (s.sourceRows === 0) continue;
          if (s.behind.length > 0) console.log(`${s.symbol}: behind its source in ${s.behind.length} table(s) — run \`talab refresh --all\``);
          else if (s.tooYoung.length > 0) {
            // Not behind: a refresh has nothing to add until the history is long enough for these timeframes.
            console.log(`${s.symbol}: current; history too short yet for ${s.tooYoung.length} timeframe(s): ${s.tooYoung.join(', ')}`);
          }
        }
        const behind = status.filter((s) => s.behind.length > 0).length;
        if (behind === 0 && status.some((s) => s.sourceRows > 0)) console.log('every asset is current');
      } finally {
        await store.close();
      }
    });
}
