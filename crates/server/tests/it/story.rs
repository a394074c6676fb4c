//! The story a new user lives through, on every backend: log in, create records of each
//! module and link them, edit with a stale version, add a custom field and filter on it,
//! search a 2-character Chinese fragment, delete and restore, read the history, restart.

use axum::http::StatusCode;
use sable_store::testing::all_backends;
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, spawn_app};

#[tokio::test]
async fn story() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let backend = db.backend;

        // a salesperson
        let (s, _) = app
            .admin(
                "POST",
                "/api/v1/users",
                Some(
                    json!({"user_name": "zhangwei", "password": "sales-pass-1", "last_name": "张", "first_name": "伟"}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{backend}");
        let (s, body) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "zhangwei", "password": "sales-pass-1"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let token = body["token"].as_str().unwrap().to_string();
        let t = Some(token.as_str());

        // records of each module, linked
        let (s, acc) = app
            .call(
                "POST",
                "/api/v1/records/Accounts",
                t,
                Some(
                    json!({"fields": {"accountname": "北京星辰科技有限公司", "industry": "科技", "bill_city": "北京"}}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{acc}");
        let acc_id = acc["id"].as_i64().unwrap();
        assert_eq!(acc["fields"]["industry"], "Technology");
        let (s, con) = app.call("POST", "/api/v1/records/Contacts", t, Some(json!({"fields": {"lastname": "李", "firstname": "娜", "account_id": acc_id, "mobile": "+86 138 0013 8000", "email": "li.na@example.cn"}}))).await;
        assert_eq!(s, StatusCode::CREATED, "{con}");
        let con_id = con["id"].as_i64().unwrap();
        assert_eq!(con["label"], "李娜");
        assert_eq!(con["labels"]["account_id"], "北京星辰科技有限公司");
        let (s, lead) = app.call("POST", "/api/v1/records/Leads", t, Some(json!({"fields": {"lastname": "王", "firstname": "芳", "company": "上海浦东贸易有限公司", "leadsource": "展会"}}))).await;
        assert_eq!(s, StatusCode::CREATED, "{lead}");
        let lead_id = lead["id"].as_i64().unwrap();
        let (s, opp) = app
            .call("POST", "/api/v1/records/Opportunities", t, Some(json!({"fields": {"potentialname": "服务器采购", "related_to": acc_id, "contact_id": con_id, "amount": "120000.00", "closingdate": "2026-12-31", "sales_stage": "方案制定"}})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{opp}");
        let opp_id = opp["id"].as_i64().unwrap();
        assert_eq!(opp["fields"]["sales_stage"], "Proposal");
        assert_eq!(opp["fields"]["amount"], "120000.00");
        assert_eq!(opp["version"], 1);

        // an edit, then a stale edit → 409 naming the change
        let path = format!("/api/v1/records/Opportunities/{opp_id}");
        let (s, v2) = app
            .call(
                "PATCH",
                &path,
                t,
                Some(json!({"version": 1, "fields": {"sales_stage": "Negotiation"}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v2}");
        assert_eq!(v2["version"], 2);
        let (s, conflict) = app
            .call(
                "PATCH",
                &path,
                t,
                Some(json!({"version": 1, "fields": {"amount": "1"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{conflict}");
        assert_eq!(conflict["error"]["code"], "stale_version");
        assert_eq!(conflict["error"]["conflict"]["current_version"], 2);
        assert!(
            conflict["error"]["conflict"]["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["field"] == "sales_stage" && c["new"] == "Negotiation")
        );

        // a custom field, then a filter on it
        let (s, f) = app.admin("POST", "/api/v1/modules/Leads/fields", Some(json!({"name": "cf_region", "type": "picklist", "label": {"en": "Region", "zh-CN": "区域"}, "values": ["华北", "华东"]}))).await;
        assert_eq!(s, StatusCode::CREATED, "{f}");
        let (s, denied) = app
            .call(
                "POST",
                "/api/v1/modules/Leads/fields",
                t,
                Some(json!({"name": "cf_x", "type": "text", "label": {"en": "X", "zh-CN": "X"}})),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{denied}");
        let (s, _) = app
            .call(
                "PATCH",
                &format!("/api/v1/records/Leads/{lead_id}"),
                t,
                Some(json!({"version": 1, "fields": {"cf_region": "华东"}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, page) = app
            .call(
                "POST",
                "/api/v1/records/Leads/query",
                t,
                Some(json!({"filter": {"all": [{"field": "cf_region", "op": "eq", "value": "华东"}]}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(page["count"], 1);
        assert_eq!(page["items"][0]["id"], lead_id);
        let (_, described) = app.call("GET", "/api/v1/modules/Leads", t, None).await;
        assert!(
            described["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == "cf_region" && f["labels"]["zh-CN"] == "区域")
        );

        // search a 2-character Chinese fragment
        let (s, found) = app.call("GET", "/api/v1/search?q=%E6%98%9F%E8%BE%B0", t, None).await; // 星辰
        assert_eq!(s, StatusCode::OK);
        assert_eq!(found["results"][0]["id"], acc_id, "{found}");
        let (_, found) = app.call("GET", "/api/v1/search?q=%E6%B5%A6%E4%B8%9C", t, None).await; // 浦东
        assert_eq!(found["results"][0]["id"], lead_id);

        // a full update (PUT) clears what it leaves out; a mandatory field left out is a 422
        let cpath = format!("/api/v1/records/Contacts/{con_id}");
        let owner = con["fields"]["assigned_user_id"].clone();
        let (s, e) = app
            .call(
                "PUT",
                &cpath,
                t,
                Some(json!({"version": 1, "fields": {"firstname": "娜", "assigned_user_id": owner}})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert!(e["error"]["fields"]["lastname"].is_string(), "{e}");
        let (s, replaced) = app
            .call("PUT", &cpath, t, Some(json!({"version": 1, "fields": {"lastname": "李", "firstname": "娜", "assigned_user_id": owner, "email": "na.li@example.cn"}})))
            .await;
        assert_eq!(s, StatusCode::OK, "{replaced}");
        assert_eq!(replaced["version"], 2);
        assert_eq!(replaced["fields"]["email"], "na.li@example.cn");
        assert!(replaced["fields"]["mobile"].is_null(), "{replaced}");
        assert!(replaced["fields"]["account_id"].is_null(), "{replaced}");

        // delete and restore; the recycle bin lists it meanwhile
        assert_eq!(app.call("DELETE", &cpath, t, None).await.0, StatusCode::NO_CONTENT);
        assert_eq!(app.call("GET", &cpath, t, None).await.0, StatusCode::NOT_FOUND);
        let (_, bin) = app
            .call(
                "POST",
                "/api/v1/records/Contacts/query",
                t,
                Some(json!({"deleted": true})),
            )
            .await;
        assert_eq!(bin["items"][0]["id"], con_id);
        let (s, restored) = app.call("POST", &format!("{cpath}/restore"), t, None).await;
        assert_eq!(s, StatusCode::OK, "{restored}");

        // history: who changed what
        let (_, hist) = app.call("GET", &format!("{path}/history"), t, None).await;
        let items = hist["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["actor"], "张伟");
        assert!(
            items[1]["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["field"] == "sales_stage" && c["old"] == "Proposal")
        );

        // another user cannot see these private records
        app.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"user_name": "other", "password": "other-pass-1", "last_name": "Other"})),
        )
        .await;
        let (_, body) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "other", "password": "other-pass-1"})),
            )
            .await;
        let other = body["token"].as_str().unwrap().to_string();
        assert_eq!(
            app.call("GET", &path, Some(&other), None).await.0,
            StatusCode::NOT_FOUND
        );
        let (_, none) = app
            .call("GET", "/api/v1/search?q=%E6%98%9F%E8%BE%B0", Some(&other), None)
            .await;
        assert_eq!(none["results"], json!([]));

        // restart: a new app on the same database finds everything intact
        app.store.close().await;
        let app = spawn_app(&db).await;
        let (s, body) = app
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "zhangwei", "password": "sales-pass-1"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let t2 = body["token"].as_str().unwrap().to_string();
        let (s, again) = app.call("GET", &path, Some(&t2), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(again["fields"]["sales_stage"], "Negotiation");
        let (_, page) = app
            .call(
                "GET",
                "/api/v1/records/Leads?cf_region=%E5%8D%8E%E4%B8%9C",
                Some(&t2),
                None,
            )
            .await;
        assert_eq!(page["count"], 1, "{page}");
        assert_eq!(
            app.call("GET", "/api/v1/search?q=%E6%98%9F%E8%BE%B0", Some(&t2), None)
                .await
                .1["results"][0]["id"],
            acc_id
        );
        assert!(
            sable_store::users::login(&app.store, "admin", ADMIN_PASSWORD)
                .await
                .unwrap()
                .is_ok()
        );

        // logout revokes the token
        assert_eq!(
            app.call("POST", "/api/v1/auth/logout", Some(&t2), None).await.0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.call("GET", "/api/v1/me", Some(&t2), None).await.0,
            StatusCode::UNAUTHORIZED
        );
        app.store.close().await;
        db.cleanup().await;
    }
}
