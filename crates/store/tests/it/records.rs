use sable_store::testing::all_backends;
use sable_store::{Conflict, StoreError};
use serde_json::json;

use crate::helpers::{obj, sales_user};

#[tokio::test]
async fn create_read_update_history() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "zhangwei").await;
        let svc = store.records(&me);
        let acc = svc
            .create(
                "Accounts",
                &obj(json!({"accountname": "北京华为科技有限公司 𠮷", "industry": "科技", "phone": "010-12345678"})),
            )
            .await
            .unwrap();
        assert_eq!(acc.label, "北京华为科技有限公司 𠮷", "{}", db.backend);
        let wire = acc.to_json(store.registry().await.unwrap().module("Accounts").unwrap());
        assert_eq!(wire["fields"]["industry"], "Technology");
        assert_eq!(wire["fields"]["account_no"], "ACC1");
        assert_eq!(wire["fields"]["assigned_user_id"], me.user_id());
        assert_eq!(wire["labels"]["assigned_user_id"], "zhangwei");

        let opp = svc
            .create("Opportunities", &obj(json!({"potentialname": "服务器采购", "related_to": acc.id, "amount": "120000.5", "closingdate": "2025-06-30"})))
            .await
            .unwrap();
        let wire = opp.to_json(store.registry().await.unwrap().module("Opportunities").unwrap());
        assert_eq!(wire["fields"]["amount"], "120000.50");
        assert_eq!(wire["fields"]["sales_stage"], "Prospecting");
        assert_eq!(wire["labels"]["related_to"], "北京华为科技有限公司 𠮷");
        assert!(acc.id != opp.id, "one id space");

        let updated = svc
            .update(
                "Opportunities",
                opp.id,
                Some(1),
                &obj(json!({"sales_stage": "Proposal", "amount": "130000"})),
            )
            .await
            .unwrap();
        assert_eq!(updated.version, 2);
        // A stale edit is refused and says what changed since.
        match svc
            .update("Opportunities", opp.id, Some(1), &obj(json!({"amount": "1"})))
            .await
        {
            Err(StoreError::Conflict(Conflict::StaleVersion {
                current_version,
                changes,
            })) => {
                assert_eq!(current_version, 2);
                assert!(
                    changes.iter().any(|c| c.field == "sales_stage" && c.new == "Proposal"),
                    "{changes:?}"
                );
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        let history = svc.history("Opportunities", opp.id).await.unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].action, "update");
        assert_eq!(history[1].actor.as_deref(), Some("zhangwei"));
        let changes = history[1].changes.as_array().unwrap();
        assert!(
            changes
                .iter()
                .any(|c| c["field"] == "amount" && c["old"] == "120000.50" && c["new"] == "130000.00")
        );

        // An unchanged update writes nothing.
        let same = svc
            .update("Opportunities", opp.id, Some(2), &obj(json!({"amount": "130000.00"})))
            .await
            .unwrap();
        assert_eq!(same.version, 2);

        // Delete to the recycle bin, restore.
        svc.delete("Opportunities", opp.id).await.unwrap();
        assert!(matches!(
            svc.get("Opportunities", opp.id).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            svc.delete("Opportunities", opp.id).await,
            Err(StoreError::NotFound { .. })
        ));
        let restored = svc.restore("Opportunities", opp.id).await.unwrap();
        assert_eq!(restored.version, 4);
        assert!(matches!(
            svc.restore("Opportunities", opp.id).await,
            Err(StoreError::Conflict(Conflict::State(_)))
        ));
        let actions: Vec<String> = svc
            .history("Opportunities", opp.id)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.action)
            .collect();
        assert_eq!(actions, ["create", "update", "delete", "restore"]);
        // An edit based on version 2 hears of the delete and the restore since.
        match svc
            .update("Opportunities", opp.id, Some(2), &obj(json!({"amount": "2"})))
            .await
        {
            Err(StoreError::Conflict(Conflict::StaleVersion { changes, .. })) => {
                let acts: Vec<&str> = changes.iter().map(|c| c.action.as_str()).collect();
                assert_eq!(acts, ["delete", "restore"], "{changes:?}");
                assert!(changes.iter().all(|c| c.field.is_empty() && c.actor.is_some()));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn validation_and_references() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "lina").await;
        let svc = store.records(&me);
        let lead = svc.create("Leads", &obj(json!({"lastname": "王"}))).await.unwrap();
        let err = svc
            .create(
                "Contacts",
                &obj(
                    json!({"lastname": "李", "account_id": lead.id, "email": "not-an-email", "birthday": "2024-02-30"}),
                ),
            )
            .await
            .unwrap_err();
        let StoreError::Invalid(e) = err else {
            panic!("expected invalid")
        };
        assert!(e.0.contains_key("email") && e.0.contains_key("birthday"), "{e:?}");
        let err = svc
            .create("Contacts", &obj(json!({"lastname": "李", "account_id": lead.id})))
            .await
            .unwrap_err();
        let StoreError::Invalid(e) = err else {
            panic!("expected invalid")
        };
        assert!(
            matches!(
                e.0.get("account_id"),
                Some(sable_core::FieldError::ReferenceWrongModule { .. })
            ),
            "{e:?}"
        );
        let err = svc
            .create("Contacts", &obj(json!({"lastname": "李", "account_id": 999_999})))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        let err = svc
            .create("Leads", &obj(json!({"lastname": "李", "assigned_user_id": 999_999})))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        // Nothing half-written: only the first lead exists.
        let page = svc.query("Leads", &Default::default()).await.unwrap();
        assert_eq!(page.count, Some(1));
        // A record of another module is not found under this module.
        assert!(matches!(
            svc.get("Contacts", lead.id).await,
            Err(StoreError::NotFound { .. })
        ));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn private_sharing_hides_others_records() {
    for db in all_backends().await {
        let store = db.store().await;
        let a = sales_user(&store, "alice").await;
        let b = sales_user(&store, "bob").await;
        let lead = store
            .records(&a)
            .create(
                "Leads",
                &obj(json!({"lastname": "Alice's lead", "company": "北京星辰"})),
            )
            .await
            .unwrap();
        assert!(matches!(
            store.records(&b).get("Leads", lead.id).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store
                .records(&b)
                .update("Leads", lead.id, None, &obj(json!({"company": "x"})))
                .await,
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(
            store
                .records(&b)
                .query("Leads", &Default::default())
                .await
                .unwrap()
                .count,
            Some(0)
        );
        assert!(store.records(&b).search("北京", 10).await.unwrap().is_empty());
        assert_eq!(store.records(&a).search("北京", 10).await.unwrap().len(), 1);
        // Nor can bob point a reference at alice's private organization to learn its name:
        // it is "not found", exactly like an id that does not exist.
        let org = store
            .records(&a)
            .create("Accounts", &obj(json!({"accountname": "Alice 私有客户"})))
            .await
            .unwrap();
        let refused = store
            .records(&b)
            .create("Contacts", &obj(json!({"lastname": "Probe", "account_id": org.id})))
            .await;
        match refused {
            Err(StoreError::Invalid(e)) => {
                assert!(format!("{e:?}").contains("account_id"), "{e:?}");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        let bobs = store
            .records(&b)
            .create("Contacts", &obj(json!({"lastname": "Own"})))
            .await
            .unwrap();
        assert!(matches!(
            store
                .records(&b)
                .update("Contacts", bobs.id, None, &obj(json!({"account_id": org.id})))
                .await,
            Err(StoreError::Invalid(_))
        ));
        // alice herself, and an admin, may link to it.
        assert!(
            store
                .records(&a)
                .create("Contacts", &obj(json!({"lastname": "Linked", "account_id": org.id})),)
                .await
                .is_ok()
        );
        // Public read: bob sees it but may not change it.
        sable_store::meta_store::set_sharing(
            &store,
            &crate::helpers::admin(),
            "Leads",
            sable_core::Sharing::PublicRead,
        )
        .await
        .unwrap();
        store.reload_registry().await.unwrap();
        assert!(store.records(&b).get("Leads", lead.id).await.is_ok());
        assert!(matches!(
            store
                .records(&b)
                .update("Leads", lead.id, None, &obj(json!({"company": "x"})))
                .await,
            Err(StoreError::Forbidden(_))
        ));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn batches_report_each_row_and_can_be_all_or_nothing() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "batcher").await;
        let svc = store.records(&me);
        let inputs = vec![
            obj(json!({"lastname": "甲", "mobile": "13800000001"})),
            obj(json!({"lastname": "乙", "email": "broken"})),
            obj(json!({"lastname": "丙", "company": "丙公司"})),
        ];
        let outcomes = svc.create_many("Leads", &inputs, false).await.unwrap();
        assert!(
            outcomes[0].is_ok() && outcomes[1].is_err() && outcomes[2].is_ok(),
            "{}: {outcomes:?}",
            db.backend
        );
        let (a, c) = (*outcomes[0].as_ref().unwrap(), *outcomes[2].as_ref().unwrap());
        assert_eq!(c, a + 1, "ids come in one block");
        let lead = svc.get("Leads", c).await.unwrap();
        assert_eq!(
            lead.values.get("lead_no"),
            Some(&sable_core::Value::Text("LEA2".into()))
        );
        assert_eq!(svc.history("Leads", a).await.unwrap().len(), 1);
        assert_eq!(svc.search("丙公", 5).await.unwrap()[0].id, c);
        assert!(matches!(
            svc.create_many("Leads", &inputs, true).await,
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(
            svc.query("Leads", &Default::default()).await.unwrap().count,
            Some(2),
            "all-or-nothing wrote nothing"
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn likely_duplicates_find_very_similar_names() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "similar").await;
        let svc = store.records(&me);
        let mut ids = Vec::new();
        for name in ["北京星辰科技有限公司", "ACME", "上海星辰贸易", "Initech Partners"] {
            let r = svc
                .create("Accounts", &obj(json!({"accountname": name})))
                .await
                .unwrap();
            ids.push(r.id);
        }
        let similar = |name: &'static str| {
            let svc = store.records(&me);
            async move {
                svc.likely_duplicates("Accounts", &obj(json!({"accountname": name})), None)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            similar("北京星辰科技").await,
            vec![ids[0]],
            "{}: legal form stripped",
            db.backend
        );
        assert_eq!(similar("Acme Inc.").await, vec![ids[1]], "case, punctuation and Inc");
        assert_eq!(
            similar("北京星辰科技发展有限公司").await,
            vec![ids[0]],
            "the existing name inside the new one"
        );
        assert_eq!(
            similar("星辰科技").await,
            vec![ids[0]],
            "4 characters inside an existing name"
        );
        assert!(similar("星辰").await.is_empty(), "short fragments need equality");
        assert!(similar("Globex Ltd").await.is_empty());
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn likely_duplicates_match_normalised_email_phone_or_name() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "dedup").await;
        let svc = store.records(&me);
        let a = svc
            .create(
                "Leads",
                &obj(json!({"lastname": "张", "firstname": "伟", "mobile": "+86 138 0013 8000"})),
            )
            .await
            .unwrap();
        let b = svc
            .create(
                "Leads",
                &obj(json!({"lastname": "Smith", "email": "Anna.Smith@Example.com"})),
            )
            .await
            .unwrap();
        let ids = |v: Vec<(i64, String)>| v.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
        let by_phone = svc
            .likely_duplicates("Leads", &obj(json!({"lastname": "某", "phone": "138-0013-8000"})), None)
            .await
            .unwrap();
        assert_eq!(
            ids(by_phone),
            vec![a.id],
            "{}: another phone field, another format",
            db.backend
        );
        let by_email = svc
            .likely_duplicates("Leads", &obj(json!({"secondaryemail": "anna.smith@example.COM"})), None)
            .await
            .unwrap();
        assert_eq!(ids(by_email), vec![b.id]);
        let by_name = svc
            .likely_duplicates("Leads", &obj(json!({"lastname": "张", "firstname": "伟"})), None)
            .await
            .unwrap();
        assert_eq!(ids(by_name), vec![a.id]);
        let none = svc
            .likely_duplicates("Leads", &obj(json!({"lastname": "王", "email": "not an email"})), None)
            .await
            .unwrap();
        assert!(none.is_empty());
        let other = sales_user(&store, "other.dedup").await;
        assert!(
            store
                .records(&other)
                .likely_duplicates("Leads", &obj(json!({"mobile": "13800138000"})), None)
                .await
                .unwrap()
                .is_empty(),
            "only visible records"
        );
        store.close().await;
        db.cleanup().await;
    }
}
