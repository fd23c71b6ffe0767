// A small inline SVG for the HTML report: the worst mismatches of a table as points (snapshot value across,
// rebuilt value up) against the diagonal where both sides agree. Self-contained, no script, no library.
import { escapeHtml } from '../web/style.js';

export interface PlotPoint {
  x: number;
  y: number;
  /** Shown when hovering the point: column and key. */
  label: string;
}

const W = 360;
const H = 300;
const PAD = { left: 70, right: 28, top: 14, bottom: 40 };

const fmt = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 ? v.toExponential(2) : Number(v.toPrecision(5)).toString());

/** Points against y = x; null when there is nothing numeric to plot. */
export function mismatchPlot(points: PlotPoint[], xLabel: string, yLabel: string): string | null {
  const pts = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (pts.length === 0) return null;
  let lo = Math.min(...pts.map((p) => Math.min(p.x, p.y)));
  let hi = Math.max(...pts.map((p) => Math.max(p.x, p.y)));
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.05 || 1;
    lo -= pad;
    hi += pad;
  }
  const span = hi - lo;
  lo -= span * 0.05;
  hi += span * 0.05;
  const px = (v: number) => PAD.left + ((v - lo) / (hi - lo)) * (W - PAD.left - PAD.right);
  const py = (v: number) => H - PAD.bottom - ((v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const ticks = [lo, lo + (hi - lo) / 2, hi];
  const axis = ticks.map((t) =>
    `<text x="${px(t).toFixed(1)}" y="${H - PAD.bottom + 14}" text-anchor="middle">${fmt(t)}</text>` +
    `<text x="${PAD.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`).join('');
  const dots = pts.map((p) =>
    `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="#cf222e" fill-opacity="0.75">` +
    `<title>${escapeHtml(`${p.label}: ${p.x} → ${p.y}`)}</title></circle>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="10" font-family="sans-serif" role="img" aria-label="${escapeHtml(`${yLabel} against ${xLabel}`)}">` +
    `<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="#f6f8fa" stroke="#d0d7de"/>` +
    `<line x1="${px(lo)}" y1="${py(lo)}" x2="${px(hi)}" y2="${py(hi)}" stroke="#1a7f37" stroke-dasharray="4 3"/>` +
    axis + dots +
    `<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 6}" text-anchor="middle">${escapeHtml(xLabel)}</text>` +
    `<text transform="translate(12 ${(PAD.top + H - PAD.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(yLabel)}</text>` +
    `</svg>`;
}
