// Regime tables: the source is data — date ranges with weights — loaded from a CSV file and
// materialised into one regime_calendar row per day; the cache reads calendar ⋈ weights once per run and
// answers exact-date lookups and coverage.
import { readFileSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { q } from '../schema/ddl.js';
import { regimeCalendar, regimeWeights } from '../schema/feature-tables.js';
import type { Store } from '../store/store.js';
import { UserError } from '../util/errors.js';
import { dayNumber, isoDate } from './dates.js';

export interface RegimeRange {
  regime: string;
  /** Inclusive YYYY-MM-DD bounds. */
  start: string;
  end: string;
  weight: number;
  description: string | null;
  researchRationale: string | null;
  /** Line in the source file (1 = header). */
  line: number;
}

/**
 * The built-in registry (weights on the 50–1000 scale). `baseline` is the catch-all: it overlaps
 * every other range, and the materialiser gives the narrower range priority.
 */
export const BUILTIN_REGIMES_CSV = `regime,start,end,weight,description
tech_bubble_1998_2000,1998-01-01,2000-03-31,50,Tech bubble / strong USD
commodity_emergence_2000_2003,2000-04-01,2003-12-31,75,Tech crash / weak USD
china_supercycle_2004_2007,2004-01-01,2007-07-31,100,China WTO supercycle
financial_crisis_2008_2009,2007-08-01,2009-06-30,200,Global financial crisis
qe_commodity_boom_2010_2011,2009-07-01,2011-12-31,150,QE boom and food crisis
plateau_transition_2012_2014,2012-01-01,2014-06-30,100,High plateau and shale
commodity_crash_2014_2016,2014-07-01,2016-12-31,250,Oil crash / China slowdown
pre_tradewar_2017,2017-01-01,2017-12-31,125,Trump inauguration / pre-trade-war
tradewar_escalation_2018_2019,2018-01-01,2019-12-31,300,US-China trade war
covid_shock_2020,2020-01-01,2020-12-31,350,COVID shock
covid_recovery_2021,2021-01-01,2021-06-30,200,Vaccine and stimulus
inflation_surge_2021_2022,2021-07-01,2022-12-31,400,Inflation / Ukraine / Fed pivot
disinflation_2023,2023-01-01,2023-10-31,250,Fed tightening and banking stress
trump_anticipation_2024,2023-11-01,2025-01-19,400,Trump 2.0 anticipation
trump_second_term,2025-01-20,2029-01-20,600,Trump second term
baseline,1900-01-01,2099-12-31,100,Unclassified periods (catch-all)
`;

const MAX_ERRORS = 20;

/** Parse a regime CSV: header regime,start,end,weight[,description][,research_rationale]. */
export function parseRegimeCsv(text: string, source: string): RegimeRange[] {
  let records: string[][];
  try {
    records = parse(text.replace(/^\uFEFF/, ''), { skip_empty_lines: true, trim: true, relax_column_count: true }) as string[][];
  } catch (e) {
    throw new UserError(`${source}: cannot read as CSV: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new UserError(`${source}: file is empty`);
  const header = records[0].map((h) => h.toLowerCase());
  const idx = (name: string) => header.indexOf(name);
  const missing = ['regime', 'start', 'end', 'weight'].filter((h) => idx(h) < 0);
  if (missing.length) {
    throw new UserError(
      `${source}: line 1: missing column(s) ${missing.join(', ')}; expected regime,start,end,weight[,description][,research_rationale]`,
    );
  }
  const errors: string[] = [];
  const out: RegimeRange[] = [];
  records.slice(1).forEach((r, i) => {
    const line = i + 2;
    const get = (name: string) => (idx(name) >= 0 ? (r[idx(name)] ?? '').trim() : '');
    const regime = get('regime');
    const start = get('start');
    const end = get('end');
    const w = get('weight');
    const bad: string[] = [];
    if (regime === '') bad.push('regime is empty');
    if (Number.isNaN(dayNumber(start))) bad.push(`start '${start}' is not a YYYY-MM-DD date`);
    if (Number.isNaN(dayNumber(end))) bad.push(`end '${end}' is not a YYYY-MM-DD date`);
    if (!bad.length && dayNumber(end) < dayNumber(start)) bad.push(`end ${end} is before start ${start}`);
    if (!/^\d+$/.test(w) || !Number.isSafeInteger(Number(w)) || Number(w) > 2_147_483_647) {
      bad.push(`weight '${w}' is not a non-negative integer`);
    }
    if (bad.length) {
      errors.push(`${source}: line ${line}: ${bad.join('; ')}`);
      return;
    }
    out.push({
      regime, start, end, weight: Number(w), description: get('description') || null,
      researchRationale: get('research_rationale') || null, line,
    });
  });
  if (out.length === 0 && errors.length === 0) throw new UserError(`${source}: no regime rows after the header`);
  const weightOf = new Map<string, RegimeRange>();
  for (const r of out) {
    const prev = weightOf.get(r.regime);
    if (prev && prev.weight !== r.weight) {
      errors.push(`${source}: line ${r.line}: regime ${r.regime} has weight ${r.weight} but line ${prev.line} gives ${prev.weight}`);
    } else if (!prev) weightOf.set(r.regime, r);
  }
  if (errors.length) {
    const more = errors.length > MAX_ERRORS ? `\n… ${errors.length - MAX_ERRORS} more` : '';
    throw new UserError(errors.slice(0, MAX_ERRORS).join('\n') + more);
  }
  return out;
}

export interface CalendarDay {
  date: string;
  regime: string;
  validFrom: string;
  validTo: string;
}

/**
 * One row per day covered by any range. Where ranges overlap, the narrower one wins (so a catch-all like
 * `baseline` only fills what nothing specific covers); two different regimes of equal span on one day are
 * ambiguous and rejected.
 */
export function materialiseCalendar(ranges: RegimeRange[], source = 'regimes'): CalendarDay[] {
  const bySpan = [...ranges].sort((a, b) => dayNumber(a.end) - dayNumber(a.start) - (dayNumber(b.end) - dayNumber(b.start)));
  const owner = new Map<number, RegimeRange>();
  for (const r of bySpan) {
    const s = dayNumber(r.start);
    const e = dayNumber(r.end);
    for (let d = s; d <= e; d++) {
      const prev = owner.get(d);
      if (!prev) owner.set(d, r);
      else if (prev.regime !== r.regime && e - s === dayNumber(prev.end) - dayNumber(prev.start)) {
        throw new UserError(
          `${source}: line ${r.line} (${r.regime}) and line ${prev.line} (${prev.regime}) cover ${isoDate(d)} with ranges of ` +
            `the same length; make one of them narrower or remove the overlap`,
        );
      }
    }
  }
  return [...owner.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([d, r]) => ({ date: isoDate(d), regime: r.regime, validFrom: r.start, validTo: r.end }));
}

export interface RegimeLoadSummary {
  regimes: number;
  days: number;
  firstDate: string | null;
  lastDate: string | null;
  /** Stretches between the first and last date with no regime. */
  gaps: { from: string; to: string }[];
}

/** Replace regime_calendar and regime_weights with `ranges`, in one transaction. */
export async function loadRegimes(store: Store, ranges: RegimeRange[], source = 'regimes'): Promise<RegimeLoadSummary> {
  const days = materialiseCalendar(ranges, source);
  const weights = new Map<string, RegimeRange>();
  for (const r of ranges) if (!weights.has(r.regime)) weights.set(r.regime, r);
  const w = [...weights.values()];
  await store.transaction(async () => {
    await store.exec(`DELETE FROM ${q(regimeCalendar.name)}`);
    await store.exec(`DELETE FROM ${q(regimeWeights.name)}`);
    await store.append(regimeWeights, {
      length: w.length,
      cols: {
        regime: w.map((r) => r.regime),
        weight: Int32Array.from(w, (r) => r.weight),
        description: w.map((r) => r.description),
        research_rationale: w.map((r) => r.researchRationale),
      },
    });
    await store.append(regimeCalendar, {
      length: days.length,
      cols: {
        date: days.map((d) => d.date),
        regime: days.map((d) => d.regime),
        valid_from: days.map((d) => d.validFrom),
        valid_to: days.map((d) => d.validTo),
      },
    });
  });
  return summarise(days.map((d) => d.date), weights.size);
}

export async function loadRegimeFile(store: Store, path: string): Promise<RegimeLoadSummary> {
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new UserError(`${path}: is a directory, not a file`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path}: file not found or unreadable`);
  }
  return loadRegimes(store, parseRegimeCsv(text, path), path);
}

function summarise(dates: string[], regimes: number): RegimeLoadSummary {
  const gaps: { from: string; to: string }[] = [];
  for (let i = 1; i < dates.length; i++) {
    const a = dayNumber(dates[i - 1]);
    const b = dayNumber(dates[i]);
    if (b - a > 1) gaps.push({ from: isoDate(a + 1), to: isoDate(b - 1) });
  }
  return { regimes, days: dates.length, firstDate: dates[0] ?? null, lastDate: dates.at(-1) ?? null, gaps };
}

/** What is loaded now: counts, range, gaps and each regime with its weight and days. */
export async function regimeStatus(
  store: Store,
): Promise<RegimeLoadSummary & { perRegime: { regime: string; weight: number | null; days: number; first: string | null; last: string | null }[] }> {
  const dates = await store.query<{ date: string }>(`SELECT ${q('date')} AS date FROM ${q(regimeCalendar.name)} ORDER BY 1`);
  const per = await store.query<{ regime: string; weight: number | null; days: number; first: string | null; last: string | null }>(
    `SELECT r.regime, w.weight, count(c.${q('date')}) AS days, min(c.${q('date')}) AS first, max(c.${q('date')}) AS last
     FROM (SELECT regime FROM ${q(regimeWeights.name)} UNION SELECT regime FROM ${q(regimeCalendar.name)}) r
     LEFT JOIN ${q(regimeWeights.name)} w ON w.regime = r.regime
     LEFT JOIN ${q(regimeCalendar.name)} c ON c.regime = r.regime
     GROUP BY r.regime, w.weight ORDER BY min(c.${q('date')}), r.regime`,
  );
  return {
    ...summarise(dates.map((d) => d.date), per.length),
    perRegime: per.map((p) => ({ ...p, days: Number(p.days), weight: p.weight === null ? null : Number(p.weight) })),
  };
}

export interface RegimeEntry {
  name: string;
  /** 0 when the calendar names a regime that has no weights row. */
  weight: number;
  validFrom: string | null;
  validTo: string | null;
}

export interface Coverage {
  total_dates: number;
  covered_dates: number;
  missing_dates: string[];
  coverage_pct: number;
}

/** The regime calendar joined to the weights, read once per run; exact-date lookups only. */
export class RegimeCache {
  private constructor(private readonly byDate: Map<string, RegimeEntry>) {}

  static async load(store: Store): Promise<RegimeCache> {
    const rows = await store.query<{ date: string; regime: string; weight: number | null; valid_from: string | null; valid_to: string | null }>(
      `SELECT c.${q('date')} AS date, c.regime, w.weight, c.valid_from, c.valid_to
       FROM ${q(regimeCalendar.name)} c LEFT JOIN ${q(regimeWeights.name)} w ON w.regime = c.regime
       ORDER BY c.${q('date')}`,
    );
    return new RegimeCache(
      new Map(rows.map((r) => [r.date, {
        name: r.regime, weight: r.weight === null ? 0 : Number(r.weight), validFrom: r.valid_from, validTo: r.valid_to,
      }])),
    );
  }

  static fromEntries(entries: [string, RegimeEntry][]): RegimeCache {
    return new RegimeCache(new Map(entries));
  }

  get size(): number {
    return this.byDate.size;
  }

  get(date: string): RegimeEntry | undefined {
    return this.byDate.get(date);
  }

  coverage(uniqueDates: Iterable<string>): Coverage {
    const all = [...new Set(uniqueDates)].sort();
    const missing = all.filter((d) => !this.byDate.has(d));
    const covered = all.length - missing.length;
    return {
      total_dates: all.length, covered_dates: covered, missing_dates: missing,
      coverage_pct: all.length === 0 ? 0 : (covered / all.length) * 100,
    };
  }
}
