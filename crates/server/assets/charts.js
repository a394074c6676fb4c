// Draws the charts of report and dashboard pages with the vendored ECharts. Each chart is
// a `.chart` element whose `data-chart` attribute holds the payload the server built
// (sable_core::dashboard::ChartData): categories, series, colours, links and locale.
// A click on a bar, point or slice opens the list of the records behind it.
(function () {
  "use strict";

  // One palette for every chart, so a series keeps its colour across widgets.
  var PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6",
    "#14b8a6", "#f97316", "#64748b", "#ec4899"];

  function formatter(data, series) {
    var locale = data.locale === "zh-CN" ? "zh-CN" : "en";
    var plain = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
    var money = null;
    try {
      money = new Intl.NumberFormat(locale, { style: "currency", currency: data.currency || "CNY" });
    } catch (e) {
      money = plain;
    }
    return function (v) {
      if (v === null || v === undefined || v === "-") return "–";
      if (series && series.percent) return plain.format(v) + "%";
      if (series && series.money) return money.format(v);
      return plain.format(v);
    };
  }

  function compact(data, money) {
    var locale = data.locale === "zh-CN" ? "zh-CN" : "en";
    var f = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });
    return function (v) { return f.format(v); };
  }

  function categoryColor(data, i) {
    var c = data.colors && data.colors[i];
    return c || PALETTE[i % PALETTE.length];
  }

  function axisTooltip(data) {
    return function (items) {
      if (!items.length) return "";
      var i = items[0].dataIndex;
      var note = data.notes && data.notes[i] ? " · " + data.notes[i] : "";
      var lines = [escapeHtml(data.categories[i] || "") + escapeHtml(note)];
      items.forEach(function (it) {
        var s = data.series[it.seriesIndex];
        lines.push(it.marker + escapeHtml(s.name) + ": <b>" + escapeHtml(formatter(data, s)(it.value)) + "</b>");
      });
      return lines.join("<br>");
    };
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function cartesian(data) {
    var stacked = data.kind === "stacked_bar";
    var line = data.kind === "line";
    var pareto = data.kind === "pareto";
    var moneyAxis = data.series.some(function (s) { return s.money && !s.percent; });
    var yAxis = [{
      type: "value",
      axisLabel: { formatter: compact(data, moneyAxis) },
      splitLine: { lineStyle: { color: "#eef0f4" } }
    }];
    if (pareto) {
      yAxis.push({ type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" }, splitLine: { show: false } });
    }
    var series = data.series.map(function (s, si) {
      var asLine = line || s.line;
      var one = {
        name: s.name,
        type: asLine ? "line" : "bar",
        data: s.data.map(function (v, ci) {
          // A single bar series coloured per category (stages keep their colours).
          if (!asLine && data.series.length === 1 || (pareto && !asLine)) {
            return { value: v, itemStyle: { color: pareto ? classColor(data, ci) : categoryColor(data, ci) } };
          }
          return v;
        }),
        yAxisIndex: s.percent && pareto ? 1 : 0,
        smooth: asLine,
        symbolSize: 7,
        emphasis: { focus: "series" },
        barMaxWidth: 42,
        itemStyle: { borderRadius: stacked ? 0 : [4, 4, 0, 0] }
      };
      if (stacked) one.stack = "total";
      if (pareto && s.percent) {
        one.markLine = { symbol: "none", silent: true, lineStyle: { type: "dashed", color: "#94a3b8" },
          data: [{ yAxis: 80 }, { yAxis: 95 }], label: { formatter: "{c}%" } };
      }
      if (line && si === 1) one.lineStyle = { type: "dashed" };
      return one;
    });
    return {
      color: PALETTE,
      tooltip: { trigger: "axis", axisPointer: { type: line ? "line" : "shadow" }, formatter: axisTooltip(data) },
      legend: { top: 0, left: 0, right: 40, type: "scroll" },
      grid: { left: 8, right: pareto ? 48 : 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.categories, axisTick: { alignWithLabel: true },
        axisLabel: { interval: 0, hideOverlap: true, rotate: data.categories.length > 8 ? 30 : 0 } },
      yAxis: yAxis,
      series: series
    };
  }

  function classColor(data, i) {
    var c = data.notes && data.notes[i];
    return c === "A" ? "#4f46e5" : c === "B" ? "#0ea5e9" : "#94a3b8";
  }

  function circular(data) {
    var s = data.series[0] || { name: "", data: [] };
    var fmt = formatter(data, s);
    var donut = data.kind === "donut";
    return {
      color: PALETTE,
      tooltip: { trigger: "item", formatter: function (p) {
        return p.marker + escapeHtml(p.name) + ": <b>" + escapeHtml(fmt(p.value)) + "</b> (" + p.percent + "%)";
      } },
      legend: { type: "scroll", orient: "vertical", left: 0, top: "middle" },
      series: [{
        name: s.name,
        type: "pie",
        radius: donut ? ["45%", "72%"] : "72%",
        center: ["62%", "52%"],
        itemStyle: { borderColor: "#fff", borderWidth: 2, borderRadius: donut ? 6 : 0 },
        label: { formatter: "{d}%" },
        data: data.categories.map(function (c, i) {
          return { name: c, value: s.data[i], itemStyle: { color: categoryColor(data, i) } };
        })
      }]
    };
  }

  function funnel(data) {
    var first = data.series[0] || { name: "", data: [] };
    return {
      color: PALETTE,
      tooltip: { trigger: "item", formatter: function (p) {
        var lines = [escapeHtml(p.name)];
        data.series.forEach(function (s) {
          lines.push(escapeHtml(s.name) + ": <b>" + escapeHtml(formatter(data, s)(s.data[p.dataIndex])) + "</b>");
        });
        return lines.join("<br>");
      } },
      legend: { type: "scroll", top: 0, left: 0, right: 40 },
      series: [{
        name: first.name,
        type: "funnel",
        sort: "none",
        top: 36,
        bottom: 8,
        minSize: "12%",
        gap: 2,
        label: { show: true, position: "inside", formatter: function (p) {
          return p.name + "\n" + formatter(data, first)(p.value);
        } },
        data: data.categories.map(function (c, i) {
          return { name: c, value: first.data[i] || 0, itemStyle: { color: categoryColor(data, i) } };
        })
      }]
    };
  }

  /** The ECharts option for a payload. */
  function optionFor(data) {
    var option;
    if (data.kind === "pie" || data.kind === "donut") option = circular(data);
    else if (data.kind === "funnel") option = funnel(data);
    else option = cartesian(data);
    option.animationDuration = 400;
    option.textStyle = { fontFamily: "inherit" };
    option.toolbox = { right: 0, top: 0, feature: { saveAsImage: { pixelRatio: 2, name: "chart" } } };
    return option;
  }

  function draw(el) {
    if (el.dataset.rendered || typeof echarts === "undefined") return;
    var data;
    try {
      data = JSON.parse(el.getAttribute("data-chart"));
    } catch (e) {
      return;
    }
    var chart = echarts.init(el, null, { locale: data.locale === "zh-CN" ? "ZH" : "EN" });
    chart.setOption(optionFor(data));
    chart.on("click", function (p) {
      var si = (data.kind === "pie" || data.kind === "donut" || data.kind === "funnel") ? 0 : p.seriesIndex;
      var row = data.links && data.links[si];
      var href = row && row[p.dataIndex];
      // Only our own pages: links are built by the server, but never follow another origin.
      if (href && href.charAt(0) === "/" && href.charAt(1) !== "/") window.location.href = href;
    });
    el.dataset.rendered = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function drawAll() {
    document.querySelectorAll(".chart[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
  document.addEventListener("htmx:afterSwap", drawAll);
})();
