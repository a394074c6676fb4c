//! Imports of the real data sets through the record service, on every backend: exact
//! counts, encodings that agree, duplicates on re-import, references by name (a parent
//! later in the same file included), users from a sheet, and a round trip through export.

use std::path::{Path, PathBuf};

use sable_core::{Filter, Value};
use sable_import::convert::DateOrder;
use sable_import::export::{ExportEncoding, export_csv};
use sable_import::mapping::MappingFile;
use sable_import::run::{ImportOptions, ImportReport, OnDuplicate, run_import};
use sable_import::table::{EncodingChoice, Limits, open_csv, open_file};
use sable_store::testing::all_backends;
use sable_store::users::{self, NewUser, User};
use sable_store::{Actor, Query, SortKey, Store};

use crate::util::shared_data;

fn mapping(name: &str) -> MappingFile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn admin(store: &Store) -> User {
    users::ensure_admin(store, Some("admin-password-1")).await.unwrap();
    users::find_user(store, "admin").await.unwrap().unwrap()
}

async fn import(
    store: &Store,
    actor: &Actor,
    module: &str,
    file: &Path,
    map: Option<&str>,
    opts: ImportOptions,
) -> ImportReport {
    let table =
        open_file(file, EncodingChoice::Auto, Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let opts = ImportOptions {
        module: module.into(),
        mapping: map.map(mapping),
        batch: 500,
        ..opts
    };
    let report = run_import(store, actor, table, &opts, |_| {})
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let failures: Vec<_> = report
        .rows
        .iter()
        .filter(|r| r.reason.is_some() && r.status == sable_import::run::RowStatus::Failed)
        .take(3)
        .collect();
    assert!(report.failed == 0 || !failures.is_empty(), "failed rows carry reasons");
    report
}

async fn all_values(store: &Store, actor: &Actor, module: &str, sort: &str) -> Vec<sable_store::Record> {
    let mut query = Query {
        sort: vec![SortKey {
            field: sort.into(),
            desc: false,
        }],
        limit: 500,
        with_count: false,
        ..Query::default()
    };
    let mut out = Vec::new();
    loop {
        let page = store.records(actor).query(module, &query).await.unwrap();
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return out,
        }
    }
}

#[tokio::test]
async fn chinese_organizations_and_leads_in_three_encodings() {
    let Some(data) = shared_data() else { return };
    let zh = data.join("synthetic_zh_crm");
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        let opts = || ImportOptions {
            default_owner: Some(actor.user_id()),
            ..ImportOptions::default()
        };
        let r = import(
            &store,
            &actor,
            "Accounts",
            &zh.join("organizations_zh_2000.csv"),
            Some("synthetic_zh_organizations.json"),
            opts(),
        )
        .await;
        assert_eq!(
            r.summary(),
            "created 2000, updated 0, skipped 0, failed 0",
            "{}: {:?}",
            db.backend,
            r.rows.first()
        );
        assert!(r.unmapped_with_data.is_empty(), "{:?}", r.unmapped_with_data);
        let r = import(
            &store,
            &actor,
            "Leads",
            &zh.join("leads_zh_10000.csv"),
            Some("synthetic_zh_leads.json"),
            opts(),
        )
        .await;
        assert_eq!(
            r.summary(),
            "created 10000, updated 0, skipped 0, failed 0",
            "{:?}",
            r.rows.first()
        );
        // History is kept: record numbers and created times come from the file.
        let first = store
            .records(&actor)
            .find_by_label_or_number("Leads", "LEA00001")
            .await
            .unwrap();
        let lead = store.records(&actor).get("Leads", first[0]).await.unwrap();
        assert_eq!(lead.label, "邓秀梅");
        assert_eq!(
            lead.values.get("leadstatus"),
            Some(&Value::Text("Hot".into())),
            "picklists by their Chinese label"
        );
        assert_eq!(lead.values.get("salutationtype"), Some(&Value::Text("Ms.".into())));
        let created = match lead.values.get("createdtime") {
            Some(Value::DateTime(t)) => sable_core::value::format_timestamp(*t),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            created, "2024-03-16T17:42:37Z",
            "2024-03-17 01:42:37 in China is 17:42 UTC the day before"
        );
        // 4-byte characters survive; a 2-character fragment finds them
        assert!(!store.records(&actor).search("𠮷", 5).await.unwrap().is_empty());
        // Re-importing with matching on mobile adds nothing
        let again = ImportOptions {
            match_fields: vec!["mobile".into()],
            ..opts()
        };
        let r = import(
            &store,
            &actor,
            "Leads",
            &zh.join("leads_zh_10000.csv"),
            Some("synthetic_zh_leads.json"),
            again,
        )
        .await;
        assert_eq!(r.summary(), "created 0, updated 0, skipped 10000, failed 0");
        store.close().await;
        db.cleanup().await;
    }
    // The BOM and GBK slices give the same 500 records as the UTF-8 file's first rows.
    let mut stored: Vec<Vec<Vec<String>>> = Vec::new();
    for file in ["leads_zh_500_utf8_bom.csv", "leads_zh_500_gbk.csv"] {
        let db = sable_store::testing::sqlite_db();
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        let opts = ImportOptions {
            default_owner: Some(actor.user_id()),
            ..ImportOptions::default()
        };
        let r = import(
            &store,
            &actor,
            "Leads",
            &zh.join(file),
            Some("synthetic_zh_leads.json"),
            opts,
        )
        .await;
        assert_eq!(r.summary(), "created 500, updated 0, skipped 0, failed 0", "{file}");
        let module = store.registry().await.unwrap().module("Leads").unwrap().clone();
        let rows = all_values(&store, &actor, "Leads", "lead_no").await;
        stored.push(
            rows.iter()
                .map(|r| {
                    [
                        "lead_no",
                        "lastname",
                        "firstname",
                        "company",
                        "mobile",
                        "email",
                        "leadsource",
                        "description",
                    ]
                    .iter()
                    .map(|f| {
                        r.values
                            .get(*f)
                            .map(|v| v.to_text(module.field(f).unwrap()))
                            .unwrap_or_default()
                    })
                    .collect()
                })
                .collect(),
        );
        store.close().await;
        db.cleanup().await;
    }
    assert_eq!(stored[0].len(), 500);
    assert_eq!(stored[0], stored[1], "UTF-8 with BOM and GBK store the same text");
    assert_eq!(stored[0][0][0], "LEA00001", "the BOM never sticks to the first header");
}

#[tokio::test]
async fn maven_pipeline_with_users_accounts_and_opportunities() {
    let Some(data) = shared_data() else { return };
    let maven = data.join("maven_crm_sales_opportunities");
    for db in all_backends().await {
        let store = db.store().await;
        let admin = admin(&store).await.actor();
        // The 35 agents become users, by the mapping kept for the sheet; again, all skipped.
        let teams = || open_file(&maven.join("sales_teams.csv"), EncodingChoice::Auto, Limits::default()).unwrap();
        let map = mapping("maven_sales_teams.json");
        let r = sable_import::users::import_users(&store, &admin, teams(), Some(&map))
            .await
            .unwrap();
        assert_eq!(
            r.summary(),
            "created 35, updated 0, skipped 0, failed 0",
            "{:?}",
            r.rows
        );
        let again = sable_import::users::import_users(&store, &admin, teams(), Some(&map))
            .await
            .unwrap();
        assert_eq!(again.summary(), "created 0, updated 0, skipped 35, failed 0");
        let anna = users::find_user(&store, "anna.snelling").await.unwrap().unwrap();
        assert_eq!(
            (anna.first_name.as_deref(), anna.last_name.as_str()),
            (Some("Anna"), "Snelling")
        );
        // Nobody knows the password until an administrator sets one.
        assert!(matches!(
            users::login(&store, "anna.snelling", "agent-password").await.unwrap(),
            Err(users::LoginError::Invalid)
        ));
        assert_eq!(users::list_users(&store).await.unwrap().len(), 36);
        let opts = || ImportOptions {
            default_owner: Some(admin.user_id()),
            ..ImportOptions::default()
        };
        let r = import(
            &store,
            &admin,
            "Accounts",
            &maven.join("accounts.csv"),
            Some("maven_accounts.json"),
            opts(),
        )
        .await;
        assert_eq!(
            r.summary(),
            "created 85, updated 0, skipped 0, failed 0",
            "{}: {:?}",
            db.backend,
            r.rows.first()
        );
        assert!(
            r.warnings.is_empty(),
            "every subsidiary_of resolves, also to a parent later in the file: {:?}",
            r.warnings
        );
        let accounts = all_values(&store, &admin, "Accounts", "accountname").await;
        assert_eq!(
            accounts.iter().filter(|a| a.values.contains_key("account_id")).count(),
            15
        );
        let r = import(
            &store,
            &admin,
            "Opportunities",
            &maven.join("sales_pipeline.csv"),
            Some("maven_opportunities.json"),
            opts(),
        )
        .await;
        assert_eq!(
            r.summary(),
            "created 8800, updated 0, skipped 0, failed 0",
            "{:?}",
            r.rows.first()
        );
        let opps = all_values(&store, &admin, "Opportunities", "potentialname").await;
        assert_eq!(opps.len(), 8800);
        assert_eq!(
            opps.iter().filter(|o| !o.values.contains_key("related_to")).count(),
            1425,
            "deals without an account import without one"
        );
        let won: Vec<_> = opps
            .iter()
            .filter(|o| o.values.get("sales_stage") == Some(&Value::Text("Closed Won".into())))
            .collect();
        assert_eq!(won.len(), 4238);
        let won_total: i64 = won
            .iter()
            .map(|o| match o.values.get("amount") {
                Some(Value::Scaled(u)) => *u,
                _ => 0,
            })
            .sum();
        assert_eq!(won_total, 1_000_553_400, "won revenue 10,005,534.00 in cents");
        assert!(
            opps.iter()
                .all(|o| o.values.get("assigned_user_id") != Some(&Value::Id(admin.user_id()))),
            "every deal belongs to its agent"
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn datablist_files_import_whole() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("datablist_samples");
    let db = sable_store::testing::sqlite_db();
    let store = db.store().await;
    let actor = admin(&store).await.actor();
    for (module, file) in [
        ("Leads", "leads"),
        ("Accounts", "organizations"),
        ("Contacts", "customers"),
    ] {
        let opts = ImportOptions {
            default_owner: Some(actor.user_id()),
            ..ImportOptions::default()
        };
        let r = import(
            &store,
            &actor,
            module,
            &dir.join(format!("{file}-10000.csv")),
            Some(&format!("datablist_{file}.json")),
            opts,
        )
        .await;
        assert_eq!(
            r.summary(),
            "created 10000, updated 0, skipped 0, failed 0",
            "{file}: {:?}",
            r.rows.first()
        );
    }
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn duplicates_update_or_merge_and_dry_runs_write_nothing() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        let csv = "姓,公司,邮箱,手机,线索来源\n王,甲公司,wang@example.cn,13800000001,展会\n李,乙公司,,13800000002,\n王,甲公司二,WANG@example.cn,+86 138 0000 0001,\n";
        let table = || {
            open_csv(
                std::io::Cursor::new(csv.as_bytes().to_vec()),
                EncodingChoice::Auto,
                Limits::default(),
            )
            .unwrap()
        };
        let base = ImportOptions {
            module: "Leads".into(),
            default_owner: Some(actor.user_id()),
            match_fields: vec!["email".into(), "mobile".into()],
            batch: 2,
            ..ImportOptions::default()
        };
        let dry = run_import(
            &store,
            &actor,
            table(),
            &ImportOptions {
                dry_run: true,
                ..base.clone()
            },
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(
            dry.summary(),
            "created 2, updated 0, skipped 1, failed 0",
            "{}",
            db.backend
        );
        assert_eq!(
            store
                .records(&actor)
                .query("Leads", &Query::default())
                .await
                .unwrap()
                .count,
            Some(0),
            "a dry run writes nothing"
        );
        let first = run_import(&store, &actor, table(), &base, |_| {}).await.unwrap();
        assert_eq!(
            first.summary(),
            "created 2, updated 0, skipped 1, failed 0",
            "the third row repeats the first (normalised e-mail and phone)"
        );
        // merge fills only empty fields; update overwrites
        let more = "姓,公司,邮箱,手机,线索来源\n李,乙公司改,li@example.cn,13800000002,\n";
        let t = open_csv(
            std::io::Cursor::new(more.as_bytes().to_vec()),
            EncodingChoice::Auto,
            Limits::default(),
        )
        .unwrap();
        let by_mobile = ImportOptions {
            match_fields: vec!["mobile".into()],
            on_duplicate: OnDuplicate::Merge,
            ..base.clone()
        };
        assert_eq!(
            run_import(&store, &actor, t, &by_mobile, |_| {})
                .await
                .unwrap()
                .summary(),
            "created 0, updated 1, skipped 0, failed 0"
        );
        let li = store
            .records(&actor)
            .find_by_label_or_number("Leads", "李")
            .await
            .unwrap();
        let li = store.records(&actor).get("Leads", li[0]).await.unwrap();
        assert_eq!(
            li.values.get("company"),
            Some(&Value::Text("乙公司".into())),
            "merge keeps what was there"
        );
        assert_eq!(
            li.values.get("email"),
            Some(&Value::Email("li@example.cn".into())),
            "merge fills what was empty"
        );
        let t = open_csv(
            std::io::Cursor::new(more.as_bytes().to_vec()),
            EncodingChoice::Auto,
            Limits::default(),
        )
        .unwrap();
        let update = ImportOptions {
            on_duplicate: OnDuplicate::Update,
            ..by_mobile
        };
        run_import(&store, &actor, t, &update, |_| {}).await.unwrap();
        let li = store.records(&actor).get("Leads", li.id).await.unwrap();
        assert_eq!(
            li.values.get("company"),
            Some(&Value::Text("乙公司改".into())),
            "update overwrites"
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_rows_are_reported_with_lines_and_reasons() {
    let db = sable_store::testing::sqlite_db();
    let store = db.store().await;
    let actor = admin(&store).await.actor();
    let csv = "lastname,email,birthday,account_id,assigned_user\n好,ok@example.cn,2024-02-29,,\n坏邮箱,not-an-email,,,\n坏日期,,2023-02-29,,\n无客户,,,不存在的公司,\n无人,,,,查无此人\n,no-name@example.cn,,,\n";
    let table = open_csv(
        std::io::Cursor::new(csv.as_bytes().to_vec()),
        EncodingChoice::Auto,
        Limits::default(),
    )
    .unwrap();
    let opts = ImportOptions {
        module: "Contacts".into(),
        batch: 100,
        ..ImportOptions::default()
    };
    let r = run_import(&store, &actor, table, &opts, |_| {}).await.unwrap();
    assert_eq!(r.summary(), "created 1, updated 0, skipped 0, failed 5");
    let reasons: Vec<(u64, String)> = r
        .rows
        .iter()
        .map(|x| (x.line, x.reason.clone().unwrap_or_default()))
        .collect();
    assert!(reasons[0].0 == 3 && reasons[0].1.contains("email"), "{reasons:?}");
    assert!(
        reasons[1].0 == 4 && reasons[1].1.contains("birthday"),
        "an impossible date is a row error"
    );
    assert!(
        reasons[2].1.contains("不存在的公司"),
        "a reference that names nothing is reported, not guessed"
    );
    assert!(
        reasons[3].1.contains("查无此人"),
        "an unknown owner without a default owner is reported"
    );
    assert!(reasons[4].1.contains("lastname"), "a missing mandatory field");
    assert!(
        r.rows.iter().all(|x| !x.cells.is_empty()),
        "failed rows keep their cells for the fix-and-retry file"
    );
    // Export and import back into a fresh database: the same values
    let mut out = Vec::new();
    export_csv(
        &store,
        &actor,
        "Contacts",
        sable_import::export::Selection {
            filter: Filter::everything(),
            columns: None,
        },
        ExportEncoding::Gb18030,
        &mut out,
    )
    .await
    .unwrap();
    let db2 = sable_store::testing::sqlite_db();
    let store2 = db2.store().await;
    let actor2 = admin(&store2).await.actor();
    let table = open_csv(std::io::Cursor::new(out), EncodingChoice::Auto, Limits::default()).unwrap();
    assert_eq!(table.encoding, "GBK");
    let opts = ImportOptions {
        module: "Contacts".into(),
        default_owner: Some(actor2.user_id()),
        date_order: DateOrder::Ymd,
        batch: 100,
        ..ImportOptions::default()
    };
    let r = run_import(&store2, &actor2, table, &opts, |_| {}).await.unwrap();
    assert_eq!(r.summary(), "created 1, updated 0, skipped 0, failed 0", "{:?}", r.rows);
    let back = all_values(&store2, &actor2, "Contacts", "lastname").await;
    assert_eq!(
        back[0].values.get("birthday"),
        Some(&Value::Date(jiff::civil::Date::new(2024, 2, 29).unwrap()))
    );
    assert_eq!(back[0].values.get("contact_no"), Some(&Value::Text("CON1".into())));
    for s in [store, store2] {
        s.close().await;
    }
    db.cleanup().await;
    db2.cleanup().await;
}

#[tokio::test]
async fn unknown_columns_become_fields_and_unknown_values_join_picklists_on_request() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        let csv = "lastname,wechat,leadsource\n王,wx_wang,微信\n李,,百度推广\n";
        let table = || {
            open_csv(
                std::io::Cursor::new(csv.as_bytes().to_vec()),
                EncodingChoice::Auto,
                Limits::default(),
            )
            .unwrap()
        };
        let opts = ImportOptions {
            module: "Leads".into(),
            batch: 100,
            ..ImportOptions::default()
        };
        // As the file is, the unknown source values fail and the wechat column is reported.
        let r = run_import(
            &store,
            &actor,
            table(),
            &ImportOptions {
                dry_run: true,
                ..opts.clone()
            },
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(r.failed, 2, "{}", db.backend);
        assert_eq!(r.unmapped_with_data, vec!["wechat".to_string()]);
        // On request: a field for the column, values for the picklist.
        let mut file = MappingFile::default();
        let created =
            sable_import::prepare::create_fields_for_unmapped(&store, &actor, "Leads", &table().headers, &mut file)
                .await
                .unwrap();
        assert_eq!(created, vec!["cf_wechat".to_string()]);
        let added = sable_import::prepare::add_missing_picklist_values(&store, &actor, "Leads", table(), &file)
            .await
            .unwrap();
        assert_eq!(added.len(), 2);
        let r = run_import(
            &store,
            &actor,
            table(),
            &ImportOptions {
                mapping: Some(file),
                ..opts
            },
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(r.summary(), "created 2, updated 0, skipped 0, failed 0", "{:?}", r.rows);
        let wang = store
            .records(&actor)
            .find_by_label_or_number("Leads", "王")
            .await
            .unwrap();
        let wang = store.records(&actor).get("Leads", wang[0]).await.unwrap();
        assert_eq!(wang.values.get("cf_wechat"), Some(&Value::Text("wx_wang".into())));
        assert_eq!(wang.values.get("leadsource"), Some(&Value::Text("微信".into())));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn duplicates_across_batches_are_caught_as_admin_and_for_another_owner() {
    for db in all_backends().await {
        let store = db.store().await;
        let admin_user = admin(&store).await;
        let admin_actor = admin_user.actor();
        let clerk = users::create_user(
            &store,
            &admin_actor,
            &NewUser {
                user_name: "clerk".into(),
                password: "clerk-password-1".into(),
                first_name: None,
                last_name: "Clerk".into(),
                email1: None,
                is_admin: false,
                language: None,
                time_zone: None,
            },
        )
        .await
        .unwrap()
        .actor();
        // With two rows per batch, each repeat comes one or two batches after its original.
        let csv = |tag: &str| {
            format!(
                "lastname,email\n{tag}甲,a@{tag}.cn\n{tag}乙,b@{tag}.cn\n{tag}丙,c@{tag}.cn\n{tag}丁,A@{tag}.CN\n{tag}戊,d@{tag}.cn\n{tag}己,b@{tag}.cn\n"
            )
        };
        let table = |text: String| {
            open_csv(
                std::io::Cursor::new(text.into_bytes()),
                EncodingChoice::Auto,
                Limits::default(),
            )
            .unwrap()
        };
        let by_email = ImportOptions {
            module: "Leads".into(),
            match_fields: vec!["email".into()],
            batch: 2,
            ..ImportOptions::default()
        };
        // An administrator, then a user importing records it will not see (Leads are private).
        for (who, actor, owner) in [("admin", &admin_actor, admin_user.id), ("clerk", &clerk, admin_user.id)] {
            let opts = ImportOptions {
                default_owner: Some(owner),
                ..by_email.clone()
            };
            let r = run_import(&store, actor, table(csv(who)), &opts, |_| {}).await.unwrap();
            assert_eq!(
                r.summary(),
                "created 4, updated 0, skipped 2, failed 0",
                "{who} on {}: {:?}",
                db.backend,
                r.rows
            );
            assert_eq!(
                r.rows.iter().map(|row| row.line).collect::<Vec<_>>(),
                vec![5, 7],
                "{who}"
            );
        }
        // Names compare case-folded, in the file and in the database alike.
        let by_name = ImportOptions {
            module: "Leads".into(),
            match_fields: vec!["lastname".into()],
            default_owner: Some(admin_user.id),
            batch: 1,
            ..ImportOptions::default()
        };
        let r = run_import(
            &store,
            &admin_actor,
            table("lastname\nAcme\nOther\nACME\n".into()),
            &by_name,
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(r.summary(), "created 2, updated 0, skipped 1, failed 0", "{:?}", r.rows);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_dry_run_resolves_parents_later_in_the_file_as_the_real_run_does() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        // A subsidiary before its parent, a parent named by a row before it, and one
        // parent that never turns up (a warning, not a failure, in both runs).
        let csv = "accountname,account_id\n子公司,母公司\n母公司,\n孙公司,子公司\n孤儿公司,不存在\n";
        let table = || {
            open_csv(
                std::io::Cursor::new(csv.as_bytes().to_vec()),
                EncodingChoice::Auto,
                Limits::default(),
            )
            .unwrap()
        };
        let opts = ImportOptions {
            module: "Accounts".into(),
            batch: 2,
            ..ImportOptions::default()
        };
        let dry = run_import(
            &store,
            &actor,
            table(),
            &ImportOptions {
                dry_run: true,
                ..opts.clone()
            },
            |_| {},
        )
        .await
        .unwrap();
        let real = run_import(&store, &actor, table(), &opts, |_| {}).await.unwrap();
        assert_eq!(
            dry.summary(),
            "created 4, updated 0, skipped 0, failed 0",
            "{}: {:?}",
            db.backend,
            dry.rows
        );
        assert_eq!(dry.summary(), real.summary());
        assert_eq!(dry.warnings, real.warnings);
        assert_eq!(real.warnings.len(), 1, "{:?}", real.warnings);
        let svc = store.records(&actor);
        let child = svc.find_by_label_or_number("Accounts", "子公司").await.unwrap()[0];
        let parent = svc.find_by_label_or_number("Accounts", "母公司").await.unwrap()[0];
        assert_eq!(
            svc.get("Accounts", child).await.unwrap().values.get("account_id"),
            Some(&Value::Id(parent))
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn exported_records_import_back_unchanged() {
    use sable_core::Labels;
    use sable_core::registry::{NewField, NewPicklistValue};
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        let field = |name: &str, field_type: &str, values: Vec<NewPicklistValue>| NewField {
            name: name.into(),
            field_type: field_type.into(),
            label: Labels::new(name, name),
            block: None,
            mandatory: false,
            unique: false,
            default: None,
            values,
            targets: Vec::new(),
            max_length: None,
            scale: None,
            searchable: false,
            help: None,
            prefix: None,
        };
        let channels = ["微信", "抖音", "Web"]
            .map(|v| NewPicklistValue::Plain(v.into()))
            .to_vec();
        for f in [
            field("cf_channels", "multipicklist", channels),
            field("cf_meeting", "datetime", Vec::new()),
        ] {
            sable_store::meta_store::add_custom_field(&store, &actor, "Opportunities", &f)
                .await
                .unwrap();
        }
        let svc = store.records(&actor);
        let account = svc
            .create(
                "Accounts",
                &serde_json::json!({"accountname": "甲公司"})
                    .as_object()
                    .unwrap()
                    .clone(),
            )
            .await
            .unwrap();
        for (name, stage, channels, meeting) in [
            ("大单", "Prospecting", "微信;抖音", "2024-03-05 10:30:00"),
            ("小单", "Closed Won", "Web", "2023-12-31 23:59:59"),
        ] {
            let input = serde_json::json!({
                "potentialname": name,
                "amount": "12345.67",
                "related_to": account.id,
                "closingdate": "2024-06-30",
                "sales_stage": stage,
                "cf_channels": channels,
                "cf_meeting": meeting,
                "assigned_user_id": actor.user_id(),
            });
            svc.create("Opportunities", input.as_object().unwrap()).await.unwrap();
        }
        let before = all_values(&store, &actor, "Opportunities", "id").await;
        let mut out = Vec::new();
        export_csv(
            &store,
            &actor,
            "Opportunities",
            sable_import::export::Selection {
                filter: Filter::everything(),
                columns: None,
            },
            ExportEncoding::Utf8Bom,
            &mut out,
        )
        .await
        .unwrap();
        let table = open_csv(std::io::Cursor::new(out), EncodingChoice::Auto, Limits::default()).unwrap();
        let opts = ImportOptions {
            module: "Opportunities".into(),
            match_fields: vec!["potential_no".into()],
            on_duplicate: OnDuplicate::Update,
            batch: 100,
            ..ImportOptions::default()
        };
        let r = run_import(&store, &actor, table, &opts, |_| {}).await.unwrap();
        assert_eq!(
            r.summary(),
            "created 0, updated 2, skipped 0, failed 0",
            "{}: {:?}",
            db.backend,
            r.rows
        );
        // Only what the system keeps itself (modified time, source, the computed forecast,
        // the follow-up count) is not read back.
        let mut kept_by_the_system = r.unmapped_with_data.clone();
        kept_by_the_system.sort();
        assert!(
            kept_by_the_system
                .iter()
                .all(|c| ["修改时间", "来源", "预测金额", "跟进次数"].contains(&c.as_str())),
            "{:?}",
            r.unmapped_with_data
        );
        let after = all_values(&store, &actor, "Opportunities", "id").await;
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            for (name, value) in &b.values {
                if name == "modifiedtime" || name == "modifiedby" {
                    continue;
                }
                assert_eq!(a.values.get(name), Some(value), "{name} changed on {}", db.backend);
            }
        }
        assert_eq!(
            after[0].values.get("cf_meeting"),
            Some(&Value::DateTime(
                sable_core::parse::parse_datetime("2024-03-05 10:30:00", actor.tz()).unwrap()
            ))
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn missing_parents_are_created_on_request_when_a_name_is_enough() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        let csv = "lastname,account_id\n张,新公司\n李,新公司\n王,\n";
        let table = || {
            open_csv(
                std::io::Cursor::new(csv.as_bytes().to_vec()),
                EncodingChoice::Auto,
                Limits::default(),
            )
            .unwrap()
        };
        let plain = ImportOptions {
            module: "Contacts".into(),
            batch: 100,
            ..ImportOptions::default()
        };
        let opts = ImportOptions {
            create_missing_parents: true,
            ..plain.clone()
        };
        let accounts = |store: &Store| {
            let store = store.clone();
            let actor = actor.clone();
            async move {
                store
                    .records(&actor)
                    .find_by_label_or_number("Accounts", "新公司")
                    .await
                    .unwrap()
            }
        };
        // Without the option the rows are reported, not guessed.
        let r = run_import(
            &store,
            &actor,
            table(),
            &ImportOptions {
                dry_run: true,
                ..plain.clone()
            },
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(
            r.summary(),
            "created 1, updated 0, skipped 0, failed 2",
            "{}",
            db.backend
        );
        // A dry run says what it would create, and creates nothing.
        let dry = run_import(
            &store,
            &actor,
            table(),
            &ImportOptions {
                dry_run: true,
                ..opts.clone()
            },
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(
            dry.summary(),
            "created 3, updated 0, skipped 0, failed 0",
            "{:?}",
            dry.rows
        );
        assert!(accounts(&store).await.is_empty());
        let r = run_import(&store, &actor, table(), &opts, |_| {}).await.unwrap();
        assert_eq!(r.summary(), dry.summary());
        let made = accounts(&store).await;
        assert_eq!(made.len(), 1, "one organization for both rows");
        let notes: Vec<(u64, Option<String>)> = r.rows.iter().map(|x| (x.line, x.note.clone())).collect();
        assert_eq!(notes.len(), 1, "the row that made it says so: {notes:?}");
        assert_eq!(notes[0].0, 2);
        assert!(
            notes[0]
                .1
                .as_deref()
                .unwrap_or("")
                .contains("created Accounts `新公司`"),
            "{notes:?}"
        );
        let dry_note = dry.rows.iter().find_map(|x| x.note.clone()).unwrap_or_default();
        assert!(dry_note.contains("would create Accounts"), "{dry_note}");
        let svc = store.records(&actor);
        let li = svc.find_by_label_or_number("Contacts", "李").await.unwrap()[0];
        assert_eq!(
            svc.get("Contacts", li).await.unwrap().values.get("account_id"),
            Some(&Value::Id(made[0]))
        );
        // Undoing the import removes the organization it made as well as the contacts.
        let job = new_job(&store, &actor, "Contacts").await;
        end_job(&store, job, "done", &r.journal).await;
        sable_import::jobs::undo(&store, &actor, job).await.unwrap();
        assert!(
            accounts(&store).await.is_empty(),
            "{}: the parent is undone",
            db.backend
        );
        assert!(svc.find_by_label_or_number("Contacts", "李").await.unwrap().is_empty());
        // When the organization needs more than its name, it is not made up.
        let mandatory = sable_core::registry::NewField {
            name: "cf_licence".into(),
            field_type: "text".into(),
            label: sable_core::Labels::new("Licence", "执照"),
            block: None,
            mandatory: true,
            unique: false,
            default: None,
            values: Vec::new(),
            targets: Vec::new(),
            max_length: None,
            scale: None,
            searchable: false,
            help: None,
            prefix: None,
        };
        sable_store::meta_store::add_custom_field(&store, &actor, "Accounts", &mandatory)
            .await
            .unwrap();
        let other = open_csv(
            std::io::Cursor::new("lastname,account_id\n赵,另一家\n".as_bytes().to_vec()),
            EncodingChoice::Auto,
            Limits::default(),
        )
        .unwrap();
        let r = run_import(&store, &actor, other, &opts, |_| {}).await.unwrap();
        assert_eq!(r.failed, 1);
        assert!(
            r.rows[0]
                .reason
                .as_deref()
                .unwrap_or("")
                .contains("cannot be made from the name alone"),
            "{:?}",
            r.rows
        );
        store.close().await;
        db.cleanup().await;
    }
}

async fn import_text(store: &Store, actor: &Actor, module: &str, csv: &str, opts: ImportOptions) -> ImportReport {
    let table = open_csv(
        std::io::Cursor::new(csv.as_bytes().to_vec()),
        EncodingChoice::Auto,
        Limits::default(),
    )
    .unwrap();
    let opts = ImportOptions {
        module: module.into(),
        ..opts
    };
    run_import(store, actor, table, &opts, |_| {}).await.unwrap()
}

/// A new import job for `module`, as the API and the CLI record one.
async fn new_job(store: &Store, actor: &Actor, module: &str) -> i64 {
    sable_store::imports::create_job(store, actor, module, "import.csv", &serde_json::json!({}))
        .await
        .unwrap()
}

/// Ends a job with `status`, adding what is left of its journal.
async fn end_job(store: &Store, job: i64, status: &str, journal: &[sable_store::imports::JournalEntry]) {
    sable_store::imports::finish_job(
        store,
        job,
        status,
        sable_store::imports::Counts::default(),
        None,
        None,
        journal,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn bare_numbers_are_not_dates_and_the_digit_order_is_detected() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        // `2024` and `12` are refused, naming the cell; a CSV serial in range is a date.
        let r = import_text(
            &store,
            &actor,
            "Contacts",
            "lastname,birthday\n甲,2024\n乙,12\n丙,45356\n",
            ImportOptions::default(),
        )
        .await;
        assert_eq!(r.summary(), "created 1, updated 0, skipped 0, failed 2", "{:?}", r.rows);
        let reason = r.rows[0].reason.clone().unwrap_or_default();
        assert!(
            reason.contains("column `birthday`") && reason.contains("`2024`"),
            "{reason}"
        );
        let birthday = |name: &'static str| {
            let store = store.clone();
            let actor = actor.clone();
            async move {
                let svc = store.records(&actor);
                let id = svc.find_by_label_or_number("Contacts", name).await.unwrap()[0];
                svc.get("Contacts", id).await.unwrap().values.get("birthday").cloned()
            }
        };
        let date = |y, m, d| Some(Value::Date(jiff::civil::Date::new(y, m, d).unwrap()));
        assert_eq!(birthday("丙").await, date(2024, 3, 5));
        // In a spreadsheet, a number cell is an Excel serial whatever its value; a text cell
        // holding a bare number follows the CSV rule.
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write_string(0, 0, "lastname").unwrap();
        sheet.write_string(0, 1, "birthday").unwrap();
        for (row, name) in [(1, "表一"), (2, "表二"), (3, "表三")] {
            sheet.write_string(row, 0, name).unwrap();
        }
        sheet.write_number(1, 1, 45356).unwrap();
        sheet.write_number(2, 1, 12).unwrap();
        sheet.write_string(3, 1, "2024").unwrap();
        let table = sable_import::table::open_xlsx(workbook.save_to_buffer().unwrap(), Limits::default()).unwrap();
        let opts = ImportOptions {
            module: "Contacts".into(),
            ..ImportOptions::default()
        };
        let r = run_import(&store, &actor, table, &opts, |_| {}).await.unwrap();
        assert_eq!(r.summary(), "created 2, updated 0, skipped 0, failed 1", "{:?}", r.rows);
        assert_eq!(r.rows[0].line, 4, "the text cell");
        assert_eq!(birthday("表一").await, date(2024, 3, 5));
        assert_eq!(birthday("表二").await, date(1900, 1, 11));
        // One day over 12 decides day first for the whole column.
        let r = import_text(
            &store,
            &actor,
            "Contacts",
            "lastname,birthday\n丁,05/03/2024\n戊,25/12/2023\n",
            ImportOptions::default(),
        )
        .await;
        assert_eq!(r.summary(), "created 2, updated 0, skipped 0, failed 0", "{:?}", r.rows);
        assert_eq!(r.date_order.as_deref(), Some("dmy (detected)"));
        assert_eq!(birthday("丁").await, date(2024, 3, 5));
        // …and a month over 12 month first.
        let r = import_text(
            &store,
            &actor,
            "Contacts",
            "lastname,birthday\n己,03/05/2024\n庚,12/25/2023\n",
            ImportOptions::default(),
        )
        .await;
        assert_eq!(r.date_order.as_deref(), Some("mdy (detected)"));
        assert_eq!(birthday("己").await, date(2024, 3, 5));
        // Undecided: the default (year first) is kept and said; a chosen order is obeyed.
        let csv = "lastname,birthday\n辛,05/03/2024\n";
        let r = import_text(&store, &actor, "Contacts", csv, ImportOptions::default()).await;
        assert!(
            r.date_order.as_deref().unwrap_or("").starts_with("ymd (default"),
            "{:?}",
            r.date_order
        );
        assert!(r.warnings.iter().any(|w| w.contains("05/03/2024")), "{:?}", r.warnings);
        assert_eq!(r.failed, 1);
        let r = import_text(
            &store,
            &actor,
            "Contacts",
            csv,
            ImportOptions {
                date_order: DateOrder::Dmy,
                ..ImportOptions::default()
            },
        )
        .await;
        assert_eq!((r.created, r.date_order.as_deref()), (1, Some("dmy (chosen)")));
        assert_eq!(birthday("辛").await, date(2024, 3, 5));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn name_and_phone_match_normalised_whichever_comes_first() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        let r = import_text(
            &store,
            &actor,
            "Accounts",
            "accountname,phone\nAcme Ltd,13800138000\nNorth Wind,010-12345678\n",
            ImportOptions::default(),
        )
        .await;
        assert_eq!(r.created, 2);
        let opts = |fields: &[&str]| ImportOptions {
            match_fields: fields.iter().map(|f| f.to_string()).collect(),
            on_duplicate: OnDuplicate::Skip,
            ..ImportOptions::default()
        };
        // Name first: the case and the way the phone is written differ, still the same.
        let r = import_text(
            &store,
            &actor,
            "Accounts",
            "accountname,phone\nACME Ltd,+86 138-0013-8000\nAcme Ltd,13900139000\n",
            opts(&["accountname", "phone"]),
        )
        .await;
        assert_eq!(
            r.summary(),
            "created 1, updated 0, skipped 1, failed 0",
            "{}: {:?}",
            db.backend,
            r.rows
        );
        assert_eq!(r.rows[0].line, 2);
        // A text field alone compares trimmed and case-folded too.
        let r = import_text(
            &store,
            &actor,
            "Accounts",
            "accountname,phone\n  north WIND ,\n",
            opts(&["accountname"]),
        )
        .await;
        assert_eq!(r.summary(), "created 0, updated 0, skipped 1, failed 0", "{:?}", r.rows);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_repeat_in_the_same_batch_updates_or_merges_as_in_a_later_batch() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        for how in [OnDuplicate::Update, OnDuplicate::Merge] {
            let mut outcomes = Vec::new();
            for batch in [1, 1000] {
                let tag = format!("{how:?}{batch}").to_lowercase();
                let csv = format!(
                    "lastname,company,email,phone\n张,甲公司,{tag}@x.cn,\n张三,,{tag}@X.cn,13800138000\n李,乙公司,{tag}-b@x.cn,\n"
                );
                let opts = ImportOptions {
                    match_fields: vec!["email".into()],
                    on_duplicate: how,
                    batch,
                    ..ImportOptions::default()
                };
                let dry = import_text(
                    &store,
                    &actor,
                    "Leads",
                    &csv,
                    ImportOptions {
                        dry_run: true,
                        ..opts.clone()
                    },
                )
                .await;
                let r = import_text(&store, &actor, "Leads", &csv, opts).await;
                assert_eq!(
                    r.summary(),
                    "created 2, updated 1, skipped 0, failed 0",
                    "{how:?} {batch}: {:?}",
                    r.rows
                );
                assert_eq!(dry.summary(), r.summary(), "{how:?} {batch}: the dry run agrees");
                let filter = Filter::from_json(
                    &serde_json::json!({"field": "email", "op": "eq", "value": format!("{tag}@x.cn")}),
                )
                .unwrap();
                let page = store
                    .records(&actor)
                    .query(
                        "Leads",
                        &Query {
                            filter,
                            ..Query::default()
                        },
                    )
                    .await
                    .unwrap();
                assert_eq!(page.items.len(), 1, "one record for both rows");
                let lead = &page.items[0];
                assert_eq!(r.rows[0].record_id, Some(lead.id), "the updated row names the record");
                let text = |f: &str| lead.values.get(f).map(|v| format!("{v:?}"));
                outcomes.push((text("lastname"), text("company"), text("phone")));
            }
            assert_eq!(outcomes[0], outcomes[1], "{how:?}: batch size 1 and 1000 agree");
            let expected_name = if how == OnDuplicate::Update { "张三" } else { "张" };
            assert_eq!(
                outcomes[0].0,
                Some(format!("{:?}", Value::Text(expected_name.into()))),
                "{how:?}: {outcomes:?}"
            );
            assert!(
                outcomes[0].1.as_deref().unwrap_or("").contains("甲公司"),
                "{outcomes:?}"
            );
            assert!(outcomes[0].2.as_deref().unwrap_or("").contains("138"), "{outcomes:?}");
        }
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_ambiguous_reference_exports_as_the_record_number_and_imports_back() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        let r = import_text(
            &store,
            &actor,
            "Accounts",
            "accountname\n同名公司\n同名公司\n独家公司\n",
            ImportOptions::default(),
        )
        .await;
        assert_eq!(r.created, 3);
        let accounts = all_values(&store, &actor, "Accounts", "id").await;
        let number = |i: usize| match accounts[i].values.get("account_no") {
            Some(Value::Text(n)) => n.clone(),
            other => panic!("{other:?}"),
        };
        let csv = format!("lastname,account_id\n甲,{}\n乙,{}\n丙,独家公司\n", number(0), number(1));
        let r = import_text(&store, &actor, "Contacts", &csv, ImportOptions::default()).await;
        assert_eq!(r.summary(), "created 3, updated 0, skipped 0, failed 0", "{:?}", r.rows);
        let mut out = Vec::new();
        export_csv(
            &store,
            &actor,
            "Contacts",
            sable_import::export::Selection {
                filter: Filter::everything(),
                columns: Some(vec!["lastname".into(), "account_id".into()]),
            },
            ExportEncoding::Utf8,
            &mut out,
        )
        .await
        .unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains(&format!("甲,{}", number(0))), "{text}");
        assert!(text.contains(&format!("乙,{}", number(1))), "{text}");
        assert!(text.contains("丙,独家公司"), "a label naming one record stays: {text}");
        // Imported back, each contact points at the same organization as before.
        let table = open_csv(std::io::Cursor::new(out), EncodingChoice::Auto, Limits::default()).unwrap();
        let opts = ImportOptions {
            module: "Contacts".into(),
            ..ImportOptions::default()
        };
        let r = run_import(&store, &actor, table, &opts, |_| {}).await.unwrap();
        assert_eq!(r.summary(), "created 3, updated 0, skipped 0, failed 0", "{:?}", r.rows);
        let contacts = all_values(&store, &actor, "Contacts", "id").await;
        for (a, b) in contacts[..3].iter().zip(&contacts[3..]) {
            assert_eq!(a.values.get("account_id"), b.values.get("account_id"), "{}", db.backend);
        }
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bom_and_gbk_slices_add_the_unknown_lead_sources_on_request() {
    let Some(data) = shared_data() else { return };
    let zh = data.join("synthetic_zh_crm");
    // The mapping without its value map for the three sources the list lacks.
    let mut map = mapping("synthetic_zh_leads.json");
    map.values.remove("leadsource");
    let mut stored = Vec::new();
    for file in ["leads_zh_500_utf8_bom.csv", "leads_zh_500_gbk.csv"] {
        for db in all_backends().await {
            let store = db.store().await;
            let actor = admin(&store).await.actor();
            let path = zh.join(file);
            let opts = ImportOptions {
                module: "Leads".into(),
                mapping: Some(map.clone()),
                default_owner: Some(actor.user_id()),
                ..ImportOptions::default()
            };
            let r = sable_import::prepare::import_with_extras(
                &store,
                &actor,
                || open_file(&path, EncodingChoice::Auto, Limits::default()),
                &opts,
                sable_import::prepare::Extras {
                    add_picklist_values: true,
                    ..Default::default()
                },
                |_| {},
            )
            .await
            .unwrap();
            assert_eq!(
                r.summary(),
                "created 500, updated 0, skipped 0, failed 0",
                "{file} on {}",
                db.backend
            );
            let added: Vec<&str> = r.added_picklist_values.iter().map(|(_, v)| v.as_str()).collect();
            assert_eq!(added, ["微信", "百度推广", "抖音"], "{file}: in file order");
            assert!(r.added_picklist_values.iter().all(|(f, _)| f == "leadsource"));
            let mut counts = std::collections::BTreeMap::new();
            for lead in all_values(&store, &actor, "Leads", "lead_no").await {
                if let Some(Value::Text(source)) = lead.values.get("leadsource") {
                    *counts.entry(source.clone()).or_insert(0) += 1;
                }
            }
            assert_eq!(
                (counts.get("微信"), counts.get("百度推广"), counts.get("抖音")),
                (Some(&77), Some(&37), Some(&35)),
                "{file} on {}: {counts:?}",
                db.backend
            );
            stored.push(counts);
            store.close().await;
            db.cleanup().await;
        }
    }
    assert!(
        stored.windows(2).all(|w| w[0] == w[1]),
        "both files, both databases: {stored:?}"
    );
}

#[tokio::test]
async fn a_jobs_undo_journal_is_written_batch_by_batch_and_undoes_the_import() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin(&store).await.actor();
        // An existing lead that the file's second row overwrites.
        let before = import_text(
            &store,
            &actor,
            "Leads",
            "lastname,company,email\n旧,旧公司,journal-old@x.cn\n",
            ImportOptions::default(),
        )
        .await;
        assert_eq!(before.summary(), "created 1, updated 0, skipped 0, failed 0");
        let job = new_job(&store, &actor, "Leads").await;
        let csv = "lastname,company,email\n甲,甲公司,journal-a@x.cn\n新,新公司,JOURNAL-OLD@x.cn\n乙,乙公司,journal-b@x.cn\n丙,丙公司,journal-c@x.cn\n丁,丁公司,journal-d@x.cn\n";
        let r = import_text(
            &store,
            &actor,
            "Leads",
            csv,
            ImportOptions {
                match_fields: vec!["email".into()],
                on_duplicate: OnDuplicate::Update,
                batch: 2,
                job_id: Some(job),
                ..ImportOptions::default()
            },
        )
        .await;
        assert_eq!(
            r.summary(),
            "created 4, updated 1, skipped 0, failed 0",
            "{}",
            db.backend
        );
        assert!(r.journal.is_empty(), "{}: nothing is held back in memory", db.backend);
        // The journal is in the database before the job is finished.
        let journal = sable_store::imports::journal(&store, job).await.unwrap();
        let mut actions: Vec<&str> = journal.iter().map(|e| e.action.as_str()).collect();
        actions.sort_unstable();
        assert_eq!(
            actions,
            ["created", "created", "created", "created", "updated"],
            "{}",
            db.backend
        );
        end_job(&store, job, "done", &r.journal).await;
        sable_import::jobs::undo(&store, &actor, job).await.unwrap();
        let svc = store.records(&actor);
        for name in ["甲", "乙", "丙", "丁", "新"] {
            assert!(
                svc.find_by_label_or_number("Leads", name).await.unwrap().is_empty(),
                "{}: {name} is undone",
                db.backend
            );
        }
        let old = svc.find_by_label_or_number("Leads", "旧").await.unwrap();
        assert_eq!(old.len(), 1, "{}: the overwritten lead is back", db.backend);
        assert_eq!(
            svc.get("Leads", old[0]).await.unwrap().values.get("company"),
            Some(&Value::Text("旧公司".into())),
            "{}",
            db.backend
        );
        // A dry run with a job writes no journal.
        let dry_job = new_job(&store, &actor, "Leads").await;
        let dry = import_text(
            &store,
            &actor,
            "Leads",
            csv,
            ImportOptions {
                batch: 2,
                dry_run: true,
                job_id: Some(dry_job),
                ..ImportOptions::default()
            },
        )
        .await;
        assert_eq!(dry.summary(), "created 5, updated 0, skipped 0, failed 0");
        assert!(sable_store::imports::journal(&store, dry_job).await.unwrap().is_empty());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_batch_of_only_bad_rows_does_not_end_the_import_and_a_failed_job_can_be_undone() {
    let db = sable_store::testing::sqlite_db();
    let store = db.store().await;
    let actor = admin(&store).await.actor();
    // With two rows per batch, the first two batches hold only rows that fail before they
    // reach the database (an impossible date, an unknown owner).
    let csv = "lastname,birthday,assigned_user\n甲,2023-02-29,\n乙,,查无此人\n丙,2023-02-30,\n丁,,无名氏\n戊,2024-02-29,\n己,,\n";
    let job = new_job(&store, &actor, "Contacts").await;
    let r = import_text(
        &store,
        &actor,
        "Contacts",
        csv,
        ImportOptions {
            batch: 2,
            job_id: Some(job),
            ..ImportOptions::default()
        },
    )
    .await;
    assert_eq!(r.summary(), "created 2, updated 0, skipped 0, failed 4", "{:?}", r.rows);
    let svc = store.records(&actor);
    assert_eq!(svc.find_by_label_or_number("Contacts", "己").await.unwrap().len(), 1);
    // A job that ended in a failure keeps the journal of what it committed, and undoes it.
    end_job(&store, job, "failed", &r.journal).await;
    assert!(sable_import::jobs::undoable("failed") && sable_import::jobs::undoable("interrupted"));
    assert!(!sable_import::jobs::undoable("running") && !sable_import::jobs::undoable("undone"));
    let undone = sable_import::jobs::undo(&store, &actor, job).await.unwrap();
    assert_eq!(undone.status, "undone");
    for name in ["戊", "己"] {
        assert!(
            svc.find_by_label_or_number("Contacts", name).await.unwrap().is_empty(),
            "{name}"
        );
    }
    db.cleanup().await;
}
