// `talab timeframes`: the timeframe catalog and the default selection, read from src/catalog (no database).
import { Option, type Command } from 'commander';
import { BAR_FAMILIES, belongsTo, DEFAULT_PERIODS, TIMEFRAMES, type Timeframe } from '../catalog/timeframes.js';
import { BAR_TABLES } from '../schema/tables.js';

/** The bar tables a timeframe is built into (1D: price_bars_1d; months and years: both week schemes' tables). */
export function tablesOf(t: Timeframe): string[] {
  if (t.alignment === 'tf_day' && t.qty === 1) return ['price_bars_1d'];
  return BAR_FAMILIES.filter((f) => belongsTo(t, f)).map((f) => BAR_TABLES[f].name);
}

function kindOf(t: Timeframe): string {
  if (t.alignment === 'tf_day') return t.qty === 1 ? 'daily' : 'rolling';
  return t.calendarAnchor ? 'anchor' : 'cal';
}

export function registerTimeframes(program: Command): void {
  program
    .command('timeframes')
    .description('List the timeframe catalog: each tf, its kind, length in days, bar tables, and whether a refresh builds it by default')
    .option('--default', 'only the default selection (what `refresh` builds without --tfs)')
    .addOption(new Option('--kind <kind>', 'only one kind').choices(['daily', 'rolling', 'cal', 'anchor']))
    .option('--json', 'machine-readable output (one object per timeframe, plus the default EMA periods)')
    .addHelpText(
      'after',
      `
Kinds: daily = 1D (price_bars_1d); rolling = N-day bars counted in available daily rows (price_bars_multi_tf);
cal = full calendar windows only; anchor = calendar windows, partial first and last window kept.
Weeks exist in a US (Sunday-start) and an ISO (Monday-start) scheme; months and years are the same in both.
days = nominal length (the d of every EMA formula); min..max = real lengths a bar of that tf can span.
What each kind means, with examples: docs/concepts.md.`,
    )
    .action((opts: { default?: boolean; kind?: string; json?: boolean }) => {
      const rows = TIMEFRAMES.filter((t) => (!opts.default || t.isDefault) && (!opts.kind || kindOf(t) === opts.kind));
      if (opts.json) {
        const out = rows.map((t) => ({
          tf: t.tf, kind: kindOf(t), days_nominal: t.daysNominal, days_min: t.daysMin, days_max: t.daysMax,
          scheme: t.scheme, tables: tablesOf(t), is_default: t.isDefault,
        }));
        console.log(JSON.stringify({ timeframes: out, default_ema_periods: DEFAULT_PERIODS }, null, 2));
        return;
      }
      const head = ['tf', 'kind', 'days', 'min..max', 'scheme', 'default', 'tables'];
      const body = rows.map((t) => [
        t.tf, kindOf(t), String(t.daysNominal), `${t.daysMin}..${t.daysMax}`, t.scheme ?? '-', t.isDefault ? 'yes' : '-',
        tablesOf(t).join(', '),
      ]);
      const width = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
      const fmt = (r: string[]) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(width[i]))).join('  ');
      console.log(fmt(head));
      for (const r of body) console.log(fmt(r));
      const defaults = TIMEFRAMES.filter((t) => t.isDefault).length;
      console.log(`${rows.length} of ${TIMEFRAMES.length} timeframes shown; ${defaults} in the default selection`);
      console.log(`default EMA periods: ${DEFAULT_PERIODS.join(', ')}`);
    });
}
