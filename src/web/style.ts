// The one page style of talab's HTML output: the served page, `talab chart` files and the baseline report.
export const PAGE_CSS = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--panel:#f6f8fa;--fail:#cf222e;--pass:#1a7f37;--warn:#9a6700}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0}
header{display:flex;flex-wrap:wrap;gap:.75em;align-items:center;padding:.6em 1.2em;border-bottom:1px solid var(--line);background:var(--panel)}
header h1{font-size:16px;margin:0 1em 0 0}
main{padding:1em 1.2em;max-width:1400px}
label{color:var(--muted);font-size:12px;display:flex;flex-direction:column;gap:2px}
select,input{font:inherit;padding:3px 6px;border:1px solid var(--line);border-radius:4px;background:#fff}
select[multiple]{height:5.5em;min-width:6em}
h2{font-size:15px;margin:1.4em 0 .4em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:14px;margin:1em 0 .3em}
table{border-collapse:collapse;margin:.4em 0;font-size:13px}
td,th{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--panel)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.fail{color:var(--fail);font-weight:600}.pass{color:var(--pass)}.muted{color:var(--muted)}.warn{color:var(--warn)}
#chart{height:460px;border:1px solid var(--line);border-radius:4px}
.legend{font-size:12px;color:var(--muted);margin:.3em 0}
.legend span{margin-right:1em}
.error{color:var(--fail);margin:.5em 0}
footer{padding:1em 1.2em;color:var(--muted);font-size:12px;border-top:1px solid var(--line)}
footer a{color:inherit}
pre{background:var(--panel);padding:.6em;overflow:auto;font-size:12px}
`;

/** The credit the chart library asks for, in every page that draws a chart. */
export const CHART_ATTRIBUTION =
  'Charts by <a href="https://www.tradingview.com/" rel="noopener" target="_blank">TradingView</a> Lightweight Charts™ (Apache-2.0).';

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
