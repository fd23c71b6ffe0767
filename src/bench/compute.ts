// Compute-only throughput of the kernels (no database), and the side-by-side with the original pipeline's
// pandas ewm-based EMA on the same closes (skipped, with a message, where python3/pandas is absent).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BAR_FAMILIES, DEFAULT_PERIODS, belongsTo, defaultTimeframes } from '../catalog/timeframes.js';
import { build1d, dailyFrom1d, type RawDaily } from '../compute/bars/daily1d.js';
import { buildBarsForFamily } from '../compute/bars/index.js';
import { ema } from '../compute/ema/kernel.js';
import { emaV1, emaV2 } from '../compute/ema/index.js';
import type { RowBatch } from '../columnar/columns.js';

export interface ComputeFigure {
  what: string;
  rows: number;
  ms: number;
}

function rawFrom(batch: RowBatch, id: number): RawDaily {
  const ids = batch.cols.id as Int32Array;
  const idx: number[] = [];
  for (let i = 0; i < batch.length; i++) if (ids[i] === id) idx.push(i);
  const f = (k: string) => Float64Array.from(idx, (i) => (batch.cols[k] as Float64Array)[i]);
  return {
    id, n: idx.length, ts: f('ts'), timeOpen: f('time_open'), timeClose: f('time_close'), timeHigh: f('time_high'),
    timeLow: f('time_low'), open: f('open'), high: f('high'), low: f('low'), close: f('close'), volume: f('volume'),
    marketCap: f('market_cap'), srcName: idx.map(() => null), srcFile: idx.map(() => null),
    srcLoadTs: new Float64Array(idx.length).fill(NaN),
  };
}

/**
 * All bar families and the two day-horizon EMA families for one asset, in memory. Best of five runs: the first
 * ones include V8's compilation of the kernels (the first run of the bar kernels is ~7× slower than the fifth).
 */
export function benchKernels(history: RowBatch, id: number): ComputeFigure[] {
  const raw = rawFrom(history, id);
  const tfs = defaultTimeframes();
  let barsMs = Infinity;
  let emaMs = Infinity;
  let rows = 0;
  let emaRows = 0;
  for (let run = 0; run < 5; run++) {
    let t = performance.now();
    const built = build1d(raw);
    const series = dailyFrom1d(built.bars, id);
    rows = built.bars.length;
    for (const fam of BAR_FAMILIES) rows += buildBarsForFamily(series, fam, tfs.filter((x) => belongsTo(x, fam))).length;
    barsMs = Math.min(barsMs, performance.now() - t);
    t = performance.now();
    emaRows = 0;
    for (const tf of tfs.filter((x) => x.alignment === 'tf_day')) {
      emaRows += emaV2(series, tf, DEFAULT_PERIODS).length;
      if (tf.tf === '1D') emaRows += emaV1(series, { ts: series.ts, close: series.close }, tf, DEFAULT_PERIODS).length;
    }
    emaMs = Math.min(emaMs, performance.now() - t);
  }
  return [
    { what: `kernels: 1D + 5 bar families, ${raw.n} days × ${tfs.length} default timeframes (best of 5)`, rows, ms: barsMs },
    { what: 'kernels: EMA v2 (all day horizons) + v1 1D, 17 periods (best of 5)', rows: emaRows, ms: emaMs },
  ];
}

const PANDAS = `
import sys, time
import pandas as pd
close = pd.Series([float(x) for x in open(sys.argv[1]).read().split()])
periods = [int(p) for p in sys.argv[2].split(',')]
reps = int(sys.argv[3])
best = float('inf')
for _ in range(5):  # best of five, as for our kernel
    t = time.perf_counter()
    n = 0
    for _ in range(reps):
        for p in periods:
            # The original pipeline's kernels: a first-value-seeded ewm, warm-up rows trimmed afterwards.
            e = close.ewm(span=p, adjust=False).mean()
            n += len(e) - (p - 1)
    best = min(best, time.perf_counter() - t)
print(n, best * 1000)
`;

/** Our kernel vs pandas ewm on the same closes, same periods, same repetitions. */
export function benchVsPandas(close: Float64Array, reps = 20): ComputeFigure[] | string {
  // The PATH's python3 may be a private build without pandas; Debian's python3-pandas goes with /usr/bin/python3.
  const python = ['python3', '/usr/bin/python3'].find(
    (p) => spawnSync(p, ['-c', 'import pandas'], { encoding: 'utf8' }).status === 0,
  );
  const py = python ? spawnSync(python, ['-c', 'import pandas; print(pandas.__version__)'], { encoding: 'utf8' }) : null;
  if (!python || !py || py.status !== 0) return 'pandas comparison skipped: python3 with pandas is not installed (Debian: apt-get install python3-pandas)';
  const dir = mkdtempSync(join(tmpdir(), 'talab-pandas-'));
  try {
    const file = join(dir, 'close.txt');
    writeFileSync(file, Array.from(close).join('\n'));
    const r = spawnSync(python, ['-c', PANDAS, file, DEFAULT_PERIODS.join(','), String(reps)], { encoding: 'utf8' });
    if (r.status !== 0) return `pandas comparison failed: ${r.stderr.trim().split('\n').pop()}`;
    const [pn, pms] = r.stdout.trim().split(/\s+/).map(Number);
    const out = new Float64Array(close.length);
    let n = 0;
    let ms = Infinity;
    // Best of five: the first passes time V8's compiler rather than the kernel.
    for (let run = 0; run < 5; run++) {
      n = 0;
      const t = performance.now();
      for (let k = 0; k < reps; k++) for (const p of DEFAULT_PERIODS) {
        ema(close, p, out);
        n += close.length - (p - 1);
      }
      ms = Math.min(ms, performance.now() - t);
    }
    return [
      { what: `EMA kernel (TA-Lib classic), ${close.length} closes × 17 periods × ${reps} (best of 5)`, rows: n, ms },
      { what: `pandas ${py.stdout.trim()} ewm(span=p, adjust=False), same closes × 17 periods × ${reps} (best of 5)`, rows: pn, ms: pms },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
