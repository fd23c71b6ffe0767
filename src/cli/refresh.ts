import { InvalidArgumentError, type Command } from 'commander';
import { getTimeframe, type Timeframe } from '../catalog/timeframes.js';
import { runRefresh, type Component, type RefreshSummary } from '../refresh/run.js';
import { openStore } from '../store/open.js';
import { UserError } from '../util/errors.js';
import { dbOf, idListArg } from './args.js';

function tfListArg(v: string): Timeframe[] {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names.length) throw new InvalidArgumentError('--tfs needs a comma-separated list such as 7D,1W_CAL_ISO');
  return names.map((n) => {
    const tf = getTimeframe(n) ?? getTimeframe(n.toUpperCase());
    if (!tf) throw new InvalidArgumentError(`--tfs: unknown timeframe '${n}' (see dim_timeframe)`);
    return tf;
  });
}

function periodListArg(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new InvalidArgumentError('--periods needs a comma-separated list such as 10,20,50');
  return parts.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) < 1) throw new InvalidArgumentError(`--periods: '${p}' is not a positive integer`);
    return Number(p);
  });
}

export function formatSummary(s: RefreshSummary): string {
  const out: string[] = [];
  for (const c of s.components) {
    out.push(
      `${c.component}: ${c.done.length} asset(s) built, ${c.skipped.length} skipped, ${c.failed.length} failed ` +
        `in ${(c.ms / 1000).toFixed(1)} s` +
        (c.component === 'bars' ? `; repairs ${c.repairs}, rejects ${c.rejects}, missing days ${c.gaps}` : ''),
    );
    for (const [t, n] of Object.entries(c.rows)) out.push(`  ${t.padEnd(36)} ${String(n).padStart(10)} rows written`);
    for (const k of c.skipped.filter((x) => x.reason !== 'already current')) out.push(`  skipped asset ${k.id}: ${k.reason}`);
    for (const f of c.failed) out.push(`  FAILED asset ${f.id}: ${f.error}`);
  }
  out.push(s.ok ? 'refresh: ok' : 'refresh: some assets failed (exit 1)');
  return out.join('\n');
}

export function registerRefresh(program: Command): void {
  program
    .command('refresh')
    .description('Build the derived tables: bars (price_bars_1d and the five snapshot tables) then EMAs (six tables)')
    .option('--all', 'bars, then EMAs')
    .option('--bars', 'bar tables only')
    .option('--emas', 'EMA tables only (from the bars already built)')
    .option('--ids <list>', 'comma-separated asset ids (default: every asset with data)', idListArg)
    .option('--tfs <list>', 'only these timeframes, e.g. 7D,1W_CAL_ISO,1M_CAL (default: the configured selection)', tfListArg)
    .option('--periods <list>', 'only these EMA periods (default: 6,9,10,12,14,17,20,21,26,30,50,52,77,100,200,252,365)', periodListArg)
    .option('--full-rebuild', 'rebuild the selected assets even when they are current')
    .action(async (opts: { all?: boolean; bars?: boolean; emas?: boolean; ids?: number[]; tfs?: Timeframe[]; periods?: number[]; fullRebuild?: boolean }, cmd) => {
      const modes = [opts.all && 'all', opts.bars && 'bars', opts.emas && 'emas'].filter(Boolean);
      if (modes.length !== 1) throw new UserError('refresh needs exactly one of --all, --bars, --emas', 2);
      const components: Component[] = opts.all ? ['bars', 'emas'] : opts.bars ? ['bars'] : ['emas'];
      const store = await openStore(dbOf(cmd));
      try {
        const summary = await runRefresh(store, {
          components, ids: opts.ids, tfs: opts.tfs, periods: opts.periods, fullRebuild: opts.fullRebuild,
          onEvent: (e) => {
            if (e.kind === 'start') console.log(`${e.component}: ${e.assets} asset(s)`);
            else if (e.status !== 'skipped' || e.reason !== 'already current') {
              console.log(`  ${e.component} ${e.symbol} (${e.id}): ${e.status}${e.reason ? ` — ${e.reason}` : ''} [${e.ms} ms]`);
            }
          },
        });
        console.log(formatSummary(summary));
        if (!summary.ok) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
