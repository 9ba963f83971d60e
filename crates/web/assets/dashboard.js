// Draws the dashboard charts from the JSON the server embedded in the page. A click on a bar
// or slice opens the case list behind it (the link the server gave for it, if any).
(function () {
  var data = JSON.parse(document.getElementById('dashboard-data').textContent);
  function chart(id) {
    var el = document.getElementById(id);
    var c = echarts.init(el, null, { renderer: 'canvas' });
    window.addEventListener('resize', function () { c.resize(); });
    // Drawn, animations included: a click before then may miss a growing bar (the browser
    // test waits for this).
    c.on('finished', function () { el.dataset.drawn = '1'; });
    return { c: c, title: { text: el.dataset.title, left: 'center', textStyle: { fontSize: 14 } } };
  }
  function drill(c, links) {
    c.on('click', function (p) {
      var href = links(p);
      if (href) window.location.href = href;
    });
  }
  var m = chart('chart-month');
  m.c.setOption({
    title: m.title, tooltip: { trigger: 'axis' }, grid: { left: 50, right: 20, bottom: 30 },
    xAxis: { type: 'category', data: data.months }, yAxis: { type: 'value', name: '件' },
    series: [{ type: 'bar', name: '案件数', data: data.by_month, itemStyle: { color: '#14683f' } }]
  });
  drill(m.c, function (p) { return data.month_links[p.dataIndex]; });
  var r = chart('chart-region');
  // A county unit has no sub-regions to compare: it sees where its own cases stand instead.
  if (data.county) {
    r.title.text = '案件办理环节（点击查看案件）';
    r.c.setOption({
      title: r.title, tooltip: { trigger: 'axis' }, grid: { left: 90, right: 40, top: 50, bottom: 30 },
      xAxis: { type: 'value', name: '件' },
      yAxis: { type: 'category', data: data.statuses, inverse: true },
      series: [{ type: 'bar', name: '案件数', data: data.status_cases, itemStyle: { color: '#14683f' } }]
    });
    drill(r.c, function (p) { return data.status_links[p.dataIndex]; });
  } else {
    r.c.setOption({
      title: r.title, tooltip: { trigger: 'axis' }, legend: { top: 30 },
      grid: { left: 110, right: 40, top: 100, bottom: 40 },
      xAxis: [{ type: 'value', name: '件' }, { type: 'value', name: '万元' }],
      yAxis: { type: 'category', data: data.regions, inverse: true },
      series: [
        { type: 'bar', name: '案件数', data: data.region_cases, itemStyle: { color: '#14683f' } },
        { type: 'bar', name: '罚款（万元）', xAxisIndex: 1, data: data.region_fines_wan, itemStyle: { color: '#e0a526' } }
      ]
    });
    drill(r.c, function (p) { return data.region_links[p.dataIndex]; });
  }
  var s = chart('chart-source');
  s.c.setOption({
    title: s.title, tooltip: { trigger: 'item', formatter: '{b}：{c}件（{d}%）' },
    series: [{ type: 'pie', radius: ['35%', '65%'], top: 30, data: data.sources }]
  });
  drill(s.c, function (p) { return p.data && p.data.link; });
  document.body.dataset.chartsReady = '1';
})();
