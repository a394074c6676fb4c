//! What templates see: the record's fields in wire form, each reference field replaced by
//! the referenced record's fields (`related_to.accountname`), and the owner.

use sable_core::meta::FieldType;
use sable_store::users::{self, User};
use sable_store::{Actor, Record, Store};
use serde_json::{Map, Value as Json, json};

/// A record ready for templates, with its owner.
#[derive(Clone, Debug)]
pub struct RecordContext {
    pub record: Record,
    pub json: Json,
    pub owner: Option<User>,
}

/// The owner as templates see it.
fn owner_json(u: &User) -> Json {
    json!({
        "id": u.id,
        "name": u.display_name(),
        "user_name": u.user_name,
        "email": u.email1,
    })
}

/// Loads a record (as the system) and builds its template context.
pub async fn load_as_system(store: &Store, module: &str, id: i64) -> sable_store::StoreResult<RecordContext> {
    let system = Actor::unrestricted_for_system_jobs();
    let record = store.records(&system).get(module, id).await?;
    build_as_system(store, record).await
}

/// Builds the template context of a record already read, as the system (workflows, which
/// administrators define).
pub async fn build_as_system(store: &Store, record: Record) -> sable_store::StoreResult<RecordContext> {
    build_as(store, &Actor::unrestricted_for_system_jobs(), record).await
}

/// Builds the template context of a record already read by `reader`, whose permissions also
/// govern the records it refers to: a referenced record `reader` may not see stays a bare
/// id, so a template cannot show a user fields of a record hidden from them (e-mail sent
/// from a record by its user).
pub async fn build_as(store: &Store, reader: &Actor, record: Record) -> sable_store::StoreResult<RecordContext> {
    let registry = store.registry().await?;
    let m = registry.module(&record.module)?;
    let mut fields = Map::new();
    let mut owner = None;
    for f in &m.fields {
        let v = record.values.get(&f.name);
        let wire = v.map_or(Json::Null, |v| v.to_json(f));
        let value = match (f.field_type, v) {
            (FieldType::Reference, Some(sable_core::Value::Id(rid))) => {
                related(store, reader, *rid).await.unwrap_or(wire)
            }
            (FieldType::Owner, Some(sable_core::Value::Id(uid))) => {
                if f.name == "assigned_user_id" {
                    owner = users::get_user(store, *uid).await?;
                }
                wire
            }
            _ => wire,
        };
        fields.insert(f.name.clone(), value);
    }
    fields.insert("id".into(), json!(record.id));
    fields.insert("label".into(), json!(record.label));
    fields.insert("module".into(), json!(record.module));
    fields.insert("owner".into(), owner.as_ref().map_or(Json::Null, owner_json));
    Ok(RecordContext {
        json: Json::Object(fields),
        record,
        owner,
    })
}

/// The fields of a referenced record (one level deep), with its id and label; `None` when
/// `reader` may not see it.
async fn related(store: &Store, reader: &Actor, id: i64) -> Option<Json> {
    let svc = store.records(reader);
    let module = svc.module_of(id).await.ok()??;
    let r = svc.get(&module, id).await.ok()?;
    let registry = store.registry().await.ok()?;
    let m = registry.module(&module).ok()?;
    let mut out = Map::new();
    for f in &m.fields {
        let v = r.values.get(&f.name).map_or(Json::Null, |v| v.to_json(f));
        out.insert(f.name.clone(), v);
    }
    out.insert("id".into(), json!(r.id));
    out.insert("label".into(), json!(r.label));
    out.insert("module".into(), json!(module));
    Some(Json::Object(out))
}
