// Charts of the 在线监控 pages, drawn from the JSON the server embedded in the page:
// per factor the hourly and minute averages with non-normal flags marked and the emission
// limit drawn (outlet page); frames per second and verdicts (receiver page).
(function () {
  var FLAGS = { N: '正常', F: '停运', M: '维护', S: '手工输入', D: '故障', C: '校准', T: '超量程', B: '通讯异常' };
  function chart(el) {
    var c = echarts.init(el, null, { renderer: 'canvas' });
    window.addEventListener('resize', function () { c.resize(); });
    return c;
  }
  function title(text) {
    return { text: text, left: 'center', top: 4, textStyle: { fontSize: 14 } };
  }
  function time(t) {
    var d = new Date(t + 8 * 3600 * 1000);
    return d.toISOString().slice(5, 16).replace('T', ' ');
  }

  var outlet = document.getElementById('outlet-data');
  if (outlet) {
    var factors = JSON.parse(outlet.textContent);
    var box = document.getElementById('factor-charts');
    factors.forEach(function (f) {
      var el = document.createElement('div');
      el.className = 'chart';
      el.id = 'chart-' + f.code;
      box.appendChild(el);
      var points = function (rows) { return rows.map(function (r) { return [r[0], r[1]]; }); };
      var flagged = f.hourly.concat(f.minute).filter(function (r) { return r[2] && r[2] !== 'N'; })
        .map(function (r) { return { value: [r[0], r[1]], flag: r[2] }; });
      var hourly = { type: 'line', name: '小时均值', data: points(f.hourly), showSymbol: f.hourly.length < 60,
        lineStyle: { width: 2, color: '#14683f' }, itemStyle: { color: '#14683f' } };
      if (f.limit !== null) {
        hourly.markLine = { symbol: 'none', silent: true, lineStyle: { color: '#d62728', type: 'dashed', width: 2 },
          label: { formatter: '限值 ' + f.limit }, data: [{ yAxis: f.limit }] };
      }
      var max = Math.max.apply(null, [f.limit || 0].concat(f.hourly.map(function (r) { return r[1]; }),
        f.minute.map(function (r) { return r[1]; })));
      chart(el).setOption({
        title: title(f.name + '（' + f.code + (f.field === 'ZsAvg' ? '，折算' : '') + '）'),
        tooltip: { trigger: 'axis', axisPointer: { type: 'cross' } },
        legend: { top: 30 },
        grid: { left: 60, right: 40, top: 72, bottom: 40 },
        xAxis: { type: 'time', axisLabel: { formatter: function (t) { return time(t); } } },
        yAxis: { type: 'value', name: f.unit, max: max > 0 ? Math.ceil(max * 1.15) : null },
        series: [
          hourly,
          { type: 'line', name: '分钟均值', data: points(f.minute), showSymbol: false,
            lineStyle: { width: 1, color: '#6b9bd1' }, itemStyle: { color: '#6b9bd1' } },
          { type: 'scatter', name: '非正常标记', data: flagged, symbol: 'diamond', symbolSize: 9,
            itemStyle: { color: '#e07b00' },
            tooltip: { formatter: function (p) { return time(p.value[0]) + ' ' + p.value[1] + '（' + p.data.flag + ' ' + (FLAGS[p.data.flag] || '') + '）'; } } }
        ]
      });
    });
    if (!factors.length) {
      box.textContent = '暂无数据';
    }
    document.body.dataset.chartsReady = '1';
  }

  var receiver = document.getElementById('receiver-data');
  if (receiver) {
    var data = JSON.parse(receiver.textContent);
    var fps = document.getElementById('chart-fps');
    chart(fps).setOption({
      title: title(fps.dataset.title), tooltip: { trigger: 'axis' },
      grid: { left: 60, right: 20, bottom: 30 },
      xAxis: { type: 'category', data: data.history.map(function (_, i) { return (i - data.history.length) + 's'; }) },
      yAxis: { type: 'value', name: '帧/秒' },
      series: [{ type: 'line', data: data.history.map(function (v) { return Math.round(v * 10) / 10; }),
        areaStyle: {}, itemStyle: { color: '#14683f' } }]
    });
    var v = document.getElementById('chart-verdicts');
    chart(v).setOption({
      title: title(v.dataset.title), tooltip: { trigger: 'item', formatter: '{b}：{c}帧（{d}%）' },
      series: [{ type: 'pie', radius: ['35%', '65%'], top: 30, data: data.verdicts }]
    });
    document.body.dataset.chartsReady = '1';
  }
})();
