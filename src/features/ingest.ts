// The ingest pipeline: validate → regime coverage → enrich (rows without a regime are skipped
// and listed) → micro-batches loaded in order through a sink, each retried on transient errors only, stopping
// at the first failure. Batches committed before a failure stay committed and the report lists them;
// their ids are in the ledger, so re-running the same input loads only what is missing.
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { FeatureRecord } from './fields.js';
import { readFlatFile, type FlatInput } from './flatfile.js';
import { checkQuality, MAX_LISTED, type KeyRef, type QualityOptions, type QualityReport } from './quality.js';
import { RegimeCache, type Coverage } from './regimes.js';
import {
  DEFAULT_RETRY, PermanentError, REAL_CLOCK, RetryDeadlineError, withRetry, type RetryClock,
  type RetryPolicy,
} from './retry.js';
import { StoreSink, type FeatureSink } from './sink.js';
import { cutBatches, DEFAULT_LIMITS, toRecord, type BatchLimits } from './transform.js';
import { forgetWrites, prepareWrites } from './matrix.js';

export interface IngestOptions extends QualityOptions, Partial<BatchLimits> {
  retry?: Partial<RetryPolicy>;
  /** Clock, sleep and randomness of the retry loop (tests make them instant and deterministic). */
  clock?: RetryClock;
  /** Fail validation when any date has no regime, instead of skipping those rows (the original's behaviour). */
  requireCoverage?: boolean;
  /** Load batches even when the ledger says they were loaded (rows are upserted, never duplicated). */
  force?: boolean;
  /** Where batches go; default the store itself (StoreSink). */
  sink?: FeatureSink;
  /** The regime cache; default read from the store once for this run. */
  regimes?: RegimeCache;
  runId?: string;
  /**
   * Load the good rows when at most this many rows are bad, and list the bad ones (row, file line, what is
   * wrong) in the report; more bad rows than this fail validation and load nothing. Without it, one bad row
   * fails the whole input. A missing required column is never a row problem.
   */
  maxBadRows?: number;
  onEvent?: (e: IngestEvent) => void;
}

export type IngestEvent =
  | { kind: 'validated'; rows: number; enriched: number; skipped: number; batches: number }
  | { kind: 'retry'; batch: number; attempt: number; why: string; sleepMs: number; error: string }
  | { kind: 'batch'; batch: number; of: number; rows: number; status: 'loaded' | 'already_loaded'; attempts: number };

export interface CoverageReport extends Coverage {
  is_valid: boolean;
  uncovered_row_count: number;
  uncovered_rows: KeyRef[];
}

export interface RejectedRow {
  row: number;
  /** The line the row starts on in a CSV file; absent for Parquet and in-memory input. */
  line?: number;
  symbol: string | null;
  data_date: string | null;
  problems: string[];
}

export interface ValidationReport extends QualityReport {
  /** With maxBadRows: how many rows were set aside, and (up to 1000 of) which. */
  rejected_row_count?: number;
  rejected_rows?: RejectedRow[];
  regime_coverage?: CoverageReport;
  rows_processed?: number;
  rows_enriched?: number;
  rows_skipped?: number;
}

export interface BatchInfo {
  index: number;
  batch_id: string;
  rows: number;
  min_date: string;
  max_date: string;
  status: 'loaded' | 'already_loaded';
  attempts: number;
  loaded_by_run?: string;
}

export interface SuccessReport {
  status: 'success';
  run_id: string;
  validation_report: ValidationReport;
  rows_loaded: number;
  /** Rows of batches the ledger already had (loaded by an earlier run), not loaded again. */
  rows_already_loaded: number;
  batches: number;
  batch_details: BatchInfo[];
  retries: number;
  duration_seconds: number;
  rows_per_second: number;
}

export interface FailureReport {
  status: 'failed';
  /** `validation_failed`, or `batch_load_failed: <error>`. */
  reason: string;
  /** Why validation failed when it was not the quality checks: `no_regime_coverage` or `no_rows`. */
  detail?: 'no_regime_coverage' | 'no_rows';
  run_id: string;
  validation_report: ValidationReport;
  /** Rows committed before the failure; they stay loaded (listed in batch_details). */
  rows_loaded: number;
  failed_batch?: number;
  failed_batch_id?: string;
  /** `permanent` (not retried) or `retry_deadline` (transient errors until the deadline). */
  error_kind?: 'permanent' | 'retry_deadline';
  attempts?: number;
  batch_details?: BatchInfo[];
  retries?: number;
  duration_seconds: number;
}

export type IngestReport = SuccessReport | FailureReport;

const seconds = (t0: number) => (Date.now() - t0) / 1000;

export async function ingestRows(store: Store, input: FlatInput, opts: IngestOptions = {}): Promise<IngestReport> {
  const t0 = Date.now();
  const runId = opts.runId ?? randomUUID();
  const { report: quality, rows: parsed, badRows } = checkQuality(input, opts);
  const report: ValidationReport = quality;
  report.rows_processed = parsed.length;
  const failed = (detail?: FailureReport['detail']): FailureReport => ({
    status: 'failed', reason: 'validation_failed', ...(detail ? { detail } : {}), run_id: runId,
    validation_report: report, rows_loaded: 0, duration_seconds: seconds(t0),
  });
  let rows = parsed;
  if (opts.maxBadRows !== undefined && badRows.size > 0) {
    const rejected: RejectedRow[] = [];
    for (const r of parsed) {
      const problems = badRows.get(r.row);
      if (problems && rejected.length < MAX_LISTED) {
        rejected.push({
          row: r.row, ...(input.lines ? { line: input.lines[r.row - 1] } : {}), symbol: r.symbol, data_date: r.date, problems,
        });
      }
    }
    report.rejected_row_count = badRows.size;
    report.rejected_rows = rejected;
    if (quality.required_fields.missing_fields.length === 0 && badRows.size <= opts.maxBadRows) {
      rows = parsed.filter((r) => !badRows.has(r.row));
      quality.overall_valid = true;
    }
  }
  if (!quality.overall_valid) return failed();

  const cache = opts.regimes ?? (await RegimeCache.load(store));
  const cov = cache.coverage(rows.map((r) => r.date!));
  const uncovered: KeyRef[] = [];
  let uncoveredCount = 0;
  const records: FeatureRecord[] = [];
  for (const r of rows) {
    const regime = cache.get(r.date!);
    if (regime) records.push(toRecord(r, regime));
    else {
      uncoveredCount++;
      if (uncovered.length < MAX_LISTED) uncovered.push({ row: r.row, symbol: r.symbol!, data_date: r.date! });
    }
  }
  report.regime_coverage = {
    ...cov, is_valid: cov.missing_dates.length === 0, uncovered_row_count: uncoveredCount, uncovered_rows: uncovered,
  };
  report.rows_enriched = records.length;
  report.rows_skipped = uncoveredCount;
  if (opts.requireCoverage && uncoveredCount > 0) return failed('no_regime_coverage');
  if (records.length === 0) return failed(rows.length === 0 ? 'no_rows' : 'no_regime_coverage');

  const limits: BatchLimits = {
    batchSize: opts.batchSize ?? DEFAULT_LIMITS.batchSize,
    maxDatesPerBatch: opts.maxDatesPerBatch ?? DEFAULT_LIMITS.maxDatesPerBatch,
  };
  const batches = cutBatches(records, limits);
  opts.onEvent?.({ kind: 'validated', rows: rows.length, enriched: records.length, skipped: uncoveredCount, batches: batches.length });

  const sink = opts.sink ?? new StoreSink(store);
  if (!opts.sink) await prepareWrites(store);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
  const details: BatchInfo[] = [];
  let loaded = 0;
  let already = 0;
  let retries = 0;
  for (const b of batches) {
    try {
      const { value, attempts } = await withRetry(
        async (attempt) => {
          // A transient error may have cost the session (a dropped connection): take a new one before redoing.
          if (attempt > 1 && !opts.sink && store.reconnect) {
            await store.reconnect();
            forgetWrites(store);
            await prepareWrites(store);
          }
          return sink.load(b, { runId, ingestionTs: Date.now(), force: opts.force ?? false });
        },
        policy,
        opts.clock ?? REAL_CLOCK,
        (e) => {
          retries++;
          opts.onEvent?.({
            kind: 'retry', batch: b.index, attempt: e.attempt, why: e.why, sleepMs: e.sleepMs,
            error: (e.error as Error)?.message ?? String(e.error),
          });
        },
      );
      // Our own earlier attempt may have committed before its acknowledgement was lost: that batch is ours.
      const ours = value.status === 'loaded' || value.loadedByRun === runId;
      if (ours) loaded += b.rows.length;
      else already += b.rows.length;
      details.push({
        index: b.index, batch_id: b.id, rows: b.rows.length, min_date: b.minDate, max_date: b.maxDate,
        status: ours ? 'loaded' : 'already_loaded', attempts,
        ...(ours ? {} : { loaded_by_run: value.loadedByRun ?? undefined }),
      });
      opts.onEvent?.({
        kind: 'batch', batch: b.index, of: batches.length, rows: b.rows.length, status: ours ? 'loaded' : 'already_loaded', attempts,
      });
    } catch (e) {
      const deadline = e instanceof RetryDeadlineError;
      const cause = deadline ? e.lastError : e instanceof PermanentError ? e.cause : e;
      const msg = (cause as Error)?.message ?? String(cause);
      return {
        status: 'failed', reason: `batch_load_failed: ${deadline ? e.message : msg}`, run_id: runId,
        validation_report: report, rows_loaded: loaded, failed_batch: b.index, failed_batch_id: b.id,
        error_kind: deadline ? 'retry_deadline' : 'permanent',
        attempts: deadline ? e.attempts : e instanceof PermanentError ? e.attempts : 1,
        batch_details: details, retries, duration_seconds: seconds(t0),
      };
    }
  }
  const duration = seconds(t0);
  return {
    status: 'success', run_id: runId, validation_report: report, rows_loaded: loaded, rows_already_loaded: already,
    batches: batches.length, batch_details: details, retries, duration_seconds: duration,
    rows_per_second: duration > 0 ? loaded / duration : 0,
  };
}

export async function ingestFile(store: Store, path: string, opts: IngestOptions = {}): Promise<IngestReport> {
  return ingestRows(store, await readFlatFile(path), opts);
}

