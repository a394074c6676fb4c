use sable_store::testing::all_backends;
use sable_store::views::{ViewDefinition, create_view, delete_view, list_views};
use serde_json::json;

use crate::helpers::sales_user;

#[tokio::test]
async fn saved_views_are_private_or_shared_and_checked() {
    for db in all_backends().await {
        let store = db.store().await;
        let a = sales_user(&store, "view.owner").await;
        let b = sales_user(&store, "view.other").await;
        let def = ViewDefinition {
            filter: json!({"all": [{"field": "leadstatus", "op": "eq", "value": "Hot"}, {"field": "createdtime", "op": "eq", "value": {"relative": "this_month"}}]}),
            columns: vec!["lastname".into(), "company".into()],
            sort: Some("lastname".into()),
            desc: false,
        };
        let mine = create_view(&store, &a, "Leads", "热线索", false, &def).await.unwrap();
        let shared = create_view(&store, &a, "Leads", "本月线索", true, &def).await.unwrap();
        assert_eq!(
            list_views(&store, &a, "Leads").await.unwrap().len(),
            2,
            "{}",
            db.backend
        );
        let seen_by_b: Vec<i64> = list_views(&store, &b, "Leads")
            .await
            .unwrap()
            .iter()
            .map(|v| v.id)
            .collect();
        assert_eq!(seen_by_b, vec![shared], "a private view is its owner's only");
        assert_eq!(list_views(&store, &a, "Leads").await.unwrap()[0].definition, def);
        // bad filters, columns and names are refused
        let bad_filter = ViewDefinition {
            filter: json!({"field": "nope", "op": "eq", "value": 1}),
            ..ViewDefinition::default()
        };
        assert!(create_view(&store, &a, "Leads", "x", false, &bad_filter).await.is_err());
        let bad_column = ViewDefinition {
            columns: vec!["nope".into()],
            ..ViewDefinition::default()
        };
        assert!(create_view(&store, &a, "Leads", "x", false, &bad_column).await.is_err());
        assert!(
            create_view(&store, &a, "Leads", "  ", false, &ViewDefinition::default())
                .await
                .is_err()
        );
        // only the owner (or an admin) deletes
        assert!(delete_view(&store, &b, mine).await.is_err());
        delete_view(&store, &a, mine).await.unwrap();
        assert_eq!(list_views(&store, &a, "Leads").await.unwrap().len(), 1);
        store.close().await;
        db.cleanup().await;
    }
}
