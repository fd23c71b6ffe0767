// Keeping the built groups of ml_feature_matrix (market_data, pivots, golden_zone, technicals: what
// `features build` computes from our own tables) current, asset by asset, as part of `talab refresh`.
//
// Which assets: those with a row in ml_feature_state, i.e. whose matrix `talab features build` (or an earlier
// refresh) wrote. An asset never built is left alone: the matrix is opt-in, and a refresh must not overwrite
// rows ingested from flat files. A database without any state row skips the step entirely (featuresEnabled).
//
// Lookback: the groups read back 20 daily rows (vwap), the previous day and the previous ISO week (pivots),
// 220 calendar days and 126 rows (golden zone), the last finished EMA at or before the day (d1 is stored with
// it), the last finished week and month bar, and the last missing day however far back (days_since_missing).
// The last two are unbounded over gaps, so a refresh recomputes an asset's rows from its whole inputs (the
// kernels are linear in its days) with the very code `features build` runs, and what is incremental is the
// write: the first day whose recomputed row differs from the fingerprint kept at the last build (a new day,
// or a revision of the bars or EMAs underneath) starts the rewrite; rows before it are not touched.
import { randomUUID } from 'node:crypto';
import { q } from '../schema/ddl.js';
import { featureState } from '../schema/feature-tables.js';
import type { ComponentSummary, StepContext } from '../refresh/types.js';
import { assetKey } from '../store/locks.js';
import type { Store } from '../store/store.js';
import { buildAssetRows, type BuildResult } from './build.js';
import { isoDate } from './dates.js';
import { INPUT_COLUMNS, MATRIX_TABLE } from './fields.js';
import { rowFingerprints } from './fingerprint.js';
import type { RawValue } from './flatfile.js';
import { ingestRows, type IngestReport } from './ingest.js';
import { forgetWrites } from './matrix.js';
import { RegimeCache } from './regimes.js';
import { readInputTokens } from './inputs.js';
import { pairsKey, parseTechnicals } from './technicals.js';

/** Tables the refresh's features component writes. */
export const FEATURE_STEP_TABLES = [MATRIX_TABLE, featureState.name];

/** Assets whose state and rows one chunk reads, computes and writes together (under their asset locks). */
const CHUNK_ASSETS = 256;

export interface FeatureState {
  id: number;
  symbol: string;
  technicals: string;
  days: number;
  /** 2 words per built day (rowFingerprints). */
  fp: Uint32Array | null;
  /** readInputTokens when the rows were built. */
  inputs: string;
}

export interface FeaturePlan {
  /** Index of the first row to write; equal to the row count when the asset is current. */
  from: number;
  reason: string;
}

/**
 * Whether an asset must be recomputed at all (pure): not when the tables it reads were not written since its
 * rows were built and it keeps its pairs. An empty token (no refresh state) always recomputes.
 */
export function unchangedInputs(prev: FeatureState | undefined, token: string, technicals: string): boolean {
  return !!prev && !!prev.fp && prev.inputs !== '' && prev.inputs === token && prev.technicals === technicals;
}

/**
 * Where an asset's rewrite starts (pure). `fp` are the fingerprints of the rows just computed, `day` their days.
 * No usable fingerprint, or other technicals pairs than last time: every row. Otherwise the first row whose
 * fingerprint differs (the date is part of it, so an inserted or removed day counts) or that is new.
 */
export function planFeatureAsset(prev: FeatureState | undefined, technicals: string, day: Int32Array, fp: Uint32Array): FeaturePlan {
  const n = day.length;
  if (!prev || !prev.fp) return { from: 0, reason: 'no row fingerprints kept: every day' };
  if (prev.technicals !== technicals) return { from: 0, reason: `technicals pairs changed (${prev.technicals} → ${technicals}): every day` };
  const old = prev.fp.length / 2;
  let i = 0;
  while (i < n && i < old && fp[2 * i] === prev.fp[2 * i] && fp[2 * i + 1] === prev.fp[2 * i + 1]) i++;
  if (i === n) return { from: n, reason: 'already current' };
  if (i >= old) return { from: i, reason: `${n - i} new day(s) from ${isoDate(day[i])}` };
  return { from: i, reason: `inputs changed from ${isoDate(day[i])}` };
}

const fpBytes = (fp: Uint32Array) => new Uint8Array(fp.buffer, fp.byteOffset, fp.byteLength);

function fpFrom(v: unknown): Uint32Array | null {
  if (!(v instanceof Uint8Array) || v.byteLength % 8 !== 0) return null;
  // Copied: a driver's buffer need not be 4-byte aligned.
  return new Uint32Array(Uint8Array.from(v).buffer);
}

export async function readFeatureStates(store: Store, ids: readonly number[]): Promise<Map<number, FeatureState>> {
  if (!ids.length) return new Map();
  const rows = await store.query<Record<string, unknown>>(
    `SELECT id, symbol, technicals, days, row_fp, inputs FROM ${q(featureState.name)} WHERE id IN (${ids.map((i) => Number(i)).join(', ')})`,
  );
  return new Map(rows.map((r) => [Number(r.id), {
    id: Number(r.id), symbol: String(r.symbol), technicals: String(r.technicals), days: Number(r.days), fp: fpFrom(r.row_fp),
    inputs: (r.inputs as string | null) ?? '',
  }]));
}

interface StateWrite {
  id: number;
  symbol: string;
  technicals: string;
  day: Int32Array;
  fp: Uint32Array;
  from: number;
  rows: number;
  runId: string;
  inputs: string;
}

async function writeFeatureStates(store: Store, w: StateWrite[]): Promise<void> {
  if (!w.length) return;
  const n = w.length;
  const now = Date.now();
  const dayOrNull = (x: StateWrite, i: number) => (x.day.length ? isoDate(x.day[i]) : null);
  await store.upsert(featureState, {
    length: n,
    cols: {
      id: Int32Array.from(w, (x) => x.id),
      symbol: w.map((x) => x.symbol),
      technicals: w.map((x) => x.technicals),
      first_day: w.map((x) => dayOrNull(x, 0)),
      last_day: w.map((x) => dayOrNull(x, x.day.length - 1)),
      days: Int32Array.from(w, (x) => x.day.length),
      row_fp: w.map((x) => fpBytes(x.fp)),
      last_from: w.map((x) => (x.from < x.day.length ? isoDate(x.day[x.from]) : null)),
      rows_written: Float64Array.from(w, (x) => x.rows),
      last_run_ts: new Float64Array(n).fill(now),
      last_run_id: w.map((x) => x.runId),
      inputs: w.map((x) => x.inputs),
    },
  });
}

/** After `features build` ingested its rows: the assets' state, so that the refresh keeps them current from here. */
export async function recordBuild(store: Store, built: BuildResult, runId: string): Promise<void> {
  const technicals = pairsKey(built.pairs);
  await store.transaction(() => writeFeatureStates(store, built.assets.map((a) => ({
    id: a.id, symbol: a.symbol, technicals, day: a.day, fp: a.fp, from: 0, rows: a.rows, runId, inputs: a.inputs,
  }))));
}

/** After a symbol's matrix rows were deleted: the refresh no longer keeps them (a build adds them back). */
export async function forgetSymbol(store: Store, symbol: string): Promise<number> {
  const r = await store.query<{ n: number }>(`SELECT count(*) AS n FROM ${q(featureState.name)} WHERE symbol = $1`, [symbol]);
  await store.exec(`DELETE FROM ${q(featureState.name)} WHERE symbol = $1`, [symbol]);
  return Number(r[0].n);
}

/** Whether any asset's matrix is kept by the refresh (one cheap probe; false on a database that never built one). */

export interface FeatureOutcome {
  id: number;
  symbol: string;
  status: 'built' | 'current' | 'failed' | 'planned' | 'skipped';
  reason: string;
  /** First day written (YYYY-MM-DD), 'all' when every day was. */
  from?: string;
  rows: number;
  ms: number;
}

export interface FeatureRefreshOptions {
  runId?: string;
  /** Plan only: report what would be written, write nothing. */
  dryRun?: boolean;
  /** Assets to leave out with this reason (their bars failed in the run). */
  skip?: Map<number, string>;
  signal?: AbortSignal;
  onAsset?: (o: FeatureOutcome) => void;
}

/**
 * Bring the built groups of the given assets' matrix rows up to date. Assets without feature state are not
 * part of the family and are not reported. Each chunk runs under its assets' locks (the refresh's convention);
 * its rows go through the ingest pipeline as `features build`'s do (same checks, regime enrichment, upsert),
 * then the chunk's states are written. A failure before the states are written leaves them as they were, so
 * the next run writes the same rows again: rewriting them is harmless.
 */
export async function refreshFeatures(
  store: Store, assets: readonly { id: number; symbol: string }[], opts: FeatureRefreshOptions = {},
): Promise<FeatureOutcome[]> {
  const runId = opts.runId ?? randomUUID();
  const out: FeatureOutcome[] = [];
  const report = (o: FeatureOutcome) => {
    out.push(o);
    opts.onAsset?.(o);
  };
  let regimes: RegimeCache | undefined;
  for (let k = 0; k < assets.length && !opts.signal?.aborted; k += CHUNK_ASSETS) {
    const chunk = assets.slice(k, k + CHUNK_ASSETS);
    const states = await readFeatureStates(store, chunk.map((a) => a.id));
    const mine = chunk.filter((a) => states.has(a.id));
    if (!mine.length) continue;
    const held = opts.dryRun ? null : await store.lock(mine.map((a) => a.id).sort((x, y) => x - y).map(assetKey));
    try {
      // Under the locks, before the inputs are read (see buildFeatures).
      const tokens = await readInputTokens(store, mine.map((a) => a.id));
      const rows: RawValue[][] = [];
      const pending: { o: FeatureOutcome; w: StateWrite }[] = [];
      const unchanged: StateWrite[] = [];
      for (const a of mine) {
        // A signal stops between assets; what was computed so far is still written below.
        if (opts.signal?.aborted) break;
        const t0 = Date.now();
        const st = states.get(a.id)!;
        const o: FeatureOutcome = { id: a.id, symbol: st.symbol, status: 'current', reason: '', rows: 0, ms: 0 };
        const why = opts.skip?.get(a.id);
        if (why) {
          report({ ...o, status: 'skipped', reason: why });
          continue;
        }
        const token = tokens.get(a.id) ?? '';
        if (unchangedInputs(st, token, st.technicals)) {
          report({ ...o, reason: 'inputs unchanged since the last build', ms: Date.now() - t0 });
          continue;
        }
        try {
          const pairs = parseTechnicals(st.technicals, `${featureState.name}.technicals of asset ${a.id}`);
          const built = await buildAssetRows(store, { id: a.id, symbol: st.symbol }, pairs);
          const fp = rowFingerprints(built.rows);
          const plan = planFeatureAsset(st, st.technicals, built.day, fp);
          o.reason = plan.reason;
          o.ms = Date.now() - t0;
          if (plan.from >= built.rows.length) {
            // Same rows from newer inputs: remember the token so the next run skips the recompute.
            if (!opts.dryRun) unchanged.push({ id: a.id, symbol: st.symbol, technicals: st.technicals, day: built.day, fp, from: built.rows.length, rows: 0, runId, inputs: token });
            report(o);
            continue;
          }
          o.status = opts.dryRun ? 'planned' : 'built';
          o.from = plan.from === 0 ? 'all' : isoDate(built.day[plan.from]);
          o.rows = built.rows.length - plan.from;
          if (opts.dryRun) {
            report(o);
            continue;
          }
          for (let i = plan.from; i < built.rows.length; i++) rows.push(built.rows[i]);
          pending.push({ o, w: { id: a.id, symbol: st.symbol, technicals: st.technicals, day: built.day, fp, from: plan.from, rows: o.rows, runId, inputs: token } });
        } catch (e) {
          report({ ...o, status: 'failed', reason: (e as Error).message, ms: Date.now() - t0 });
        }
      }
      if (!pending.length) {
        if (unchanged.length) await store.transaction(() => writeFeatureStates(store, unchanged));
        continue;
      }
      regimes ??= await RegimeCache.load(store);
      // force: the ledger's "already loaded" would skip a batch identical to one loaded before a revision
      // and its reversal, leaving the revised rows in place.
      const r: IngestReport = await ingestRows(store, { source: 'refresh features', columns: [...INPUT_COLUMNS], rows }, {
        force: true, regimes, runId,
      });
      if (r.status !== 'success') {
        const why = `matrix write failed: ${r.reason}${r.detail ? ` (${r.detail})` : ''}`;
        for (const p of pending) report({ ...p.o, status: 'failed', reason: why, rows: 0 });
        continue;
      }
      await store.transaction(() => writeFeatureStates(store, [...unchanged, ...pending.map((p) => p.w)]));
      for (const p of pending) report(p.o);
    } finally {
      await held?.release();
    }
  }
  return out;
}

/**
 * The refresh's `features` component over the run's assets: fills `sum` and reports each asset like the other
 * components do. Assets whose bars failed in this run are skipped (their inputs are not trustworthy).
 */
export async function runFeaturesStep(
  store: Store, assets: readonly { id: number; symbol: string }[], ctx: StepContext, sum: ComponentSummary,
): Promise<void> {
  const { opts } = ctx;
  // Called again after a reconnect: the session's staging table went with the old session.
  forgetWrites(store);
  const done = new Set(sum.assets.map((a) => a.id));
  // Assets a family before it failed in this run (the bars, or the EMAs, which pass the bars' failures on).
  const skip = new Map([...ctx.failed.values()].flatMap((m) => [...m]));
  await refreshFeatures(store, assets.filter((a) => !done.has(a.id)), {
    runId: ctx.runId, dryRun: opts.dryRun, skip, signal: opts.signal,
    onAsset: (o) => {
      sum.assets.push({ id: o.id, symbol: o.symbol, status: o.status, reason: o.reason, ms: o.ms, ...(o.from ? { from: o.from } : {}) });
      if (o.status === 'built' || o.status === 'planned') sum.rows[MATRIX_TABLE] = (sum.rows[MATRIX_TABLE] ?? 0) + o.rows;
      opts.onEvent?.({ kind: 'computed', component: 'features', id: o.id, symbol: o.symbol, status: o.status, ms: o.ms });
      opts.onEvent?.({ kind: 'asset', component: 'features', id: o.id, symbol: o.symbol, status: o.status, reason: o.reason, ms: o.ms, rows: o.rows });
    },
  });
}
