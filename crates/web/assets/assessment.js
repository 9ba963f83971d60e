// Draws a run's ranking bar chart from the JSON the server embedded in the page.
(function () {
  var el = document.getElementById('chart-ranking');
  if (!el) return;
  var data = JSON.parse(document.getElementById('run-data').textContent);
  var c = echarts.init(el, null, { renderer: 'canvas' });
  window.addEventListener('resize', function () { c.resize(); });
  c.setOption({
    title: { text: el.dataset.title, left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' }, grid: { left: 110, right: 40, top: 40, bottom: 30 },
    xAxis: { type: 'value', name: '分' },
    yAxis: { type: 'category', data: data.names, inverse: true },
    series: [{ type: 'bar', name: '总分', data: data.scores, itemStyle: { color: '#08519c' },
               label: { show: true, position: 'right' } }]
  });
  el.dataset.drawn = 'true';
})();
