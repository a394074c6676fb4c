use sable_core::Filter;
use sable_store::testing::all_backends;
use sable_store::{Query, SortKey, StoreError};
use serde_json::json;

use crate::helpers::{admin, obj};

fn q(filter: serde_json::Value) -> Query {
    Query {
        filter: Filter::from_json(&filter).unwrap(),
        ..Query::default()
    }
}

#[tokio::test]
async fn filters_sorts_pages_and_search() {
    for db in all_backends().await {
        let store = db.store().await;
        let actor = admin();
        let svc = store.records(&actor);
        let owner = sable_store::users::create_user(
            &store,
            &actor,
            &sable_store::users::NewUser {
                user_name: "owner".into(),
                password: "password1".into(),
                last_name: "Owner".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let rows = [
            (
                "张伟",
                "北京朝阳科技",
                "+86 138 0013 8000",
                "Hot",
                Some("zhang@example.com"),
            ),
            ("李娜", "上海浦东贸易", "139-0000-1111", "Cold", None),
            (
                "王芳",
                "北方京东物流",
                "13700001111",
                "Hot",
                Some("Wang.Fang@Example.com"),
            ),
            (
                "Smith",
                "Acme Beijing",
                "(202) 555-0143",
                "Warm",
                Some("smith@acme.com"),
            ),
        ];
        let mut ids = Vec::new();
        for (name, company, mobile, status, email) in rows {
            let mut input = obj(
                json!({"lastname": name, "company": company, "mobile": mobile, "leadstatus": status, "assigned_user_id": owner.id, "annualrevenue": "1000"}),
            );
            if let Some(e) = email {
                input.insert("email".into(), json!(e));
            }
            ids.push(svc.create("Leads", &input).await.unwrap().id);
        }
        let count = |p: sable_store::Page| p.items.iter().map(|r| r.id).collect::<Vec<_>>();
        // phone matching by normalised number
        let p = svc
            .query("Leads", &q(json!({"field":"mobile","op":"eq","value":"8613800138000"})))
            .await
            .unwrap();
        assert_eq!(count(p), vec![ids[0]], "{}", db.backend);
        // e-mail case-insensitive equality
        let p = svc
            .query(
                "Leads",
                &q(json!({"field":"email","op":"eq","value":"wang.fang@example.COM"})),
            )
            .await
            .unwrap();
        assert_eq!(count(p), vec![ids[2]]);
        // any/all, in, is_empty, contains
        let p = svc.query("Leads", &q(json!({"any":[{"field":"leadstatus","op":"in","value":["冷","Warm"]},{"field":"email","op":"is_empty"}]}))).await.unwrap();
        assert_eq!(count(p), vec![ids[1], ids[3]]);
        let p = svc
            .query(
                "Leads",
                &q(json!({"all":[{"field":"company","op":"contains","value":"beijing"}]})),
            )
            .await
            .unwrap();
        assert_eq!(count(p), vec![ids[3]]);
        let p = svc
            .query("Leads", &q(json!({"field":"company","op":"contains","value":"100%_"})))
            .await
            .unwrap();
        assert!(p.items.is_empty());
        // relative dates on createdtime: everything was created today
        let p = svc
            .query(
                "Leads",
                &q(json!({"field":"createdtime","op":"eq","value":{"relative":"today"}})),
            )
            .await
            .unwrap();
        assert_eq!(p.count, Some(4));
        let p = svc
            .query(
                "Leads",
                &q(json!({"field":"createdtime","op":"lt","value":{"relative":"last_n_days","n":3}})),
            )
            .await
            .unwrap();
        assert_eq!(p.count, Some(0));
        // sort by a field with keyset pages of 1
        let mut query = q(json!({}));
        query.sort = vec![SortKey {
            field: "email".into(),
            desc: false,
        }];
        query.limit = 1;
        let mut seen = Vec::new();
        loop {
            let page = svc.query("Leads", &query).await.unwrap();
            seen.extend(page.items.iter().map(|r| r.id));
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
        // the lead without e-mail sorts first (empty is smallest), then by e-mail in
        // code-point order on both databases (upper case before lower case)
        assert_eq!(seen, vec![ids[1], ids[2], ids[3], ids[0]]);
        query.sort[0].desc = true;
        query.cursor = None;
        let mut seen_desc = Vec::new();
        loop {
            let page = svc.query("Leads", &query).await.unwrap();
            seen_desc.extend(page.items.iter().map(|r| r.id));
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
        seen.reverse();
        assert_eq!(seen_desc, seen);

        // search: 2-character Chinese fragment, not across a gap; Latin prefix; phone digits
        let hits = svc.search("北京", 10).await.unwrap();
        assert_eq!(
            hits.iter().map(|h| h.id).collect::<Vec<_>>(),
            vec![ids[0]],
            "北方京东 must not match 北京"
        );
        assert_eq!(svc.search("张伟", 10).await.unwrap().len(), 1);
        // 3+ characters: the pairs must stand next to each other, in order
        assert_eq!(svc.search("朝阳科技", 10).await.unwrap()[0].id, ids[0]);
        let apart = svc
            .create(
                "Leads",
                &obj(json!({"lastname": "赵", "company": "北京 南京市", "assigned_user_id": owner.id})),
            )
            .await
            .unwrap();
        let hits: Vec<i64> = svc.search("北京市", 10).await.unwrap().iter().map(|h| h.id).collect();
        assert!(hits.is_empty(), "北京 and 南京市 apart must not match 北京市: {hits:?}");
        assert_eq!(svc.search("南京市", 10).await.unwrap()[0].id, apart.id);
        assert_eq!(svc.search("acm", 10).await.unwrap()[0].id, ids[3]);
        assert_eq!(svc.search("13800138000", 10).await.unwrap()[0].id, ids[0]);
        assert!(svc.search("\"; DROP TABLE records; --", 10).await.unwrap().is_empty());
        assert!(svc.search("", 10).await.unwrap().is_empty());
        // bad filters are errors, not crashes
        assert!(
            svc.query("Leads", &q(json!({"field":"nope","op":"eq","value":1})))
                .await
                .is_err()
        );
        let mut bad_sort = q(json!({}));
        bad_sort.sort = vec![SortKey {
            field: "nope".into(),
            desc: false,
        }];
        assert!(svc.query("Leads", &bad_sort).await.is_err());
        let mut bad_cursor = q(json!({}));
        bad_cursor.cursor = Some("garbage!!".into());
        assert!(svc.query("Leads", &bad_cursor).await.is_err());
        // A cursor kept from a text sort, reused with a number sort, or forged with a NUL:
        // a clear "bad request" on both databases, never a database error.
        let mut by_email = q(json!({}));
        // (descending, so the first page ends on an e-mail, not on the lead without one)
        by_email.sort = vec![SortKey {
            field: "email".into(),
            desc: true,
        }];
        by_email.limit = 1;
        let text_cursor = svc.query("Leads", &by_email).await.unwrap().next_cursor;
        assert!(text_cursor.is_some());
        let mut by_time = q(json!({}));
        by_time.sort = vec![SortKey {
            field: "createdtime".into(),
            desc: false,
        }];
        by_time.cursor = text_cursor;
        assert!(
            matches!(svc.query("Leads", &by_time).await, Err(StoreError::Refused(_))),
            "{}",
            db.backend
        );
        use base64::Engine as _;
        by_email.cursor = Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"v":"a\u0000b","id":1}"#));
        assert!(matches!(
            svc.query("Leads", &by_email).await,
            Err(StoreError::Refused(_))
        ));
        let nul = svc
            .query(
                "Leads",
                &q(json!({"field":"company","op":"contains","value":"a\u{0}b"})),
            )
            .await;
        assert!(nul.is_err() && !matches!(nul, Err(StoreError::Other(_))), "{nul:?}");
        store.close().await;
        db.cleanup().await;
    }
}

/// Every operator of the filter tree, on every kind of column, compiled to real SQL on
/// each backend; offset pages; relative dates in the actor's own time zone.
#[tokio::test]
async fn every_operator_and_field_type_on_real_sql() {
    use sable_core::registry::NewField;
    use sable_store::meta_store::add_custom_field;
    for db in all_backends().await {
        let store = db.store().await;
        let system = admin();
        for def in [
            json!({"name": "cf_met", "type": "datetime", "label": {"en": "Met", "zh-CN": "会面"}}),
            json!({"name": "cf_slot", "type": "time", "label": {"en": "Slot", "zh-CN": "时段"}}),
            json!({"name": "cf_vip", "type": "boolean", "label": {"en": "VIP", "zh-CN": "贵宾"}}),
            json!({"name": "cf_site", "type": "url", "label": {"en": "Site", "zh-CN": "网站"}}),
            json!({"name": "cf_tags", "type": "tags", "label": {"en": "Tags", "zh-CN": "标签"}}),
            json!({"name": "cf_lines", "type": "multipicklist", "label": {"en": "Lines", "zh-CN": "产品线"}, "values": ["ERP", "CRM", "OA"]}),
            json!({"name": "cf_code", "type": "text", "unique": true, "label": {"en": "Code", "zh-CN": "编码"}}),
        ] {
            let new: NewField = serde_json::from_value(def).unwrap();
            add_custom_field(&store, &system, "Leads", &new).await.unwrap();
        }
        let user = sable_store::users::create_user(
            &store,
            &system,
            &sable_store::users::NewUser {
                user_name: "shanghai".into(),
                password: "password1".into(),
                last_name: "上海".into(),
                time_zone: Some("Asia/Shanghai".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let me = user.actor();
        let svc = store.records(&me);
        // "today" for a user in Shanghai, 00:30 local = 16:30 UTC the day before
        let today = jiff::Timestamp::now().in_tz("Asia/Shanghai").unwrap().date();
        let just_after_midnight = today
            .at(0, 30, 0, 0)
            .in_tz("Asia/Shanghai")
            .unwrap()
            .timestamp()
            .to_string();
        let rows = [
            json!({"lastname": "甲", "annualrevenue": "100", "cf_met": just_after_midnight, "cf_slot": "09:30", "cf_vip": true, "cf_site": "https://a.example.cn", "cf_tags": ["重点", "华北"], "cf_lines": ["ERP", "CRM"], "cf_code": "A-1"}),
            json!({"lastname": "乙", "annualrevenue": "200", "cf_met": "2020-01-01T12:00:00Z", "cf_slot": "14:00", "cf_vip": false, "cf_site": "http://b.example.com", "cf_tags": ["华东"], "cf_lines": ["OA"], "cf_code": "B-2"}),
            json!({"lastname": "丙", "annualrevenue": "300", "cf_vip": false, "cf_lines": ["CRM"], "cf_code": "C-3"}),
            json!({"lastname": "丁丁", "cf_code": "D-4"}),
        ];
        let mut ids = Vec::new();
        for mut r in rows {
            r["assigned_user_id"] = json!(me.user_id());
            ids.push(svc.create("Leads", &obj(r)).await.unwrap().id);
        }
        // round trip of each type through the database
        let reg = store.registry().await.unwrap();
        let leads = reg.module("Leads").unwrap();
        let first = svc.get("Leads", ids[0]).await.unwrap().to_json(leads);
        assert_eq!(first["fields"]["cf_slot"], "09:30:00", "{}", db.backend);
        assert_eq!(first["fields"]["cf_vip"], true);
        assert_eq!(first["fields"]["cf_site"], "https://a.example.cn");
        assert_eq!(first["fields"]["cf_lines"], json!(["ERP", "CRM"]));
        assert_eq!(first["fields"]["cf_tags"], json!(["重点", "华北"]));
        let met = first["fields"]["cf_met"].as_str().unwrap();
        assert!(met.ends_with('Z') && met.contains("T16:30:00"), "stored in UTC: {met}");

        let matching = |filter: serde_json::Value| {
            let svc = &svc;
            async move {
                let page = svc
                    .query("Leads", &q(filter.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("{filter}: {e}"));
                let mut got: Vec<i64> = page.items.iter().map(|r| r.id).collect();
                got.sort();
                got
            }
        };
        let cases = [
            // "not equal" includes records without a value, as a user reads it
            (
                json!({"field": "annualrevenue", "op": "ne", "value": "100"}),
                vec![1, 2, 3],
            ),
            (json!({"field": "annualrevenue", "op": "lt", "value": "200"}), vec![0]),
            (
                json!({"field": "annualrevenue", "op": "le", "value": "200"}),
                vec![0, 1],
            ),
            (json!({"field": "annualrevenue", "op": "gt", "value": "200"}), vec![2]),
            (
                json!({"field": "annualrevenue", "op": "ge", "value": "200"}),
                vec![1, 2],
            ),
            (
                json!({"field": "annualrevenue", "op": "between", "value": ["150", "300"]}),
                vec![1, 2],
            ),
            (json!({"field": "annualrevenue", "op": "is_empty"}), vec![3]),
            (json!({"field": "cf_code", "op": "starts_with", "value": "b-"}), vec![1]),
            (json!({"field": "cf_code", "op": "ends_with", "value": "-3"}), vec![2]),
            (
                json!({"field": "cf_code", "op": "not_in", "value": ["A-1", "D-4"]}),
                vec![1, 2],
            ),
            (
                json!({"field": "cf_code", "op": "in", "value": ["A-1", "D-4"]}),
                vec![0, 3],
            ),
            (json!({"field": "cf_vip", "op": "eq", "value": true}), vec![0]),
            // an unticked checkbox is false
            (json!({"field": "cf_vip", "op": "eq", "value": false}), vec![1, 2, 3]),
            (json!({"field": "cf_slot", "op": "ge", "value": "12:00"}), vec![1]),
            (
                json!({"field": "cf_site", "op": "contains", "value": "example.com"}),
                vec![1],
            ),
            (json!({"field": "cf_lines", "op": "eq", "value": "CRM"}), vec![0, 2]),
            (
                json!({"field": "cf_lines", "op": "in", "value": ["OA", "ERP"]}),
                vec![0, 1],
            ),
            (json!({"field": "cf_lines", "op": "is_not_empty"}), vec![0, 1, 2]),
            (json!({"field": "cf_tags", "op": "eq", "value": "华东"}), vec![1]),
            (json!({"field": "lastname", "op": "ne", "value": "甲"}), vec![1, 2, 3]),
            (
                json!({"field": "cf_met", "op": "eq", "value": {"relative": "today"}}),
                vec![0],
            ),
            (json!({"field": "cf_met", "op": "lt", "value": "2021-01-01"}), vec![1]),
            (
                json!({"any": [{"field": "cf_code", "op": "eq", "value": "A-1"}, {"all": [{"field": "cf_vip", "op": "eq", "value": false}, {"field": "annualrevenue", "op": "gt", "value": "250"}]}]}),
                vec![0, 2],
            ),
        ];
        for (filter, want) in cases {
            let want: Vec<i64> = want.into_iter().map(|i| ids[i]).collect();
            assert_eq!(matching(filter.clone()).await, want, "{}: {filter}", db.backend);
        }
        // offset pages walk every record once
        let mut seen = Vec::new();
        for offset in [0, 2, 4] {
            let page = svc
                .query(
                    "Leads",
                    &Query {
                        sort: vec![SortKey {
                            field: "cf_code".into(),
                            desc: false,
                        }],
                        limit: 2,
                        offset: Some(offset),
                        ..Query::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(page.count, Some(4));
            seen.extend(page.items.iter().map(|r| r.id));
        }
        assert_eq!(seen, ids);
        // a unique field refuses a second record with the same value, as a field error
        let dup = svc
            .create(
                "Leads",
                &obj(json!({"lastname": "戊", "cf_code": "A-1", "assigned_user_id": me.user_id()})),
            )
            .await;
        assert!(
            matches!(&dup, Err(sable_store::StoreError::Invalid(e)) if e.0.contains_key("cf_code")),
            "{dup:?}"
        );
        let b = svc.get("Leads", ids[1]).await.unwrap();
        let clash = svc
            .update("Leads", ids[1], Some(b.version), &obj(json!({"cf_code": "C-3"})))
            .await;
        assert!(matches!(&clash, Err(sable_store::StoreError::Invalid(e)) if e.0.contains_key("cf_code")));
        store.close().await;
        db.cleanup().await;
    }
}
