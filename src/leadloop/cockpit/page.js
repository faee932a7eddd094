// The cockpit's charts, drawn in the browser from the JSON block the night embedded (the metric
// layer's answers, src/leadloop/cockpit/__init__.py). Filters and the language switch only re-read that
// block; a rate over several months or channels is the sum of its numerator over the sum of its
// denominator, as the block's `ratios` (the layer's definitions) say.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("cockpit-data").textContent);

  var TEXT = {
    zh: {
      title: "leadloop 经营驾驶舱", from: "起始月", to: "截止月", channel: "渠道", allChannels: "全部渠道",
      switchTo: "English", night: "数据来自已发布的数据集市（运行 {run}，发布于 {at}）",
      northStar: "北极星指标：线索→商机 同期群转化率",
      northStarNote: "同期群转化率：当月新增线索中，迄今已进入商机阶段的比例（指标 north_star_lead_to_opportunity_rate_cohort）。虚线为同月比率（lead_to_opportunity_rate_period：当月商机数÷当月线索数），只是活动比率，不是北极星。",
      cohortRate: "同期群转化率（北极星）", trend: "趋势（3个月移动平均）", periodRate: "同月比率（非北极星）", leads: "线索数",
      funnel: "漏斗：各阶段人数与转化率", funnelNote: "按线索同期群月份（指标 leads、cohort_*），括号内为相对上一阶段的转化率（*_rate_cohort）。",
      stageCost: "各阶段成本与转化率", stageCostNote: "每阶段成本 = 广告花费 ÷ 到达该阶段的旅程数（指标 cost_per_*）。",
      costPerStage: "单阶段成本", conversion: "相对上一阶段转化率",
      revenueBySource: "签单收入：按来源", revenueBySourceNote: "全部签单（含无线索的商机），按签单月份（指标 won_revenue，按 deal__sourced_by）；不按渠道筛选。",
      channelRoi: "渠道 ROI", channelRoiNote: "所选月份的广告花费对比该渠道线索同期群的签单收入（指标 ad_spend、cohort_lead_won_revenue、lead_roi_cohort）；ROI =（收入 − 花费）÷ 花费。",
      spend: "广告花费", leadWonRevenue: "线索签单收入", roi: "ROI",
      poc: "POC 结果：按行业", pocNote: "POC 指标按行业（poc__industry）展示（按 POC 开始月份筛选，不按渠道）。",
      pocLoss: "POC 失败原因", pocLossNote: "输单 POC 的丢单原因（指标 poc_deals，按 poc__lost_reason）。",
      salesCycle: "销售周期", salesCycleNote: "从商机创建到关闭的中位天数，按关闭月份、结果和来源（指标 median_sales_cycle_days）；不按渠道筛选。",
      medianDays: "中位天数",
      content: "内容表现 Top 10", contentNote: "按内容带来的线索签单收入排序（指标 content_lead_won_revenue，全部时间）。",
      registrations: "注册线索",
      kpiWonRevenue: "全部签单收入", kpiWonDeals: "签单数", kpiLeadWonRevenue: "线索签单收入", kpiSpend: "广告花费",
      kpiLeads: "新增线索", kpiNorthStar: "北极星（最近有线索的月份）",
      kpiNote: "指标卡按所选月份汇总全部渠道（指标层）",
      footer: "所有数字来自指标层对当晚发布的数据集市的查询，无手工录入。图表：",
      deals: "POC 数", none: "（无）"
    },
    en: {
      title: "leadloop cockpit", from: "From", to: "To", channel: "Channel", allChannels: "All channels",
      switchTo: "中文", night: "From the published marts (run {run}, published {at})",
      northStar: "North star: lead → opportunity cohort rate",
      northStarNote: "Cohort rate: of the month's new leads, the share that has reached opportunity so far (metric north_star_lead_to_opportunity_rate_cohort). The dashed line is the same-month rate (lead_to_opportunity_rate_period: the month's opportunities ÷ the month's leads): an activity ratio, not the north star.",
      cohortRate: "Cohort rate (north star)", trend: "Trend (3-month moving average)", periodRate: "Same-month rate (not the north star)", leads: "Leads",
      funnel: "Funnel: journeys and conversion by stage", funnelNote: "By lead cohort month (metrics leads, cohort_*); in brackets the conversion from the stage before (*_rate_cohort).",
      stageCost: "Cost and conversion per stage", stageCostNote: "Cost per stage = ad spend ÷ journeys that reached the stage (metrics cost_per_*).",
      costPerStage: "Cost per stage", conversion: "Conversion from the stage before",
      revenueBySource: "Won revenue by source", revenueBySourceNote: "Every deal won (with or without a lead), by won month (metric won_revenue by deal__sourced_by); not filtered by channel.",
      channelRoi: "Channel ROI", channelRoiNote: "Ad spend of the months against the won revenue of the channel's lead cohorts (metrics ad_spend, cohort_lead_won_revenue, lead_roi_cohort); ROI = (revenue − spend) ÷ spend.",
      spend: "Ad spend", leadWonRevenue: "Won revenue from leads", roi: "ROI",
      poc: "POC outcomes by industry", pocNote: "POC metrics are shown by industry (poc__industry) (filtered by POC start month, not by channel).",
      pocLoss: "POC loss reasons", pocLossNote: "Loss reasons of lost POCs (metric poc_deals by poc__lost_reason).",
      salesCycle: "Sales cycle", salesCycleNote: "Median days from opened to closed, by close month, outcome and source (metric median_sales_cycle_days); not filtered by channel.",
      medianDays: "Median days",
      content: "Top 10 content", contentNote: "By the won revenue of the journeys it led to (metric content_lead_won_revenue, all time).",
      registrations: "Registrations",
      kpiWonRevenue: "All won revenue", kpiWonDeals: "Deals won", kpiLeadWonRevenue: "Won revenue from leads", kpiSpend: "Ad spend",
      kpiLeads: "New leads", kpiNorthStar: "North star (latest month with leads)",
      kpiNote: "Cards sum the selected months over all channels (the metric layer)",
      footer: "Every number is a metric the layer computed on the night's published marts; none is typed in. Charts:",
      deals: "POCs", none: "(none)"
    }
  };
  // Who sourced a deal and how a POC ended: fixed vocabularies of the marts (architecture §3).
  var SOURCED_BY = {
    marketing: {zh: "市场获客", en: "Marketing"}, sales: {zh: "销售自拓", en: "Sales self-sourced"},
    executive: {zh: "高管资源", en: "Executive"}, partner: {zh: "渠道伙伴", en: "Partner"}
  };
  var OUTCOMES = {won: {zh: "赢单", en: "Won"}, lost: {zh: "输单", en: "Lost"}, open: {zh: "进行中", en: "Open"}};
  var FUNNEL_STAGES = DATA.funnel_stages;
  var NORTH_STAR = "north_star_lead_to_opportunity_rate_cohort";

  function table(name, group) {
    var t = (group || DATA.metrics)[name];
    return t.rows.map(function (row) {
      var o = {};
      t.columns.forEach(function (c, i) { o[c] = row[i]; });
      return o;
    });
  }
  var M = {};
  Object.keys(DATA.metrics).forEach(function (name) { M[name] = table(name); });
  var CHANNELS = table("channels", DATA.labels);
  var STAGES = table("stages", DATA.labels);
  var channelLabel = {}, channelOrder = {}, stageLabel = {};
  CHANNELS.forEach(function (c) { channelLabel[c.channel] = c; channelOrder[c.channel] = c.display_order; });
  STAGES.forEach(function (s) { stageLabel[s.funnel_stage] = s; });

  var state = {lang: "zh", from: null, to: null, channel: ""};
  var t = function (key) { return TEXT[state.lang][key]; };
  var month = function (iso) { return iso ? String(iso).slice(0, 7) : null; };
  var inRange = function (iso) { var m = month(iso); return m !== null && m >= state.from && m <= state.to; };
  var sum = function (rows, key) { return rows.reduce(function (a, r) { return a + (Number(r[key]) || 0); }, 0); };
  var ratio = function (a, b) { return b ? a / b : null; };
  // A ratio metric over several rows: its numerator's sum over its denominator's sum.
  var ratioOf = function (rows, metric) {
    var parts = DATA.ratios[metric];
    return ratio(sum(rows, parts[0]), sum(rows, parts[1]));
  };
  var named = function (map, code) { return map[code] ? map[code][state.lang] : code; };
  function channelName(code) { return named(channelLabel, code); }
  function stageName(code) { return named(stageLabel, code); }
  function byChannelOrder(a, b) { return (channelOrder[a] || 999) - (channelOrder[b] || 999) || (a < b ? -1 : 1); }
  function money(v) {
    return v === null ? "–" : "¥" + Math.round(v).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-US");
  }
  function pct(v) { return v === null ? "–" : (v * 100).toFixed(1) + "%"; }
  function round(v, digits) { return v === null ? null : Number(v.toFixed(digits)); }

  var MONTHS = M.months.map(function (r) { return month(r.metric_time__month); });
  function monthsInRange() { return MONTHS.filter(function (m) { return m >= state.from && m <= state.to; }); }
  function funnelRows() {
    return M.funnel.filter(function (r) {
      return inRange(r.metric_time__month) && (!state.channel || r.funnel__channel === state.channel);
    });
  }

  var charts = {};
  function chart(id) {
    if (!charts[id]) { charts[id] = echarts.init(document.getElementById(id), null, {renderer: "canvas"}); }
    return charts[id];
  }
  var GRID = {left: 60, right: 60, top: 40, bottom: 40, containLabel: true};
  var shown = {};

  function northStar() {
    var months = monthsInRange(), cohort, period = null, leads;
    if (!state.channel) {
      var byMonth = {};
      M.months.forEach(function (r) { byMonth[month(r.metric_time__month)] = r; });
      cohort = months.map(function (m) { return byMonth[m][NORTH_STAR]; });
      period = months.map(function (m) { return byMonth[m].lead_to_opportunity_rate_period; });
      leads = months.map(function (m) { return byMonth[m].leads; });
    } else {
      var cells = {};
      funnelRows().forEach(function (r) { cells[month(r.metric_time__month)] = r; });
      cohort = months.map(function (m) { return cells[m] ? cells[m][NORTH_STAR] : null; });
      leads = months.map(function (m) { return cells[m] ? cells[m].leads : 0; });
    }
    var trend = cohort.map(function (v, i) {
      var window = cohort.slice(Math.max(0, i - 2), i + 1).filter(function (x) { return x !== null; });
      return window.length ? round(window.reduce(function (a, b) { return a + b; }, 0) / window.length, 4) : null;
    });
    shown.north_star = {months: months, cohort_rate: cohort};
    var series = [
      {name: t("leads"), type: "bar", yAxisIndex: 1, data: leads, itemStyle: {color: "#d6e4f0"}},
      {name: t("cohortRate"), type: "line", data: cohort, symbolSize: 7, lineStyle: {width: 3}, itemStyle: {color: "#c23531"}},
      {name: t("trend"), type: "line", data: trend, smooth: true, showSymbol: false, itemStyle: {color: "#2f4554"}}
    ];
    if (period) {
      series.push({name: t("periodRate"), type: "line", data: period, showSymbol: false,
                   lineStyle: {type: "dashed"}, itemStyle: {color: "#91c7ae"}});
    }
    chart("chart-north-star").setOption({
      tooltip: {trigger: "axis"}, legend: {top: 0}, grid: GRID,
      xAxis: {type: "category", data: months},
      yAxis: [{type: "value", axisLabel: {formatter: function (v) { return (v * 100).toFixed(0) + "%"; }}},
              {type: "value", name: t("leads"), splitLine: {show: false}}],
      series: series
    }, true);
  }

  function funnel() {
    var rows = funnelRows(), spend = sum(rows, "ad_spend");
    var stages = FUNNEL_STAGES.map(function (s) {
      return {stage: s.stage, count: sum(rows, s.count), conversion: s.conversion ? ratioOf(rows, s.conversion) : null,
              cost: ratioOf(rows, s.cost)};
    });
    shown.funnel = stages;
    shown.funnel_spend = spend;
    chart("chart-funnel").setOption({
      tooltip: {trigger: "item"},
      series: [{type: "funnel", sort: "none", left: "10%", width: "80%", top: 10, bottom: 10, minSize: "8%",
                label: {position: "inside", formatter: function (p) {
                  var s = stages[p.dataIndex];
                  return p.name + "  " + s.count.toLocaleString() + (s.conversion === null ? "" : " (" + pct(s.conversion) + ")");
                }},
                data: stages.map(function (s) { return {name: stageName(s.stage), value: s.count}; })}]
    }, true);
    chart("chart-stage-cost").setOption({
      tooltip: {trigger: "axis"}, legend: {top: 0}, grid: GRID,
      xAxis: {type: "category", data: stages.map(function (s) { return stageName(s.stage); }), axisLabel: {interval: 0}},
      yAxis: [{type: "value", name: t("costPerStage")},
              {type: "value", axisLabel: {formatter: function (v) { return (v * 100).toFixed(0) + "%"; }}, splitLine: {show: false}}],
      series: [
        {name: t("costPerStage"), type: "bar", data: stages.map(function (s) { return round(s.cost, 2); }),
         label: {show: true, position: "top", formatter: function (p) { return money(p.value); }}},
        {name: t("conversion"), type: "line", yAxisIndex: 1, data: stages.map(function (s) { return round(s.conversion, 4); })}
      ]
    }, true);
  }

  function revenueBySource() {
    var rows = M.revenue_by_source.filter(function (r) { return inRange(r.metric_time__month); });
    var months = monthsInRange();
    var sources = Object.keys(SOURCED_BY).concat(rows.map(function (r) { return r.deal__sourced_by; })
      .filter(function (s, i, all) { return !SOURCED_BY[s] && all.indexOf(s) === i; }));
    shown.revenue_by_source = {};
    var series = sources.map(function (source) {
      var mine = rows.filter(function (r) { return r.deal__sourced_by === source; });
      shown.revenue_by_source[source] = sum(mine, "won_revenue");
      return {name: named(SOURCED_BY, source), type: "bar", stack: "revenue",
              data: months.map(function (m) { return sum(mine.filter(function (r) { return month(r.metric_time__month) === m; }), "won_revenue"); })};
    });
    chart("chart-revenue-source").setOption({
      tooltip: {trigger: "axis", valueFormatter: money}, legend: {top: 0}, grid: GRID,
      xAxis: {type: "category", data: months}, yAxis: {type: "value"}, series: series
    }, true);
  }

  function channelRoi() {
    var rows = funnelRows();
    var channels = rows.map(function (r) { return r.funnel__channel; })
      .filter(function (c, i, all) { return all.indexOf(c) === i; }).sort(byChannelOrder);
    var per = channels.map(function (c) {
      var mine = rows.filter(function (r) { return r.funnel__channel === c; });
      return {channel: c, spend: sum(mine, "ad_spend"), lead_won_revenue: sum(mine, "cohort_lead_won_revenue"),
              roi: ratioOf(mine, "lead_roi_cohort")};
    });
    shown.channel_roi = per;
    chart("chart-channel-roi").setOption({
      tooltip: {trigger: "axis"}, legend: {top: 0}, grid: GRID,
      xAxis: {type: "category", data: per.map(function (p) { return channelName(p.channel); }), axisLabel: {interval: 0, rotate: 30}},
      yAxis: [{type: "value"}, {type: "value", name: t("roi"), splitLine: {show: false}}],
      series: [
        {name: t("spend"), type: "bar", data: per.map(function (p) { return round(p.spend, 2); })},
        {name: t("leadWonRevenue"), type: "bar", data: per.map(function (p) { return round(p.lead_won_revenue, 2); })},
        {name: t("roi"), type: "line", yAxisIndex: 1, data: per.map(function (p) { return round(p.roi, 4); })}
      ]
    }, true);
  }

  function poc() {
    var rows = M.pocs.filter(function (r) { return inRange(r.metric_time__month); });
    var industries = rows.map(function (r) { return r.poc__industry; })
      .filter(function (x, i, all) { return all.indexOf(x) === i; }).sort();
    shown.poc = {};
    var series = Object.keys(OUTCOMES).map(function (outcome) {
      var mine = rows.filter(function (r) { return r.poc__outcome === outcome; });
      shown.poc[outcome] = sum(mine, "poc_deals");
      return {name: named(OUTCOMES, outcome), type: "bar", stack: "poc",
              data: industries.map(function (ind) { return sum(mine.filter(function (r) { return r.poc__industry === ind; }), "poc_deals"); })};
    });
    chart("chart-poc").setOption({
      tooltip: {trigger: "axis"}, legend: {top: 0}, grid: GRID,
      xAxis: {type: "category", data: industries.map(function (x) { return x || t("none"); }), axisLabel: {interval: 0, rotate: 30}},
      yAxis: {type: "value", name: t("deals")}, series: series
    }, true);
    var lost = rows.filter(function (r) { return r.poc__outcome === "lost"; });
    var reasons = lost.map(function (r) { return r.poc__lost_reason; })
      .filter(function (x, i, all) { return all.indexOf(x) === i; });
    var counts = reasons.map(function (reason) {
      return {reason: reason, poc_deals: sum(lost.filter(function (r) { return r.poc__lost_reason === reason; }), "poc_deals")};
    }).sort(function (a, b) { return a.poc_deals - b.poc_deals; });
    shown.poc_loss_reasons = counts;
    chart("chart-poc-loss").setOption({
      tooltip: {trigger: "axis"}, grid: GRID,
      xAxis: {type: "value", name: t("deals")},
      yAxis: {type: "category", data: counts.map(function (c) { return c.reason || t("none"); })},
      series: [{name: t("deals"), type: "bar", data: counts.map(function (c) { return c.poc_deals; }), itemStyle: {color: "#d48265"}}]
    }, true);
  }

  function salesCycle() {
    var rows = M.sales_cycle.filter(function (r) { return inRange(r.metric_time__month); });
    var months = monthsInRange();
    var keys = rows.map(function (r) { return r.deal__outcome + "|" + r.deal__sourced_by; })
      .filter(function (x, i, all) { return all.indexOf(x) === i; }).sort();
    var series = keys.map(function (key) {
      var parts = key.split("|");
      var byMonth = {};
      rows.forEach(function (r) {
        if (r.deal__outcome === parts[0] && r.deal__sourced_by === parts[1]) { byMonth[month(r.metric_time__month)] = r.median_sales_cycle_days; }
      });
      return {name: named(SOURCED_BY, parts[1]) + " · " + named(OUTCOMES, parts[0]), type: "line", connectNulls: true,
              lineStyle: parts[0] === "lost" ? {type: "dashed"} : {},
              data: months.map(function (m) { return m in byMonth ? byMonth[m] : null; })};
    });
    shown.sales_cycle_deals = sum(rows, "closed_deals");
    chart("chart-sales-cycle").setOption({
      tooltip: {trigger: "axis"}, legend: {top: 0, type: "scroll"},
      grid: {left: 60, right: 60, top: 60, bottom: 40, containLabel: true},
      xAxis: {type: "category", data: months}, yAxis: {type: "value", name: t("medianDays")}, series: series
    }, true);
  }

  function content() {
    var top = M.content.slice().sort(function (a, b) {
      return b.content_lead_won_revenue - a.content_lead_won_revenue || b.content_registrations - a.content_registrations;
    }).slice(0, 10).reverse();
    shown.content = top.map(function (r) { return {material_id: r.material, lead_won_revenue: r.content_lead_won_revenue}; });
    chart("chart-content").setOption({
      tooltip: {trigger: "axis"}, legend: {top: 0}, grid: {left: 10, right: 60, top: 40, bottom: 20, containLabel: true},
      xAxis: [{type: "value"}, {type: "value", splitLine: {show: false}}],
      yAxis: {type: "category", data: top.map(function (r) { return r.material__title; }),
              axisLabel: {width: 220, overflow: "truncate"}},
      series: [{name: t("leadWonRevenue"), type: "bar", data: top.map(function (r) { return r.content_lead_won_revenue; })},
               {name: t("registrations"), type: "bar", xAxisIndex: 1, data: top.map(function (r) { return r.content_registrations; })}]
    }, true);
  }

  function kpis() {
    var exec = M.months.filter(function (r) { return inRange(r.metric_time__month); });
    var withLeads = exec.filter(function (r) { return r.leads > 0; });
    var latest = withLeads.length ? withLeads[withLeads.length - 1] : null;
    var cards = [
      ["won_revenue", "kpiWonRevenue", sum(exec, "won_revenue"), money],
      ["won_deals", "kpiWonDeals", sum(exec, "won_deals"), function (v) { return v.toLocaleString(); }],
      ["lead_won_revenue", "kpiLeadWonRevenue", sum(exec, "lead_won_revenue"), money],
      ["spend", "kpiSpend", sum(exec, "ad_spend"), money],
      ["leads", "kpiLeads", sum(exec, "leads"), function (v) { return v.toLocaleString(); }],
      ["north_star", "kpiNorthStar", latest ? latest[NORTH_STAR] : null,
       function (v) { return pct(v) + (latest ? " · " + month(latest.metric_time__month) : ""); }]
    ];
    shown.kpis = {};
    var box = document.getElementById("kpis");
    box.innerHTML = "";
    box.title = t("kpiNote");
    cards.forEach(function (card) {
      shown.kpis[card[0]] = card[2];
      var div = document.createElement("div");
      div.className = "kpi";
      div.dataset.kpi = card[0];
      div.dataset.value = card[2] === null ? "" : String(card[2]);
      var name = document.createElement("div"); name.className = "name"; name.textContent = t(card[1]);
      var value = document.createElement("div"); value.className = "value"; value.textContent = card[3](card[2]);
      div.appendChild(name); div.appendChild(value); box.appendChild(div);
    });
  }

  function texts() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    document.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.dataset.i18n); });
    document.getElementById("lang").textContent = t("switchTo");
    document.getElementById("night").textContent = t("night")
      .replace("{run}", String(DATA.run_id || "").slice(0, 8)).replace("{at}", String(DATA.published_at || "").slice(0, 16));
    var select = document.getElementById("channel");
    var channels = M.funnel.map(function (r) { return r.funnel__channel; })
      .filter(function (c, i, all) { return c && all.indexOf(c) === i; }).sort(byChannelOrder);
    select.innerHTML = "";
    [""].concat(channels).forEach(function (c) {
      var option = document.createElement("option");
      option.value = c; option.textContent = c ? channelName(c) : t("allChannels");
      select.appendChild(option);
    });
    select.value = state.channel;
  }

  function render() {
    shown = {lang: state.lang, from: state.from, to: state.to, channel: state.channel};
    texts(); kpis(); northStar(); funnel(); revenueBySource(); channelRoi(); poc(); salesCycle(); content();
    window.cockpit.shown = shown;
  }

  function setup() {
    state.from = MONTHS[0]; state.to = MONTHS[MONTHS.length - 1];
    ["month-from", "month-to"].forEach(function (id) {
      var select = document.getElementById(id);
      MONTHS.forEach(function (m) { var o = document.createElement("option"); o.value = o.textContent = m; select.appendChild(o); });
      select.value = id === "month-from" ? state.from : state.to;
      select.addEventListener("change", function () {
        state[id === "month-from" ? "from" : "to"] = select.value;
        if (state.from > state.to) { state.to = state.from; document.getElementById("month-to").value = state.to; }
        render();
      });
    });
    document.getElementById("channel").addEventListener("change", function (e) { state.channel = e.target.value; render(); });
    document.getElementById("lang").addEventListener("click", function () { setLang(state.lang === "zh" ? "en" : "zh"); });
    window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  }

  function setLang(lang) { state.lang = lang; render(); }

  window.cockpit = {data: DATA, state: state, charts: charts, setLang: setLang, render: render, shown: shown};
  setup();
  render();
  document.body.dataset.ready = "true";
})();
