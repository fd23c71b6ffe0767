// "Finished bars joined with their EMAs": one row per (asset, timeframe, finished bar), with one column per
// EMA period. The export writes it; anything else that shows results (a chart, a notebook helper) reads it here.
import type { Timeframe } from '../catalog/timeframes.js';
import { q, type DdlDialect } from '../schema/ddl.js';
import { dimAssets, EMA_TABLES } from '../schema/tables.js';
import {
  BAR_RESULT_COLUMNS, barSourceFor, dayExpr, emaBarColumn, emaColumn, emaWideSql, isDual, type BarSource, type EmaFamily,
} from '../schema/view-sources.js';

export interface Selection {
  /** Each timeframe with the EMA family it is read from. */
  tfs: { tf: Timeframe; family: EmaFamily }[];
  periods: number[];
  ids: number[];
  /** Inclusive YYYY-MM-DD bounds on the UTC day. */
  from?: string;
  to?: string;
}

/** Result columns in order; ema_bar_p only when some selected family has a bar EMA. */
export function resultColumns(sel: Selection): string[] {
  const dual = sel.tfs.some((t) => isDual(t.family));
  return [
    'family', 'id', 'symbol', 'tf', 'day', 'ts', ...BAR_RESULT_COLUMNS,
    ...sel.periods.map(emaColumn), ...(dual ? sel.periods.map(emaBarColumn) : []),
  ];
}

export type DayAs = 'date' | 'text' | 'none';

/**
 * The query on one engine, parameters numbered from `first`. `day` comes as a DATE, as YYYY-MM-DD text (for
 * readers that would turn a DATE into a local-time instant), or not at all (the in-memory DuckDB copy of a
 * PostgreSQL export adds it itself).
 */
export function resultSql(d: DdlDialect, sel: Selection, dayAs: DayAs = 'date', first = 1): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${first + params.length - 1}`;
  };
  const cols = resultColumns(sel).filter((c) => dayAs !== 'none' || c !== 'day');
  // One branch per (family, bar table): the timeframes that read the same tables share it.
  const groups = new Map<string, { family: EmaFamily; src: BarSource; tfs: string[] }>();
  for (const { tf, family } of sel.tfs) {
    const src = barSourceFor(family, tf);
    const key = `${family}/${src.family}`;
    const g = groups.get(key) ?? { family, src, tfs: [] };
    g.tfs.push(tf.tf);
    groups.set(key, g);
  }
  const branches = [...groups.values()].map(({ family, src, tfs }) => {
    const ids = sel.ids.map(p).join(', ');
    const tfList = tfs.map(p).join(', ');
    const range = (col: string) => [
      ...(sel.from ? [`${col} >= CAST(${p(`${sel.from}T00:00:00.000Z`)} AS TIMESTAMPTZ)`] : []),
      ...(sel.to ? [`${col} <= CAST(${p(`${sel.to}T23:59:59.999Z`)} AS TIMESTAMPTZ)`] : []),
    ];
    const where = [src.finished, `b.id IN (${ids})`, `b.tf IN (${tfList})`, ...range(`b.${q(src.day)}`)];
    const emaWhere = [`id IN (${sel.ids.map(p).join(', ')})`, `tf IN (${tfs.map(p).join(', ')})`, ...range('ts')];
    const dual = isDual(family);
    const wide = emaWideSql(EMA_TABLES[family], sel.periods, dual, emaWhere);
    const select = cols.map((c) => {
      if (c === 'family') return `'${family}' AS family`;
      if (c === 'symbol') return 'a.symbol';
      if (c === 'day') {
        const day = dayExpr(d, `b.${q(src.day)}`);
        return `${dayAs === 'text' ? `CAST(${day} AS VARCHAR)` : day} AS day`;
      }
      if (c === 'ts') return `b.${q(src.day)} AS ts`;
      if (c === 'id' || c === 'tf' || BAR_RESULT_COLUMNS.includes(c)) return `b.${q(c)}`;
      if (c.startsWith('ema_bar_') && !dual) return `CAST(NULL AS DOUBLE PRECISION) AS ${q(c)}`;
      return `e.${q(c)}`;
    });
    return `SELECT ${select.join(', ')} FROM ${q(src.table.name)} b`
      + ` LEFT JOIN ${q(dimAssets.name)} a ON a.id = b.id`
      + ` LEFT JOIN (${wide}) e ON e.id = b.id AND e.tf = b.tf AND e.ts = b.${q(src.day)}`
      + ` WHERE ${where.join(' AND ')}`;
  });
  return { sql: `${branches.join('\nUNION ALL\n')}\nORDER BY id, tf, family, ts`, params };
}
