// Examples shown at the end of each command's --help, so that the help of every command is usable on its own.
// Kept in one place, keyed by command path, and checked by test/cli-help.test.ts: every line must parse with
// the CLI, and every command must have one.
import type { Command } from 'commander';

export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': [
    'npx talab import data/sample/*.csv && npx talab refresh --all && npx talab status',
    'npx talab --db postgres://user:pw@localhost:5432/market refresh --all',
  ],
  init: ['npx talab init', 'npx talab --db market.duckdb init', 'npx talab --db postgres://user@localhost/market init --partitions 16'],
  status: ['npx talab status', 'npx talab status --json'],
  import: [
    'npx talab import data/sample/*.csv',
    'npx talab import --id 1 --symbol BTC btc_2010.csv btc_2011.csv',
    'npx talab import --dry-run --rejects-out rejects.csv new-export.csv',
    'npx talab import BTC-USD.csv                   # Yahoo: no market cap, bars built without it',
    'npx talab import --json prices-long.parquet    # several assets (a symbol column), in Parquet',
    'npx talab import --replace --symbol BTC btc_full_history.csv',
  ],
  delete: [
    'npx talab delete --symbol BTC --from 2024-03-01 --to 2024-03-05 --dry-run',
    'npx talab delete --ids 1,1027 --from 2025-01-01 --json',
  ],
  refresh: [
    'npx talab refresh --all                        # the daily command',
    'npx talab refresh --all --dry-run              # what would be rebuilt, and why',
    'npx talab refresh --emas --ids 1 --tfs 1D,7D --periods 20,50',
    'npx talab refresh --all --full-rebuild --jobs 2 --validate',
    'npx talab refresh --all --ids 1 --from 2024-01-01          # recompute a window on demand',
    'npx talab refresh --features                   # only the feature matrix rows `features build` wrote',
  ],
  validate: ['npx talab validate', 'npx talab validate --ids 1,1027 --json'],
  baseline: ['npx talab baseline --ids 1027 --dry-run', 'npx talab baseline --ids 1027 --keep-snapshots'],
  'baseline compare': ['npx talab baseline compare --against latest', 'npx talab baseline compare --against latest --ids 1027'],
  'baseline list': ['npx talab baseline list'],
  'baseline drop': ['npx talab baseline drop --older-than 7d'],
  diff: ['npx talab diff --left old.duckdb --right new.duckdb', 'npx talab diff --left talab.duckdb --right postgres://user@localhost/market --ids 1'],
  features: ['npx talab features regimes --builtin && npx talab features build && npx talab features export --out matrix.parquet'],
  'features regimes': ['npx talab features regimes --builtin', 'npx talab features regimes my_regimes.csv'],
  'features ingest': ['npx talab features ingest features.csv --json', 'npx talab features ingest features.parquet --require-coverage'],
  'features build': [
    'npx talab features build --ids 1,1027', 'npx talab features build --out features.parquet',
    'npx talab features build --technicals 1D:10,1D:50,7D:20   # only these EMA pairs; refresh --all keeps the choice',
  ],
  'features export': ['npx talab features export --out matrix.parquet', 'npx talab features export --out btc.parquet --symbol BTC'],
  'features show': ['npx talab features show --symbol BTC --limit 3'],
  'features delete': ['npx talab features delete --symbol TEST'],
  demo: ['npx talab demo', 'npx talab --db demo.duckdb demo'],
  assets: ['npx talab assets', 'npx talab assets --rename 1000000001 --symbol XMR --name monero', 'npx talab assets merge --from 1000000001 --into 328'],
  'assets merge': [
    'npx talab assets merge --from 1000000001 --into 328          # a local asset that is CoinMarketCap id 328',
    'npx talab assets merge --from 1000000002 --into 1 --force    # days differ: keep id 1\'s values',
  ],
  freshness: ['npx talab freshness --max-age-days 2', 'npx talab freshness --max-age-days 3 --alert --json'],
  daily: ['npx talab daily --inbox /srv/talab/inbox', 'npx talab daily --inbox inbox --max-age-days 2 --json'],
  runs: ['npx talab runs', 'npx talab runs --kind import --limit 5 --json', 'npx talab runs --kind baseline'],
  serve: ['npx talab serve', 'npx talab --db market.duckdb serve --port 8400 --reports-dir .logs/baseline'],
  chart: ['npx talab chart --symbol BTC --tf 1D --periods 10,50 --out btc.html', 'npx talab chart --id 1027 --tf 1M_CAL --family cal_iso --out eth-months.html'],
  export: [
    'npx talab export --symbol BTC --tf 1D --out btc_1d.parquet',
    'npx talab export --symbol BTC,ETH --tf 1W_CAL_ISO --periods 10,20,50 --from 2024-01-01 --format csv > weekly.csv',
    'npx talab export --ids 1 --tf 7D --family v2 --out btc_7d.json',
  ],
  timeframes: ['npx talab timeframes --default', 'npx talab timeframes --kind anchor --json'],
};

/** The command's path below the program: '' for the program, 'features build' for a subcommand. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds the examples to every command that has some and does not print its own. */
export function addExamples(program: Command): void {
  const visit = (cmd: Command) => {
    const lines = EXAMPLES[commandPath(cmd)];
    if (lines) cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`);
    cmd.commands.forEach(visit);
  };
  visit(program);
}
