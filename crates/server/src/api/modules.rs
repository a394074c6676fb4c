//! Module metadata: list, describe, custom fields, sharing.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sable_core::Registry;
use sable_core::meta::{FieldDef, FieldType, ModuleDef, Sharing};
use sable_core::registry::NewField;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiUser};

fn module_summary(m: &ModuleDef) -> Value {
    json!({
        "name": m.name,
        "labels": m.labels,
        "singular": m.singular,
        "number_prefix": m.number_prefix,
        "sharing": m.sharing.as_str(),
        "entity": m.entity,
    })
}

/// The describe form of one field, picklist values included.
pub fn describe_field(registry: &Registry, f: &FieldDef) -> Value {
    let mut v = json!({
        "name": f.name,
        "type": f.field_type.as_str(),
        "labels": f.labels,
        "block": f.block,
        "sequence": f.sequence,
        "mandatory": f.mandatory,
        "readonly": f.readonly,
        "unique": f.unique,
        "custom": f.custom,
        "searchable": f.searchable,
        "list_column": f.list_column,
    });
    if let Some(d) = &f.default {
        v["default"] = json!(d);
    }
    if !f.targets.is_empty() {
        v["targets"] = json!(f.targets);
    }
    if let Some(m) = f.max_length {
        v["max_length"] = json!(m);
    }
    if matches!(
        f.field_type,
        FieldType::Decimal | FieldType::Currency | FieldType::Percent
    ) {
        v["scale"] = json!(f.scale());
    }
    if let Some(h) = &f.help {
        v["help"] = json!(h);
    }
    if matches!(f.field_type, FieldType::Picklist | FieldType::Multipicklist)
        && let Some(p) = registry.picklist_of(f)
    {
        v["picklist"] = json!({"name": p.name, "values": p.values});
    }
    v
}

/// `GET /modules`.
pub async fn list(State(state): State<AppState>, ApiUser(_actor): ApiUser) -> AppResult<Json<Value>> {
    let registry = state.store.registry().await?;
    Ok(Json(
        json!({"modules": registry.modules().map(module_summary).collect::<Vec<_>>()}),
    ))
}

/// `GET /modules/{module}`: fields, types, picklists, labels, blocks.
pub async fn describe(
    State(state): State<AppState>,
    ApiUser(_actor): ApiUser,
    Path(module): Path<String>,
) -> AppResult<Json<Value>> {
    let registry = state.store.registry().await?;
    let m = registry.module(&module).map_err(sable_store::StoreError::from)?;
    let mut out = module_summary(m);
    out["label_fields"] = json!(m.label_fields);
    out["blocks"] = json!(m.blocks);
    out["fields"] = json!(
        m.fields
            .iter()
            .map(|f| describe_field(&registry, f))
            .collect::<Vec<_>>()
    );
    Ok(Json(out))
}

/// `POST /modules/{module}/fields`: adds a custom field (administrators).
pub async fn add_field(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(module): Path<String>,
    ApiJson(new): ApiJson<NewField>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let field = sable_store::meta_store::add_custom_field(&state.store, &actor, &module, &new).await?;
    let registry = state.store.registry().await?;
    Ok((StatusCode::CREATED, Json(describe_field(&registry, &field))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharingBody {
    sharing: String,
}

/// `PUT /modules/{module}/sharing` with `{"sharing":"private"|"public_read"|"public_read_write"}`.
pub async fn set_sharing(
    State(state): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(module): Path<String>,
    ApiJson(body): ApiJson<SharingBody>,
) -> AppResult<Json<Value>> {
    let sharing = Sharing::parse(&body.sharing).ok_or_else(|| {
        AppError::bad_request(
            "bad_sharing",
            "sharing must be private, public_read or public_read_write",
            "共享方式必须是 private、public_read 或 public_read_write",
        )
    })?;
    sable_store::meta_store::set_sharing(&state.store, &actor, &module, sharing).await?;
    Ok(Json(json!({"module": module, "sharing": sharing.as_str()})))
}
