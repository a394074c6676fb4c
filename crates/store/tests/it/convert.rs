use sable_store::comments::{add_comment, list_comments};
use sable_store::convert::{
    ALREADY_CONVERTED, ConvertRequest, MappingRow, convert_lead, editable_mapping, preview, save_mapping,
};
use sable_store::testing::all_backends;
use sable_store::{Conflict, StoreError};
use serde_json::json;

use crate::helpers::{admin, obj, sales_user};

#[tokio::test]
async fn a_lead_becomes_organization_contact_and_opportunity_once() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "lina").await;
        let svc = store.records(&me);
        let lead = svc
            .create(
                "Leads",
                &obj(
                    json!({"lastname": "王", "firstname": "芳", "company": "杭州云帆科技", "email": "wf@yunfan.cn",
                    "mobile": "13800138000", "city": "杭州", "leadsource": "Trade Show", "designation": "采购经理"}),
                ),
            )
            .await
            .unwrap();
        add_comment(&store, &me, "Leads", lead.id, "第一次电话沟通")
            .await
            .unwrap();

        let p = preview(&store, &me, lead.id).await.unwrap();
        assert_eq!(p.account["accountname"], "杭州云帆科技", "{}", db.backend);
        assert!(p.matched_account.is_none());
        assert_eq!(p.contact["title"], "采购经理");

        let req = ConvertRequest {
            account: Some(obj(json!({}))),
            contact: obj(json!({})),
            opportunity: Some(obj(
                json!({"potentialname": "云帆 CRM", "amount": "50000", "closingdate": "2027-01-31"}),
            )),
        };
        let done = convert_lead(&store, &me, lead.id, &req).await.unwrap();
        let account_id = done.account_id.unwrap();
        let contact = svc.get("Contacts", done.contact_id).await.unwrap();
        assert!(contact.label.contains('王'));
        let wire = contact.to_json(store.registry().await.unwrap().module("Contacts").unwrap());
        assert_eq!(wire["fields"]["account_id"], account_id);
        assert_eq!(wire["fields"]["email"], "wf@yunfan.cn");
        assert_eq!(wire["fields"]["mailingcity"], "杭州");
        assert_eq!(wire["fields"]["isconvertedfromlead"], true);
        let opp = svc.get("Opportunities", done.opportunity_id.unwrap()).await.unwrap();
        let wire = opp.to_json(store.registry().await.unwrap().module("Opportunities").unwrap());
        assert_eq!(wire["fields"]["related_to"], account_id);
        assert_eq!(wire["fields"]["contact_id"], done.contact_id);
        assert_eq!(wire["fields"]["leadsource"], "Trade Show");
        // like any new opportunity: probability and forecast from its stage
        assert_eq!(wire["fields"]["probability"], "10.00", "{}", db.backend);
        assert_eq!(wire["fields"]["forecast_amount"], "5000.00");

        // Comments and history follow the contact.
        let comments = list_comments(&store, &me, "Contacts", done.contact_id).await.unwrap();
        assert_eq!(comments.len(), 1);
        assert!(
            svc.history("Contacts", done.contact_id)
                .await
                .unwrap()
                .iter()
                .any(|h| h.action == "convert")
        );

        // The lead is marked, linked, read-only, and cannot be converted twice.
        let lead = svc.get("Leads", lead.id).await.unwrap();
        let wire = lead.to_json(store.registry().await.unwrap().module("Leads").unwrap());
        assert_eq!(wire["fields"]["converted"], true);
        assert_eq!(wire["fields"]["converted_contact_id"], done.contact_id);
        match svc
            .update("Leads", lead.id, None, &obj(json!({"firstname": "芬"})))
            .await
        {
            Err(StoreError::Refused(r)) => assert_eq!(r.key, "conv_refused_read_only"),
            other => panic!("{other:?}"),
        }
        match convert_lead(&store, &me, lead.id, &req).await {
            Err(StoreError::Conflict(Conflict::State(m))) => assert_eq!(m, ALREADY_CONVERTED),
            other => panic!("{other:?}"),
        }

        // A second lead of the same company links to the organization instead of creating one.
        let lead2 = svc
            .create("Leads", &obj(json!({"lastname": "李", "company": "杭州云帆科技"})))
            .await
            .unwrap();
        let p = preview(&store, &me, lead2.id).await.unwrap();
        assert_eq!(p.matched_account.as_ref().map(|m| m.0), Some(account_id));
        let done2 = convert_lead(
            &store,
            &me,
            lead2.id,
            &ConvertRequest {
                account: Some(obj(json!({}))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(done2.account_id, Some(account_id));
        assert_eq!(done2.opportunity_id, None);
    }
}

#[tokio::test]
async fn a_failed_conversion_leaves_nothing_behind() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "lina").await;
        let svc = store.records(&me);
        let lead = svc
            .create("Leads", &obj(json!({"lastname": "赵", "company": "新公司"})))
            .await
            .unwrap();
        // The opportunity lacks its close date: nothing is created, the lead stays open.
        let req = ConvertRequest {
            account: Some(obj(json!({}))),
            contact: obj(json!({})),
            opportunity: Some(obj(json!({"potentialname": "x", "closingdate": "not a date"}))),
        };
        match convert_lead(&store, &me, lead.id, &req).await {
            Err(StoreError::Invalid(e)) => assert!(e.0.keys().any(|k| k.starts_with("opportunity.")), "{e:?}"),
            other => panic!("{} {other:?}", db.backend),
        }
        assert!(
            svc.find_by_label_or_number("Accounts", "新公司")
                .await
                .unwrap()
                .is_empty()
        );
        let lead = svc.get("Leads", lead.id).await.unwrap();
        assert_ne!(lead.values.get("converted"), Some(&sable_core::Value::Bool(true)));
    }
}

#[tokio::test]
async fn the_mapping_is_editable_and_refuses_a_wrong_type() {
    for db in all_backends().await {
        let store = db.store().await;
        let boss = admin();
        let me = sales_user(&store, "lina").await;
        let rows = vec![MappingRow {
            lead_field: "city".into(),
            module: "Contacts".into(),
            field: "otherCity".into(),
        }];
        assert!(save_mapping(&store, &me, &rows).await.is_err(), "only admins");
        let wrong = vec![MappingRow {
            lead_field: "annualrevenue".into(),
            module: "Contacts".into(),
            field: "birthday".into(),
        }];
        match save_mapping(&store, &boss, &wrong).await {
            Err(StoreError::Invalid(e)) => assert!(e.0.contains_key("Contacts.birthday"), "{e:?}"),
            other => panic!("{} {other:?}", db.backend),
        }
        let ok = vec![MappingRow {
            lead_field: "city".into(),
            module: "Contacts".into(),
            field: "mailingcity".into(),
        }];
        save_mapping(&store, &boss, &ok).await.unwrap();
        assert_eq!(editable_mapping(&store).await.unwrap(), ok);
    }
}

#[tokio::test]
async fn references_to_the_lead_move_to_the_contact_and_custom_fields_map() {
    use sable_core::registry::NewField;
    use sable_store::meta_store::add_custom_field;
    for db in all_backends().await {
        let store = db.store().await;
        let boss = admin();
        for (module, def) in [
            (
                "Accounts",
                json!({"name": "cf_referrer", "type": "reference", "label": {"en": "Referrer", "zh-CN": "推荐人"}, "targets": ["Leads", "Contacts"]}),
            ),
            (
                "Leads",
                json!({"name": "cf_wechat", "type": "text", "label": {"en": "WeChat", "zh-CN": "微信"}}),
            ),
            (
                "Contacts",
                json!({"name": "cf_wechat", "type": "text", "label": {"en": "WeChat", "zh-CN": "微信"}}),
            ),
        ] {
            let new: NewField = serde_json::from_value(def).unwrap();
            add_custom_field(&store, &boss, module, &new).await.unwrap();
        }
        let mut rows = editable_mapping(&store).await.unwrap();
        rows.push(MappingRow {
            lead_field: "cf_wechat".into(),
            module: "Contacts".into(),
            field: "cf_wechat".into(),
        });
        save_mapping(&store, &boss, &rows).await.unwrap();

        let me = sales_user(&store, "lina").await;
        let svc = store.records(&me);
        let lead = svc
            .create("Leads", &obj(json!({"lastname": "吴", "cf_wechat": "wu_2027"})))
            .await
            .unwrap();
        let other = svc
            .create(
                "Accounts",
                &obj(json!({"accountname": "推荐方", "cf_referrer": lead.id})),
            )
            .await
            .unwrap();
        let done = convert_lead(
            &store,
            &me,
            lead.id,
            &ConvertRequest {
                contact: obj(json!({})),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(done.account_id, None, "{}", db.backend);
        let other = svc.get("Accounts", other.id).await.unwrap();
        assert_eq!(
            other.values.get("cf_referrer"),
            Some(&sable_core::Value::Id(done.contact_id))
        );
        let contact = svc.get("Contacts", done.contact_id).await.unwrap();
        assert_eq!(
            contact.values.get("cf_wechat"),
            Some(&sable_core::Value::Text("wu_2027".into()))
        );
    }
}

/// The lead's activities move to the new contact through the record service, so the
/// contact's follow-up figures count them at once.
#[tokio::test]
async fn a_converted_leads_activities_follow_it_with_their_figures() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "zhaolei").await;
        let svc = store.records(&me);
        let lead = svc
            .create("Leads", &obj(json!({"lastname": "赵", "company": "成都活动科技"})))
            .await
            .unwrap();
        svc.create(
            "Tasks",
            &obj(json!({"subject": "首次拜访", "taskstatus": "Completed", "due_date": "2026-11-02", "parent_id": lead.id})),
        )
        .await
        .unwrap();
        let open = svc
            .create(
                "Tasks",
                &obj(json!({"subject": "发报价", "taskstatus": "Not Started", "due_date": "2027-01-15", "parent_id": lead.id})),
            )
            .await
            .unwrap();
        let before = svc.get("Leads", lead.id).await.unwrap();
        assert_eq!(
            before.values.get("followup_count"),
            Some(&sable_core::Value::Int(1)),
            "{}",
            db.backend
        );

        let req = ConvertRequest {
            account: None,
            contact: obj(json!({})),
            opportunity: None,
        };
        let done = convert_lead(&store, &me, lead.id, &req).await.unwrap();
        let task = svc.get("Tasks", open.id).await.unwrap();
        assert_eq!(
            task.values.get("parent_id"),
            Some(&sable_core::Value::Id(done.contact_id))
        );
        let contact = svc.get("Contacts", done.contact_id).await.unwrap();
        assert_eq!(
            contact.values.get("followup_count"),
            Some(&sable_core::Value::Int(1)),
            "{}",
            db.backend
        );
        assert!(
            contact.values.get("next_followup").is_some_and(|v| !v.is_empty()),
            "{}: {:?}",
            db.backend,
            contact.values.get("next_followup")
        );
        store.close().await;
        db.cleanup().await;
    }
}
