//! Several `sable serve` processes share one database: each sees the others' writes and
//! metadata changes (a custom field) without a restart.

use sable_core::Filter;
use sable_core::registry::NewField;
use sable_store::testing::all_backends;
use sable_store::{Query, Store};
use serde_json::json;

use crate::helpers::{admin, obj};

#[tokio::test]
async fn two_nodes_share_records_and_metadata() {
    for db in all_backends().await {
        let node_a = db.store().await;
        let node_b = Store::open(&db.url).await.unwrap();
        let actor = admin();
        let owner = sable_store::users::ensure_admin(&node_a, Some("password1"))
            .await
            .unwrap();
        assert!(owner.is_none());
        let admin_id = sable_store::users::find_user(&node_b, "admin")
            .await
            .unwrap()
            .unwrap()
            .id;
        let new: NewField = serde_json::from_value(
            json!({"name": "cf_level", "type": "integer", "label": {"en": "Level", "zh-CN": "级别"}}),
        )
        .unwrap();
        sable_store::meta_store::add_custom_field(&node_a, &actor, "Accounts", &new)
            .await
            .unwrap();
        // node B notices within its check interval
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let rec = node_b
            .records(&actor)
            .create(
                "Accounts",
                &obj(json!({"accountname": "共享节点公司", "cf_level": 3, "assigned_user_id": admin_id})),
            )
            .await
            .unwrap_or_else(|e| panic!("{}: node B does not know the new field: {e}", db.backend));
        let query = Query {
            filter: Filter::from_json(&json!({"field": "cf_level", "op": "ge", "value": 2})).unwrap(),
            ..Query::default()
        };
        let page = node_a.records(&actor).query("Accounts", &query).await.unwrap();
        assert_eq!(page.items.iter().map(|r| r.id).collect::<Vec<_>>(), vec![rec.id]);
        // record numbers stay unique across nodes
        let other = node_a
            .records(&actor)
            .create(
                "Accounts",
                &obj(json!({"accountname": "另一家", "assigned_user_id": admin_id})),
            )
            .await
            .unwrap();
        assert_ne!(other.values.get("account_no"), rec.values.get("account_no"));
        node_a.close().await;
        node_b.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn two_nodes_starting_at_once_make_one_administrator() {
    for db in all_backends().await {
        let node_a = db.store().await;
        let node_b = Store::open(&db.url).await.unwrap();
        let (a, b) = tokio::join!(
            sable_store::users::ensure_admin(&node_a, Some("password1")),
            sable_store::users::ensure_admin(&node_b, Some("password1")),
        );
        assert!(a.is_ok() && b.is_ok(), "{}: {a:?} {b:?}", db.backend);
        let admins = sable_store::users::list_users(&node_a)
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.is_admin)
            .count();
        assert_eq!(admins, 1);
        node_a.close().await;
        node_b.close().await;
        db.cleanup().await;
    }
}
