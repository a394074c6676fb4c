//! Tasks and Events, and the follow-up figures they keep on the records they are linked to.

use sable_core::Filter;
use sable_core::Value;
use sable_store::testing::all_backends;
use sable_store::{Query, SortKey};
use serde_json::json;

use crate::helpers::{obj, sales_user};

fn count(r: &sable_store::Record) -> Option<i64> {
    match r.values.get("followup_count") {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    }
}

fn next(r: &sable_store::Record) -> Option<String> {
    match r.values.get("next_followup") {
        Some(Value::Date(d)) => Some(d.to_string()),
        _ => None,
    }
}

#[tokio::test]
async fn tasks_and_events_are_modules() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "liqiang").await;
        let svc = store.records(&me);
        let task = svc
            .create(
                "Tasks",
                &obj(json!({"subject": "回访 <客户>", "due_date": "2026-12-10", "taskstatus": "进行中", "taskpriority": "高"})),
            )
            .await
            .unwrap();
        let registry = store.registry().await.unwrap();
        let wire = task.to_json(registry.module("Tasks").unwrap());
        assert_eq!(wire["fields"]["task_no"], "TSK1", "{}", db.backend);
        assert_eq!(wire["fields"]["taskstatus"], "In Progress");
        assert_eq!(wire["fields"]["taskpriority"], "High");
        let event = svc
            .create(
                "Events",
                &obj(json!({"subject": "拜访客户", "activitytype": "拜访", "date_start": "2026-12-08", "time_start": "14:30", "allday": false, "location": "北京"})),
            )
            .await
            .unwrap();
        let wire = event.to_json(registry.module("Events").unwrap());
        assert_eq!(wire["fields"]["event_no"], "EVT1");
        assert_eq!(wire["fields"]["activitytype"], "Visit");
        assert_eq!(wire["fields"]["eventstatus"], "Planned");
        // A subject is mandatory; an unknown status is refused.
        assert!(
            svc.create("Tasks", &obj(json!({"due_date": "2026-12-10"})))
                .await
                .is_err()
        );
        assert!(
            svc.create(
                "Events",
                &obj(json!({"subject": "x", "date_start": "2026-12-08", "eventstatus": "Maybe"}))
            )
            .await
            .is_err()
        );
    }
}

#[tokio::test]
async fn followups_are_kept_on_the_linked_record() {
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "wangfang").await;
        let svc = store.records(&me);
        let contact = svc.create("Contacts", &obj(json!({"lastname": "王"}))).await.unwrap();
        let other = svc.create("Contacts", &obj(json!({"lastname": "李"}))).await.unwrap();
        let c = contact.id;
        let today = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        let day = |n: i64| today.checked_add(jiff::Span::new().days(n)).unwrap().to_string();
        let (long_ago, soon, later) = (day(-30), day(1), day(3));
        let done = svc
            .create(
                "Tasks",
                &obj(json!({"subject": "电话沟通", "parent_id": c, "taskstatus": "Completed", "date_start": long_ago, "time_start": "09:00"})),
            )
            .await
            .unwrap();
        let r = svc.get("Contacts", c).await.unwrap();
        assert_eq!(count(&r), Some(1), "{}", db.backend);
        assert!(matches!(r.values.get("last_contacted"), Some(Value::DateTime(_))));
        assert_eq!(next(&r), None);
        assert_eq!(r.version, contact.version, "bookkeeping does not make editors stale");

        let open = svc
            .create(
                "Tasks",
                &obj(json!({"subject": "发报价", "parent_id": c, "due_date": later})),
            )
            .await
            .unwrap();
        let event = svc
            .create(
                "Events",
                &obj(json!({"subject": "拜访", "parent_id": c, "date_start": soon, "time_start": "10:00"})),
            )
            .await
            .unwrap();
        let r = svc.get("Contacts", c).await.unwrap();
        assert_eq!((count(&r), next(&r).as_deref()), (Some(1), Some(soon.as_str())));

        // The visit is held: a second follow-up, and the next one is the open task.
        svc.update("Events", event.id, None, &obj(json!({"eventstatus": "Held"})))
            .await
            .unwrap();
        let r = svc.get("Contacts", c).await.unwrap();
        assert_eq!((count(&r), next(&r).as_deref()), (Some(2), Some(later.as_str())));

        // Delete and restore an activity.
        svc.delete("Tasks", done.id).await.unwrap();
        assert_eq!(count(&svc.get("Contacts", c).await.unwrap()), Some(1));
        svc.restore("Tasks", done.id).await.unwrap();
        assert_eq!(count(&svc.get("Contacts", c).await.unwrap()), Some(2));

        // Moving the open task to another contact updates both.
        svc.update("Tasks", open.id, None, &obj(json!({"parent_id": other.id})))
            .await
            .unwrap();
        assert_eq!(next(&svc.get("Contacts", c).await.unwrap()), None);
        assert_eq!(
            next(&svc.get("Contacts", other.id).await.unwrap()).as_deref(),
            Some(later.as_str())
        );

        // The figures are read-only to clients.
        assert!(
            svc.update("Contacts", c, None, &obj(json!({"followup_count": 9})))
                .await
                .is_err()
        );

        // Filterable and sortable: overdue follow-ups, not contacted lately, most followed up.
        let query = |filter: serde_json::Value, sort: Vec<SortKey>| Query {
            filter: Filter::from_json(&filter).unwrap(),
            sort,
            ..Query::default()
        };
        let overdue = svc
            .query(
                "Contacts",
                &query(json!({"field": "next_followup", "op": "lt", "value": day(4)}), vec![]),
            )
            .await
            .unwrap();
        assert_eq!(overdue.items.iter().map(|r| r.id).collect::<Vec<_>>(), vec![other.id]);
        let stale = svc
            .query(
                "Contacts",
                &query(
                    json!({"any": [
                        {"field": "last_contacted", "op": "lt", "value": {"relative": "last_n_days", "n": 14}},
                        {"field": "last_contacted", "op": "is_empty"}
                    ]}),
                    vec![],
                ),
            )
            .await
            .unwrap();
        assert_eq!(stale.items.len(), 1, "only the contact never reached: {}", db.backend);
        let sorted = svc
            .query(
                "Contacts",
                &query(
                    json!({"field": "followup_count", "op": "ge", "value": 0}),
                    vec![SortKey {
                        field: "followup_count".into(),
                        desc: true,
                    }],
                ),
            )
            .await
            .unwrap();
        assert_eq!(sorted.items.first().map(|r| r.id), Some(c));
    }
}

#[tokio::test]
async fn agenda_overdue_reminders_and_feed_tokens() {
    use sable_store::calendar;
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "zhoujie").await;
        let other = sales_user(&store, "wuqi").await;
        let svc = store.records(&me);
        let now = jiff::Timestamp::now();
        let local = now.to_zoned_datetime(me.tz().clone());
        let today = local.date();
        let d = |n: i64| today.checked_add(jiff::Span::new().days(n)).unwrap();
        let soon = now + jiff::SignedDuration::from_mins(10);
        let soon_local = soon.to_zoned_datetime(me.tz().clone());
        let later = now + jiff::SignedDuration::from_hours(3);
        let later_local = later.to_zoned_datetime(me.tz().clone());
        let hhmm = |z: &jiff::ZonedDateTime| format!("{:02}:{:02}", z.hour(), z.minute());
        let mut ids = std::collections::BTreeMap::new();
        for (name, module, fields) in [
            (
                "due_today",
                "Tasks",
                json!({"subject": "今天到期", "due_date": today.to_string()}),
            ),
            (
                "late",
                "Tasks",
                json!({"subject": "逾期", "due_date": d(-2).to_string()}),
            ),
            (
                "late_done",
                "Tasks",
                json!({"subject": "逾期已完成", "due_date": d(-2).to_string(), "taskstatus": "Completed"}),
            ),
            (
                "soon",
                "Events",
                json!({"subject": "马上开会", "activitytype": "Meeting", "date_start": soon_local.date().to_string(), "time_start": hhmm(&soon_local)}),
            ),
            (
                "later",
                "Events",
                json!({"subject": "晚些拜访", "activitytype": "Visit", "date_start": later_local.date().to_string(), "time_start": hhmm(&later_local)}),
            ),
            (
                "task_soon",
                "Tasks",
                json!({"subject": "马上要交", "due_date": soon_local.date().to_string(), "time_end": hhmm(&soon_local)}),
            ),
            (
                "task_later",
                "Tasks",
                json!({"subject": "晚些要交", "due_date": later_local.date().to_string(), "time_end": hhmm(&later_local)}),
            ),
            (
                "next_week",
                "Events",
                json!({"subject": "下周", "date_start": d(8).to_string(), "allday": true}),
            ),
        ] {
            ids.insert(name, svc.create(module, &obj(fields)).await.unwrap().id);
        }
        store
            .records(&other)
            .create(
                "Tasks",
                &obj(json!({"subject": "别人的", "due_date": today.to_string()})),
            )
            .await
            .unwrap();
        let names = |items: &[calendar::AgendaItem]| {
            let mut v: Vec<&str> = items
                .iter()
                .map(|i| {
                    *ids.iter()
                        .find(|(_, id)| **id == i.id)
                        .map(|(n, _)| n)
                        .expect("one of mine")
                })
                .collect();
            v.sort();
            v
        };
        let week = calendar::agenda(&store, &me, d(-3), d(3)).await.unwrap();
        assert!(names(&week).contains(&"due_today") && names(&week).contains(&"late_done"));
        assert!(!names(&week).contains(&"next_week"), "{}", db.backend);
        assert_eq!(
            names(&calendar::overdue(&store, &me, today).await.unwrap()),
            vec!["late"]
        );
        let reminders = names(&calendar::reminders(&store, &me, now).await.unwrap());
        assert!(
            reminders.contains(&"due_today") && !reminders.contains(&"later"),
            "{reminders:?}"
        );
        // The meeting in 10 minutes reminds, unless it falls on tomorrow's date.
        if soon_local.date() == today {
            assert!(reminders.contains(&"soon"), "{reminders:?}");
            // A task due at a time reminds within the same lead as an event.
            assert!(reminders.contains(&"task_soon"), "{reminders:?} {}", db.backend);
        }
        // A task due today at a time three hours on does not remind from midnight.
        assert!(!reminders.contains(&"task_later"), "{reminders:?} {}", db.backend);
        // Once its time draws near, it does.
        if later_local.date() == today {
            let near = later - jiff::SignedDuration::from_mins(10);
            let at_near = names(&calendar::reminders(&store, &me, near).await.unwrap());
            assert!(at_near.contains(&"task_later"), "{at_near:?} {}", db.backend);
            assert!(at_near.contains(&"due_today"), "{at_near:?}");
        }

        // Feed tokens: random, hashed, rotated and revoked.
        assert!(!calendar::has_feed_token(&store, &me).await.unwrap());
        let first = calendar::rotate_feed_token(&store, &me).await.unwrap();
        assert!(first.len() >= 40);
        assert_eq!(
            calendar::feed_user(&store, &first).await.unwrap().map(|u| u.id),
            Some(me.user_id())
        );
        let second = calendar::rotate_feed_token(&store, &me).await.unwrap();
        assert_ne!(first, second);
        assert!(
            calendar::feed_user(&store, &first).await.unwrap().is_none(),
            "rotated away"
        );
        assert!(calendar::feed_user(&store, &second).await.unwrap().is_some());
        calendar::revoke_feed_token(&store, &me).await.unwrap();
        assert!(calendar::feed_user(&store, &second).await.unwrap().is_none(), "revoked");
        assert!(calendar::feed_user(&store, "").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn an_event_followup_and_its_next_task_are_written_together() {
    use sable_store::followups::{FollowupKind, NewFollowup, log_followup};
    for db in all_backends().await {
        let store = db.store().await;
        let me = sales_user(&store, "wangfang").await;
        let svc = store.records(&me);
        let contact = svc.create("Contacts", &obj(json!({"lastname": "赵"}))).await.unwrap();
        let c = contact.id;
        let mine = |module: &'static str| {
            let svc = store.records(&me);
            async move {
                let q = Query {
                    filter: Filter::from_json(&json!({"field": "parent_id", "op": "eq", "value": c})).unwrap(),
                    limit: 100,
                    ..Query::default()
                };
                svc.query(module, &q).await.unwrap().items.len()
            }
        };

        // A next date that is no date: the held call was written first in the same
        // transaction, and nothing of it stays.
        let bad = NewFollowup {
            summary: "电话沟通".into(),
            kind: FollowupKind::Call,
            next_date: Some("2025-02-30".into()),
            ..NewFollowup::default()
        };
        let err = log_followup(&store, &me, "Contacts", c, &bad).await;
        assert!(
            matches!(err, Err(sable_store::StoreError::Invalid(_))),
            "{}: {err:?}",
            db.backend
        );
        assert_eq!(mine("Events").await, 0, "{}: no held event is left behind", db.backend);
        assert_eq!(mine("Tasks").await, 0);
        let r = svc.get("Contacts", c).await.unwrap();
        assert_eq!(count(&r), Some(0));

        let good = NewFollowup {
            next_date: Some("2030-01-15".into()),
            kind: FollowupKind::Meeting,
            ..bad
        };
        let logged = log_followup(&store, &me, "Contacts", c, &good).await.unwrap();
        assert_eq!(logged.module, "Events");
        assert!(logged.next_task_id.is_some());
        assert_eq!((mine("Events").await, mine("Tasks").await), (1, 1));
        let r = svc.get("Contacts", c).await.unwrap();
        assert_eq!((count(&r), next(&r).as_deref()), (Some(1), Some("2030-01-15")));
        store.close().await;
        db.cleanup().await;
    }
}
