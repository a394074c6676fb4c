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
