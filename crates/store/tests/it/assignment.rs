//! Assignment rules: round robin with inactive users skipped, field rules, fallback,
//! the pointer surviving a bulk assignment and a reopen, the log and the follow-up task.

use std::collections::BTreeMap;

use sable_core::Value;
use sable_core::assignment::{Branch, Condition, MatchOp, RuleSpec, Target};
use sable_store::assignment::{self, NewRule};
use sable_store::testing::all_backends;
use sable_store::users::deactivate;
use sable_store::{Store, StoreError};
use serde_json::json;

use crate::helpers::{admin, obj, sales_user};

fn round_robin(name: &str, users: &[i64], followup_hours: Option<i64>) -> NewRule {
    NewRule {
        name: name.into(),
        module: "Leads".into(),
        active: true,
        spec: RuleSpec {
            branches: vec![],
            fallback: Some(Target::RoundRobin {
                user_ids: users.to_vec(),
            }),
            followup_hours,
        },
    }
}

async fn owner(store: &Store, id: i64) -> Option<i64> {
    match store
        .records(&admin())
        .get("Leads", id)
        .await
        .unwrap()
        .values
        .get("assigned_user_id")
    {
        Some(Value::Id(u)) => Some(*u),
        _ => None,
    }
}

#[tokio::test]
async fn round_robin_skips_inactive_and_survives_bulk_and_reopen() {
    for db in all_backends().await {
        let store = db.store().await;
        let desk = sales_user(&store, "desk").await.user_id();
        let a = sales_user(&store, "rr_a").await.user_id();
        let b = sales_user(&store, "rr_b").await.user_id();
        let c = sales_user(&store, "rr_c").await.user_id();
        deactivate(&store, &admin(), "rr_b").await.unwrap();
        let rule = assignment::create_rule(&store, &admin(), &round_robin("web", &[a, b, c], Some(48)))
            .await
            .unwrap();
        // One at a time first: a, (b skipped) c, a.
        let system = admin();
        let svc = store.records(&system);
        let mut first = Vec::new();
        for i in 0..3 {
            let lead = svc
                .create(
                    "Leads",
                    &obj(json!({"lastname": format!("单{i}"), "assigned_user_id": desk})),
                )
                .await
                .unwrap();
            let got = assignment::assign(&store, rule.id, "Leads", lead.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(owner(&store, lead.id).await, Some(got.user_id), "{}", db.backend);
            first.push(got);
        }
        assert_eq!(
            first.iter().map(|g| g.user_id).collect::<Vec<_>>(),
            vec![a, c, a],
            "{}",
            db.backend
        );
        assert!(
            first[1].reason.contains(&format!("skipped inactive user(s) {b}")),
            "{}",
            first[1].reason
        );
        // The follow-up task belongs to the assignee and is linked to the lead.
        let task = svc.get("Tasks", first[0].task_id.unwrap()).await.unwrap();
        assert_eq!(task.values.get("assigned_user_id"), Some(&Value::Id(a)));
        assert!(matches!(task.values.get("parent_id"), Some(Value::Id(_))));
        assert!(matches!(task.values.get("due_date"), Some(Value::Date(_))));

        // Bulk: 1,000 leads in one go, evenly over the two active users.
        let inputs: Vec<_> = (0..1000)
            .map(|i| obj(json!({"lastname": format!("批{i}"), "assigned_user_id": desk})))
            .collect();
        let ids: Vec<i64> = svc
            .create_many("Leads", &inputs, true)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.unwrap())
            .collect();
        let out = assignment::assign_many(&store, rule.id, "Leads", &ids).await.unwrap();
        let mut spread: BTreeMap<i64, usize> = BTreeMap::new();
        for o in &out {
            *spread.entry(o.as_ref().unwrap().user_id).or_default() += 1;
        }
        assert_eq!(spread.get(&a), Some(&500), "{}: {spread:?}", db.backend);
        assert_eq!(spread.get(&c), Some(&500), "{}: {spread:?}", db.backend);
        assert_eq!(spread.get(&b), None);
        let before = assignment::pointers(&store, &admin(), rule.id).await.unwrap();
        store.close().await;

        // After a restart the rotation carries on where it stopped.
        let store = db.store().await;
        let after = assignment::pointers(&store, &admin(), rule.id).await.unwrap();
        assert_eq!(before, after, "{}", db.backend);
        // Slots are a, b, c (slot % 3). Singles: a (0), b skipped, c (2), a (3) → 4. The
        // bulk goes b skipped, c, a per three slots: 500 rounds → 4 + 1500.
        assert_eq!(after, vec![("fallback".to_string(), 1504)], "{}", db.backend);
        let lead = store
            .records(&admin())
            .create("Leads", &obj(json!({"lastname": "重启后", "assigned_user_id": desk})))
            .await
            .unwrap();
        let next = assignment::assign(&store, rule.id, "Leads", lead.id)
            .await
            .unwrap()
            .unwrap();
        // The last bulk pick was a; 1504 % 3 is b (inactive), so c is next.
        assert_eq!(next.user_id, c, "{}", db.backend);
        // Newest first, at most 1,000 at a time (1,004 decisions were logged).
        let log = assignment::log_for_rule(&store, &admin(), rule.id, 5000).await.unwrap();
        assert_eq!(log.len(), 1000);
        assert_eq!(log[0].record_id, lead.id);
        let per_record = assignment::log_for_record(&store, &admin(), "Leads", lead.id)
            .await
            .unwrap();
        assert_eq!(per_record.len(), 1);
        assert_eq!(per_record[0].user_id, Some(c));
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn field_rules_fallback_and_everyone_inactive() {
    for db in all_backends().await {
        let store = db.store().await;
        let desk = sales_user(&store, "desk").await.user_id();
        let north = sales_user(&store, "north").await.user_id();
        let web1 = sales_user(&store, "web1").await.user_id();
        let web2 = sales_user(&store, "web2").await.user_id();
        let rest = sales_user(&store, "rest").await.user_id();
        let rule = assignment::create_rule(
            &store,
            &admin(),
            &NewRule {
                name: "regions".into(),
                module: "Leads".into(),
                active: true,
                spec: RuleSpec {
                    branches: vec![
                        Branch {
                            when: vec![Condition {
                                field: "state".into(),
                                op: MatchOp::In,
                                values: vec!["北京".into(), "Beijing".into()],
                            }],
                            target: Target::User { user_id: north },
                        },
                        Branch {
                            when: vec![Condition {
                                field: "leadsource".into(),
                                op: MatchOp::In,
                                values: vec!["Web Site".into()],
                            }],
                            target: Target::RoundRobin {
                                user_ids: vec![web1, web2],
                            },
                        },
                    ],
                    fallback: Some(Target::User { user_id: rest }),
                    followup_hours: None,
                },
            },
        )
        .await
        .unwrap();
        let system = admin();
        let svc = store.records(&system);
        let mk = |v: serde_json::Value| {
            let svc = &svc;
            async move {
                let mut v = obj(v);
                v.insert("assigned_user_id".into(), json!(desk));
                svc.create("Leads", &v).await.unwrap().id
            }
        };
        let bj = mk(json!({"lastname": "甲", "state": "beijing", "leadsource": "Web Site"})).await;
        let w1 = mk(json!({"lastname": "乙", "state": "上海", "leadsource": "Web Site"})).await;
        let w2 = mk(json!({"lastname": "丙", "leadsource": "Web Site"})).await;
        let other = mk(json!({"lastname": "丁"})).await;
        let pick = |id| {
            let store = &store;
            async move { assignment::assign(store, rule.id, "Leads", id).await.unwrap() }
        };
        let g = pick(bj).await.unwrap();
        assert_eq!(g.user_id, north, "{}", db.backend);
        assert!(g.reason.contains("state"), "{}", g.reason);
        assert_eq!(g.task_id, None);
        assert_eq!(pick(w1).await.unwrap().user_id, web1);
        assert_eq!(pick(w2).await.unwrap().user_id, web2);
        assert_eq!(pick(other).await.unwrap().user_id, rest);
        // The fixed user of the fallback leaves: no choice, owner kept, and the log says so.
        deactivate(&store, &admin(), "rest").await.unwrap();
        let before = owner(&store, other).await;
        assert_eq!(pick(other).await, None);
        assert_eq!(owner(&store, other).await, before);
        let log = assignment::log_for_record(&store, &admin(), "Leads", other)
            .await
            .unwrap();
        assert_eq!(log.last().unwrap().user_id, None);
        assert!(
            log.last().unwrap().reason.contains("inactive"),
            "{}",
            log.last().unwrap().reason
        );
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn rules_are_admin_only_and_checked() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "plain").await;
        let r = round_robin("x", &[me.user_id()], None);
        assert!(matches!(
            assignment::create_rule(&store, &me, &r).await,
            Err(StoreError::Forbidden(_))
        ));
        assert!(matches!(
            assignment::list_rules(&store, &me).await,
            Err(StoreError::Forbidden(_))
        ));
        // Unknown user, unknown field, module without owner, empty name: refused.
        for bad in [
            round_robin("x", &[999_999], None),
            NewRule {
                module: "Nope".into(),
                ..round_robin("x", &[me.user_id()], None)
            },
            round_robin("  ", &[me.user_id()], None),
            NewRule {
                spec: RuleSpec {
                    branches: vec![Branch {
                        when: vec![Condition {
                            field: "no_such_field".into(),
                            op: MatchOp::In,
                            values: vec!["x".into()],
                        }],
                        target: Target::User { user_id: me.user_id() },
                    }],
                    fallback: None,
                    followup_hours: None,
                },
                ..round_robin("x", &[me.user_id()], None)
            },
        ] {
            assert!(
                matches!(
                    assignment::create_rule(&store, &admin(), &bad).await,
                    Err(StoreError::Refused(_))
                ),
                "{bad:?}"
            );
        }
        let rule = assignment::create_rule(&store, &admin(), &r).await.unwrap();
        let changed = assignment::update_rule(&store, &admin(), rule.id, &round_robin("y", &[me.user_id()], Some(2)))
            .await
            .unwrap();
        assert_eq!(changed.name, "y");
        assert_eq!(changed.spec.followup_hours, Some(2));
        // A rule for Leads does not assign Contacts.
        let contact = store
            .records(&admin())
            .create(
                "Contacts",
                &obj(json!({"lastname": "王", "assigned_user_id": me.user_id()})),
            )
            .await
            .unwrap();
        assert!(
            assignment::assign(&store, rule.id, "Contacts", contact.id)
                .await
                .is_err()
        );
        assignment::delete_rule(&store, &admin(), rule.id).await.unwrap();
        assert!(matches!(
            assignment::get_rule(&store, &admin(), rule.id).await,
            Err(StoreError::NotFound { .. })
        ));
        store.close().await;
        db.cleanup().await;
    }
}

/// Two nodes assign at the same time from one database: no slot is taken twice, so the
/// spread stays exact and the pointer counts every assignment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_never_pick_the_same_slot() {
    for db in all_backends().await {
        let node_a = db.store().await;
        let node_b = Store::open(&db.url).await.unwrap();
        let desk = sales_user(&node_a, "desk2").await.user_id();
        let x = sales_user(&node_a, "node_x").await.user_id();
        let y = sales_user(&node_a, "node_y").await.user_id();
        let rule = assignment::create_rule(&node_a, &admin(), &round_robin("nodes", &[x, y], None))
            .await
            .unwrap();
        let system = admin();
        let inputs: Vec<_> = (0..40)
            .map(|i| obj(json!({"lastname": format!("并发{i}"), "assigned_user_id": desk})))
            .collect();
        let ids: Vec<i64> = node_a
            .records(&system)
            .create_many("Leads", &inputs, true)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.unwrap())
            .collect();
        let mut tasks = Vec::new();
        for (n, id) in ids.iter().enumerate() {
            let store = if n % 2 == 0 { node_a.clone() } else { node_b.clone() };
            let (rule_id, id) = (rule.id, *id);
            tasks.push(tokio::spawn(async move {
                loop {
                    // SQLite's second node may find the file busy: try again, as a job would.
                    match assignment::assign(&store, rule_id, "Leads", id).await {
                        Ok(a) => break a.unwrap().user_id,
                        Err(e) if format!("{e:#}").contains("locked") || format!("{e:#}").contains("busy") => {
                            tokio::task::yield_now().await;
                        }
                        Err(e) => panic!("{e:#}"),
                    }
                }
            }));
        }
        let mut spread: BTreeMap<i64, usize> = BTreeMap::new();
        for t in tasks {
            *spread.entry(t.await.unwrap()).or_default() += 1;
        }
        assert_eq!(spread.get(&x), Some(&20), "{}: {spread:?}", db.backend);
        assert_eq!(spread.get(&y), Some(&20), "{}: {spread:?}", db.backend);
        let pointers = assignment::pointers(&node_a, &admin(), rule.id).await.unwrap();
        assert_eq!(pointers, vec![("fallback".to_string(), 40)], "{}", db.backend);
        node_b.close().await;
        node_a.close().await;
        db.cleanup().await;
    }
}
