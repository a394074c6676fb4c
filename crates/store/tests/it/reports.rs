//! Reports on fixed data, on every backend: exact figures for summary, matrix and tabular
//! reports, related fields, date buckets in the viewer's zone, and visibility.

use sable_core::registry::NewField;
use sable_core::report::{ReportResult, ReportSpec};
use sable_store::meta_store::add_custom_field;
use sable_store::reports::run;
use sable_store::testing::all_backends;
use sable_store::users::{NewUser, create_user};
use sable_store::{Actor, Store, StoreError};
use serde_json::{Value as Json, json};

use crate::helpers::{admin, obj};

async fn user(store: &Store, name: &str, tz: &str) -> Actor {
    create_user(
        store,
        &admin(),
        &NewUser {
            user_name: name.into(),
            password: "correct horse".into(),
            last_name: name.into(),
            time_zone: Some(tz.into()),
            language: Some("zh-CN".into()),
            ..NewUser::default()
        },
    )
    .await
    .expect("create user")
    .actor()
}

struct Fixture {
    alice: Actor,
    bob: Actor,
    acme: i64,
}

/// Two sales people, two organizations and six opportunities:
///
/// | owner | stage        | amount  | closes     | organization     |
/// |-------|--------------|---------|------------|------------------|
/// | alice | Closed Won   | 1000.50 | 2024-01-15 | Acme (Banking)   |
/// | alice | Closed Won   | 2000.00 | 2024-04-01 | Acme             |
/// | alice | Proposal     |  500.25 | 2024-03-31 | Beta (Energy)    |
/// | bob   | Closed Won   |  300.00 | 2024-02-29 | Beta             |
/// | bob   | Closed Lost  |  700.00 | 2024-05-05 | none             |
/// | bob   | Prospecting  |  none   | 2024-12-30 | Acme             |
///
/// Acme belongs to alice, Beta to bob.
async fn fixture(store: &Store) -> Fixture {
    let alice = user(store, "alice", "Asia/Shanghai").await;
    let bob = user(store, "bob", "America/New_York").await;
    let system = admin();
    let svc = store.records(&system);
    let acme = svc
        .create(
            "Accounts",
            &obj(json!({"accountname": "Acme", "industry": "Banking", "assigned_user_id": alice.user_id()})),
        )
        .await
        .unwrap()
        .id;
    let beta = svc
        .create(
            "Accounts",
            &obj(json!({"accountname": "Beta", "industry": "Energy", "assigned_user_id": bob.user_id()})),
        )
        .await
        .unwrap()
        .id;
    let rows = [
        (&alice, "A1", "Closed Won", Some("1000.50"), "2024-01-15", Some(acme)),
        (&alice, "A2", "Closed Won", Some("2000.00"), "2024-04-01", Some(acme)),
        (&alice, "A3", "Proposal", Some("500.25"), "2024-03-31", Some(beta)),
        (&bob, "B1", "Closed Won", Some("300.00"), "2024-02-29", Some(beta)),
        (&bob, "B2", "Closed Lost", Some("700.00"), "2024-05-05", None),
        (&bob, "B3", "Prospecting", None, "2024-12-30", Some(acme)),
    ];
    for (owner, name, stage, amount, closes, org) in rows {
        let lost_reason = (stage == "Closed Lost").then_some("价格");
        svc.create(
            "Opportunities",
            &obj(json!({
                "potentialname": name, "sales_stage": stage, "amount": amount, "closingdate": closes,
                "related_to": org, "assigned_user_id": owner.user_id(), "lost_reason": lost_reason
            })),
        )
        .await
        .unwrap();
    }
    Fixture { alice, bob, acme }
}

fn spec(v: Json) -> ReportSpec {
    serde_json::from_value(v).expect("spec")
}

async fn report(store: &Store, actor: &Actor, v: Json) -> ReportResult {
    run(store, actor, &spec(v))
        .await
        .unwrap_or_else(|e| panic!("report: {e}"))
}

fn keys(r: &ReportResult) -> Vec<&str> {
    r.columns.iter().map(|c| c.key.as_str()).collect()
}

#[tokio::test]
async fn summary_reports_give_exact_figures() {
    for db in all_backends().await {
        let store = db.store().await;
        let f = fixture(&store).await;
        let r = report(
            &store,
            &admin(),
            json!({"module": "Opportunities", "group_by": [{"field": "sales_stage"}], "aggregates": [
                {"fn": "count"}, {"fn": "sum", "field": "amount"}, {"fn": "avg", "field": "amount"},
                {"fn": "min", "field": "closingdate"}, {"fn": "max", "field": "amount"}]}),
        )
        .await;
        assert_eq!(
            keys(&r),
            [
                "sales_stage",
                "count",
                "sum(amount)",
                "avg(amount)",
                "min(closingdate)",
                "max(amount)"
            ]
        );
        // In the stage picklist's order; an average rounds half away from zero.
        assert_eq!(
            r.rows,
            vec![
                vec![
                    json!("Prospecting"),
                    json!(1),
                    json!(0),
                    Json::Null,
                    json!("2024-12-30"),
                    Json::Null
                ],
                vec![
                    json!("Proposal"),
                    json!(1),
                    json!(500.25),
                    json!(500.25),
                    json!("2024-03-31"),
                    json!(500.25)
                ],
                vec![
                    json!("Closed Won"),
                    json!(3),
                    json!(3300.5),
                    json!(1100.17),
                    json!("2024-01-15"),
                    json!(2000)
                ],
                vec![
                    json!("Closed Lost"),
                    json!(1),
                    json!(700),
                    json!(700),
                    json!("2024-05-05"),
                    json!(700)
                ],
            ],
            "{}",
            db.backend
        );
        assert_eq!(r.labels[2][0].as_deref(), Some("Closed Won"));
        assert_eq!(r.labels[2][1], None);
        assert_eq!(
            r.totals,
            Some(vec![
                Json::Null,
                json!(6),
                json!(4500.75),
                json!(900.15),
                json!("2024-01-15"),
                json!(2000)
            ])
        );
        assert!(!r.truncated);

        // Won revenue per owner and quarter, largest first; owners shown by name.
        let r = report(
            &store,
            &admin(),
            json!({"module": "Opportunities",
                "filter": {"all": [{"field": "sales_stage", "op": "eq", "value": "Closed Won"}]},
                "group_by": [{"field": "assigned_user_id"}, {"field": "closingdate", "bucket": "quarter"}],
                "aggregates": [{"fn": "sum", "field": "amount"}],
                "sort": [{"key": "sum(amount)", "desc": true}]}),
        )
        .await;
        let (a, b) = (f.alice.user_id(), f.bob.user_id());
        assert_eq!(
            r.rows,
            vec![
                vec![json!(a), json!("2024-Q2"), json!(2000)],
                vec![json!(a), json!("2024-Q1"), json!(1000.5)],
                vec![json!(b), json!("2024-Q1"), json!(300)],
            ],
            "{}",
            db.backend
        );
        assert_eq!(r.labels[0][0].as_deref(), Some("alice"));
        assert_eq!(r.labels[2][0].as_deref(), Some("bob"));
        assert_eq!(r.labels[0][1].as_deref(), Some("2024-Q2"));

        // Through the reference: the organization's industry; no organization is one group.
        let r = report(
            &store,
            &admin(),
            json!({"module": "Opportunities", "group_by": [{"field": "related_to.industry"}],
                "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "amount"}]}),
        )
        .await;
        assert_eq!(
            r.rows,
            vec![
                vec![Json::Null, json!(1), json!(700)],
                vec![json!("Banking"), json!(3), json!(3000.5)],
                vec![json!("Energy"), json!(2), json!(800.25)],
            ],
            "{}",
            db.backend
        );
        assert_eq!(r.labels[0][0].as_deref(), Some("(empty)"));

        // Weeks are ISO weeks: 2024-12-30 is in the first week of 2025.
        let r = report(
            &store,
            &admin(),
            json!({"module": "Opportunities", "group_by": [{"field": "closingdate", "bucket": "week"}]}),
        )
        .await;
        let weeks: Vec<&Json> = r.rows.iter().map(|row| &row[0]).collect();
        assert_eq!(
            weeks,
            [
                &json!("2024-W03"),
                &json!("2024-W09"),
                &json!("2024-W13"),
                &json!("2024-W14"),
                &json!("2024-W18"),
                &json!("2025-W01")
            ],
            "{}",
            db.backend
        );
        // Months, with a limit: the first rows and a flag that more exist.
        let r = report(
            &store,
            &admin(),
            json!({"module": "Opportunities", "group_by": [{"field": "closingdate", "bucket": "month"}], "limit": 2}),
        )
        .await;
        assert_eq!(
            r.rows,
            vec![vec![json!("2024-01"), json!(1)], vec![json!("2024-02"), json!(1)]]
        );
        assert!(r.truncated);
        assert_eq!(r.totals, None, "totals of a cut-off answer would mislead");
        let _ = f.acme;
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn matrix_and_tabular_reports() {
    for db in all_backends().await {
        let store = db.store().await;
        let f = fixture(&store).await;
        let r = report(
            &store,
            &admin(),
            json!({"module": "Opportunities", "group_by": [{"field": "assigned_user_id"}, {"field": "sales_stage"}],
                "aggregates": [{"fn": "sum", "field": "amount"}], "pivot": true}),
        )
        .await;
        assert_eq!(
            keys(&r),
            [
                "assigned_user_id",
                "sum(amount)@Prospecting",
                "sum(amount)@Proposal",
                "sum(amount)@Closed Won",
                "sum(amount)@Closed Lost",
                "sum(amount)"
            ],
            "{}",
            db.backend
        );
        assert_eq!(r.columns[3].pivot.as_ref().unwrap().value, json!("Closed Won"));
        assert_eq!(
            r.rows,
            vec![
                vec![
                    json!(f.alice.user_id()),
                    json!(0),
                    json!(500.25),
                    json!(3000.5),
                    json!(0),
                    json!(3500.75)
                ],
                vec![
                    json!(f.bob.user_id()),
                    json!(0),
                    json!(0),
                    json!(300),
                    json!(700),
                    json!(1000)
                ],
            ],
            "{}",
            db.backend
        );
        assert_eq!(
            r.totals,
            Some(vec![
                Json::Null,
                json!(0),
                json!(500.25),
                json!(3300.5),
                json!(700),
                json!(4500.75)
            ])
        );

        // Tabular: columns of the record and of its organization, sorted, limited.
        let r = report(
            &store,
            &f.alice,
            json!({"module": "Opportunities",
                "columns": ["potentialname", "amount", "sales_stage", "related_to", "related_to.industry"],
                "sort": [{"key": "amount", "desc": true}], "limit": 2}),
        )
        .await;
        assert_eq!(
            r.rows,
            vec![
                vec![
                    json!("A2"),
                    json!("2000.00"),
                    json!("Closed Won"),
                    json!(f.acme),
                    json!("Banking")
                ],
                vec![
                    json!("A1"),
                    json!("1000.50"),
                    json!("Closed Won"),
                    json!(f.acme),
                    json!("Banking")
                ],
            ],
            "{}",
            db.backend
        );
        assert!(r.truncated);
        assert_eq!(r.record_ids.len(), 2);
        // alice reads in Chinese: picklist labels and the organization's name.
        assert_eq!(r.labels[0][2].as_deref(), Some("赢单"));
        assert_eq!(r.labels[0][3].as_deref(), Some("Acme"));
        assert_eq!(r.labels[0][4].as_deref(), Some("银行"));
        assert_eq!(r.columns[4].label, format!("{}: 行业", r.columns[3].label));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_report_counts_only_what_its_viewer_may_see() {
    for db in all_backends().await {
        let store = db.store().await;
        let f = fixture(&store).await;
        let by_stage = json!({"module": "Opportunities", "group_by": [{"field": "sales_stage"}],
            "aggregates": [{"fn": "count"}, {"fn": "sum", "field": "amount"}]});
        let r = report(&store, &f.alice, by_stage.clone()).await;
        assert_eq!(
            r.rows,
            vec![
                vec![json!("Proposal"), json!(1), json!(500.25)],
                vec![json!("Closed Won"), json!(2), json!(3000.5)],
            ],
            "{}",
            db.backend
        );
        let r = report(&store, &f.bob, by_stage).await;
        assert_eq!(r.totals.as_ref().unwrap()[1], json!(3), "{}", db.backend);
        // A related record the viewer may not see reads as empty: alice's A3 points to
        // bob's Beta, whose industry she cannot read.
        let r = report(
            &store,
            &f.alice,
            json!({"module": "Opportunities", "group_by": [{"field": "related_to.industry"}]}),
        )
        .await;
        assert_eq!(
            r.rows,
            vec![vec![Json::Null, json!(1)], vec![json!("Banking"), json!(2)]],
            "{}",
            db.backend
        );
        assert_eq!(r.labels[0][0].as_deref(), Some("（空）"));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn date_times_fall_in_the_viewers_day() {
    for db in all_backends().await {
        let store = db.store().await;
        let f = fixture(&store).await;
        let field: NewField = serde_json::from_value(
            json!({"name": "cf_signed", "type": "datetime", "label": {"en": "Signed", "zh-CN": "签约时间"}}),
        )
        .unwrap();
        add_custom_field(&store, &admin(), "Opportunities", &field)
            .await
            .unwrap();
        let system = admin();
        let svc = store.records(&system);
        // Instants near midnight, and on both sides of New York's daylight-saving changes.
        for (name, at) in [
            ("t1", "2024-03-31T17:30:00Z"), // Shanghai 04-01 01:30; New York 03-31 13:30
            ("t2", "2024-07-01T04:30:00Z"), // New York (EDT) 07-01 00:30; with EST it would be 06-30
            ("t3", "2024-11-03T05:30:00Z"), // New York 01:30 EDT, 11-03
            ("t4", "2024-11-03T03:30:00Z"), // New York 11-02 23:30 EDT
            ("t5", "2024-03-10T04:30:00Z"), // New York 03-09 23:30 EST
        ] {
            svc.create(
                "Opportunities",
                &obj(
                    json!({"potentialname": name, "sales_stage": "Proposal", "closingdate": "2024-06-01",
                    "cf_signed": at, "assigned_user_id": f.alice.user_id()}),
                ),
            )
            .await
            .unwrap();
        }
        let by_day = json!({"module": "Opportunities", "filter": {"field": "cf_signed", "op": "is_not_empty"},
            "group_by": [{"field": "cf_signed"}]});
        let days = |r: ReportResult| r.rows.iter().map(|row| row[0].clone()).collect::<Vec<_>>();
        let ny = user(&store, "nyc.admin", "America/New_York").await;
        // Reports read the viewer's zone; an admin sees every record, so use the system
        // actor in UTC, and alice (Shanghai, owner of all five) and a New York viewer.
        assert_eq!(
            days(report(&store, &admin(), by_day.clone()).await),
            ["2024-03-10", "2024-03-31", "2024-07-01", "2024-11-03"].map(|d| json!(d)),
            "{}",
            db.backend
        );
        assert_eq!(
            days(report(&store, &f.alice, by_day.clone()).await),
            ["2024-03-10", "2024-04-01", "2024-07-01", "2024-11-03"].map(|d| json!(d)),
            "{}",
            db.backend
        );
        // The New York viewer is not an admin and owns none: they see nothing …
        assert!(days(report(&store, &ny, by_day.clone()).await).is_empty());
        // … so give them the records to see the New York days.
        for r in svc
            .query(
                "Opportunities",
                &sable_store::Query {
                    filter: sable_core::Filter::from_json(&json!({"field": "cf_signed", "op": "is_not_empty"}))
                        .unwrap(),
                    sort: Vec::new(),
                    limit: 50,
                    cursor: None,
                    offset: None,
                    with_count: false,
                    deleted: false,
                },
            )
            .await
            .unwrap()
            .items
        {
            svc.update(
                "Opportunities",
                r.id,
                Some(r.version),
                &obj(json!({"assigned_user_id": ny.user_id()})),
            )
            .await
            .unwrap();
        }
        let r = report(&store, &ny, by_day).await;
        assert_eq!(
            r.rows,
            vec![
                vec![json!("2024-03-09"), json!(1)],
                vec![json!("2024-03-31"), json!(1)],
                vec![json!("2024-07-01"), json!(1)],
                vec![json!("2024-11-02"), json!(1)],
                vec![json!("2024-11-03"), json!(1)],
            ],
            "{}",
            db.backend
        );
        let r = report(
            &store,
            &ny,
            json!({"module": "Opportunities", "group_by": [{"field": "cf_signed", "bucket": "month"}]}),
        )
        .await;
        assert_eq!(
            r.rows,
            vec![
                vec![json!("2024-03"), json!(2)],
                vec![json!("2024-07"), json!(1)],
                vec![json!("2024-11"), json!(2)]
            ],
            "{}",
            db.backend
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_specs_are_refused_before_any_sql() {
    for db in all_backends().await {
        let store = db.store().await;
        for (bad, key) in [
            (
                json!({"module": "Opportunities", "group_by": [{"field": "x\"; DROP TABLE m_opportunities; --"}]}),
                "rep_refused_field",
            ),
            (
                json!({"module": "Opportunities", "group_by": [{"field": "amount", "bucket": "month"}]}),
                "rep_refused_bucket",
            ),
            (
                json!({"module": "Opportunities", "group_by": [{"field": "sales_stage"}], "aggregates": [{"fn": "sum", "field": "sales_stage"}]}),
                "rep_refused_aggregate",
            ),
            (
                json!({"module": "Opportunities", "columns": ["amount"], "limit": 4_000_000_000u32}),
                "rep_refused_limit",
            ),
        ] {
            match run(&store, &admin(), &spec(bad.clone())).await {
                Err(StoreError::Refused(r)) => assert_eq!(r.key, key, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let bad_filter = spec(json!({"module": "Opportunities", "columns": ["amount"],
            "filter": {"field": "amount", "op": "gt", "value": "lots"}}));
        assert!(matches!(
            run(&store, &admin(), &bad_filter).await,
            Err(StoreError::BadFilter(_))
        ));
        // The tables are untouched.
        assert!(
            run(
                &store,
                &admin(),
                &spec(json!({"module": "Opportunities", "aggregates": [{"fn": "count"}]}))
            )
            .await
            .is_ok()
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn saved_reports_are_owned_shared_and_scheduled() {
    use sable_store::reports::{
        ReportInput, create_report, delete_report, due_deliveries, get_report, list_reports, mark_delivered, run_saved,
        update_report,
    };
    for db in all_backends().await {
        let store = db.store().await;
        let f = fixture(&store).await;
        let carol = user(&store, "carol", "UTC").await;
        let input: ReportInput = serde_json::from_value(json!({
            "name": "赢单金额",
            "spec": {"module": "Opportunities", "group_by": [{"field": "sales_stage"}], "aggregates": [{"fn": "sum", "field": "amount"}]},
            "chart": {"type": "bar", "stacked": false},
            "schedule": {"frequency": "daily", "time": "08:00", "recipients": ["boss@example.com"], "format": "xlsx"},
            "shared_with": [f.bob.user_id()]
        }))
        .unwrap();
        let saved = create_report(&store, &f.alice, &input).await.unwrap();
        assert_eq!(saved.owner_id, f.alice.user_id());
        assert_eq!(saved.shared_with, vec![f.bob.user_id()]);
        assert_eq!(saved.chart, Some(json!({"type": "bar", "stacked": false})));
        assert!(saved.editable);

        // bob reads and runs it, and sees his own figures, not alice's.
        let (as_bob, result) = run_saved(&store, &f.bob, saved.id).await.unwrap();
        assert!(!as_bob.editable);
        assert_eq!(
            result.rows,
            vec![
                vec![json!("Prospecting"), json!(0)],
                vec![json!("Closed Won"), json!(300)],
                vec![json!("Closed Lost"), json!(700)]
            ],
            "{}",
            db.backend
        );
        // bob may not change or delete it; carol may not even see it.
        assert!(matches!(
            update_report(&store, &f.bob, saved.id, &input).await,
            Err(StoreError::Forbidden(_))
        ));
        assert!(matches!(
            delete_report(&store, &f.bob, saved.id).await,
            Err(StoreError::Forbidden(_))
        ));
        assert!(matches!(
            get_report(&store, &carol, saved.id).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(list_reports(&store, &carol).await.unwrap().is_empty());
        assert_eq!(list_reports(&store, &f.bob).await.unwrap().len(), 1);
        assert_eq!(list_reports(&store, &admin()).await.unwrap().len(), 1);

        // Bad input is refused with the part that is wrong.
        for (bad, key) in [
            (
                json!({"name": " ", "spec": {"module": "Leads", "aggregates": [{"fn": "count"}]}}),
                "rep_refused_name",
            ),
            (
                json!({"name": "x", "spec": {"module": "Leads", "aggregates": [{"fn": "count"}]}, "chart": [1]}),
                "rep_refused_chart",
            ),
            (
                json!({"name": "x", "spec": {"module": "Leads", "aggregates": [{"fn": "count"}]},
                "schedule": {"frequency": "weekly", "time": "08:00", "recipients": ["a@example.com"]}}),
                "rep_refused_schedule",
            ),
            (
                json!({"name": "x", "spec": {"module": "Leads", "aggregates": [{"fn": "count"}]}, "shared_with": [999999]}),
                "rep_refused_share",
            ),
            (
                json!({"name": "x", "spec": {"module": "Leads", "group_by": [{"field": "nope"}]}}),
                "rep_refused_field",
            ),
        ] {
            let input: ReportInput = serde_json::from_value(bad.clone()).unwrap();
            match create_report(&store, &f.alice, &input).await {
                Err(StoreError::Refused(r)) => assert_eq!(r.key, key, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }

        // Deliveries: due once the owner's 08:00 (Shanghai) has passed after the last change.
        let changed = saved.updated_at.parse::<jiff::Timestamp>().unwrap();
        let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
        let next = input.schedule.as_ref().unwrap().next_after(changed, &tz).unwrap();
        assert!(
            due_deliveries(&store, next.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap())
                .await
                .unwrap()
                .is_empty()
        );
        let due = due_deliveries(&store, next).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].report_id, due[0].due_at), (saved.id, next));
        mark_delivered(&store, saved.id, next).await.unwrap();
        assert!(due_deliveries(&store, next).await.unwrap().is_empty());
        let day_later = next.checked_add(jiff::SignedDuration::from_hours(24)).unwrap();
        assert_eq!(due_deliveries(&store, day_later).await.unwrap().len(), 1);

        // The owner updates (sharing removed); then deletes.
        let mut changed_input = input.clone();
        changed_input.shared_with.clear();
        changed_input.schedule = None;
        let updated = update_report(&store, &f.alice, saved.id, &changed_input).await.unwrap();
        assert!(updated.shared_with.is_empty());
        assert!(matches!(
            get_report(&store, &f.bob, saved.id).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(due_deliveries(&store, day_later).await.unwrap().is_empty());
        delete_report(&store, &f.alice, saved.id).await.unwrap();
        assert!(list_reports(&store, &admin()).await.unwrap().is_empty());
        store.close().await;
        db.cleanup().await;
    }
}
