//! Imports through the API: a multipart upload starts a job, the job reports progress and
//! row errors, and undo takes back what it did.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sable_store::testing::all_backends;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

fn multipart(options: &Value, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "sable-test-boundary-7d1f";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"options\"\r\n\r\n{options}\r\n").as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"客户.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, options: Value, file: &[u8]) -> (StatusCode, Value) {
    let (content_type, body) = multipart(&options, file);
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/imports")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin_token))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    app.send(req).await
}

async fn wait_done(app: &TestApp, id: i64) -> Value {
    for _ in 0..200 {
        let (_, job) = app.admin("GET", &format!("/api/v1/imports/{id}"), None).await;
        if job["status"] != "running" {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish");
}

#[tokio::test]
async fn upload_follow_and_undo() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (_, existing) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "旧", "email": "old@example.cn", "company": "旧公司"}})),
            )
            .await;
        let existing_id = existing["id"].as_i64().unwrap();
        // GBK bytes, as Excel on Chinese Windows saves them
        let csv = "姓,公司,邮箱\r\n张,新公司,zhang@example.cn\r\n旧,改过的公司,OLD@example.cn\r\n坏,,not-an-email\r\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(csv);
        let (s, started) = upload(
            &app,
            json!({"module": "Leads", "match": ["email"], "on_duplicate": "update"}),
            &gbk,
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{}: {started}", db.backend);
        let id = started["id"].as_i64().unwrap();
        let job = wait_done(&app, id).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(
            (job["created"].as_i64(), job["updated"].as_i64(), job["failed"].as_i64()),
            (Some(1), Some(1), Some(1)),
            "{job}"
        );
        assert_eq!(job["report"]["encoding"], "GBK");
        let failed = &job["report"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["status"] == "failed")
            .unwrap()
            .clone();
        assert_eq!(failed["line"], 4);
        assert_eq!(failed["cells"][0], "坏", "failed rows keep their cells");
        let (_, rec) = app
            .admin("GET", &format!("/api/v1/records/Leads/{existing_id}"), None)
            .await;
        assert_eq!(rec["fields"]["company"], "改过的公司");
        // undo: the created lead goes, the overwritten one comes back
        let (s, undone) = app.admin("POST", &format!("/api/v1/imports/{id}/undo"), None).await;
        assert_eq!(s, StatusCode::OK, "{undone}");
        assert_eq!(undone["status"], "undone");
        let (_, rec) = app
            .admin("GET", &format!("/api/v1/records/Leads/{existing_id}"), None)
            .await;
        assert_eq!(rec["fields"]["company"], "旧公司");
        let (_, page) = app.admin("POST", "/api/v1/records/Leads/query", Some(json!({}))).await;
        assert_eq!(page["count"], 1, "only the lead that was there before");
        assert_eq!(
            app.admin("POST", &format!("/api/v1/imports/{id}/undo"), None).await.0,
            StatusCode::CONFLICT,
            "undo once"
        );
        // bad uploads: no file, empty file, unknown module, bad options, a binary file, too large
        let (s, _) = upload(&app, json!({"module": "Leads"}), b"").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = upload(&app, json!({"module": "Spaceships"}), b"a,b\n1,2\n").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = upload(&app, json!({"module": "Leads", "on_duplicate": "explode"}), b"a\n1\n").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, started) = upload(
            &app,
            json!({"module": "Leads"}),
            &[0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0, 1, 2, 3],
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        let job = wait_done(&app, started["id"].as_i64().unwrap()).await;
        assert_eq!(job["status"], "failed");
        assert!(
            job["error"].as_str().unwrap().contains("binary") || job["error"].as_str().unwrap().contains("not a text"),
            "{job}"
        );
        let big = vec![b'x'; 2 * 1024 * 1024];
        let (s, e) = upload(&app, json!({"module": "Leads"}), &big).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
        let (_, list) = app.admin("GET", "/api/v1/imports", None).await;
        assert!(list["items"].as_array().unwrap().len() >= 2);
        app.store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn options_create_fields_add_picklist_values_and_all_or_nothing() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let csv = "lastname,wechat,leadsource\n王,wx_wang,微信\n李,,百度推广\n";
        let (s, started) = upload(
            &app,
            json!({"module": "Leads", "create_fields": true, "add_picklist_values": true}),
            csv.as_bytes(),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{}: {started}", db.backend);
        let job = wait_done(&app, started["id"].as_i64().unwrap()).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(
            (job["created"].as_i64(), job["failed"].as_i64()),
            (Some(2), Some(0)),
            "{job}"
        );
        assert_eq!(job["total_rows"], 2, "the rows are counted first, for the progress bar");
        assert_eq!(job["report"]["created_fields"], json!(["cf_wechat"]));
        assert_eq!(job["report"]["added_picklist_values"].as_array().map(Vec::len), Some(2));
        let (_, page) = app
            .admin(
                "POST",
                "/api/v1/records/Leads/query",
                Some(json!({"filter": {"field": "cf_wechat", "op": "eq", "value": "wx_wang"}})),
            )
            .await;
        assert_eq!(page["count"], 1, "{page}");
        // All or nothing: one bad row and nothing is written.
        let csv = "lastname,email\n好,good@example.cn\n坏,not-an-email\n";
        let (_, started) = upload(&app, json!({"module": "Leads", "all_or_nothing": true}), csv.as_bytes()).await;
        let job = wait_done(&app, started["id"].as_i64().unwrap()).await;
        assert_eq!(
            (job["created"].as_i64(), job["failed"].as_i64()),
            (Some(1), Some(1)),
            "{job}"
        );
        assert_eq!(job["report"]["dry_run"], true, "{job}");
        assert!(
            job["report"]["warnings"].to_string().contains("nothing was written"),
            "{job}"
        );
        let (_, page) = app.admin("POST", "/api/v1/records/Leads/query", Some(json!({}))).await;
        assert_eq!(page["count"], 2, "only the first import's leads");
        // Without the bad row it writes.
        let (_, started) = upload(
            &app,
            json!({"module": "Leads", "all_or_nothing": true}),
            "lastname,email\n好,good@example.cn\n".as_bytes(),
        )
        .await;
        let job = wait_done(&app, started["id"].as_i64().unwrap()).await;
        assert_eq!(
            (job["created"].as_i64(), job["report"]["dry_run"].as_bool()),
            (Some(1), Some(false)),
            "{job}"
        );
        // A contact's organization that does not exist yet, made on request.
        let (_, started) = upload(
            &app,
            json!({"module": "Contacts", "create_missing_parents": true}),
            "lastname,account_id\n张,新公司\n".as_bytes(),
        )
        .await;
        let job = wait_done(&app, started["id"].as_i64().unwrap()).await;
        assert_eq!(
            (job["created"].as_i64(), job["failed"].as_i64()),
            (Some(1), Some(0)),
            "{job}"
        );
        assert!(
            job["report"]["rows"][0]["note"]
                .as_str()
                .unwrap_or("")
                .contains("created Accounts"),
            "{job}"
        );
        let (s, e) = upload(&app, json!({"module": "Leads", "create_fields": "yes"}), b"a\n1\n").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        app.store.close().await;
        db.cleanup().await;
    }
}
