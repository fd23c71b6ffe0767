// The chart page in its two forms: served (scripts and data fetched from the local server) and standalone
// (`talab chart`: library, script and data inlined in one file that opens without any server).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChartData } from './data.js';
import { CHART_ATTRIBUTION, escapeHtml, PAGE_CSS } from './style.js';

const require = createRequire(import.meta.url);

/** The library's standalone build (it defines window.LightweightCharts), from node_modules, never a CDN. */
export function chartLibraryPath(): string {
  return join(dirname(require.resolve('lightweight-charts/package.json')), 'dist', 'lightweight-charts.standalone.production.js');
}

/** The page script; `npm run build` copies src/web/static next to the compiled server. */
export function appScriptPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'static', 'app.js');
}

/** JSON inside a <script> element: `</script>` and U+2028/9 in a value must not end or break it. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const PICKERS = `
<label>asset<select id="asset"></select></label>
<label>family<select id="family"></select></label>
<label>timeframe<select id="tf"></select></label>
<label>EMA periods<select id="periods" multiple></select></label>`;

function shell(opts: { title: string; head: string; pickers: boolean; panels: boolean; scripts: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(opts.title)}</title><style>${PAGE_CSS}</style>${opts.head}</head>
<body>
<header><h1>${escapeHtml(opts.title)}</h1>${opts.pickers ? PICKERS : ''}</header>
<main>
<div id="error" class="error" role="alert"></div>
<div id="legend" class="legend"></div>
<div id="chart"></div>
${opts.panels ? `<h2>Freshness</h2><div id="freshness" class="muted">loading…</div>
<h2>Refresh runs</h2><div id="runs" class="muted">loading…</div>
<h2>Baseline reports</h2><div id="baseline" class="muted">loading…</div>` : ''}
</main>
<footer>${CHART_ATTRIBUTION} Bars are the finished bars of the chosen family; EMAs are the values on their closes.</footer>
${opts.scripts}
</body></html>
`;
}

/** The served page: everything it loads comes from the same server. */
export function servedPage(): string {
  return shell({
    title: 'talab', head: '', pickers: true, panels: true,
    scripts: '<script src="/vendor/lightweight-charts.js"></script>\n<script src="/app.js"></script>',
  });
}

/** One self-contained file: the library, the page script and the data inlined. */
export function standalonePage(data: ChartData): string {
  const lib = readFileSync(chartLibraryPath(), 'utf8');
  const app = readFileSync(appScriptPath(), 'utf8');
  const safe = (js: string) => js.replace(/<\/script/gi, '<\\/script');
  return shell({
    title: `${data.symbol} ${data.tf} (${data.family})`, head: '', pickers: false, panels: false,
    scripts: `<script>${safe(lib)}</script>\n<script>window.__TALAB_DATA=${scriptJson(data)};</script>\n<script>${safe(app)}</script>`,
  });
}
