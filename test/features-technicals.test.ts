// The technicals group of `features build`, on both engines: every value of a real sample cut equals an
// independent SQL computation over the EMA and bar tables; a revised past close changes exactly the tail from
// that day; the date-range export carries the group, flat and nested.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { getTimeframe, type Timeframe } from '../src/catalog/timeframes.js';
import { buildFeatures } from '../src/features/build.js';
import { exportMatrix } from '../src/features/export.js';
import { emaStem, INPUT_COLUMNS, TECHNICAL_EMAS } from '../src/features/fields.js';
import { ingestRows, type SuccessReport } from '../src/features/ingest.js';
import { readMatrix } from '../src/features/matrix.js';
import { BUILTIN_REGIMES_CSV, loadRegimes, parseRegimeCsv } from '../src/features/regimes.js';
import { importFile } from '../src/importer/import.js';
import { runRefresh } from '../src/refresh/runner.js';
import type { Store } from '../src/store/store.js';
import { engineTest } from './helpers/engines.js';
import { sampleSlice } from './helpers/sample.js';

const ETH = 1027;
const GAP = ['2025-03-10', '2025-03-11'];
const REVISED = '2025-05-14';

/** The last 300 days of the Ethereum sample without two days (a gap), optionally with one close revised. */
function writeCut(path: string, revise: boolean): void {
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n').filter((l) => !GAP.some((d) => l.startsWith(`"${d}`)));
  const out = lines.map((l) => {
    if (!revise || !l.startsWith(`"${REVISED}`)) return l;
    const c = l.split(';');
    const [high, low] = [Number(c[6]), Number(c[7])];
    c[8] = String(low + (high - low) * 0.15);
    return c.join(';');
  });
  writeFileSync(path, out.join('\n'));
}

async function refresh(store: Store): Promise<void> {
  const tfs = [...new Set(['1D', '1M_CAL', ...TECHNICAL_EMAS.map((p) => p.tf)])].map((t) => getTimeframe(t)!) as Timeframe[];
  const s = await runRefresh(store, { components: ['bars', 'emas'], ids: [ETH], tfs, periods: [...new Set(TECHNICAL_EMAS.map((p) => p.period))] });
  assert.ok(s.ok, JSON.stringify(s));
}

const near = (a: number | null, b: number | null, what: string) => {
  if (a === null || b === null) return assert.equal(a, b, what);
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
};

/** Each technical field per day, computed here in SQL only, from the tables the refresh wrote. */
async function expected(store: Store): Promise<Record<string, number | null>[]> {
  const day = (c: string) => `CAST(CAST(${c} AS DATE) AS VARCHAR)`;
  const asOf = (p: { tf: string; period: number }, col: string) => {
    const cal = p.tf.includes('_CAL');
    const [table, ema, d1, fin] = cal
      ? ['ema_multi_tf_cal_iso', 'ema_bar', 'd1_bar', 'roll_bar = false'] : ['ema_multi_tf', 'ema', 'd1', 'roll = false'];
    return `(SELECT e.${col === 'ema' ? ema : d1} FROM ${table} e WHERE e.id = b.id AND e.tf = '${p.tf}'
              AND e.period = ${p.period} AND ${fin} AND CAST(e.ts AS DATE) <= CAST(b.ts AS DATE) ORDER BY e.ts DESC LIMIT 1)`;
  };
  const pos = (tf: string) => `(SELECT CAST(x.pos_in_bar AS DOUBLE PRECISION) / x.tf_days FROM price_bars_multi_tf_cal_iso x
              WHERE x.id = b.id AND x.tf = '${tf}' AND CAST(x.time_close AS DATE) = CAST(b.ts AS DATE))`;
  const prev = (tf: string, col: string) => `(SELECT x.${col} FROM price_bars_multi_tf_cal_iso x WHERE x.id = b.id AND x.tf = '${tf}'
              AND x.is_partial_end = false AND CAST(x.time_close AS DATE) < CAST(b.ts AS DATE) ORDER BY x.time_close DESC LIMIT 1)`;
  const cols = [
    `${pos('1W_CAL_ISO')} AS week_pos`, `${pos('1M_CAL')} AS month_pos`,
    `${prev('1W_CAL_ISO', 'high')} AS wh`, `${prev('1W_CAL_ISO', 'low')} AS wl`,
    `${prev('1M_CAL', 'high')} AS mh`, `${prev('1M_CAL', 'low')} AS ml`,
    ...TECHNICAL_EMAS.flatMap((p, i) => [`${asOf(p, 'ema')} AS ema${i}`, `${asOf(p, 'd1')} AS d1_${i}`]),
  ];
  const rows = await store.query<Record<string, number | string | null>>(
    `WITH g AS (SELECT ts, n, CASE WHEN n - LAG(n) OVER (ORDER BY ts) > 1 THEN n - 1 END AS missing
                FROM (SELECT ts, CAST(ts AS DATE) - DATE '1970-01-01' AS n FROM price_bars_1d WHERE id = $1) d),
          m AS (SELECT ts, n - MAX(missing) OVER (ORDER BY ts ROWS UNBOUNDED PRECEDING) AS since FROM g)
     SELECT ${day('b.ts')} AS d, b.close, m.since, ${cols.join(',\n')}
     FROM price_bars_1d b JOIN m ON m.ts = b.ts WHERE b.id = $1 ORDER BY b.ts`,
    [ETH],
  );
  const pct = (c: number, r: unknown) => (r === null ? null : ((c - Number(r)) / Number(r)) * 100);
  return rows.map((r) => {
    const c = Number(r.close);
    const o: Record<string, number | null> = {
      data_date: r.d as unknown as number,
      days_since_missing: r.since === null ? null : Number(r.since),
      week_pos: r.week_pos === null ? null : Number(r.week_pos), month_pos: r.month_pos === null ? null : Number(r.month_pos),
      prev_week_high_dist_pct: pct(c, r.wh), prev_week_low_dist_pct: pct(c, r.wl),
      prev_month_high_dist_pct: pct(c, r.mh), prev_month_low_dist_pct: pct(c, r.ml),
    };
    TECHNICAL_EMAS.forEach((p, i) => {
      o[`${emaStem(p)}_dist_pct`] = pct(c, r[`ema${i}`]);
      o[`${emaStem(p)}_d1`] = r[`d1_${i}`] === null ? null : Number(r[`d1_${i}`]);
    });
    return o;
  });
}

engineTest('technicals: equal an independent SQL computation for every day; a revision changes exactly the tail; export carries them', async ({ store }) => {
  const file = sampleSlice('ethereum', 300);
  const dir = dirname(file);
  try {
    writeCut(file, false);
    await importFile(store, file);
    await refresh(store);
    await loadRegimes(store, parseRegimeCsv(BUILTIN_REGIMES_CSV, 'builtin'));

    const built = await buildFeatures(store, { ids: [ETH] });
    const want = await expected(store);
    const rows = built.input.rows;
    assert.equal(rows.length, 298);
    assert.equal(want.length, 298);
    const seen = new Map<string, number>();
    want.forEach((w, i) => {
      const r = rows[i];
      assert.equal(r[INPUT_COLUMNS.indexOf('data_date')], w.data_date);
      for (const [k, v] of Object.entries(w)) {
        if (k === 'data_date') continue;
        near(r[INPUT_COLUMNS.indexOf(k)] as number | null, v, `${k} ${w.data_date}`);
        if (v !== null) seen.set(k, (seen.get(k) ?? 0) + 1);
      }
    });
    // Every field is defined on most days of the cut (the 200-day EMA only after its warm-up), so none is
    // checked only as NULL = NULL.
    for (const k of Object.keys(want[0]).filter((x) => x !== 'data_date')) assert.ok((seen.get(k) ?? 0) >= 50, `${k}: ${seen.get(k)}`);
    const gapEnd = want.findIndex((w) => String(w.data_date) > GAP[1]);
    assert.equal(want[gapEnd - 1].days_since_missing, null, 'no missing day yet before the gap');
    assert.equal(want[gapEnd].days_since_missing, 1);

    const first = await ingestRows(store, built.input) as SuccessReport;
    assert.equal(first.status, 'success');
    const before = await readMatrix(store, { symbol: 'ETH' });
    assert.equal(before.length, 298);

    // Revise one past close, refresh the derived tables incrementally, build again.
    writeCut(file, true);
    await importFile(store, file);
    await refresh(store);
    const second = await ingestRows(store, (await buildFeatures(store, { ids: [ETH] })).input) as SuccessReport;
    assert.equal(second.status, 'success');
    const after = await readMatrix(store, { symbol: 'ETH' });
    assert.equal(after.length, 298);
    const strip = ({ ingestion_ts: _x, ...r }: (typeof after)[number]) => JSON.stringify(r);
    const changed = after.filter((r, i) => strip(r) !== strip(before[i])).map((r) => r.data_date);
    assert.equal(changed[0], REVISED, 'nothing before the revised day changes');
    const k = after.findIndex((r) => r.data_date === REVISED);
    assert.notEqual(after[k].technicals.ema_1d_10_dist_pct, before[k].technicals.ema_1d_10_dist_pct);
    assert.notEqual(after[k + 1].technicals.ema_1d_10_d1, before[k + 1].technicals.ema_1d_10_d1, 'the tail follows');
    const again = await expected(store);
    after.forEach((r, i) => {
      for (const [f, v] of Object.entries(again[i])) if (f !== 'data_date') near(r.technicals[f] ?? null, v, `after revision ${f} ${r.data_date}`);
    });

    // Export by date range: exactly those days, the group present flat and nested.
    const inst = await DuckDBInstance.create(':memory:');
    const c = await inst.connect();
    try {
      for (const layout of ['flat', 'nested'] as const) {
        const out = join(dir, `tech-${layout}.parquet`);
        const res = await exportMatrix(store, out, { from: '2025-05-01', to: '2025-05-31', groups: ['technicals'], layout });
        assert.equal(res.rows, 31, layout);
        const col = layout === 'flat' ? '"technicals.ema_1d_10_dist_pct"' : 'technicals.ema_1d_10_dist_pct';
        const got = (await c.runAndReadAll(
          `SELECT CAST(data_date AS VARCHAR) AS d, ${col} AS v FROM read_parquet('${out}') ORDER BY d`)).getRowObjects();
        assert.deepEqual(got.map((g) => g.d), after.filter((r) => r.data_date >= '2025-05-01' && r.data_date <= '2025-05-31').map((r) => r.data_date));
        got.forEach((g) => assert.equal(g.v, after.find((r) => r.data_date === g.d)!.technicals.ema_1d_10_dist_pct, `${layout} ${g.d}`));
      }
    } finally {
      c.closeSync();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
