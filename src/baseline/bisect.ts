// Full comparison of two tables by checksum bisection (the method of data-diff): per-series checksums on
// both sides (checksum.ts), then, only for the series whose checksums differ, checksums of 16 equal time
// buckets, recursively, until a differing segment is small enough to pull its rows from both sides and
// compare them with the tolerance rules. An unchanged table costs one aggregate scan per side; one
// changed value costs a few more scans of its own series and one small row pull.
//
// Within one engine the first level is checksummed exactly first (raw values, the engine's own hash): a
// series whose exact checksums agree is equal, whatever the tolerance. Only the series that differ
// exactly are checksummed again with the tolerance-aware code, which decides whether to bisect them. When
// more than half of the series differ exactly (a rebuild with float noise everywhere), the tolerance-aware
// checksums are taken of the whole first level at once, as without the exact pass: the cost over that is
// the exact pass, a fraction of a tolerance-aware one.
//
// The two sides may live in different databases and on different engines: only checksums and the rows
// of differing segments cross the wire, and the row-level test runs here, in JS, with the same rules as
// the SQL comparison (tolerance.ts).
import { q } from '../schema/ddl.js';
import type { Table } from '../schema/tables.js';
import type { Row, Store } from '../store/store.js';
import type { ColumnResult, KeyValue, Mismatch, TableResult } from './compare.js';
import { segmentSql, type ChecksumMode, type SegmentQuery } from './checksum.js';
import type { DiffSink } from './diffs.js';
import { idWhere, seriesShape } from './sample.js';
import { maxSeverity, relDiff, severityOfRel, skippedColumns, withinTolerance, type ComparedColumn, type Severity } from './tolerance.js';

export interface Side {
  store: Store;
  table: string;
}

export interface BisectOptions {
  ids?: number[];
  topN: number;
  /** Segments with at most this many rows on each side are compared row by row. */
  leafRows?: number;
  buckets?: number;
  sink?: DiffSink;
  /** Use the checksums that agree across engines even when both sides are on one (the bench compares the two). */
  portable?: boolean;
  /** Within one engine, settle equal series by exact checksums before the tolerance-aware ones (default true). */
  exactFirst?: boolean;
  /** Rows settled so far (matched by checksum or compared row by row), for progress. */
  onRows?: (settled: number, total: number) => void;
  /** How the first level went, once it is done. */
  onFirstLevel?: (f: FirstLevel) => void;
}

export interface BisectStats {
  /** Checksum queries run, both sides counted. */
  queries: number;
  /** Segments whose checksums differed (at any level). */
  differingSegments: number;
  /** Rows pulled from both sides for the row-level test. */
  rowsPulled: number;
}

export interface FirstLevel {
  /** `off`: tolerance-aware (or cross-engine) checksums only; `used`: exact first; `fallback`: exact
   * first, then so many series differed that the whole first level was checksummed again. */
  exact: 'off' | 'used' | 'fallback';
  /** Series whose exact checksums differed. */
  exactDiffering: number;
}

interface Seg {
  series: unknown[];
  lo: number;
  hi: number;
  nL: number;
  nR: number;
}

interface Agg {
  n: number;
  s: string;
  lo: number;
  hi: number;
}

/** Share of first-level segments above which the tolerance-aware checksums are taken of the whole level. */
export const EXACT_FALLBACK_SHARE = 0.5;
/** Largest-series segments that differ exactly go straight to bucketed checksums, up to this many. */
const DIRECT_SEGMENTS = 16;
/** Longest id list in the re-check query of the series that differed exactly. */
const MAX_ID_LIST = 1000;

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

export async function compareByChecksum(
  left: Side, right: Side, table: Table, cols: ComparedColumn[], opts: BisectOptions,
): Promise<TableResult & { checksum: BisectStats }> {
  // Both sides in one PostgreSQL database: a second session lets the server scan them in parallel (one
  // connection runs one query at a time). DuckDB already spreads one query over every core.
  if (left.store === right.store && !left.store.engine.parallelQuery) {
    const second = await left.store.connect();
    try {
      return await bisect(left, { store: second, table: right.table }, table, cols, opts);
    } finally {
      await second.close();
    }
  }
  return bisect(left, right, table, cols, opts);
}

async function bisect(
  left: Side, right: Side, table: Table, cols: ComparedColumn[], opts: BisectOptions,
): Promise<TableResult & { checksum: BisectStats }> {
  const t0 = Date.now();
  const leafRows = opts.leafRows ?? 4096;
  const buckets = opts.buckets ?? 16;
  const { time, series } = seriesShape(table);
  const stats: BisectStats = { queries: 0, differingSegments: 0, rowsPulled: 0 };
  const first: FirstLevel = { exact: 'off', exactDiffering: 0 };
  const typeOf = (n: string) => table.columns.find((c) => c.name === n)!.type;
  // Checksums comparable across engines only when the engines differ; otherwise the engine's own hash.
  const portable = opts.portable ?? left.store.engine.name !== right.store.engine.name;
  const mode: ChecksumMode = portable ? 'portable' : 'tolerant';

  async function segments(side: Side, sq: SegmentQuery, m: ChecksumMode = mode): Promise<Map<string, Agg & { series: unknown[] }>> {
    stats.queries++;
    const sql = segmentSql(side.store.engine, table, side.table, cols, series, time, sq, m);
    const settings = side.store.engine.checksumSettings;
    const rows = settings.length === 0 ? await side.store.query(sql, sq.params) : await side.store.transaction(async () => {
      for (const s of settings) await side.store.exec(s);
      return side.store.query(sql, sq.params);
    });
    const out = new Map<string, Agg & { series: unknown[] }>();
    for (const r of rows) {
      const ser = series.map((s) => r[s]);
      out.set(JSON.stringify([...ser, num(r._b)]), { series: ser, n: num(r.n), s: String(r.s1), lo: num(r.lo), hi: num(r.hi) });
    }
    return out;
  }

  function segWhere(seg: Seg, dialectParams: unknown[]): string {
    const parts = series.map((s, i) => {
      dialectParams.push(seg.series[i]);
      return `${q(s)} = $${dialectParams.length}`;
    });
    dialectParams.push(new Date(seg.lo).toISOString());
    parts.push(`${q(time)} >= CAST($${dialectParams.length} AS TIMESTAMPTZ)`);
    dialectParams.push(new Date(seg.hi).toISOString());
    parts.push(`${q(time)} <= CAST($${dialectParams.length} AS TIMESTAMPTZ)`);
    return `WHERE ${parts.join(' AND ')}`;
  }

  // ---- accumulators of the result ----
  let total = 0;
  let settled = 0;
  let both = 0;
  let matched = 0;
  let missing = 0;
  let extra = 0;
  const missingTop: KeyValue[] = [];
  const extraTop: KeyValue[] = [];
  const colStats = cols.map((c) => ({
    c, mismatches: 0, nullDiffs: 0, undefinedDiffs: 0, maxAbs: null as number | null, maxRel: null as number | null,
    mmRel: null as number | null, top: [] as Mismatch[],
  }));
  const progress = (n: number) => {
    settled += n;
    opts.onRows?.(settled, total);
  };

  const keyOf = (r: Row): KeyValue => {
    const out: KeyValue = {};
    for (const k of table.key) {
      const v = r[k];
      out[k] = v === null || v === undefined ? null : typeOf(k) === 'ts' ? new Date(Number(v)).toISOString() : (v as string | number);
    }
    return out;
  };
  const cell = (c: ComparedColumn, v: unknown): number | string | boolean | null => {
    if (v === null || v === undefined) return null;
    if (c.type === 'ts') return new Date(Number(v)).toISOString();
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
    return String(v);
  };

  async function pull(side: Side, seg: Seg): Promise<Row[]> {
    const params: unknown[] = [];
    const sel = [...table.key, ...cols.map((c) => c.name)].map(q).join(', ');
    const rows = await side.store.query(`SELECT ${sel} FROM ${q(side.table)} ${segWhere(seg, params)}`, params);
    stats.rowsPulled += rows.length;
    return rows;
  }

  async function leaf(seg: Seg): Promise<void> {
    const [lr, rr] = await Promise.all([pull(left, seg), pull(right, seg)]);
    const kstr = (r: Row) => JSON.stringify(table.key.map((k) => (r[k] === null || r[k] === undefined ? null : typeOf(k) === 'ts' ? Number(r[k]) : r[k])));
    const rightBy = new Map(rr.map((r) => [kstr(r), r]));
    for (const a of lr) {
      const k = kstr(a);
      const b = rightBy.get(k);
      if (!b) {
        missing++;
        if (missingTop.length < opts.topN) missingTop.push(keyOf(a));
        opts.sink?.add({ table: table.name, kind: 'missing', key: keyOf(a) });
        continue;
      }
      rightBy.delete(k);
      both++;
      let rowOk = true;
      for (const s of colStats) {
        const va = a[s.c.name];
        const vb = b[s.c.name];
        const na = va === null || va === undefined;
        const nb = vb === null || vb === undefined;
        let ok: boolean;
        let abs: number | null = null;
        let rel: number | null = null;
        if (s.c.tol) {
          const x = na ? null : Number(va);
          const y = nb ? null : Number(vb);
          ok = withinTolerance(x, y, s.c.tol);
          if (x === y || (x !== null && y !== null && Number.isNaN(x) && Number.isNaN(y))) { abs = 0; rel = 0; }
          else if (x === null || y === null || Number.isNaN(x) || Number.isNaN(y)) { abs = null; rel = null; }
          else { abs = Math.abs(x - y); rel = relDiff(x, y); }
          if (abs !== null) {
            s.maxAbs = s.maxAbs === null || abs > s.maxAbs ? abs : s.maxAbs;
            s.maxRel = s.maxRel === null || rel! > s.maxRel ? rel : s.maxRel;
          }
        } else {
          ok = na && nb ? true : na !== nb ? false : String(va) === String(vb);
        }
        if (ok) continue;
        rowOk = false;
        s.mismatches++;
        if (na !== nb) s.nullDiffs++;
        if (s.c.tol && abs === null) s.undefinedDiffs++;
        if (s.c.tol && rel !== null) s.mmRel = s.mmRel === null || rel > s.mmRel ? rel : s.mmRel;
        const m: Mismatch = { key: keyOf(a), baseline: cell(s.c, va), rebuilt: cell(s.c, vb), absDiff: abs, relDiff: rel };
        opts.sink?.add({ table: table.name, kind: 'mismatch', key: m.key, column: s.c.name, left: m.baseline, right: m.rebuilt, absDiff: abs, relDiff: rel });
        if (opts.topN > 0) {
          s.top.push(m);
          if (s.top.length > opts.topN * 4) trimTop(s.top, opts.topN);
        }
      }
      if (rowOk) matched++;
    }
    for (const b of rightBy.values()) {
      extra++;
      if (extraTop.length < opts.topN) extraTop.push(keyOf(b));
      opts.sink?.add({ table: table.name, kind: 'extra', key: keyOf(b) });
    }
    progress(Math.max(seg.nL, seg.nR));
  }

  // Level 0: one checksum per series on each side.
  const top: SegmentQuery = { where: idWhere(opts.ids), params: [] };
  const exactFirst = !portable && (opts.exactFirst ?? true);
  const [l0, r0] = await Promise.all([segments(left, top, exactFirst ? 'exact' : mode), segments(right, top, exactFirst ? 'exact' : mode)]);
  for (const a of l0.values()) total += a.n;
  for (const [k, b] of r0) if (!l0.has(k)) total += b.n;
  let work: Seg[] = [];
  type Aggs = Map<string, Agg & { series: unknown[] }>;
  const diffInto = (l: Aggs, r: Aggs, clamp?: Seg, width?: number, only?: Set<string>) => {
    for (const k of new Set([...l.keys(), ...r.keys()])) {
      if (only && !only.has(k)) continue;
      const a = l.get(k);
      const b = r.get(k);
      if (a && b && a.n === b.n && a.s === b.s) {
        both += a.n;
        matched += a.n;
        progress(a.n);
        continue;
      }
      stats.differingSegments++;
      const src = (a ?? b)!;
      let lo = Math.min(a?.lo ?? Infinity, b?.lo ?? Infinity);
      let hi = Math.max(a?.hi ?? -Infinity, b?.hi ?? -Infinity);
      if (clamp && width) {
        // The bucket's own bounds, so neighbouring segments never overlap.
        const bi = JSON.parse(k).at(-1) as number;
        lo = Math.max(clamp.lo + bi * width, lo);
        hi = Math.min(clamp.lo + (bi + 1) * width - 1, hi);
      }
      work.push({ series: src.series, lo, hi, nL: a?.n ?? 0, nR: b?.n ?? 0 });
    }
  };
  if (!exactFirst) diffInto(l0, r0);
  else {
    first.exact = 'used';
    const differ: string[] = [];
    const settle = new Map<string, Agg & { series: unknown[] }>();
    for (const k of new Set([...l0.keys(), ...r0.keys()])) {
      const a = l0.get(k);
      const b = r0.get(k);
      if (a && b && a.n === b.n && a.s === b.s) settle.set(k, a);
      else differ.push(k);
    }
    // Equal exact checksums: equal series. (Both maps hold them; diffInto settles each once.)
    diffInto(settle, settle);
    first.exactDiffering = differ.length;
    if (differ.length) {
      const keys = new Set([...l0.keys(), ...r0.keys()]).size;
      const large = (k: string) => {
        const a = l0.get(k);
        const b = r0.get(k);
        return !!a && !!b && Math.max(a.n, b.n) > leafRows && Math.max(a.hi, b.hi) > Math.min(a.lo, b.lo);
      };
      // Most series differ (a rebuild with float noise everywhere): the tolerance-aware checksums of the
      // whole first level, as without the exact pass.
      const fallback = differ.length > EXACT_FALLBACK_SHARE * keys;
      // A few large series: their bucketed tolerance-aware checksums cost one read of each, like a
      // re-check of the whole series would, and already say where the difference is.
      const largeOnes = fallback ? [] : differ.filter(large);
      const direct = largeOnes.length <= DIRECT_SEGMENTS ? largeOnes : [];
      const recheck = differ.filter((k) => !direct.includes(k));
      if (direct.length) diffInto(l0, r0, undefined, undefined, new Set(direct));
      if (recheck.length) {
        // The rest (small series, whose rows would otherwise be pulled, or many series) by the tolerance-
        // aware checksums of their ids.
        const ids = [...new Set(recheck.map((k) => Number((l0.get(k) ?? r0.get(k))!.series[0])))];
        const whole = fallback || ids.length > MAX_ID_LIST || series[0] !== 'id';
        if (fallback) first.exact = 'fallback';
        const sq: SegmentQuery = whole ? top : { where: idWhere(ids), params: [] };
        const [l1, r1] = await Promise.all([segments(left, sq), segments(right, sq)]);
        diffInto(l1, r1, undefined, undefined, new Set(recheck));
      }
    }
  }

  opts.onFirstLevel?.(first);

  while (work.length) {
    const next = work;
    work = [];
    for (const seg of next) {
      if (Math.max(seg.nL, seg.nR) <= leafRows || seg.hi <= seg.lo || seg.nL === 0 || seg.nR === 0) {
        await leaf(seg);
        continue;
      }
      const width = Math.max(1, Math.ceil((seg.hi - seg.lo + 1) / buckets));
      const params: unknown[] = [];
      const where = segWhere(seg, params);
      const sq: SegmentQuery = { where, params, bucket: { lo: seg.lo, width } };
      const [l, r] = await Promise.all([segments(left, sq), segments(right, sq)]);
      diffInto(l, r, seg, width);
    }
  }

  const columns: ColumnResult[] = colStats.map((s) => {
    let severity: Severity = 'INFO';
    if (s.mismatches > 0) severity = s.c.tol && s.undefinedDiffs === 0 ? severityOfRel(s.mmRel) : 'CRITICAL';
    trimTop(s.top, opts.topN);
    return {
      column: s.c.name, family: s.c.family, rtol: s.c.tol?.rtol ?? null, atol: s.c.tol?.atol ?? null, compared: both,
      mismatches: s.mismatches, matchRate: both === 0 ? 1 : (both - s.mismatches) / both,
      maxAbsDiff: s.c.tol ? s.maxAbs : null, maxRelDiff: s.c.tol ? s.maxRel : null,
      mismatchMaxRelDiff: s.c.tol ? s.mmRel : null, undefinedDiffs: s.undefinedDiffs, nullDiffs: s.nullDiffs, severity, top: s.top,
    };
  });
  const failed = missing > 0 || extra > 0 || columns.some((c) => c.mismatches > 0);
  const severity = maxSeverity([...columns.map((c) => c.severity), ...(missing || extra ? ['CRITICAL' as const] : [])]);
  const union = both + missing + extra;
  return {
    table: table.name, snapshot: right.table === table.name ? left.table : right.table, status: failed ? 'FAIL' : 'PASS', severity,
    keyColumns: table.key, keys: { union, sampled: union, strata: { checksum: union } }, compared: both, matched,
    matchRate: union === 0 ? 1 : matched / union, missing: { count: missing, top: missingTop }, extra: { count: extra, top: extraTop },
    columns, skippedColumns: skippedColumns(table), ms: Date.now() - t0, checksum: stats,
  };
}

function trimTop(top: Mismatch[], n: number): void {
  top.sort((a, b) => (b.relDiff ?? Infinity) - (a.relDiff ?? Infinity) || (b.absDiff ?? Infinity) - (a.absDiff ?? Infinity));
  top.length = Math.min(top.length, n);
}
