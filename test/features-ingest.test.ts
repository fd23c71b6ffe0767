// The feature-matrix ingest on both engines: the seed's 100-row integration test (generate, ingest, read back,
// verify, clean up — also when a check fails), retry and no-duplicate guarantees through failing sink doubles,
// and bad input reported with row numbers without anything half-loaded.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { dayNumber, isoDate } from '../src/features/dates.js';
import { GROUPS, INPUT_FIELDS, type FeatureRecord } from '../src/features/fields.js';
import { flatInputFromObjects, type RawValue } from '../src/features/flatfile.js';
import { ingestFile, ingestRows, type FailureReport, type IngestReport, type SuccessReport } from '../src/features/ingest.js';
import { countMatrix, deleteSymbol, readMatrix } from '../src/features/matrix.js';
import { ensureFeatureSchema } from '../src/features/schema.js';
import { UserError } from '../src/util/errors.js';
import { loadRegimeFile } from '../src/features/regimes.js';
import type { RetryClock } from '../src/features/retry.js';
import { StoreSink, type FeatureSink, type LoadContext, type LoadResult } from '../src/features/sink.js';
import type { FeatureBatch } from '../src/features/transform.js';
import type { Store } from '../src/store/store.js';
import { engineTest } from './helpers/engines.js';
import { mulberry32 } from './helpers/random.js';

function tmp(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'talab-feat-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const TRUMP_REGIMES_CSV = `regime,start,end,weight,description
trump_anticipation_2024,2023-11-01,2025-01-19,400,Trump 2.0 anticipation
trump_second_term,2025-01-20,2029-01-20,600,Trump second term
`;

async function loadTrumpRegimes(store: Store, dir: string): Promise<void> {
  const f = join(dir, 'regimes.csv');
  writeFileSync(f, TRUMP_REGIMES_CSV);
  await loadRegimeFile(store, f);
}


/** n daily rows ending on `today` (not before 2023-11-01), with the seed's distributions. */
function generateRows(symbol: string, today: string, n = 100, seed = 42): Record<string, RawValue>[] {
  const rng = mulberry32(seed);
  const N = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const U = (a: number, b: number) => a + (b - a) * rng();
  const I = (a: number, b: number) => Math.floor(U(a, b));
  const B = () => rng() < 0.5;
  let start = dayNumber(today) - (n - 1);
  start = Math.max(start, dayNumber('2023-11-01'));
  const ts = `${today}T18:00:00.000Z`;
  return Array.from({ length: n }, (_, i) => {
    const open = 50 + 2 * N();
    const close = 50 + 2 * N();
    const vwap = 50 + 2 * N();
    let high = 50 + 2 * N() + 1;
    let low = 50 + 2 * N() - 1;
    high = Math.max(open, high, low, close) + 0.1;
    low = Math.min(open, high, low, close) - 0.1;
    return {
      symbol, data_date: isoDate(start + i), timestamp: ts,
      open, high, low, close, volume: I(10000, 50000), vwap, realized_vol_1h: U(0.1, 0.5),
      P: 50 + 0.5 * N(), R1: 50 + U(0.5, 1.5), R2: 50 + U(1.5, 3), S1: 50 - U(0.5, 1.5), S2: 50 - U(1.5, 3),
      distance_to_P: 0.5 * N(), distance_to_nearest_pivot: U(0.1, 2), weekly_pivot_distance: N(), price_above_P: B(),
      trump_action_prob: U(0, 1), trump_expected_zl_move: 0.02 * N(), trump_score: U(0, 10), trump_score_signed: 5 * N(),
      trump_confidence: U(0.5, 1), trump_sentiment_7d: N(), trump_tariff_intensity: U(0, 10), trump_procurement_alert: B(),
      trump_mentions: I(0, 50), trumpxi_china_mentions: I(0, 20), trumpxi_sentiment_volatility: U(0, 5),
      trumpxi_policy_impact: 0.5 * N(), trumpxi_volatility_30d_ma: U(0.1, 2), trump_soybean_sentiment_7d: N(),
      policy_trump_topic_multiplier: U(1, 3), policy_trump_recency_decay: U(0.5, 1),
      golden_zone_state: I(0, 3), swing_high: 50 + U(1, 5), swing_low: 50 - U(1, 5), fib_50: 50 + N(), fib_618: 50 + 1.5 * N(),
      vol_decay_slope: 0.1 * N(), qualified_trigger: B(),
    };
  });
}

// ---------------------------------------------------------------------------------------------------------
// The 100-row integration test (ingest.md §6), with the TS design of §6.6: unique test symbol, pre-clean,
// cleanup in `finally` that is verified, injectable "today".

interface Cleanup {
  symbol?: string;
  deletedRows?: number;
  remainingRows?: number;
  remainingBatches?: number;
}

function integrityFailures(gen: Record<string, RawValue>[], back: FeatureRecord[]): string[] {
  const fails: string[] = [];
  const check = (name: string, ok: boolean) => {
    if (!ok) fails.push(name);
  };
  check('row_count', back.length === gen.length);
  check('regime_populated', back.every((r) => r.regime_name !== null && r.regime.name === r.regime_name));
  check('regime_weight_valid', back.every((r) => r.regime.weight === (r.data_date < '2025-01-20' ? 400 : 600)));
  check('regime_name_by_date', back.every((r) => r.regime_name === (r.data_date < '2025-01-20' ? 'trump_anticipation_2024' : 'trump_second_term')));
  check('close_price_reasonable', back.every((r) => (r.market_data.close ?? 0) > 0));
  check('pivot_populated', back.every((r) => r.pivots.P !== null));
  check('policy_populated', back.every((r) => r.policy.trump_action_prob !== null));
  check('ohlc_consistent', back.every((r) => {
    const m = r.market_data as Record<string, number>;
    return m.low <= Math.min(m.open, m.close) && m.high >= Math.max(m.open, m.close);
  }));
  check('value_ranges', back.every((r) => {
    const p = r.policy as Record<string, number>;
    const v = r.market_data.volume!;
    return Number.isInteger(v) && v >= 10000 && v < 50000 && p.trump_action_prob >= 0 && p.trump_action_prob <= 1 &&
      p.trump_confidence >= 0.5 && p.trump_confidence <= 1 && [0, 1, 2].includes(r.golden_zone.state as number) &&
      Number.isInteger(p.trump_mentions) && p.trump_mentions >= 0 && p.trump_mentions < 50;
  }));
  // Stronger than the original: every generated value comes back exactly, in its nested place.
  const byDate = new Map(back.map((r) => [r.data_date, r]));
  check('values_round_trip', gen.every((g) => {
    const r = byDate.get(g.data_date as string);
    if (!r || r.timestamp !== g.timestamp || r.ingestion_ts === null) return false;
    return INPUT_FIELDS.every((x) => {
      const group = (r as unknown as Record<string, Record<string, unknown>>)[x.group];
      return group[x.field.name] === (g[x.column] ?? null);
    });
  }));
  return fails;
}

async function hundredRowTest(
  store: Store, cleanup: Cleanup, opts: { today: string; extraCheck?: (back: FeatureRecord[]) => string | null },
): Promise<{ report: SuccessReport; back: FeatureRecord[] }> {
  const symbol = `TEST_${randomBytes(4).toString('hex').toUpperCase()}`;
  cleanup.symbol = symbol;
  await deleteSymbol(store, symbol); // pre-clean: a leftover from a crashed run must not skew the counts
  try {
    const gen = generateRows(symbol, opts.today);
    const report = await ingestRows(store, flatInputFromObjects('generated', gen));
    if (report.status !== 'success') throw new Error(`ingest failed: ${JSON.stringify(report)}`);
    const back = await readMatrix(store, { symbol });
    const fails = integrityFailures(gen, back);
    const extra = opts.extraCheck?.(back);
    if (extra) fails.push(extra);
    if (fails.length) throw new Error(`integrity checks failed: ${fails.join(', ')}`);
    return { report, back };
  } finally {
    const del = await deleteSymbol(store, symbol);
    cleanup.deletedRows = del.rows;
    cleanup.remainingRows = await countMatrix(store, symbol);
    const ledger = await store.query<{ symbols: string }>('SELECT symbols FROM ml_feature_batches');
    cleanup.remainingBatches = ledger.filter((b) => (JSON.parse(b.symbols) as string[]).includes(symbol)).length;
  }
}

engineTest('100-row integration: generate, ingest, read back nested, verify, clean up; real rows untouched', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    // A "real" row of another symbol that the test must neither count nor remove.
    const real = generateRows('ZL', '2025-02-14', 1, 7);
    assert.equal((await ingestRows(store, flatInputFromObjects('real', real))).status, 'success');
    const before = await readMatrix(store, { symbol: 'ZL' });

    const cleanup: Cleanup = {};
    const { report, back } = await hundredRowTest(store, cleanup, { today: '2025-03-01' });
    assert.equal(report.rows_loaded, 100);
    assert.equal(report.batches, 1);
    assert.equal(report.validation_report.regime_coverage?.coverage_pct, 100);
    assert.equal(report.validation_report.rows_skipped, 0);
    assert.equal(back.length, 100);
    // Both regimes occur in the 100-day window ending 2025-03-01.
    assert.deepEqual([...new Set(back.map((r) => r.regime.weight))].sort(), [400, 600]);
    assert.deepEqual(Object.keys(back[0]), ['symbol', 'data_date', 'timestamp', 'market_data', 'pivots', 'policy', 'golden_zone', 'regime', 'technicals', 'regime_name', 'ingestion_ts']);
    assert.equal(Object.keys(back[0].policy).length, 16);
    assert.deepEqual(cleanup, { symbol: cleanup.symbol, deletedRows: 100, remainingRows: 0, remainingBatches: 0 });
    assert.deepEqual(await readMatrix(store, { symbol: 'ZL' }), before);
  } finally {
    t.done();
  }
});

engineTest('100-row integration: cleanup also runs, and is verified, when a check fails', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    const cleanup: Cleanup = {};
    await assert.rejects(
      hundredRowTest(store, cleanup, { today: '2025-03-01', extraCheck: (back) => (back.length === 100 ? 'forced_failure' : null) }),
      /integrity checks failed: forced_failure/,
    );
    assert.equal(cleanup.deletedRows, 100, 'the rows were loaded, then removed by the finally block');
    assert.equal(cleanup.remainingRows, 0);
    assert.equal(cleanup.remainingBatches, 0);
    assert.equal(await countMatrix(store), 0);
  } finally {
    t.done();
  }
});

// ---------------------------------------------------------------------------------------------------------
// Retry through sink doubles; the real store sits behind them.

function instantClock(): RetryClock & { sleeps: number[] } {
  let t = 0;
  const sleeps: number[] = [];
  return { sleeps, now: () => t, sleep: async (ms) => { sleeps.push(ms); t += ms; }, random: () => 0.5 };
}

const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/** Fails transiently on its first `n` calls: before reaching the store, or after the store committed (lost ack). */
class FlakySink implements FeatureSink {
  calls = 0;
  results: LoadResult['status'][] = [];
  constructor(private readonly inner: FeatureSink, private n: number, private readonly when: 'before' | 'after') {}
  async load(b: FeatureBatch, ctx: LoadContext): Promise<LoadResult> {
    this.calls++;
    if (this.when === 'before' && this.n > 0) {
      this.n--;
      throw reset();
    }
    const r = await this.inner.load(b, ctx);
    this.results.push(r.status);
    if (this.when === 'after' && this.n > 0) {
      this.n--;
      throw reset();
    }
    return r;
  }
}

/** Fails permanently (a constraint error) from batch `from` on. */
class BrokenSink implements FeatureSink {
  calls = 0;
  constructor(private readonly inner: FeatureSink, private readonly from: number) {}
  async load(b: FeatureBatch, ctx: LoadContext): Promise<LoadResult> {
    this.calls++;
    if (b.index >= this.from) throw Object.assign(new Error('value too long for type character varying(8)'), { code: '22001' });
    return this.inner.load(b, ctx);
  }
}

const rows250 = () => flatInputFromObjects('gen', generateRows('ZL', '2025-03-01', 250, 3));

engineTest('retry: transient failures before the write are retried with backoff; every row loaded once', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    const sink = new FlakySink(new StoreSink(store), 3, 'before');
    const clock = instantClock();
    const r = await ingestRows(store, rows250(), { sink, clock, batchSize: 100 }) as SuccessReport;
    assert.equal(r.status, 'success');
    assert.equal(r.rows_loaded, 250);
    assert.equal(r.retries, 3);
    assert.deepEqual(r.batch_details.map((b) => b.attempts), [4, 1, 1]);
    assert.deepEqual(clock.sleeps, [500, 1000, 2000]);
    assert.equal(await countMatrix(store, 'ZL'), 250);
    const ledger = await store.query<{ n: number }>('SELECT count(*) AS n FROM ml_feature_batches');
    assert.equal(Number(ledger[0].n), 3);
  } finally {
    t.done();
  }
});

engineTest('retry: a lost acknowledgement after commit does not load the batch twice (ledger)', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    const sink = new FlakySink(new StoreSink(store), 2, 'after');
    const r = await ingestRows(store, rows250(), { sink, clock: instantClock(), batchSize: 100 }) as SuccessReport;
    assert.equal(r.status, 'success');
    // Batch 1 committed on the first call; both retries found it in the ledger and wrote nothing.
    assert.deepEqual(sink.results, ['loaded', 'already_loaded', 'already_loaded', 'loaded', 'loaded']);
    assert.equal(r.rows_loaded, 250, 'our own earlier attempt loaded it, so it counts as loaded by this run');
    assert.equal(r.rows_already_loaded, 0);
    assert.equal(await countMatrix(store, 'ZL'), 250);
    // A full re-run of the same input loads nothing again.
    const again = await ingestRows(store, rows250(), { batchSize: 100 }) as SuccessReport;
    assert.equal(again.rows_loaded, 0);
    assert.equal(again.rows_already_loaded, 250);
    assert.ok(again.batch_details.every((b) => b.status === 'already_loaded' && b.loaded_by_run === r.run_id));
    // --force reloads through the upsert: still one row per key.
    const forced = await ingestRows(store, rows250(), { batchSize: 100, force: true }) as SuccessReport;
    assert.equal(forced.rows_loaded, 250);
    assert.equal(await countMatrix(store, 'ZL'), 250);
  } finally {
    t.done();
  }
});

engineTest('retry: a permanent failure is not retried; the report says what stayed loaded; a re-run completes', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    const sink = new BrokenSink(new StoreSink(store), 2);
    const clock = instantClock();
    const r = await ingestRows(store, rows250(), { sink, clock, batchSize: 100 }) as FailureReport;
    assert.equal(r.status, 'failed');
    assert.equal(r.reason, 'batch_load_failed: value too long for type character varying(8)');
    assert.equal(r.failed_batch, 2);
    assert.equal(r.error_kind, 'permanent');
    assert.equal(r.attempts, 1);
    assert.equal(r.rows_loaded, 100);
    assert.equal(r.batch_details?.length, 1);
    assert.equal(sink.calls, 2);
    assert.deepEqual(clock.sleeps, []);
    assert.equal(await countMatrix(store, 'ZL'), 100, 'batch 1 committed and stays; nothing of batch 2');
    const again = await ingestRows(store, rows250(), { batchSize: 100 }) as SuccessReport;
    assert.equal(again.status, 'success');
    assert.deepEqual(again.batch_details.map((b) => b.status), ['already_loaded', 'loaded', 'loaded']);
    assert.equal(again.rows_loaded, 150);
    assert.equal(await countMatrix(store, 'ZL'), 250);
  } finally {
    t.done();
  }
});

engineTest('retry: transient errors until the deadline give a retry_deadline failure and load nothing', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    const sink = new FlakySink(new StoreSink(store), Infinity, 'before');
    const clock = instantClock();
    const r = await ingestRows(store, rows250(), { sink, clock, batchSize: 100, retry: { deadlineMs: 10_000 } }) as FailureReport;
    assert.equal(r.status, 'failed');
    assert.equal(r.error_kind, 'retry_deadline');
    assert.equal(r.failed_batch, 1);
    assert.match(r.reason, /^batch_load_failed: gave up after \d+ attempt\(s\): retry deadline of 10 s reached; last error: read ECONNRESET$/);
    // Sleeps 500, 1000, 2000, 4000 fit in 10 s; the next (8000) would pass it.
    assert.deepEqual(clock.sleeps, [500, 1000, 2000, 4000]);
    assert.equal(r.attempts, 5);
    assert.equal(r.rows_loaded, 0);
    assert.equal(await countMatrix(store), 0);
  } finally {
    t.done();
  }
});

// ---------------------------------------------------------------------------------------------------------
// Bad input: each problem reported with row numbers; nothing loaded when validation fails.

const HEAD = 'symbol,data_date,open,high,low,close,volume,P,price_above_P,trump_mentions';
const GOOD = ['ZL,2024-12-02,50,51,49,50.5,1000,50.2,true,3', 'ZL,2024-12-03,50.5,52,50,51,1200,50.4,false,4'];

async function ingestCsv(store: Store, dir: string, name: string, lines: string[], opts = {}): Promise<IngestReport> {
  const f = join(dir, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return ingestFile(store, f, opts);
}

engineTest('bad input: missing column, NaN/Infinity, strings in numbers, duplicates — row numbers, nothing loaded', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    const noSymbol = await ingestCsv(store, t.dir, 'nosym.csv', ['data_date,close', '2024-12-02,50']) as FailureReport;
    assert.equal(noSymbol.reason, 'validation_failed');
    assert.deepEqual(noSymbol.validation_report.required_fields.missing_fields, ['symbol']);
    assert.equal(noSymbol.rows_loaded, 0);

    const nonFinite = await ingestCsv(store, t.dir, 'nan.csv', [HEAD, ...GOOD, 'ZL,2024-12-04,50,51,49,NaN,1000,Infinity,true,1', 'ZL,2024-12-05,50,51,49,50,-inf,50,true,1']) as FailureReport;
    assert.equal(nonFinite.reason, 'validation_failed');
    assert.deepEqual(nonFinite.validation_report.non_finite.cells.map((c) => `${c.row}:${c.column}:${c.value}`), ['3:close:NaN', '3:P:Infinity', '4:volume:-inf']);

    const strings = await ingestCsv(store, t.dir, 'str.csv', [HEAD, ...GOOD, 'ZL,2024-12-04,50,51,49,fifty,1000,50,maybe,2.5']) as FailureReport;
    assert.deepEqual(strings.validation_report.non_numeric.cells.map((c) => `${c.row}:${c.column}`), ['3:close']);
    assert.deepEqual(strings.validation_report.invalid_values.cells.map((c) => `${c.row}:${c.column}:${c.problem}`), [
      "3:price_above_P:'maybe' is not a boolean (use true/false or 1/0)", '3:trump_mentions:2.5 is not an integer',
    ]);

    const dups = await ingestCsv(store, t.dir, 'dup.csv', [HEAD, ...GOOD, GOOD[0].replace('50.5,1000', '50.6,1000')]) as FailureReport;
    assert.equal(dups.reason, 'validation_failed');
    assert.deepEqual(dups.validation_report.duplicates, {
      duplicate_count: 2, is_valid: false,
      duplicate_rows: [{ row: 1, symbol: 'ZL', data_date: '2024-12-02' }, { row: 3, symbol: 'ZL', data_date: '2024-12-02' }],
    });
    assert.equal(await countMatrix(store), 0, 'no failed input loaded anything');

    // The same checks on Parquet, where NaN and ±Infinity are real doubles and a string column is typed text.
    const pq = join(t.dir, 'bad.parquet');
    const inst = await DuckDBInstance.create(':memory:');
    const c = await inst.connect();
    await c.run(`COPY (SELECT * FROM (VALUES ('ZL', DATE '2024-12-02', 50.0, '1000'), ('ZL', DATE '2024-12-03', 'NaN'::DOUBLE, '12x'),
      ('ZL', DATE '2024-12-04', '-Infinity'::DOUBLE, '5')) v(symbol, data_date, close, volume)) TO '${pq}' (FORMAT parquet)`);
    c.closeSync();
    inst.closeSync();
    const p = await ingestFile(store, pq) as FailureReport;
    assert.equal(p.reason, 'validation_failed');
    assert.deepEqual(p.validation_report.non_finite.cells.map((x) => `${x.row}:${x.column}:${x.value}`), ['2:close:NaN', '3:close:-Infinity']);
    assert.deepEqual(p.validation_report.non_numeric.cells.map((x) => `${x.row}:${x.column}:${x.value}`), ['2:volume:12x']);
    assert.equal(await countMatrix(store), 0);
  } finally {
    t.done();
  }
});

engineTest('--max-bad-rows: the good rows load, the bad ones are listed with their file lines; more than N loads nothing', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    // Line 1 header, 2-3 good, 4 blank (skipped), 5 NaN close, 6-7 a quoted value spanning two lines but good,
    // 8 a non-numeric volume, 9 good, 10 and 11 share a key, 12 an empty symbol.
    const lines = [
      HEAD, ...GOOD, '', 'ZL,2024-12-04,50,51,49,NaN,1000,50,true,1', 'ZL,2024-12-05,50,51,49,50,1000,50,true,"1',
      '"', 'ZL,2024-12-06,50,51,49,50,12x,50,true,1', 'ZL,2024-12-07,50,51,49,50,1000,50,true,1',
      'ZL,2024-12-08,50,51,49,50,1000,50,true,1', 'ZL,2024-12-08,50,51,49,51,1000,50,true,1', ',2024-12-09,50,51,49,50,1000,50,true,1',
    ];
    // Without the option one bad row fails the whole file.
    const strict = await ingestCsv(store, t.dir, 'mixed.csv', lines) as FailureReport;
    assert.equal(strict.reason, 'validation_failed');
    assert.equal(await countMatrix(store), 0);

    const tooMany = await ingestCsv(store, t.dir, 'mixed.csv', lines, { maxBadRows: 4 }) as FailureReport;
    assert.equal(tooMany.status, 'failed');
    assert.equal(tooMany.reason, 'validation_failed');
    assert.equal(tooMany.validation_report.rejected_row_count, 5);
    assert.equal(await countMatrix(store), 0, 'over the limit nothing is loaded');

    const r = await ingestCsv(store, t.dir, 'mixed.csv', lines, { maxBadRows: 5 }) as SuccessReport;
    assert.equal(r.status, 'success', JSON.stringify(r.validation_report.rejected_rows));
    assert.equal(r.rows_loaded, 4);
    assert.equal(r.validation_report.rows_processed, 9);
    assert.deepEqual(
      r.validation_report.rejected_rows!.map((x) => `${x.row}@${x.line}:${x.symbol ?? ''}:${x.data_date}`),
      ['3@5:ZL:2024-12-04', '5@8:ZL:2024-12-06', '7@10:ZL:2024-12-08', '8@11:ZL:2024-12-08', '9@12::2024-12-09'],
    );
    assert.match(r.validation_report.rejected_rows![0].problems.join(), /close: non-finite value 'NaN'/);
    assert.match(r.validation_report.rejected_rows![1].problems.join(), /volume: '12x' is not a number/);
    assert.match(r.validation_report.rejected_rows![2].problems.join(), /also on row\(s\) 8/);
    assert.match(r.validation_report.rejected_rows![4].problems.join(), /symbol is empty/);
    const loaded = await readMatrix(store);
    assert.deepEqual(loaded.map((x) => x.data_date), ['2024-12-02', '2024-12-03', '2024-12-05', '2024-12-07']);

    // A missing required column is not a row problem: no limit lets it through.
    const noSym = await ingestCsv(store, t.dir, 'nosym.csv', ['data_date,close', '2024-12-02,50'], { maxBadRows: 100 }) as FailureReport;
    assert.equal(noSym.reason, 'validation_failed');
  } finally {
    t.done();
  }
});

engineTest('a re-ingest with changed values replaces the stored rows; a batch of old and new keys loads both', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    assert.equal((await ingestCsv(store, t.dir, 'a.csv', [HEAD, GOOD[0]]) as SuccessReport).rows_loaded, 1);
    // One key already stored (its close changed), one new: the batch upserts.
    const r = await ingestCsv(store, t.dir, 'b.csv', [HEAD, GOOD[0].replace('50.5,1000', '50.75,1000'), GOOD[1]]) as SuccessReport;
    assert.equal(r.status, 'success');
    assert.equal(r.rows_loaded, 2);
    const rows = await readMatrix(store, { symbol: 'ZL' });
    assert.deepEqual(rows.map((x) => [x.data_date, x.market_data.close, x.pivots.price_above_P]),
      [['2024-12-02', 50.75, true], ['2024-12-03', 51, false]]);
    assert.equal(await countMatrix(store), 2);
  } finally {
    t.done();
  }
});

engineTest('bad input: dates outside regime coverage are skipped and listed, or fail with --require-coverage', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    const lines = [HEAD, ...GOOD, 'ZL,2020-03-02,50,51,49,50,1000,50,true,1', 'ZL,2030-01-02,50,51,49,50,1000,50,true,1'];
    const strict = await ingestCsv(store, t.dir, 'cov.csv', lines, { requireCoverage: true }) as FailureReport;
    assert.equal(strict.reason, 'validation_failed');
    assert.equal(strict.detail, 'no_regime_coverage');
    assert.equal(await countMatrix(store), 0);

    const r = await ingestCsv(store, t.dir, 'cov.csv', lines) as SuccessReport;
    assert.equal(r.status, 'success');
    const cov = r.validation_report.regime_coverage!;
    assert.equal(cov.is_valid, false);
    assert.deepEqual(cov.missing_dates, ['2020-03-02', '2030-01-02']);
    assert.equal(cov.coverage_pct, 50);
    assert.deepEqual(cov.uncovered_rows.map((x) => x.row), [3, 4]);
    assert.equal(r.validation_report.rows_skipped, 2);
    assert.equal(r.rows_loaded, 2);
    assert.deepEqual((await readMatrix(store)).map((x) => x.data_date), ['2024-12-02', '2024-12-03']);

    // Nothing covered at all: the original's validation_failed, with the reason made explicit (D9).
    const none = await ingestCsv(store, t.dir, 'none.csv', [HEAD, 'ZL,2020-03-02,50,51,49,50,1000,50,true,1']) as FailureReport;
    assert.equal(none.reason, 'validation_failed');
    assert.equal(none.detail, 'no_regime_coverage');
  } finally {
    t.done();
  }
});

engineTest('batches respect --max-dates-per-batch and the ledger spans them', async ({ store }) => {
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    // Two symbols on the same 30 dates: 60 rows, 30 distinct dates; 7 dates per batch at most.
    const rows = [...generateRows('AA', '2025-03-01', 30, 1), ...generateRows('BB', '2025-03-01', 30, 2)]
      .sort((a, b) => String(a.data_date).localeCompare(String(b.data_date)));
    const r = await ingestRows(store, flatInputFromObjects('two', rows), { maxDatesPerBatch: 7 }) as SuccessReport;
    assert.equal(r.status, 'success');
    assert.equal(r.batches, 5);
    assert.ok(r.batch_details.every((b) => dayNumber(b.max_date) - dayNumber(b.min_date) <= 6));
    assert.equal(await countMatrix(store), 60);
    assert.deepEqual(await deleteSymbol(store, 'AA'), { rows: 30, batches: 5 });
    assert.equal(await countMatrix(store), 30);
  } finally {
    t.done();
  }
});

engineTest('an existing matrix whose fields were removed, renamed or retyped is reported, never altered', async ({ store }) => {
  if (store.dialect === 'duckdb') {
    await store.exec(`CREATE TABLE ml_feature_matrix (symbol VARCHAR NOT NULL, data_date DATE NOT NULL, "timestamp" TIMESTAMPTZ,
      market_data STRUCT(open DOUBLE), pivots STRUCT("P" DOUBLE), policy STRUCT(x DOUBLE), golden_zone STRUCT(state INTEGER),
      regime STRUCT(name VARCHAR), regime_name VARCHAR, ingestion_ts TIMESTAMPTZ, PRIMARY KEY (symbol, data_date))`);
  } else {
    await store.exec('CREATE TYPE ml_feature_pivots AS ("P" double precision, is_above_P boolean)');
  }
  await assert.rejects(ensureFeatureSchema(store), (e: unknown) => e instanceof UserError && /only fields appended/.test(e.message));
  // The refusal rolled back everything, including groups that could have been widened.
  if (store.dialect === 'duckdb') {
    const t = await store.query<{ data_type: string }>(
      `SELECT data_type FROM information_schema.columns WHERE table_name = 'ml_feature_matrix' AND column_name = 'market_data'`);
    assert.equal(t[0].data_type.replace(/["\s]/g, ''), 'STRUCT(openDOUBLE)');
  }
});

engineTest('schema evolution: a field appended to a group, or a new group, is added in place; existing rows keep their values, NULL in it', async ({ store }) => {
  // The "before" version: pivots without its last field, golden_zone without its last two, no regime or
  // technicals group (a matrix made before technicals existed).
  const older = GROUPS.filter((g) => g.name !== 'regime' && g.name !== 'technicals').map((g) => g.name === 'pivots' ? { ...g, fields: g.fields.slice(0, -1) }
    : g.name === 'golden_zone' ? { ...g, fields: g.fields.slice(0, -2) } : g);
  await ensureFeatureSchema(store, older);
  const pivotFields = async () => store.dialect === 'duckdb'
    ? (await store.query<{ data_type: string }>(`SELECT data_type FROM information_schema.columns
        WHERE table_name = 'ml_feature_matrix' AND column_name = 'pivots' AND table_schema = current_schema()`))[0].data_type.includes('price_above_P')
    : Number((await store.query<{ n: number }>(`SELECT count(*) AS n FROM pg_attribute
        WHERE attrelid = 'ml_feature_pivots'::regclass AND attname = 'price_above_P' AND NOT attisdropped`))[0].n) === 1;
  assert.equal(await pivotFields(), false, 'the "before" table lacks the field');
  const pv = older.find((g) => g.name === 'pivots')!;
  const gz = older.find((g) => g.name === 'golden_zone')!;
  if (store.dialect === 'duckdb') {
    const pack = (g: typeof pv, vals: Record<string, string>) =>
      `struct_pack(${g.fields.map((f) => `"${f.name}" := ${vals[f.name] ?? 'NULL'}`).join(', ')})`;
    await store.exec(`INSERT INTO ml_feature_matrix (symbol, data_date, pivots, golden_zone, ingestion_ts) VALUES
      ('OLD', DATE '2024-01-01', ${pack(pv, { P: '1.5::DOUBLE' })}, ${pack(gz, { state: '2::INTEGER', fib_50: '3.25::DOUBLE' })}, now()),
      ('OLD', DATE '2024-01-02', NULL, NULL, now())`);
  } else {
    const row = (g: typeof pv, vals: Record<string, string>) =>
      `ROW(${g.fields.map((f) => vals[f.name] ?? 'NULL').join(', ')})::ml_feature_${g.name}`;
    await store.exec(`INSERT INTO ml_feature_matrix (symbol, data_date, pivots, golden_zone, ingestion_ts) VALUES
      ('OLD', DATE '2024-01-01', ${row(pv, { P: '1.5' })}, ${row(gz, { state: '2', fib_50: '3.25' })}, now()),
      ('OLD', DATE '2024-01-02', NULL, NULL, now())`);
  }
  await ensureFeatureSchema(store); // the current field list: widens both groups
  assert.equal(await pivotFields(), true);
  const [a, b] = await readMatrix(store, { symbol: 'OLD' });
  assert.equal(a.pivots.P, 1.5);
  assert.equal(a.pivots.price_above_P, null);
  assert.equal(a.golden_zone.state, 2);
  assert.equal(a.golden_zone.fib_50, 3.25);
  assert.equal(a.golden_zone.vol_decay_slope, null);
  assert.equal(a.golden_zone.qualified_trigger, null);
  assert.equal(b.pivots.P, null);
  assert.equal(a.regime.name ?? null, null, 'the added group is NULL in old rows');
  assert.equal(a.technicals.ema_1d_10_dist_pct ?? null, null, 'technicals, added as a group, NULL in old rows');
  assert.equal(a.pivots.P, 1.5, 'old values kept after the technicals column was added');
  // The widened table takes rows with the new fields, through the ordinary ingest.
  const t = tmp();
  try {
    await loadTrumpRegimes(store, t.dir);
    const r = await ingestCsv(store, t.dir, 'new.csv', [HEAD, ...GOOD]) as SuccessReport;
    assert.equal(r.status, 'success');
    const rows = await readMatrix(store, { symbol: 'ZL' });
    assert.deepEqual(rows.map((x) => x.pivots.price_above_P), [true, false]);
  } finally {
    t.done();
  }
  // Running it again is a no-op on a fresh handle too.
  await ensureFeatureSchema(store, [...GROUPS]);
  assert.equal(await countMatrix(store), 4);
});
