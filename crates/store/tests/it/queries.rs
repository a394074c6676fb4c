use sable_core::Filter;
use sable_store::testing::all_backends;
use sable_store::{Query, SortKey};
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
        store.close().await;
        db.cleanup().await;
    }
}
