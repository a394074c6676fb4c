//! Dashboard pages: built-in widgets computed as the viewer, sharing, the owner's
//! changes, and refusals — on SQLite and PostgreSQL.

use axum::http::StatusCode;
use sable_store::testing::all_backends;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp, spawn_app};
use crate::ui::{Browser, hidden};

/// Undoes the HTML escaping of an attribute value.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The chart payloads of a dashboard page, by widget kind.
fn charts(body: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for part in body.split("data-kind=\"").skip(1) {
        let kind = part.split('"').next().unwrap_or_default().to_string();
        let section = part.split("</section>").next().unwrap_or_default();
        if let Some(start) = section.find("data-chart=\"") {
            let raw = section[start + 12..].split('"').next().unwrap_or_default();
            let v: Value = serde_json::from_str(&unescape(raw)).unwrap_or_else(|e| panic!("{e}: {raw}"));
            out.push((kind, v));
        }
    }
    out
}

fn chart<'a>(all: &'a [(String, Value)], kind: &str) -> &'a Value {
    &all.iter()
        .find(|(k, _)| k == kind)
        .unwrap_or_else(|| panic!("no {kind} chart"))
        .1
}

async fn create(app: &TestApp, module: &str, fields: Value) -> i64 {
    let (s, r) = app
        .admin(
            "POST",
            &format!("/api/v1/records/{module}"),
            Some(json!({ "fields": fields })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r["id"].as_i64().unwrap_or_default()
}

fn this_year() -> i16 {
    // UTC is the zone of the users these tests make.
    jiff::Timestamp::now()
        .strftime("%Y")
        .to_string()
        .parse()
        .unwrap_or(2026)
}

#[tokio::test]
async fn a_dashboard_shows_each_viewer_only_what_they_may_see() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "li", "password": "user-pass-1", "last_name": "李"})),
        )
        .await;
        let li = sable_store::users::find_user(&app.store, "li")
            .await
            .unwrap()
            .unwrap()
            .id;
        let year = this_year();
        let big = create(
            &app,
            "Accounts",
            json!({"accountname": "大客户", "assigned_user_id": li}),
        )
        .await;
        let small = create(&app, "Accounts", json!({"accountname": "小客户"})).await;
        // Won: 8000 (li, big) + 1500 (admin, big) + 500 (admin, small) this year; 300 last year.
        for (name, stage, amount, acc, owner, date) in [
            ("赢一", "Closed Won", "8000", big, li, format!("{year}-01-15")),
            ("赢二", "Closed Won", "1500", big, 1, format!("{year}-01-20")),
            ("赢三", "Closed Won", "500", small, 1, format!("{year}-01-25")),
            ("去年", "Closed Won", "300", small, 1, format!("{}-01-10", year - 1)),
            ("在谈", "Prospecting", "1000", small, 1, format!("{year}-12-30")),
            ("李在谈", "Prospecting", "2000", big, li, format!("{year}-12-30")),
        ] {
            create(
                &app,
                "Opportunities",
                json!({"potentialname": name, "sales_stage": stage, "amount": amount,
                       "related_to": acc, "assigned_user_id": owner, "closingdate": date}),
            )
            .await;
        }
        for (last, source) in [("线索一", "Cold Call"), ("线索二", "Cold Call"), ("线索三", "Web Site")] {
            create(
                &app,
                "Leads",
                json!({"lastname": last, "company": "某公司", "leadsource": source}),
            )
            .await;
        }

        let mut admin = Browser::new();
        admin.login(&app, "admin", ADMIN_PASSWORD).await;
        let list = admin.get(&app, "/dashboards").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.body.contains(">仪表板</a>"), "the menu links dashboards");
        let csrf = hidden(&list.body, "_csrf");
        let made = admin
            .post(&app, "/dashboards", &[("_csrf", &csrf), ("name", "<b>团队</b>")])
            .await;
        assert_eq!(made.status, StatusCode::SEE_OTHER);
        let href = made.location.clone().unwrap_or_default();
        for kind in [
            "pipeline_funnel",
            "pareto",
            "won_by_month",
            "leads_by_source",
            "conversion",
            "closing_this_month",
        ] {
            let p = admin
                .post(&app, &format!("{href}/widgets"), &[("_csrf", &csrf), ("kind", kind)])
                .await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{kind}: {}", p.body);
        }
        let page = admin.get(&app, &href).await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend);
        assert!(page.body.contains("&lt;b&gt;团队"), "the name is escaped");
        assert!(
            page.body.contains("vendor/echarts/echarts.min.js"),
            "ECharts on this page"
        );
        assert!(!page.body.contains("flash error"), "{}", page.body);
        let all = charts(&page.body);

        let funnel = chart(&all, "pipeline_funnel");
        assert_eq!(funnel["kind"], "funnel");
        assert_eq!(funnel["categories"][0], "初期沟通");
        assert_eq!(funnel["series"][0]["data"][0], 3000.0, "admin sees both open deals");
        assert_eq!(funnel["series"][1]["data"][0], 2.0);
        assert_eq!(funnel["colors"][0], "#94a3b8", "stage colours");
        let drill = funnel["links"][0][0].as_str().unwrap_or_default();
        assert!(
            drill.starts_with("/m/Opportunities?") && drill.contains("Prospecting"),
            "{drill}"
        );
        let listed = admin.get(&app, drill).await;
        assert!(listed.body.contains("李在谈") && listed.body.contains("在谈") && !listed.body.contains("赢一"));

        let pareto = chart(&all, "pareto");
        assert_eq!(pareto["categories"], json!(["大客户", "小客户"]));
        // All won revenue counts: small has 500 this year and 300 last year.
        assert_eq!(pareto["series"][0]["data"], json!([9500.0, 800.0]));
        assert_eq!(pareto["series"][1]["data"], json!([92.23, 100.0]), "9500 / 10300");
        assert_eq!(pareto["notes"], json!(["A", "B"]));

        let yoy = chart(&all, "won_by_month");
        assert_eq!(yoy["series"][0]["name"], year.to_string());
        assert_eq!(yoy["series"][0]["data"][0], 10000.0);
        assert_eq!(yoy["series"][1]["data"][0], 300.0);
        assert_eq!(yoy["categories"][0], "1月");

        let sources = chart(&all, "leads_by_source");
        assert_eq!(sources["kind"], "donut");
        assert_eq!(sources["categories"][0], "陌生电话");
        assert_eq!(sources["series"][0]["data"][0], 2.0);
        assert!(chart(&all, "conversion")["series"][0]["data"][0] == 3.0);

        // Private: li is refused; shared: li sees it, computed with li's visibility.
        let mut li_browser = Browser::new();
        li_browser.login(&app, "li", "user-pass-1").await;
        assert_eq!(li_browser.get(&app, &href).await.status, StatusCode::FORBIDDEN);
        let p = admin
            .post(
                &app,
                &format!("{href}/settings"),
                &[("_csrf", &csrf), ("name", "团队"), ("shared", "1")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let seen = li_browser.get(&app, &href).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(!seen.body.contains("dash-widget-tools"), "no owner's tools for li");
        let li_charts = charts(&seen.body);
        assert_eq!(chart(&li_charts, "pipeline_funnel")["series"][0]["data"][0], 2000.0);
        assert_eq!(chart(&li_charts, "pareto")["series"][0]["data"], json!([8000.0]));
        assert_eq!(chart(&li_charts, "leads_by_source")["series"][0]["data"], json!([]));
        // li may not change it.
        let li_csrf = hidden(&seen.body, "_csrf");
        let p = li_browser
            .post(
                &app,
                &format!("{href}/widgets"),
                &[("_csrf", &li_csrf), ("kind", "pareto")],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        let p = li_browser
            .post(&app, &format!("{href}/delete"), &[("_csrf", &li_csrf)])
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn owners_reorder_and_remove_widgets_and_bad_input_is_refused() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        let csrf = hidden(&b.get(&app, "/dashboards").await.body, "_csrf");
        // Names: empty, too long, control characters.
        for bad in ["", "   ", &"长".repeat(101), "a\u{7}b"] {
            let p = b.post(&app, "/dashboards", &[("_csrf", &csrf), ("name", bad)]).await;
            assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
            assert!(p.body.contains("仪表板名称须为 1 到 100 个字符"), "{}", p.body);
        }
        let href = b
            .post(&app, "/dashboards", &[("_csrf", &csrf), ("name", "我的")])
            .await
            .location
            .unwrap_or_default();
        for bad in ["", "<script>", "report", "pareto'--"] {
            let p = b
                .post(&app, &format!("{href}/widgets"), &[("_csrf", &csrf), ("kind", bad)])
                .await;
            assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        }
        for kind in ["leads_by_status", "overdue_followups", "followups_per_week"] {
            b.post(&app, &format!("{href}/widgets"), &[("_csrf", &csrf), ("kind", kind)])
                .await;
        }
        let order = |body: &str| -> Vec<String> {
            body.split("data-kind=\"")
                .skip(1)
                .map(|p| p.split('"').next().unwrap_or_default().to_string())
                .collect()
        };
        let page = b.get(&app, &href).await;
        assert_eq!(
            order(&page.body),
            ["leads_by_status", "overdue_followups", "followups_per_week"]
        );
        assert!(!page.body.contains("flash error"), "{}", page.body);
        let ids: Vec<String> = page
            .body
            .split("data-widget=\"")
            .skip(1)
            .map(|p| p.split('"').next().unwrap_or_default().to_string())
            .collect();
        let p = b
            .post(&app, &format!("{href}/widgets/{}/up", ids[2]), &[("_csrf", &csrf)])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        b.post(&app, &format!("{href}/widgets/{}/remove", ids[0]), &[("_csrf", &csrf)])
            .await;
        let page = b.get(&app, &href).await;
        assert_eq!(order(&page.body), ["followups_per_week", "overdue_followups"]);
        // Hostile paths.
        for path in [
            format!("{href}/widgets/abc/up"),
            format!("{href}/widgets/{}/sideways", ids[1]),
            format!("{href}/widgets/999999/remove"),
            "/dashboards/0/delete".into(),
            "/dashboards/99999999999999999999/delete".into(),
        ] {
            let p = b.post(&app, &path, &[("_csrf", &csrf)]).await;
            assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
        }
        assert_eq!(b.get(&app, "/dashboards/xyz").await.status, StatusCode::NOT_FOUND);
        assert_eq!(b.get(&app, "/dashboards/424242").await.status, StatusCode::NOT_FOUND);
        let p = b.post(&app, &format!("{href}/delete"), &[("_csrf", &csrf)]).await;
        assert_eq!(p.location.as_deref(), Some("/dashboards"));
        assert_eq!(b.get(&app, &href).await.status, StatusCode::NOT_FOUND);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn reports_are_built_saved_shared_exported_and_charted_on_a_dashboard() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "wang", "password": "user-pass-1", "last_name": "王"})),
        )
        .await;
        let wang = sable_store::users::find_user(&app.store, "wang")
            .await
            .unwrap()
            .unwrap()
            .id;
        let acc = create(
            &app,
            "Accounts",
            json!({"accountname": "制造客户", "industry": "Manufacturing"}),
        )
        .await;
        for (name, stage, amount) in [
            ("甲", "Prospecting", "100"),
            ("乙", "Prospecting", "250.50"),
            ("丙", "Closed Won", "1000"),
        ] {
            create(
                &app,
                "Opportunities",
                json!({"potentialname": name, "sales_stage": stage, "amount": amount, "related_to": acc, "closingdate": "2026-03-15"}),
            )
            .await;
        }
        let mut b = Browser::new();
        b.login(&app, "admin", ADMIN_PASSWORD).await;
        assert_eq!(b.get(&app, "/reports").await.status, StatusCode::OK);
        // Summary by stage with a sum and a related field in the filter-free builder.
        let q = "/reports/new?module=Opportunities&display=summary&chart=donut&g1=sales_stage&a1=count&a2=sum&af2=amount&sort=count&dir=desc&run=1";
        let page = b.get(&app, q).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("flash error"), "{}", page.body);
        assert!(
            page.body.contains("<td>初期沟通</td><td>2</td><td>350.5</td>"),
            "{}",
            page.body
        );
        let all = charts(&format!("data-kind=\"preview\"{}", page.body));
        assert_eq!(all[0].1["kind"], "donut");
        // A related module's field as a group.
        let related = b
            .get(
                &app,
                "/reports/new?module=Opportunities&g1=related_to.industry&a1=count&run=1",
            )
            .await;
        assert!(related.body.contains("<td>制造</td><td>3</td>"), "{}", related.body);
        // A bad spec is refused with the engine's message, in the page.
        let bad = b
            .get(&app, "/reports/new?module=Opportunities&g1=nonsense&a1=count&run=1")
            .await;
        assert_eq!(bad.status, StatusCode::OK);
        assert!(
            bad.body.contains("flash error") && bad.body.contains("nonsense"),
            "{}",
            bad.body
        );
        assert_eq!(
            b.get(&app, "/reports/new?module=NoSuch").await.status,
            StatusCode::NOT_FOUND
        );

        let csrf = hidden(&page.body, "_csrf");
        let spec = unescape(&hidden(&page.body, "spec"));
        let saved = b
            .post(
                &app,
                "/reports",
                &[
                    ("_csrf", &csrf),
                    ("spec", &spec),
                    ("chart", "donut"),
                    ("name", "按阶段"),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let href = saved.location.unwrap_or_default();
        let shown = b.get(&app, &href).await;
        assert!(shown.body.contains("按阶段") && shown.body.contains("<td>2</td>"));
        for bad in ["{", "{\"module\":\"Opportunities\",\"evil\":1}", ""] {
            let p = b
                .post(&app, "/reports", &[("_csrf", &csrf), ("spec", bad), ("name", "坏")])
                .await;
            assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        let p = b
            .post(&app, "/reports", &[("_csrf", &csrf), ("spec", &spec), ("name", "")])
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Exports.
        let csv = b.get(&app, &format!("{href}/export.csv")).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.body.starts_with('\u{feff}'), "BOM for Excel");
        assert!(csv.body.contains("初期沟通,2,350.5"), "{}", csv.body);
        let xlsx = b.get(&app, &format!("{href}/export.xlsx")).await;
        assert_eq!(xlsx.status, StatusCode::OK);
        assert!(xlsx.body.starts_with("PK"), "a zip (xlsx)");
        assert_eq!(
            b.get(&app, &format!("{href}/export.exe")).await.status,
            StatusCode::NOT_FOUND
        );

        // Not shared: wang cannot open it; a dashboard widget of it says so to him.
        let mut w = Browser::new();
        w.login(&app, "wang", "user-pass-1").await;
        assert_eq!(w.get(&app, &href).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            w.get(&app, &format!("{href}/export.csv")).await.status,
            StatusCode::NOT_FOUND
        );

        // The chart goes on a shared dashboard.
        let dash = b
            .post(
                &app,
                "/dashboards",
                &[("_csrf", &csrf), ("name", "报表板"), ("shared", "1")],
            )
            .await
            .location
            .unwrap_or_default();
        let report_id = href.rsplit('/').next().unwrap_or_default().to_string();
        let p = b
            .post(
                &app,
                &format!("{dash}/widgets"),
                &[("_csrf", &csrf), ("report", &report_id), ("chart", "donut")],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let page = b.get(&app, &dash).await;
        let all = charts(&page.body);
        let c = chart(&all, "report");
        assert_eq!(c["kind"], "donut");
        assert_eq!(c["categories"][0], "初期沟通");
        assert_eq!(c["series"][0]["data"][0], 2.0);
        let seen = w.get(&app, &dash).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(seen.body.contains("此组件的报表不可用"), "{}", seen.body);
        // Shared with wang: he sees it, counting only his records (none).
        let p = b
            .post(
                &app,
                "/reports",
                &[
                    ("_csrf", &csrf),
                    ("spec", &spec),
                    ("chart", "bar"),
                    ("name", "按阶段"),
                    ("edit", &report_id),
                    ("share", &wang.to_string()),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let seen = w.get(&app, &dash).await;
        let c = charts(&seen.body);
        assert_eq!(chart(&c, "report")["series"][0]["data"], json!([]));
        // Only the owner deletes it.
        let wcsrf = hidden(&seen.body, "_csrf");
        let p = w.post(&app, &format!("{href}/delete"), &[("_csrf", &wcsrf)]).await;
        assert!(p.status.is_client_error(), "{}", p.status);
        let p = b.post(&app, &format!("{href}/delete"), &[("_csrf", &csrf)]).await;
        assert_eq!(p.location.as_deref(), Some("/reports"));
        app.store.close().await;
        db.cleanup().await;
    }
}
