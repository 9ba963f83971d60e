// The lead page's charts (数据筛查): for each finding, the values of its window (from the
// evidence the server embedded) against the outlet's baseline band (p10–p90), flagged values
// marked.
(function () {
  var data = document.getElementById('lead-data');
  if (!data) { return; }
  var box = document.getElementById('finding-charts');
  JSON.parse(data.textContent).forEach(function (f) {
    var lines = (f.lines || []).filter(function (l) { return l.window && l.window.values && l.window.values.length; });
    if (!lines.length) { return; }
    var w = lines[0].window;
    var t0 = Date.parse(w.start), step = w.step_s * 1000;
    var flagged = w.values.map(function (v, i) { return { value: [t0 + i * step, v], flag: (w.flags || '')[i] }; })
      .filter(function (p) { return p.flag && p.flag !== 'N' && p.flag !== '-' && p.value[1] !== null; });
    var el = document.createElement('div');
    el.className = 'chart';
    el.id = 'chart-' + f.id;
    box.appendChild(el);
    // A copied series is laid over the window (same start) so the two coincide on screen.
    var series = lines.map(function (l, k) {
      var lw = l.window, start = l.overlay ? t0 : Date.parse(lw.start), st = lw.step_s * 1000;
      var s = { type: 'line', name: l.name, showSymbol: lw.values.length < 60,
        data: lw.values.map(function (v, i) { return [start + i * st, v]; }) };
      if (k === 0) { s.lineStyle = { width: 2, color: '#14683f' }; s.itemStyle = { color: '#14683f' }; }
      if (l.overlay) { s.lineStyle = { type: 'dashed' }; }
      return s;
    });
    var line = series[0];
    var b = f.baseline;
    if (b && b.p10 !== undefined && b.p90 !== undefined) {
      line.markArea = { silent: true, itemStyle: { color: 'rgba(107,155,209,0.25)' },
        label: { formatter: '基线 p10–p90', position: 'insideTopRight' },
        data: [[{ yAxis: b.p10 }, { yAxis: b.p90 }]] };
    }
    var c = echarts.init(el, null, { renderer: 'canvas' });
    window.addEventListener('resize', function () { c.resize(); });
    c.setOption({
      title: { text: f.title, left: 'center', top: 4, textStyle: { fontSize: 14 } },
      tooltip: { trigger: 'axis' },
      legend: { top: 30, type: 'scroll' },
      grid: { left: 60, right: 40, top: 72, bottom: 40 },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', scale: true },
      series: series.concat([{ type: 'scatter', name: '非正常标记', data: flagged, symbol: 'diamond', symbolSize: 9,
        itemStyle: { color: '#e07b00' } }])
    });
  });
  document.body.dataset.chartsReady = '1';
})();
