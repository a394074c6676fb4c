//! Lead conversion over the API: `POST /records/Leads/{id}/convert` and the admin's field
//! mapping at `/lead-conversion/mapping`. The rules live in `sable_store::convert`.

use axum::Json;
use axum::extract::{Path, State};
use sable_store::convert::{self, ConvertRequest, MappingRow};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiUser, parse_id};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertBody {
    #[serde(default)]
    account: Option<Map<String, Value>>,
    contact: Map<String, Value>,
    #[serde(default)]
    opportunity: Option<Map<String, Value>>,
}

/// `POST /records/{module}/{id}/convert` → `{"account_id","contact_id","opportunity_id"}`;
/// only Leads convert, and only once (409).
pub async fn convert(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ConvertBody>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    if module != "Leads" {
        return Err(AppError::not_found(
            format!("only leads are converted, not {module}"),
            format!("只有线索可以转化，{module} 不能"),
        ));
    }
    let req = ConvertRequest {
        account: body.account,
        contact: body.contact,
        opportunity: body.opportunity,
    };
    let done = convert::convert_lead(&state.store, &actor, id, &req).await?;
    Ok(Json(json!(done)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingBody {
    rows: Vec<MappingRowBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingRowBody {
    lead_field: String,
    module: String,
    field: String,
}

fn mapping_json(fixed_and_editable: Vec<MappingRow>) -> Value {
    let rows: Vec<Value> = fixed_and_editable
        .into_iter()
        .map(|r| json!({"lead_field": r.lead_field, "module": r.module, "field": r.field, "fixed": convert::is_fixed(&r)}))
        .collect();
    json!({ "rows": rows })
}

/// `GET /lead-conversion/mapping` → the mapping in force (fixed rows marked).
pub async fn mapping(State(state): State<AppState>, ApiUser(_actor): ApiUser) -> AppResult<Json<Value>> {
    Ok(Json(mapping_json(convert::mapping(&state.store).await?)))
}

/// `PUT /lead-conversion/mapping` (administrators) replaces the editable rows.
pub async fn save_mapping(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(body): ApiJson<MappingBody>,
) -> AppResult<Json<Value>> {
    let rows: Vec<MappingRow> = body
        .rows
        .into_iter()
        .map(|r| MappingRow {
            lead_field: r.lead_field,
            module: r.module,
            field: r.field,
        })
        .collect();
    convert::save_mapping(&state.store, &actor, &rows).await?;
    Ok(Json(mapping_json(convert::mapping(&state.store).await?)))
}

/// `GET /records/{module}/{id}/convert/preview` → the mapped values a conversion would use
/// and the organization it would match by exact name (`null` if it would create one).
pub async fn preview(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((module, id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    if module != "Leads" {
        return Err(AppError::not_found(
            format!("only leads are converted, not {module}"),
            format!("只有线索可以转化，{module} 不能"),
        ));
    }
    let p = convert::preview(&state.store, &actor, id).await?;
    Ok(Json(json!({
        "account": p.account,
        "matched_account": p.matched_account.map(|(id, label)| json!({"id": id, "label": label})),
        "contact": p.contact,
        "opportunity": p.opportunity,
    })))
}
