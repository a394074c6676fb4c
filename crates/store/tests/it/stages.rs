//! Sales stages: admin configuration, probability and forecast, lost reason, stage history.

use sable_core::meta::StageKind;
use sable_store::StoreError;
use sable_store::stages::{list_stages, set_item, set_stages, stage_history, ticked_items};
use sable_store::testing::all_backends;
use serde_json::json;

use crate::helpers::{admin, obj, sales_user};

#[tokio::test]
async fn stages_are_configured_by_an_admin_and_drive_opportunities() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "stage.rep").await;
        let defaults = list_stages(&store).await.unwrap();
        assert_eq!(defaults.first().map(|s| s.labels.zh.as_str()), Some("初期沟通"));
        assert_eq!(defaults.last().map(|s| s.kind), Some(StageKind::Lost));
        assert!(
            defaults
                .iter()
                .all(|s| !s.checklist.is_empty() && !s.guidance.zh.is_empty())
        );

        // a salesperson may not change them
        assert!(matches!(
            set_stages(&store, &me, defaults.clone()).await,
            Err(StoreError::Forbidden(_))
        ));

        let svc = store.records(&me);
        let opp = svc
            .create(
                "Opportunities",
                &obj(json!({"potentialname": "集团采购", "amount": "100000", "closingdate": "2026-12-31"})),
            )
            .await
            .unwrap();
        let wire = opp.to_json(store.registry().await.unwrap().module("Opportunities").unwrap());
        assert_eq!(wire["fields"]["probability"], "10.00", "{}", db.backend);
        assert_eq!(wire["fields"]["forecast_amount"], "10000.00");

        let moved = svc
            .update("Opportunities", opp.id, None, &obj(json!({"sales_stage": "Proposal"})))
            .await
            .unwrap();
        let wire = moved.to_json(store.registry().await.unwrap().module("Opportunities").unwrap());
        assert_eq!(wire["fields"]["probability"], "60.00");
        assert_eq!(wire["fields"]["forecast_amount"], "60000.00");
        // an explicit probability wins over the stage's
        let over = svc
            .update("Opportunities", opp.id, None, &obj(json!({"probability": "50"})))
            .await
            .unwrap();
        let wire = over.to_json(store.registry().await.unwrap().module("Opportunities").unwrap());
        assert_eq!(wire["fields"]["forecast_amount"], "50000.00");

        // lost needs a reason
        match svc
            .update(
                "Opportunities",
                opp.id,
                None,
                &obj(json!({"sales_stage": "Closed Lost"})),
            )
            .await
        {
            Err(StoreError::Invalid(e)) => assert!(e.0.contains_key("lost_reason"), "{e:?}"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        svc.update(
            "Opportunities",
            opp.id,
            None,
            &obj(json!({"sales_stage": "Closed Lost", "lost_reason": "价格太高"})),
        )
        .await
        .unwrap();

        // the reason cannot be cleared while lost
        assert!(
            svc.update("Opportunities", opp.id, None, &obj(json!({"lost_reason": ""})))
                .await
                .is_err()
        );
        let history = stage_history(&store, &me, opp.id).await.unwrap();
        let stages: Vec<&str> = history.iter().map(|h| h.stage.as_str()).collect();
        assert_eq!(stages, ["Prospecting", "Proposal", "Closed Lost"], "{}", db.backend);
        assert_eq!(history[0].user, "stage.rep");
        assert!(history[0].left_at.is_some() && history[2].left_at.is_none());

        // A form sends every field back: the stored probability with a new stage is not an
        // override, and an empty reason on a lost deal edited elsewhere is no clearing.
        let form_like = svc
            .create(
                "Opportunities",
                &obj(json!({"potentialname": "表单商机", "amount": "1000", "closingdate": "2026-12-31"})),
            )
            .await
            .unwrap();
        let moved = svc
            .update(
                "Opportunities",
                form_like.id,
                None,
                &obj(json!({"potentialname": "表单商机", "sales_stage": "Negotiation", "probability": "10", "lost_reason": ""})),
            )
            .await
            .unwrap();
        let wire = moved.to_json(store.registry().await.unwrap().module("Opportunities").unwrap());
        assert_eq!(
            wire["fields"]["probability"], "80.00",
            "{}: the stage's, not the form's echo",
            db.backend
        );
        let imported = svc
            .create_many_with(
                "Opportunities",
                &[obj(
                    json!({"potentialname": "旧丢单", "sales_stage": "Closed Lost", "closingdate": "2020-01-31"}),
                )],
                &sable_store::service::CreateOptions {
                    allow_system: true,
                    source: Some("IMPORT".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let old_id = *imported[0].as_ref().unwrap();
        svc.update(
            "Opportunities",
            old_id,
            None,
            &obj(json!({"potentialname": "旧丢单（已核对）", "sales_stage": "Closed Lost", "lost_reason": ""})),
        )
        .await
        .unwrap();

        // checklist ticks
        set_item(&store, &me, opp.id, "Proposal", 1, true).await.unwrap();
        set_item(&store, &me, opp.id, "Proposal", 1, true).await.unwrap();
        assert_eq!(ticked_items(&store, &me, opp.id, "Proposal").await.unwrap(), [1]);
        assert!(set_item(&store, &me, opp.id, "Proposal", 99, true).await.is_err());
        set_item(&store, &me, opp.id, "Proposal", 1, false).await.unwrap();
        assert!(ticked_items(&store, &me, opp.id, "Proposal").await.unwrap().is_empty());

        // relabel and reorder: stored values stay, guidance is kept
        let mut edited = defaults.clone();
        edited[0].labels.en = "First Contact".into();
        edited[0].guidance.en = "Call them.".into();
        edited.swap(1, 2);
        let saved = set_stages(&store, &admin(), edited).await.unwrap();
        assert_eq!(saved[0].value, "Prospecting");
        assert_eq!(saved[0].labels.en, "First Contact");
        assert_eq!(saved[0].guidance.en, "Call them.");
        assert_eq!(saved[1].value, "Needs Analysis");
        // survives a restart
        let again = db.store().await;
        assert_eq!(list_stages(&again).await.unwrap(), saved);

        // removing a stage in use is refused; an unused one may go
        let without_lost: Vec<_> = saved.iter().filter(|s| s.value != "Closed Lost").cloned().collect();
        match set_stages(&store, &admin(), without_lost).await {
            Err(StoreError::Refused(r)) => assert_eq!(r.key, "stage_refused_in_use"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        let without_bidding: Vec<_> = saved.iter().filter(|s| s.value != "Bidding").cloned().collect();
        let after = set_stages(&store, &admin(), without_bidding).await.unwrap();
        assert!(after.iter().all(|s| s.value != "Bidding"));
        // a new stage needs no built-in guidance
        let mut more = after.clone();
        let mut extra = after[0].clone();
        extra.value = "Pilot".into();
        extra.labels = sable_core::Labels::new("Pilot", "试点");
        extra.probability = 150;
        more.insert(3, extra.clone());
        assert!(
            set_stages(&store, &admin(), more.clone()).await.is_err(),
            "probability over 100"
        );
        more[3].probability = 75;
        let with_pilot = set_stages(&store, &admin(), more).await.unwrap();
        assert_eq!(with_pilot[3].value, "Pilot");
    }
}

#[tokio::test]
async fn the_board_aggregates_by_stage_with_filters_and_visibility() {
    use sable_store::pipeline::{BoardFilter, board};
    for db in all_backends().await {
        let store = db.store().await;
        let a = sales_user(&store, "board.a").await;
        let b = sales_user(&store, "board.b").await;
        let acc = store
            .records(&a)
            .create("Accounts", &obj(json!({"accountname": "看板客户"})))
            .await
            .unwrap();
        for (who, name, amount, stage, date, account) in [
            (&a, "A1", "1000.10", "Prospecting", "2026-01-15", Some(acc.id)),
            (&a, "A2", "2000", "Prospecting", "2026-05-01", None),
            (&a, "A3", "3000", "Proposal", "2026-01-20", Some(acc.id)),
            (&b, "B1", "9000", "Proposal", "2026-01-20", None),
        ] {
            let mut input = json!({"potentialname": name, "amount": amount, "sales_stage": stage, "closingdate": date});
            if let Some(acc) = account {
                input["related_to"] = json!(acc);
            }
            store.records(who).create("Opportunities", &obj(input)).await.unwrap();
        }
        // Opportunities are private: a sees only a's.
        let mine = board(&store, &a, &BoardFilter::default()).await.unwrap();
        assert_eq!(mine.cards.len(), 3, "{}", db.backend);
        let p = &mine.totals["Prospecting"];
        assert_eq!((p.count, p.total, p.weighted), (2, 300_010, 30_001), "{}", db.backend);
        assert_eq!(mine.totals["Proposal"].weighted, 180_000);
        // the administrator sees everything, filtered by owner, organization and dates
        let all = board(&store, &admin(), &BoardFilter::default()).await.unwrap();
        assert_eq!(all.totals["Proposal"].count, 2);
        let by_owner = BoardFilter {
            owner: Some(b.user_id()),
            ..BoardFilter::default()
        };
        assert_eq!(board(&store, &admin(), &by_owner).await.unwrap().cards.len(), 1);
        let by_account = BoardFilter {
            account: Some(acc.id),
            ..BoardFilter::default()
        };
        assert_eq!(board(&store, &admin(), &by_account).await.unwrap().cards.len(), 2);
        let january = BoardFilter {
            close_from: Some("2026-01-01".into()),
            close_to: Some("2026-01-31".into()),
            ..BoardFilter::default()
        };
        let jan = board(&store, &admin(), &january).await.unwrap();
        assert_eq!(jan.cards.len(), 3);
        assert_eq!(jan.totals["Proposal"].total, 1_200_000);
        // Custom dates, one end open.
        let from_may = BoardFilter {
            close_from: Some("2026-05-01".into()),
            ..BoardFilter::default()
        };
        assert_eq!(board(&store, &a, &from_may).await.unwrap().cards.len(), 1);
    }
}

#[tokio::test]
async fn the_board_offers_visible_organizations_with_opportunities() {
    use sable_store::pipeline::{MAX_ACCOUNT_CHOICES, board_accounts};
    for db in all_backends().await {
        let store = db.store().await;
        let a = sales_user(&store, "orgs.a").await;
        let b = sales_user(&store, "orgs.b").await;
        let mut ids = Vec::new();
        for (who, name) in [
            (&a, "Zeta 客户"),
            (&a, "Alpha 客户"),
            (&a, "无商机"),
            (&a, "商机已删"),
            (&b, "别人的客户"),
        ] {
            let r = store
                .records(who)
                .create("Accounts", &obj(json!({"accountname": name})))
                .await
                .unwrap();
            ids.push(r.id);
        }
        let [zeta, alpha, idle, gone, theirs] = ids[..] else {
            panic!("five organizations")
        };
        let mut gone_opp = 0;
        for (who, acc) in [(&a, zeta), (&a, alpha), (&a, gone), (&b, theirs)] {
            let id = store
                .records(who)
                .create(
                    "Opportunities",
                    &obj(json!({"potentialname": format!("O{acc}"), "sales_stage": "Prospecting", "closingdate": "2026-03-01", "related_to": acc})),
                )
                .await
                .unwrap()
                .id;
            if acc == gone {
                gone_opp = id;
            }
        }
        let before = board_accounts(&store, &admin(), 10).await.unwrap();
        assert!(before.iter().any(|(id, _)| *id == gone));
        store.records(&a).delete("Opportunities", gone_opp).await.unwrap();
        let mine = board_accounts(&store, &a, MAX_ACCOUNT_CHOICES).await.unwrap();
        assert_eq!(
            mine,
            vec![(alpha, "Alpha 客户".to_string()), (zeta, "Zeta 客户".to_string())],
            "{}",
            db.backend
        );
        assert!(!mine.iter().any(|(id, _)| *id == idle || *id == theirs || *id == gone));
        let all = board_accounts(&store, &admin(), MAX_ACCOUNT_CHOICES).await.unwrap();
        assert!(all.iter().any(|(id, _)| *id == theirs), "{}", db.backend);
        assert_eq!(board_accounts(&store, &admin(), 1).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn opportunities_from_before_stage_history_keep_their_first_stage() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "old.rep").await;
        let svc = store.records(&me);
        let opp = svc
            .create(
                "Opportunities",
                &obj(json!({"potentialname": "旧商机", "sales_stage": "Needs Analysis", "closingdate": "2026-03-01"})),
            )
            .await
            .unwrap();
        // as if written before this feature
        store
            .db()
            .execute(store.db().sql().push("DELETE FROM stage_history"))
            .await
            .unwrap();
        let h = stage_history(&store, &me, opp.id).await.unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].stage, "Needs Analysis");
        svc.update(
            "Opportunities",
            opp.id,
            None,
            &obj(json!({"sales_stage": "Negotiation"})),
        )
        .await
        .unwrap();
        let h = stage_history(&store, &me, opp.id).await.unwrap();
        let stages: Vec<&str> = h.iter().map(|v| v.stage.as_str()).collect();
        assert_eq!(stages, ["Needs Analysis", "Negotiation"], "{}", db.backend);
        assert!(h[0].left_at.is_some());
    }
}

#[tokio::test]
async fn checklist_ticks_follow_their_items_when_an_admin_edits_the_checklist() {
    use sable_core::Labels;
    let item = |en: &str, zh: &str| Labels {
        en: en.into(),
        zh: zh.into(),
    };
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "ticks.a").await;
        let mut stages = list_stages(&store).await.unwrap();
        stages[0].checklist = vec![item("A", "甲"), item("B", "乙"), item("C", "丙")];
        let stage = stages[0].value.clone();
        let other = stages[1].value.clone();
        let stages = set_stages(&store, &admin(), stages).await.unwrap();
        let opp = store
            .records(&me)
            .create(
                "Opportunities",
                &obj(json!({"potentialname": "勾选", "sales_stage": stage, "closingdate": "2026-12-31"})),
            )
            .await
            .unwrap();
        set_item(&store, &me, opp.id, &stage, 0, true).await.unwrap();
        set_item(&store, &me, opp.id, &stage, 2, true).await.unwrap();
        set_item(&store, &me, opp.id, &other, 0, true).await.unwrap();
        let ticked = |s: String| {
            let store = store.clone();
            let me = me.clone();
            async move {
                let mut v = ticked_items(&store, &me, opp.id, &s).await.unwrap();
                v.sort();
                v
            }
        };
        assert_eq!(ticked(stage.clone()).await, [0, 2]);
        // Insert one, remove B, reorder: the ticks stay on A and C.
        let mut edited = stages.clone();
        edited[0].checklist = vec![item("New", "新"), item("C", "丙"), item("A", "甲")];
        let stages = set_stages(&store, &admin(), edited).await.unwrap();
        assert_eq!(ticked(stage.clone()).await, [1, 2], "{}", db.backend);
        // Rewording C drops its tick rather than moving it.
        let mut edited = stages.clone();
        edited[0].checklist = vec![item("A", "甲"), item("New", "新"), item("C2", "丙二")];
        set_stages(&store, &admin(), edited).await.unwrap();
        assert_eq!(ticked(stage.clone()).await, [0], "{}", db.backend);
        // Another stage's ticks are untouched.
        assert_eq!(ticked(other.clone()).await, [0], "{}", db.backend);
    }
}
