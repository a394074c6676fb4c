use axum::http::StatusCode;
use sable_store::testing::all_backends;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn convert_a_lead_over_the_api_once() {
    for db in all_backends().await {
        let app = spawn_app(&db).await;
        let (s, lead) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "陈", "firstname": "静", "company": "深圳蓝海贸易", "phone": "0755-88886666"}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{}", db.backend);
        let id = lead["id"].as_i64().unwrap();
        let path = format!("/api/v1/records/Leads/{id}/convert");
        let body = json!({"account": {}, "contact": {"firstname": "晶"}, "opportunity": {"potentialname": "蓝海年单", "amount": "88000", "closingdate": "2027-03-31"}});
        let (s, done) = app.admin("POST", &path, Some(body.clone())).await;
        assert_eq!(s, StatusCode::OK, "{done}");
        let contact_id = done["contact_id"].as_i64().unwrap();
        let (_, contact) = app
            .admin("GET", &format!("/api/v1/records/Contacts/{contact_id}"), None)
            .await;
        assert_eq!(contact["fields"]["firstname"], "晶");
        assert_eq!(contact["fields"]["account_id"], done["account_id"]);
        let (_, opp) = app
            .admin(
                "GET",
                &format!("/api/v1/records/Opportunities/{}", done["opportunity_id"]),
                None,
            )
            .await;
        assert_eq!(opp["fields"]["related_to"], done["account_id"]);

        let (s, again) = app.admin("POST", &path, Some(body)).await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(again["error"]["code"], "lead_already_converted");
        let (s, edit) = app
            .admin(
                "PATCH",
                &format!("/api/v1/records/Leads/{id}"),
                Some(json!({"version": 2, "fields": {"firstname": "x"}})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{edit}");

        // No organization, no opportunity.
        let (_, lead2) = app
            .admin(
                "POST",
                "/api/v1/records/Leads",
                Some(json!({"fields": {"lastname": "周"}})),
            )
            .await;
        let (s, done) = app
            .admin(
                "POST",
                &format!("/api/v1/records/Leads/{}/convert", lead2["id"]),
                Some(json!({"account": null, "contact": {}, "opportunity": null})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{done}");
        assert!(done["account_id"].is_null() && done["opportunity_id"].is_null());

        // The mapping refuses a field of the wrong type.
        let (s, _) = app
            .admin(
                "PUT",
                "/api/v1/lead-conversion/mapping",
                Some(json!({"rows": [{"lead_field": "annualrevenue", "module": "Contacts", "field": "birthday"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, m) = app.admin("GET", "/api/v1/lead-conversion/mapping", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            m["rows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["field"] == "accountname" && r["fixed"] == true)
        );
        app.store.close().await;
        db.cleanup().await;
    }
}
