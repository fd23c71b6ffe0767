// The talab page: pickers → /api/chart → candlesticks, volume and EMA lines. With window.__TALAB_DATA set
// (a `talab chart` file) it draws that data and asks no server. What the chart holds is published on
// window.__talab so that tests can compare it with the database.
(function () {
  'use strict';
  var LWC = window.LightweightCharts;
  var COLORS = ['#0969da', '#bf3989', '#9a6700', '#1a7f37', '#8250df', '#cf222e', '#57606a', '#0550ae'];
  var $ = function (id) { return document.getElementById(id); };
  var state = { ready: false, loads: 0, data: null, series: null, error: null };
  window.__talab = state;

  function showError(msg) {
    state.error = msg;
    $('error').textContent = msg || '';
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function table(head, rows, classes) {
    var t = el('table');
    var tr = el('tr');
    head.forEach(function (h) { tr.appendChild(el('th', null, h)); });
    t.appendChild(tr);
    rows.forEach(function (r, i) {
      var row = el('tr', classes && classes[i] ? { class: classes[i] } : null);
      r.forEach(function (v) { row.appendChild(el('td', typeof v === 'number' ? { class: 'num' } : null, v === null ? '-' : v)); });
      t.appendChild(row);
    });
    return t;
  }

  function getJson(url) {
    return fetch(url).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + res.status);
        return body;
      });
    });
  }

  var chart = null;
  var series = null;

  function draw(data) {
    if (!chart) {
      chart = LWC.createChart($('chart'), {
        autoSize: true,
        layout: { background: { color: '#ffffff' }, textColor: '#1f2328', attributionLogo: true },
        grid: { vertLines: { color: '#eef1f4' }, horzLines: { color: '#eef1f4' } },
        timeScale: { borderColor: '#d0d7de' },
        rightPriceScale: { borderColor: '#d0d7de' },
      });
    }
    if (series) {
      chart.removeSeries(series.candles);
      chart.removeSeries(series.volume);
      Object.keys(series.emas).forEach(function (p) { chart.removeSeries(series.emas[p]); });
    }
    var candles = chart.addSeries(LWC.CandlestickSeries, {
      upColor: '#1a7f37', downColor: '#cf222e', borderVisible: false, wickUpColor: '#1a7f37', wickDownColor: '#cf222e',
    });
    candles.setData(data.bars.map(function (b) { return { time: b.time, open: b.open, high: b.high, low: b.low, close: b.close }; }));
    var volume = chart.addSeries(LWC.HistogramSeries, { priceScaleId: 'volume', priceFormat: { type: 'volume' }, color: '#afb8c1' });
    chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    volume.setData(data.bars.map(function (b) { return { time: b.time, value: b.volume }; }));
    var emas = {};
    var legend = $('legend');
    legend.textContent = '';
    legend.appendChild(el('span', null, data.symbol + ' · ' + data.tf + ' · ' + data.family + ' · ' + data.bars.length + ' finished bars'));
    data.periods.forEach(function (p, i) {
      var color = COLORS[i % COLORS.length];
      var line = chart.addSeries(LWC.LineSeries, { color: color, lineWidth: 2, priceLineVisible: false, lastValueVisible: false, title: 'EMA ' + p });
      line.setData(data.emas[String(p)] || []);
      emas[String(p)] = line;
      var s = el('span', { style: 'color:' + color }, 'EMA ' + p + ' (' + (data.emas[String(p)] || []).length + ')');
      legend.appendChild(s);
    });
    chart.timeScale().fitContent();
    series = { candles: candles, volume: volume, emas: emas };
    var out = { candles: candles.data(), volume: volume.data(), emas: {} };
    Object.keys(emas).forEach(function (p) { out.emas[p] = emas[p].data(); });
    state.data = data;
    state.series = out;
    state.loads += 1;
    state.ready = true;
  }

  if (window.__TALAB_DATA) {
    draw(window.__TALAB_DATA);
    return;
  }

  var assetSel = $('asset');
  var familySel = $('family');
  var tfSel = $('tf');
  var periodSel = $('periods');
  var tfsByFamily = {};
  // Every pick starts a new generation; an answer that arrives after a newer pick is dropped, so the chart
  // always shows the last thing picked, whatever order the responses come back in.
  var gen = 0;

  function fill(sel, items, selected) {
    sel.textContent = '';
    items.forEach(function (it) {
      var o = el('option', { value: it.value }, it.label);
      if (selected && selected.indexOf(String(it.value)) >= 0) o.selected = true;
      sel.appendChild(o);
    });
  }

  function chosenPeriods() {
    return Array.prototype.filter.call(periodSel.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
  }

  function loadChart(g) {
    state.ready = false;
    if (!assetSel.value || !tfSel.value) return Promise.resolve();
    var q = '?id=' + encodeURIComponent(assetSel.value) + '&family=' + encodeURIComponent(familySel.value) +
      '&tf=' + encodeURIComponent(tfSel.value) + '&periods=' + encodeURIComponent(chosenPeriods().join(','));
    return getJson('/api/chart' + q).then(function (d) {
      if (g !== gen) return;
      showError('');
      draw(d);
    }, function (e) { if (g === gen) showError(e.message); });
  }

  function loadPeriods(g) {
    state.ready = false;
    var keep = chosenPeriods();
    var q = '?id=' + encodeURIComponent(assetSel.value) + '&family=' + encodeURIComponent(familySel.value) + '&tf=' + encodeURIComponent(tfSel.value);
    return getJson('/api/periods' + q).then(function (d) {
      if (g !== gen) return;
      var have = d.periods.map(String);
      var pick = keep.filter(function (p) { return have.indexOf(p) >= 0; });
      if (pick.length === 0) pick = have.slice(0, 2);
      fill(periodSel, d.periods.map(function (p) { return { value: p, label: String(p) }; }), pick);
      return loadChart(g);
    }, function (e) { if (g === gen) showError(e.message); });
  }

  function loadTfs(g) {
    state.ready = false;
    var prevFamily = familySel.value;
    var prevTf = tfSel.value;
    return getJson('/api/timeframes?id=' + encodeURIComponent(assetSel.value)).then(function (d) {
      if (g !== gen) return;
      tfsByFamily = d.families;
      var fams = Object.keys(tfsByFamily).filter(function (f) { return tfsByFamily[f].length > 0; });
      var fam = fams.indexOf(prevFamily) >= 0 ? prevFamily : fams[0];
      fill(familySel, fams.map(function (f) { return { value: f, label: f }; }), [fam]);
      fillTfs(prevTf);
      return loadPeriods(g);
    }, function (e) { if (g === gen) showError(e.message); });
  }

  function fillTfs(prevTf) {
    var tfs = tfsByFamily[familySel.value] || [];
    fill(tfSel, tfs.map(function (t) { return { value: t, label: t }; }), [tfs.indexOf(prevTf) >= 0 ? prevTf : tfs[0]]);
  }

  assetSel.addEventListener('change', function () { loadTfs(++gen); });
  familySel.addEventListener('change', function () { fillTfs(tfSel.value); loadPeriods(++gen); });
  tfSel.addEventListener('change', function () { loadPeriods(++gen); });
  periodSel.addEventListener('change', function () { loadChart(++gen); });

  getJson('/api/assets').then(function (d) {
    fill(assetSel, d.assets.map(function (a) { return { value: a.id, label: a.symbol + ' (' + a.id + ')' }; }));
    if (d.assets.length === 0) { showError('no assets in this database yet: run npx talab import FILE…'); return; }
    return loadTfs(++gen);
  }, function (e) { showError(e.message); });

  getJson('/api/freshness').then(function (d) {
    var box = $('freshness');
    box.textContent = '';
    box.className = '';
    box.appendChild(table(['id', 'symbol', 'first day', 'last day', 'age (days)', 'source rows', 'behind its source'],
      d.assets.map(function (a) { return [a.id, a.symbol, a.first_day, a.last_day, a.age_days, a.source_rows, a.behind.length ? a.behind.join(', ') : 'none']; }),
      d.assets.map(function (a) { return a.behind.length ? 'warn' : ''; })));
  }, function (e) { $('freshness').textContent = e.message; });

  getJson('/api/runs').then(function (d) {
    var box = $('runs');
    box.textContent = '';
    box.className = '';
    if (d.runs.length === 0) { box.textContent = 'no refresh runs recorded'; return; }
    box.appendChild(table(['started (UTC)', 'what', 'outcome', 'rows', 'time (s)', 'failures'],
      d.runs.map(function (r) {
        return [r.started_at.slice(0, 19).replace('T', ' '), r.what, r.status, r.rows,
          r.duration_ms === null ? null : Math.round(r.duration_ms / 100) / 10, r.failures.length ? r.failures.join('; ') : 'none'];
      }),
      d.runs.map(function (r) { return r.status === 'finished' ? '' : 'fail'; })));
  }, function (e) { $('runs').textContent = e.message; });

  getJson('/api/baseline').then(function (d) {
    var box = $('baseline');
    box.textContent = '';
    box.className = '';
    if (d.reports.length === 0) { box.textContent = 'no baseline reports in ' + d.dir; return; }
    d.reports.forEach(function (r) {
      var h = el('h3', { class: r.result === 'PASS' ? 'pass' : r.result === 'DRY RUN' ? 'muted' : 'fail' }, '[' + r.result + '] ' + r.tool + ' ' + r.suffix + ' — ' + r.started_at);
      box.appendChild(h);
      if (r.html) {
        var a = el('a', { href: '/reports/' + encodeURIComponent(r.html) }, 'full report');
        box.appendChild(a);
      }
      if (r.problems.length) {
        var ul = el('ul');
        r.problems.slice(0, 10).forEach(function (p) { ul.appendChild(el('li', { class: 'fail' }, p)); });
        box.appendChild(ul);
      }
      if (r.tables.length) {
        box.appendChild(table(['table', 'status', 'match', 'severity'],
          r.tables.map(function (t) { return [t.table, t.status, (t.match_rate * 100).toFixed(2) + ' %', t.error || t.severity]; }),
          r.tables.map(function (t) { return t.status === 'PASS' ? 'pass' : 'fail'; })));
      }
    });
  }, function (e) { $('baseline').textContent = e.message; });
})();
