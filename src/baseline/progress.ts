// One progress bar per phase, with ETA, on stderr: only when asked for (the CLI asks when stderr is a
// terminal), so logs, pipes and CI see no control characters. The line stays within 80 columns, and the ETA
// reads '—' until there is a rate to estimate it from (cli-progress starts it at '0').
import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import { fmtEta } from '../util/progress.js';

export interface PhaseProgress {
  tick(n?: number): void;
  stop(): void;
}

// Loaded on the first bar drawn: most runs (a pipe, a log, --help) draw none.
const require = createRequire(import.meta.url);

const NONE: PhaseProgress = { tick: () => undefined, stop: () => undefined };

export function phaseProgress(name: string, total: number, unit: string, enabled: boolean): PhaseProgress {
  if (!enabled || total <= 0) return NONE;
  const cliProgress = require('cli-progress') as typeof CliProgress;
  // name ≤ 16 + bar 24 + counts and ETA ≤ 36 columns: 76 in all.
  const bar = new cliProgress.SingleBar({
    format: `${name.slice(0, 16).padEnd(16)} {bar} {value}/{total} ${unit.slice(0, 8)} ETA {eta_formatted}`,
    barsize: 24, hideCursor: true, clearOnComplete: true, stream: process.stderr, etaBuffer: 20,
    formatTime: (t: unknown) => (typeof t === 'number' ? fmtEta(t) : '—'),
  }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  let stopped = false;
  return {
    tick: (n = 1) => { if (!stopped) bar.increment(n); },
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
