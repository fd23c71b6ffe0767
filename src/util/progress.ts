// The one-line progress shown on a terminal by refresh, import and baseline: counts, rate and ETA first,
// the latest item last, cut to the width so that the ETA is never the part that falls off.

/** A duration in seconds as 42s, 3m07s or 2h05m. */
export function fmtEta(secs: number): string {
  const s = Math.max(0, Math.ceil(secs));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export interface ProgressState {
  label: string;
  done: number;
  total: number;
  elapsedMs: number;
  /** Shown after the counts, e.g. "12 committed". */
  extra?: string;
  /** The latest item; cut first when the line is too long. */
  last?: string;
}

/** At most `width` columns (80 at most); rate and ETA read '—' until the first item is done. */
export function progressLine(p: ProgressState, width = 80): string {
  const w = Math.min(80, width);
  const secs = p.elapsedMs / 1000;
  const known = p.done > 0;
  const eta = known ? fmtEta(((p.total - p.done) * secs) / p.done) : '—';
  const rate = known ? (p.done / Math.max(secs, 0.001)).toFixed(1) : '—';
  const head = `${p.label} ${p.done}/${p.total}${p.extra ? ` ${p.extra}` : ''} | ${rate}/s | ETA ${eta}`;
  // A head wider than the line (huge counts on a narrow terminal) drops its label rather than the ETA.
  const line = head.length <= w ? head : head.slice(head.length - w);
  const room = w - line.length - 3;
  return p.last && room > 0 ? `${line} | ${p.last.slice(0, room)}` : line;
}
