use sable_core::registry::NewField;
use sable_core::{Filter, Labels};
use sable_store::meta_store::add_custom_field;
use sable_store::testing::all_backends;
use sable_store::{Query, Store};
use serde_json::json;

use crate::helpers::{admin, obj};

#[tokio::test]
async fn custom_fields_are_columns_that_survive_restart() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin();
        let new: NewField = serde_json::from_value(json!({
            "name": "cf_region", "type": "picklist", "label": {"en": "Region", "zh-CN": "区域"},
            "values": ["华北", {"value": "East", "labels": {"en": "East", "zh-CN": "华东"}}], "searchable": true
        }))
        .unwrap();
        add_custom_field(&store, &actor, "Leads", &new).await.unwrap();
        let dup = add_custom_field(&store, &actor, "Leads", &new).await;
        assert!(dup.is_err(), "a field cannot be added twice");
        let score: NewField = serde_json::from_value(
            json!({"name": "cf_score", "type": "decimal", "label": {"en": "Score", "zh-CN": "评分"}, "scale": 1}),
        )
        .unwrap();
        add_custom_field(&store, &actor, "Leads", &score).await.unwrap();
        let svc = store.records(&actor);
        let owner = sable_store::users::ensure_admin(&store, Some("password1"))
            .await
            .unwrap();
        assert!(owner.is_none());
        let admin_user = sable_store::users::find_user(&store, "admin").await.unwrap().unwrap();
        let a = svc.create("Leads", &obj(json!({"lastname": "甲", "cf_region": "华东", "cf_score": "4.5", "assigned_user_id": admin_user.id}))).await.unwrap();
        svc.create(
            "Leads",
            &obj(json!({"lastname": "乙", "cf_region": "华北", "cf_score": "3", "assigned_user_id": admin_user.id})),
        )
        .await
        .unwrap();
        let err = svc
            .create(
                "Leads",
                &obj(json!({"lastname": "丙", "cf_region": "西南", "assigned_user_id": admin_user.id})),
            )
            .await;
        assert!(err.is_err());
        store.close().await;

        // restart: a new store on the same database sees the field, filters and sorts on it
        let store = Store::open(&db.url).await.unwrap();
        let svc = store.records(&actor);
        let query = Query {
            filter: Filter::from_json(&json!({"field": "cf_region", "op": "eq", "value": "East"})).unwrap(),
            ..Query::default()
        };
        let page = svc.query("Leads", &query).await.unwrap();
        assert_eq!(
            page.items.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![a.id],
            "{}",
            db.backend
        );
        let query = Query {
            filter: Filter::from_json(&json!({"field": "cf_score", "op": "gt", "value": "4"})).unwrap(),
            ..Query::default()
        };
        assert_eq!(svc.query("Leads", &query).await.unwrap().count, Some(1));
        assert_eq!(
            svc.search("华东", 10).await.unwrap().len(),
            0,
            "picklist values are stored as values"
        );
        assert_eq!(svc.search("east", 10).await.unwrap().len(), 1);
        let module = store.registry().await.unwrap();
        let field = module.module("Leads").unwrap().field("cf_region").unwrap();
        assert_eq!(field.labels, Labels::new("Region", "区域"));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_custom_fields_are_refused_without_changes() {
    for db in all_backends().await {
        let store = db.store().await;
        for bad in [
            json!({"name": "x; DROP TABLE records", "type": "text", "label": {"en": "X", "zh-CN": "X"}}),
            json!({"name": "lastname", "type": "text", "label": {"en": "X", "zh-CN": "X"}}),
            json!({"name": "cf_a", "type": "spaceship", "label": {"en": "X", "zh-CN": "X"}}),
            json!({"name": "cf_b", "type": "picklist", "label": {"en": "X", "zh-CN": "X"}}),
            json!({"name": "cf_c", "type": "reference", "label": {"en": "X", "zh-CN": "X"}, "targets": ["Nope"]}),
            json!({"name": "cf_d", "type": "text", "label": {"en": "X", "zh-CN": ""}}),
        ] {
            let new: NewField = serde_json::from_value(bad.clone()).unwrap();
            assert!(
                add_custom_field(&store, &admin(), "Leads", &new).await.is_err(),
                "{bad}"
            );
        }
        let non_admin = crate::helpers::sales_user(&store, "nobody").await;
        let ok: NewField =
            serde_json::from_value(json!({"name": "cf_ok", "type": "text", "label": {"en": "X", "zh-CN": "X"}}))
                .unwrap();
        assert!(add_custom_field(&store, &non_admin, "Leads", &ok).await.is_err());
        assert!(
            store
                .registry()
                .await
                .unwrap()
                .module("Leads")
                .unwrap()
                .fields
                .iter()
                .all(|f| !f.custom)
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn owner_and_auto_number_custom_fields() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin();
        let field = |v: serde_json::Value| serde_json::from_value::<NewField>(v).unwrap();
        add_custom_field(
            &store,
            &actor,
            "Accounts",
            &field(
                json!({"name": "cf_support_rep", "type": "owner", "label": {"en": "Support Rep", "zh-CN": "客服代表"}}),
            ),
        )
        .await
        .unwrap();
        let serial = add_custom_field(&store, &actor, "Accounts", &field(json!({"name": "cf_serial", "type": "auto_number", "label": {"en": "Serial", "zh-CN": "序列号"}, "prefix": "KH-"})))
            .await
            .unwrap();
        assert!(serial.readonly && serial.unique, "{serial:?}");
        let bad_prefix = field(
            json!({"name": "cf_bad", "type": "auto_number", "label": {"en": "B", "zh-CN": "B"}, "prefix": "x".repeat(21)}),
        );
        assert!(add_custom_field(&store, &actor, "Accounts", &bad_prefix).await.is_err());

        sable_store::users::ensure_admin(&store, Some("password1"))
            .await
            .unwrap();
        let me = sable_store::users::find_user(&store, "admin").await.unwrap().unwrap();
        let svc = store.records(&actor);
        let a = svc
            .create(
                "Accounts",
                &obj(json!({"accountname": "甲公司", "assigned_user_id": me.id, "cf_support_rep": me.id})),
            )
            .await
            .unwrap();
        let b = svc
            .create(
                "Accounts",
                &obj(json!({"accountname": "乙公司", "assigned_user_id": me.id})),
            )
            .await
            .unwrap();
        let accounts = store.registry().await.unwrap().module("Accounts").unwrap().clone();
        let text = |r: &sable_store::Record, f: &str| r.to_json(&accounts)["fields"][f].clone();
        assert_eq!(text(&a, "cf_serial"), json!("KH-1"), "{}", db.backend);
        assert_eq!(text(&b, "cf_serial"), json!("KH-2"));
        assert_eq!(text(&a, "cf_support_rep"), json!(me.id));
        // the number is the system's to give; an owner must be an active user
        let typed = svc
            .create(
                "Accounts",
                &obj(json!({"accountname": "丙", "assigned_user_id": me.id, "cf_serial": "KH-9"})),
            )
            .await;
        assert!(typed.is_err());
        let nobody = svc
            .create(
                "Accounts",
                &obj(json!({"accountname": "丁", "assigned_user_id": me.id, "cf_support_rep": 999_999})),
            )
            .await;
        assert!(
            matches!(nobody, Err(sable_store::StoreError::Invalid(ref e)) if e.0.contains_key("cf_support_rep")),
            "{nobody:?}"
        );
        // the counter survives a restart and filters find the numbers
        store.close().await;
        let store = Store::open(&db.url).await.unwrap();
        let svc = store.records(&actor);
        let c = svc
            .create(
                "Accounts",
                &obj(json!({"accountname": "戊公司", "assigned_user_id": me.id})),
            )
            .await
            .unwrap();
        assert_eq!(text(&c, "cf_serial"), json!("KH-3"));
        let query = Query {
            filter: Filter::from_json(&json!({"field": "cf_serial", "op": "eq", "value": "KH-2"})).unwrap(),
            ..Query::default()
        };
        let page = svc.query("Accounts", &query).await.unwrap();
        assert_eq!(page.items.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b.id]);
        store.close().await;
        db.cleanup().await;
    }
}

/// Every field type as a custom field: filtered, sorted and (where it holds words) searched,
/// after a restart, on both databases.
#[tokio::test]
async fn every_field_type_as_a_custom_field_filters_sorts_and_searches() {
    use sable_core::meta::FieldType;
    use sable_store::SortKey;
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin();
        let svc = store.records(&actor);
        sable_store::users::ensure_admin(&store, Some("password1"))
            .await
            .unwrap();
        let first = sable_store::users::find_user(&store, "admin").await.unwrap().unwrap();
        let acc_a = svc
            .create(
                "Accounts",
                &obj(json!({"accountname": "甲客户", "assigned_user_id": first.id})),
            )
            .await
            .unwrap();
        let acc_b = svc
            .create(
                "Accounts",
                &obj(json!({"accountname": "乙客户", "assigned_user_id": first.id})),
            )
            .await
            .unwrap();
        let second = crate::helpers::sales_user(&store, "zhaoliu").await;
        // (type, value of lead A, value of lead B, a word of B's value to search for)
        let cases: Vec<(FieldType, serde_json::Value, serde_json::Value, Option<&str>)> = vec![
            (FieldType::Text, json!("alpha 北京"), json!("bravo 上海"), Some("上海")),
            (
                FieldType::Textarea,
                json!("alpha\nline"),
                json!("bravo\nline"),
                Some("bravo"),
            ),
            (FieldType::Integer, json!(-5), json!(12), None),
            (FieldType::Decimal, json!("1.25"), json!("10.5"), None),
            (FieldType::Currency, json!("99.00"), json!("1200.00"), None),
            (FieldType::Percent, json!("5"), json!("50"), None),
            (FieldType::Date, json!("2024-01-31"), json!("2024-02-01"), None),
            (
                FieldType::Datetime,
                json!("2024-01-31T23:00:00Z"),
                json!("2024-02-01T01:00:00Z"),
                None,
            ),
            (FieldType::Time, json!("09:05"), json!("17:30"), None),
            (FieldType::Boolean, json!(false), json!(true), None),
            (
                FieldType::Email,
                json!("alice@example.com"),
                json!("bob@example.com"),
                Some("bob"),
            ),
            (
                FieldType::Phone,
                json!("+86 138 0013 8000"),
                json!("+86 139 0013 9000"),
                None,
            ),
            (
                FieldType::Url,
                json!("https://a.example.com"),
                json!("https://b.example.com"),
                None,
            ),
            (FieldType::Picklist, json!("p1"), json!("p2"), None),
            (FieldType::Multipicklist, json!(["m1"]), json!(["m2", "m3"]), None),
            (FieldType::Reference, json!(acc_a.id), json!(acc_b.id), None),
            (FieldType::Owner, json!(first.id), json!(second.user_id()), None),
            (FieldType::AutoNumber, json!(null), json!(null), None),
            (FieldType::Tags, json!(["vip"]), json!(["wholesale", "重点"]), None),
        ];
        assert_eq!(cases.len(), FieldType::ALL.len(), "every type is covered");
        for (t, ..) in &cases {
            let name = format!("cf_{}", t.as_str());
            let mut def =
                json!({"name": name, "type": t.as_str(), "label": {"en": name, "zh-CN": name}, "searchable": true});
            match t {
                FieldType::Picklist => def["values"] = json!(["p1", "p2"]),
                FieldType::Multipicklist => def["values"] = json!(["m1", "m2", "m3"]),
                FieldType::Reference => def["targets"] = json!(["Accounts"]),
                FieldType::AutoNumber => def["prefix"] = json!("T-"),
                _ => {}
            }
            let new: NewField = serde_json::from_value(def).unwrap();
            add_custom_field(&store, &actor, "Leads", &new)
                .await
                .unwrap_or_else(|e| panic!("{} field: {e}", t.as_str()));
        }
        let mut a = json!({"lastname": "甲", "assigned_user_id": first.id});
        let mut b = json!({"lastname": "乙", "assigned_user_id": first.id});
        for (t, va, vb, _) in &cases {
            if *t != FieldType::AutoNumber {
                a[format!("cf_{}", t.as_str())] = va.clone();
                b[format!("cf_{}", t.as_str())] = vb.clone();
            }
        }
        let a = svc.create("Leads", &obj(a)).await.unwrap();
        let b = svc.create("Leads", &obj(b)).await.unwrap();
        store.close().await;

        let store = Store::open(&db.url).await.unwrap();
        let svc = store.records(&actor);
        let b_read = svc.get("Leads", b.id).await.unwrap();
        for (t, _, vb, word) in &cases {
            let name = format!("cf_{}", t.as_str());
            let field = store
                .registry()
                .await
                .unwrap()
                .module("Leads")
                .unwrap()
                .field(&name)
                .cloned()
                .unwrap();
            let wanted = match t {
                FieldType::AutoNumber => b_read.values.get(&name).map(|v| v.to_json(&field)).unwrap(),
                _ => vb.clone(),
            };
            let (op, value) = if t.is_list() {
                ("in", json!([wanted[0].clone()]))
            } else {
                ("eq", wanted.clone())
            };
            let query = Query {
                filter: Filter::from_json(&json!({"field": name, "op": op, "value": value})).unwrap(),
                ..Query::default()
            };
            let ids: Vec<i64> = svc
                .query("Leads", &query)
                .await
                .unwrap()
                .items
                .iter()
                .map(|r| r.id)
                .collect();
            assert_eq!(ids, vec![b.id], "{}: filter {name} {op} {value}", db.backend);
            for desc in [false, true] {
                let query = Query {
                    sort: vec![SortKey {
                        field: name.clone(),
                        desc,
                    }],
                    ..Query::default()
                };
                let ids: Vec<i64> = svc
                    .query("Leads", &query)
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .map(|r| r.id)
                    .collect();
                let expected = if desc { vec![b.id, a.id] } else { vec![a.id, b.id] };
                assert_eq!(ids, expected, "{}: sort by {name}, desc {desc}", db.backend);
            }
            if let Some(word) = word {
                let hits: Vec<i64> = svc.search(word, 10).await.unwrap().iter().map(|h| h.id).collect();
                assert!(
                    hits.contains(&b.id) && !hits.contains(&a.id),
                    "{}: search {word} → {hits:?}",
                    db.backend
                );
            }
        }
        store.close().await;
        db.cleanup().await;
    }
}

/// A unique field is also guarded by the database: restoring a record whose value another
/// live record took meanwhile is a conflict, not a silent duplicate.
#[tokio::test]
async fn unique_fields_are_guarded_by_the_database() {
    use sable_store::{Conflict, StoreError};
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin();
        let new: NewField = serde_json::from_value(json!({
            "name": "cf_tax_id", "type": "text", "label": {"en": "Tax ID", "zh-CN": "税号"}, "unique": true
        }))
        .unwrap();
        add_custom_field(&store, &actor, "Accounts", &new).await.unwrap();
        sable_store::users::ensure_admin(&store, Some("password1"))
            .await
            .unwrap();
        let owner = sable_store::users::find_user(&store, "admin").await.unwrap().unwrap();
        let svc = store.records(&actor);
        let fields = json!({"accountname": "甲", "cf_tax_id": "91110000X", "assigned_user_id": owner.id});
        let first = svc.create("Accounts", &obj(fields.clone())).await.unwrap();
        assert!(matches!(
            svc.create("Accounts", &obj(fields.clone())).await,
            Err(StoreError::Invalid(_))
        ));
        svc.delete("Accounts", first.id).await.unwrap();
        let second = svc.create("Accounts", &obj(fields)).await.unwrap();
        let restored = svc.restore("Accounts", first.id).await;
        assert!(
            matches!(restored, Err(StoreError::Conflict(Conflict::State(_)))),
            "{}: {restored:?}",
            db.backend
        );
        assert!(svc.get("Accounts", second.id).await.is_ok());
        assert!(svc.get("Accounts", first.id).await.is_err(), "still in the recycle bin");
        store.close().await;
        db.cleanup().await;
    }
}
