//! A dashboard in the browser: ECharts draws every widget with the expected series and
//! labels (read back from the chart instances), and a click on a bar opens the list of
//! the records behind it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, TestServer, browser_available, with_browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_charts_render_and_a_bar_opens_its_records() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start().await;
    let records = server.records_as("admin");
    let acc = records.create("Accounts", json!({"accountname": "图表客户"})).await;
    for (name, stage, amount) in [
        ("漏斗一", "Prospecting", "1000"),
        ("漏斗二", "Prospecting", "3000"),
        ("漏斗三", "Qualification", "5000"),
        ("赢单一", "Closed Won", "8000"),
    ] {
        records
            .create(
                "Opportunities",
                json!({"potentialname": name, "sales_stage": stage, "amount": amount,
                       "related_to": acc, "closingdate": "2026-11-20"}),
            )
            .await;
    }
    for (last, status) in [("冷一", "Cold"), ("冷二", "Cold"), ("冷三", "Cold"), ("热一", "Hot")] {
        records
            .create(
                "Leads",
                json!({"lastname": last, "company": "某公司", "leadstatus": status, "leadsource": "Web Site"}),
            )
            .await;
    }
    let admin = server.user("admin").await.actor();
    let dashboard = sable_store::dashboards::create_dashboard(&server.store, &admin, "演示仪表板", true)
        .await
        .expect("dashboard");
    for kind in [
        "pipeline_funnel",
        "leads_by_status",
        "leads_by_source",
        "pareto",
        "won_by_month",
    ] {
        sable_store::dashboards::add_widget(&server.store, &admin, dashboard, kind, None, "")
            .await
            .expect("widget");
    }
    with_browser("dashboard-charts", &server.base, move |b| async move {
        b.login("admin", ADMIN_PASSWORD).await;
        b.goto("/").await;
        b.click_and_wait("a.btn[href='/dashboards']").await;
        b.click_and_wait(".dash-list a").await;
        assert_eq!(b.path_only().await, format!("/dashboards/{dashboard}"));
        let all_drawn = "return document.querySelectorAll('.chart[data-rendered]').length === 5 \
                         && typeof echarts !== 'undefined';";
        assert!(
            b.wait_until(all_drawn, vec![], Duration::from_secs(30)).await,
            "every widget drew its chart"
        );
        let option = |kind: &str| {
            format!(
                "var el = document.querySelector(\"[data-kind='{kind}'] .chart\"); \
                 var o = echarts.getInstanceByDom(el).getOption(); \
                 return {{series: o.series.map(function (s) {{ return {{type: s.type, name: s.name, \
                   data: s.data.map(function (d) {{ return (d && typeof d === 'object') ? {{name: d.name, value: d.value}} : d; }}) }}; }}), \
                   x: o.xAxis ? o.xAxis[0].data : null, toolbox: !!(o.toolbox && o.toolbox[0].feature.saveAsImage)}};"
            )
        };
        let funnel = b.js(&option("pipeline_funnel"), vec![]).await;
        assert_eq!(funnel["series"][0]["type"], "funnel");
        assert_eq!(funnel["series"][0]["data"][0], json!({"name": "初期沟通", "value": 4000}));
        assert_eq!(funnel["series"][0]["data"][1], json!({"name": "立项评估", "value": 5000}));
        assert_eq!(funnel["toolbox"], true, "save as PNG");

        let status = b.js(&option("leads_by_status"), vec![]).await;
        assert_eq!(status["series"][0]["type"], "bar");
        assert_eq!(status["x"], json!(["冷", "热"]), "labels in the user's language");
        assert_eq!(status["series"][0]["data"][0]["value"], 3);

        let pareto = b.js(&option("pareto"), vec![]).await;
        assert_eq!(pareto["x"], json!(["图表客户"]));
        let types: Vec<Value> = pareto["series"].as_array().cloned().unwrap_or_default();
        assert_eq!(types.len(), 2, "revenue bars and the cumulative line");
        assert_eq!(pareto["series"][1]["type"], "line");
        assert_eq!(pareto["series"][1]["data"][0], 100);

        let yoy = b.js(&option("won_by_month"), vec![]).await;
        assert_eq!(yoy["series"].as_array().map(Vec::len), Some(2), "this year and last");
        assert_eq!(yoy["x"][0], "1月");

        let donut = b.js(&option("leads_by_source"), vec![]).await;
        assert_eq!(donut["series"][0]["type"], "pie");
        assert_eq!(donut["series"][0]["data"][0]["name"], "官网");
        b.screenshot("dashboard").await;

        // Click the "Cold" bar the way a mouse does (ECharts listens to pointer events on
        // its canvas), a few pixels inside the bar's top — once the bars have grown to
        // their height (they animate from zero; a click above a growing bar hits nothing).
        assert!(
            b.wait_until(
                "var el = document.querySelector(\"[data-kind='leads_by_status'] .chart\"); \
                 var chart = el && echarts.getInstanceByDom(el); \
                 return !!chart && chart.getZr().animation.isFinished();",
                vec![],
                Duration::from_secs(30)
            )
            .await,
            "the status chart finished drawing"
        );
        let click = "var el = document.querySelector(\"[data-kind='leads_by_status'] .chart\"); \
                     var chart = echarts.getInstanceByDom(el); \
                     var p = chart.convertToPixel({seriesIndex: 0}, [0, 3]); \
                     var r = el.getBoundingClientRect(); \
                     var x = r.left + p[0], y = r.top + p[1] + 6; \
                     var target = document.elementFromPoint(x, y); \
                     var init = {bubbles: true, cancelable: true, clientX: x, clientY: y, pointerId: 1, pointerType: 'mouse', isPrimary: true, button: 0}; \
                     window.__sableOldPage = true; \
                     ['pointermove', 'pointerdown', 'mousedown', 'pointerup', 'mouseup'].forEach(function (n) { \
                       target.dispatchEvent(n.indexOf('pointer') === 0 ? new PointerEvent(n, init) : new MouseEvent(n, init)); }); \
                     target.dispatchEvent(new MouseEvent('click', init)); \
                     return target.tagName;";
        let tag = b.js(click, vec![]).await;
        assert_eq!(tag, "CANVAS", "the click lands on the chart");
        assert!(
            b.wait_until(
                "return !window.__sableOldPage && document.readyState === 'complete';",
                vec![],
                Duration::from_secs(30)
            )
            .await,
            "the click opened a page"
        );
        assert_eq!(b.path_only().await, "/m/Leads");
        let count = b.text(".count").await;
        assert!(count.contains('3'), "{count}");
        let rows = b.text("main table tbody").await;
        assert!(
            rows.contains("冷一") && rows.contains("冷三") && !rows.contains("热一"),
            "{rows}"
        );
        b.screenshot("dashboard-drilldown").await;
    })
    .await;
    server.stop().await;
}
