//! Lead conversion (vtiger's convertlead): a lead becomes an organization (matched by
//! exact name or created, or none), a contact and optionally an opportunity, in one
//! transaction through the record service. Also the admin-editable field mapping.
//!
//! Nothing here writes a record row itself: creates and updates go through
//! [`RecordService`]'s in-transaction helpers, so validation, history, search and outbox
//! events happen as for any other write.

use std::collections::BTreeMap;

use sable_core::meta::{FieldDef, FieldType, ModuleDef};
use sable_core::record::FieldValues;
use sable_core::{FieldError, Registry, ValidationErrors, Value};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use crate::actor::Actor;
use crate::error::{Conflict, StoreError, StoreResult};
use crate::now_ms;
use crate::record::Record;
use crate::schema::table_name;
use crate::service::{CreateOptions, RecordService, UpdateStep, write_history};
use crate::store::Store;

/// The message of the 409 for a lead converted before (the server shows it in Chinese too).
pub const ALREADY_CONVERTED: &str = "this lead has already been converted";

/// The target modules of a conversion, in the order they are created.
pub const TARGETS: [&str; 3] = ["Accounts", "Contacts", "Opportunities"];

/// One lead field copied to one field of a target module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord)]
pub struct MappingRow {
    pub lead_field: String,
    pub module: String,
    pub field: String,
}

impl MappingRow {
    fn new(lead_field: &str, module: &str, field: &str) -> MappingRow {
        MappingRow {
            lead_field: lead_field.into(),
            module: module.into(),
            field: field.into(),
        }
    }
}

/// Mappings vtiger does not let an administrator change (its "editable = no" rows).
const FIXED: [(&str, &str, &str); 7] = [
    ("company", "Accounts", "accountname"),
    ("company", "Opportunities", "potentialname"),
    ("email", "Accounts", "email1"),
    ("email", "Contacts", "email"),
    ("firstname", "Contacts", "firstname"),
    ("lastname", "Contacts", "lastname"),
    ("salutationtype", "Contacts", "salutationtype"),
];

/// vtiger's default editable mappings (`vtiger_convertleadmapping`).
const DEFAULTS: [(&str, &str, &str); 34] = [
    ("industry", "Accounts", "industry"),
    ("phone", "Accounts", "phone"),
    ("phone", "Contacts", "phone"),
    ("fax", "Accounts", "fax"),
    ("fax", "Contacts", "fax"),
    ("rating", "Accounts", "rating"),
    ("website", "Accounts", "website"),
    ("city", "Accounts", "bill_city"),
    ("city", "Accounts", "ship_city"),
    ("city", "Contacts", "mailingcity"),
    ("code", "Accounts", "bill_code"),
    ("code", "Accounts", "ship_code"),
    ("country", "Accounts", "bill_country"),
    ("country", "Accounts", "ship_country"),
    ("country", "Contacts", "mailingcountry"),
    ("state", "Accounts", "bill_state"),
    ("state", "Accounts", "ship_state"),
    ("state", "Contacts", "mailingstate"),
    ("lane", "Accounts", "bill_street"),
    ("lane", "Accounts", "ship_street"),
    ("lane", "Contacts", "mailingstreet"),
    ("pobox", "Accounts", "bill_pobox"),
    ("pobox", "Accounts", "ship_pobox"),
    ("pobox", "Contacts", "mailingpobox"),
    ("description", "Accounts", "description"),
    ("description", "Contacts", "description"),
    ("description", "Opportunities", "description"),
    ("mobile", "Contacts", "mobile"),
    ("designation", "Contacts", "title"),
    ("secondaryemail", "Contacts", "secondaryemail"),
    ("leadsource", "Contacts", "leadsource"),
    ("leadsource", "Opportunities", "leadsource"),
    ("noofemployees", "Accounts", "employees"),
    ("annualrevenue", "Accounts", "annual_revenue"),
];

/// Whether a lead field of one type may fill a target field of another.
pub fn types_fit(from: FieldType, to: FieldType) -> bool {
    use FieldType::*;
    let texty = |t| matches!(t, Text | Textarea | Email | Phone | Url | Picklist);
    from == to
        || (matches!(to, Text | Textarea) && texty(from))
        || (matches!(
            (from, to),
            (Integer, Decimal) | (Decimal, Currency) | (Currency, Decimal)
        ))
}

/// Checks one mapping row against the metadata; `None` when it fits.
fn misfit(registry: &Registry, row: &MappingRow) -> Option<String> {
    let leads = registry.module("Leads").ok()?;
    let Some(from) = leads.field(&row.lead_field) else {
        return Some(format!("Leads has no field `{}`", row.lead_field));
    };
    if !TARGETS.contains(&row.module.as_str()) {
        return Some(format!("`{}` is not a conversion target", row.module));
    }
    let Ok(target) = registry.module(&row.module) else {
        return Some(format!("there is no module `{}`", row.module));
    };
    let Some(to) = target.field(&row.field) else {
        return Some(format!("{} has no field `{}`", row.module, row.field));
    };
    if to.readonly || from.readonly {
        return Some(format!("{}.{} cannot be mapped", row.module, row.field));
    }
    if !types_fit(from.field_type, to.field_type) {
        return Some(format!(
            "Leads.{} ({}) does not fit {}.{} ({})",
            row.lead_field,
            from.field_type.as_str(),
            row.module,
            row.field,
            to.field_type.as_str()
        ));
    }
    None
}

fn fixed_rows() -> Vec<MappingRow> {
    FIXED.iter().map(|(a, b, c)| MappingRow::new(a, b, c)).collect()
}

/// Whether a row is one of vtiger's fixed mappings.
pub fn is_fixed(row: &MappingRow) -> bool {
    FIXED
        .iter()
        .any(|(a, b, c)| row.lead_field == *a && row.module == *b && row.field == *c)
}

/// The editable mapping in force: the saved one, or vtiger's defaults when none was saved.
pub async fn editable_mapping(store: &Store) -> StoreResult<Vec<MappingRow>> {
    let db = store.db();
    let q = {
        let mut q = db.sql();
        q.push("SELECT lead_field, module, field FROM lead_convert_mappings ORDER BY module, field, lead_field");
        q
    };
    let rows = db.fetch_all(&q).await?;
    if rows.is_empty() {
        return Ok(DEFAULTS.iter().map(|(a, b, c)| MappingRow::new(a, b, c)).collect());
    }
    Ok(rows
        .iter()
        .map(|r| {
            Ok(MappingRow {
                lead_field: r.text("lead_field")?,
                module: r.text("module")?,
                field: r.text("field")?,
            })
        })
        .collect::<anyhow::Result<_>>()?)
}

/// The whole mapping that fits the current metadata: fixed rows, then editable ones.
pub async fn mapping(store: &Store) -> StoreResult<Vec<MappingRow>> {
    let registry = store.registry().await?;
    let mut all = fixed_rows();
    all.extend(editable_mapping(store).await?);
    Ok(all.into_iter().filter(|r| misfit(&registry, r).is_none()).collect())
}

/// Replaces the editable mapping (administrators only). A row naming a missing field or a
/// field of a type the lead field cannot fill is refused, and nothing is saved.
pub async fn save_mapping(store: &Store, actor: &Actor, rows: &[MappingRow]) -> StoreResult<()> {
    if !actor.is_admin() {
        return Err(StoreError::Forbidden(
            "only an administrator may change the lead conversion mapping".into(),
        ));
    }
    let registry = store.registry().await?;
    let mut errors = ValidationErrors::default();
    for row in rows {
        if let Some(why) = misfit(&registry, row) {
            errors.add(format!("{}.{}", row.module, row.field), FieldError::Other(why));
        }
    }
    if !errors.is_empty() {
        return Err(StoreError::Invalid(errors));
    }
    let mut unique: Vec<MappingRow> = rows.iter().filter(|r| !is_fixed(r)).cloned().collect();
    unique.sort();
    unique.dedup();
    let now = now_ms();
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM lead_convert_mappings");
    w.tx.execute(&q).await?;
    for r in &unique {
        let mut q = w.tx.sql();
        q.push("INSERT INTO lead_convert_mappings (lead_field, module, field, created_at, updated_at) VALUES (")
            .bind(r.lead_field.as_str())
            .push(", ")
            .bind(r.module.as_str())
            .push(", ")
            .bind(r.field.as_str())
            .push(", ")
            .bind(now)
            .push(", ")
            .bind(now)
            .push(")");
        w.tx.execute(&q).await?;
    }
    w.commit().await?;
    Ok(())
}

/// What a conversion is asked to do: field overrides per target; `None` = no such record.
#[derive(Clone, Debug, Default)]
pub struct ConvertRequest {
    pub account: Option<Map<String, Json>>,
    pub contact: Map<String, Json>,
    pub opportunity: Option<Map<String, Json>>,
}

/// What a conversion made.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Converted {
    pub account_id: Option<i64>,
    pub contact_id: i64,
    pub opportunity_id: Option<i64>,
}

/// The inputs a conversion would use, before overrides, and the organization it would match.
#[derive(Clone, Debug, Serialize)]
pub struct Preview {
    pub account: Map<String, Json>,
    pub matched_account: Option<(i64, String)>,
    pub contact: Map<String, Json>,
    pub opportunity: Map<String, Json>,
}

/// Refuses a change to a converted lead (called by the record service on every update).
pub(crate) fn refuse_if_converted(m: &ModuleDef, current: &Record) -> StoreResult<()> {
    if m.name == "Leads" && current.values.get("converted") == Some(&Value::Bool(true)) {
        return Err(StoreError::refused(
            "conv_refused_read_only",
            "this lead has been converted and can no longer be changed",
        ));
    }
    Ok(())
}

/// Mapped inputs per target module, from a lead's values.
fn mapped_inputs(registry: &Registry, lead: &Record, rows: &[MappingRow]) -> BTreeMap<String, Map<String, Json>> {
    let mut out: BTreeMap<String, Map<String, Json>> = TARGETS.iter().map(|t| (t.to_string(), Map::new())).collect();
    let Ok(leads) = registry.module("Leads") else {
        return out;
    };
    for r in rows {
        let (Some(f), Some(v)) = (leads.field(&r.lead_field), lead.values.get(&r.lead_field)) else {
            continue;
        };
        if v.is_empty() {
            continue;
        }
        let json = v.to_json(f);
        if let Some(m) = out.get_mut(&r.module) {
            m.entry(r.field.clone()).or_insert(json);
        }
    }
    out
}

fn overlay(base: &mut Map<String, Json>, overrides: &Map<String, Json>) {
    for (k, v) in overrides {
        base.insert(k.clone(), v.clone());
    }
}

async fn matching_account(svc: &RecordService<'_>, name: &str) -> StoreResult<Option<(i64, String)>> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    for id in svc.find_by_label_or_number("Accounts", name).await? {
        let r = svc.get("Accounts", id).await?;
        if let Some(Value::Text(n)) = r.values.get("accountname")
            && n.trim() == name
        {
            return Ok(Some((id, r.label)));
        }
    }
    Ok(None)
}

async fn visible_lead(store: &Store, actor: &Actor, lead_id: i64) -> StoreResult<Record> {
    let lead = store.records(actor).get("Leads", lead_id).await?;
    if lead.values.get("converted") == Some(&Value::Bool(true)) {
        return Err(StoreError::Conflict(Conflict::State(ALREADY_CONVERTED.into())));
    }
    Ok(lead)
}

/// What converting a lead would create or match, with the mapped values.
pub async fn preview(store: &Store, actor: &Actor, lead_id: i64) -> StoreResult<Preview> {
    let lead = visible_lead(store, actor, lead_id).await?;
    let registry = store.registry().await?;
    let rows = mapping(store).await?;
    let mut inputs = mapped_inputs(&registry, &lead, &rows);
    let account = inputs.remove("Accounts").unwrap_or_default();
    let name = account
        .get("accountname")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let matched_account = matching_account(&store.records(actor), &name).await?;
    Ok(Preview {
        account,
        matched_account,
        contact: inputs.remove("Contacts").unwrap_or_default(),
        opportunity: inputs.remove("Opportunities").unwrap_or_default(),
    })
}

fn prefixed(prefix: &str, e: ValidationErrors) -> StoreError {
    let mut out = ValidationErrors::default();
    for (k, v) in e.0 {
        out.add(format!("{prefix}.{k}"), v);
    }
    StoreError::Invalid(out)
}

fn parse(
    svc: &RecordService<'_>,
    registry: &Registry,
    m: &ModuleDef,
    input: Map<String, Json>,
    prefix: &str,
) -> StoreResult<FieldValues> {
    // As any create: the owner defaults to the actor, an opportunity's probability and
    // forecast come from its stage.
    let mut values = svc
        .parse_create(registry, m, &input, &CreateOptions::default())
        .map_err(|e| prefixed(prefix, e))?;
    if m.field("isconvertedfromlead").is_some() {
        values.insert("isconvertedfromlead".into(), Value::Bool(true));
    }
    Ok(values)
}

/// Converts a lead, all or nothing. See the module header.
#[tracing::instrument(skip_all, fields(actor = actor.user_id(), record_id = lead_id))]
pub async fn convert_lead(store: &Store, actor: &Actor, lead_id: i64, req: &ConvertRequest) -> StoreResult<Converted> {
    let lead = visible_lead(store, actor, lead_id).await?;
    let registry = store.registry().await?;
    let rows = mapping(store).await?;
    let mut inputs = mapped_inputs(&registry, &lead, &rows);
    let svc = store.records(actor);
    let module = |name: &str| -> StoreResult<ModuleDef> { Ok(registry.module(name)?.clone()) };
    let (accounts, contacts, opportunities, leads) = (
        module("Accounts")?,
        module("Contacts")?,
        module("Opportunities")?,
        module("Leads")?,
    );

    // Decide the organization first: an existing one of the same name, or a new one.
    let mut matched = None;
    let mut account_values = None;
    if let Some(overrides) = &req.account {
        let mut input = inputs.remove("Accounts").unwrap_or_default();
        overlay(&mut input, overrides);
        let name = input
            .get("accountname")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        matched = matching_account(&svc, &name).await?.map(|(id, _)| id);
        if matched.is_none() {
            account_values = Some(parse(&svc, &registry, &accounts, input, "account")?);
        }
    }
    let mut contact_input = inputs.remove("Contacts").unwrap_or_default();
    overlay(&mut contact_input, &req.contact);
    let opportunity_input = req.opportunity.as_ref().map(|o| {
        let mut input = inputs.remove("Opportunities").unwrap_or_default();
        overlay(&mut input, o);
        input
    });

    let opts = CreateOptions {
        all_or_nothing: true,
        ..CreateOptions::default()
    };
    let mut w = store.begin_write().await?;
    let tx = &mut w.tx;
    let create = async |tx: &mut crate::db::Tx, m: &ModuleDef, values: FieldValues, prefix: &str| -> StoreResult<i64> {
        let out = svc.write_many_in(tx, &registry, m, vec![Ok(values)], &opts).await?;
        match out.into_iter().next() {
            Some(Ok(id)) => Ok(id),
            Some(Err(e)) => Err(prefixed(prefix, e)),
            None => Err(StoreError::Other(anyhow::anyhow!("conversion created nothing"))),
        }
    };
    let account_id = match account_values {
        Some(values) => Some(create(tx, &accounts, values, "account").await?),
        None => matched,
    };
    if let Some(a) = account_id {
        contact_input.insert("account_id".into(), json!(a));
    }
    let contact_values = parse(&svc, &registry, &contacts, contact_input, "contact")?;
    let contact_id = create(tx, &contacts, contact_values, "contact").await?;
    let opportunity_id = match opportunity_input {
        Some(mut input) => {
            if let Some(a) = account_id {
                input.entry("related_to").or_insert(json!(a));
            }
            input.insert("contact_id".into(), json!(contact_id));
            let values = parse(&svc, &registry, &opportunities, input, "opportunity")?;
            Some(create(tx, &opportunities, values, "opportunity").await?)
        }
        None => None,
    };

    // Mark the lead converted and link it to what it became (read-only from now on).
    let mut marks = FieldValues::new();
    marks.insert("converted".into(), Value::Bool(true));
    marks.insert("converted_contact_id".into(), Value::Id(contact_id));
    if let Some(a) = account_id {
        marks.insert("converted_account_id".into(), Value::Id(a));
    }
    if let Some(o) = opportunity_id {
        marks.insert("converted_opportunity_id".into(), Value::Id(o));
    }
    match svc
        .update_in(tx, &registry, &leads, lead_id, Some(lead.version), marks)
        .await?
    {
        UpdateStep::Written => {}
        _ => return Err(StoreError::Conflict(Conflict::State(ALREADY_CONVERTED.into()))),
    }

    repoint_references(&svc, tx, &registry, lead_id, contact_id).await?;
    carry_comments_and_history(tx, actor, lead_id, "Contacts", contact_id).await?;
    if let (Some(a), None) = (account_id, matched) {
        carry_comments_and_history(tx, actor, lead_id, "Accounts", a).await?;
    }
    w.commit().await?;
    store
        .note_writes(2 + u64::from(account_id.is_some()) + u64::from(opportunity_id.is_some()))
        .await;
    Ok(Converted {
        account_id,
        contact_id,
        opportunity_id,
    })
}

/// Every reference field (in any module, custom ones included) that targets Leads and can
/// also hold a contact: records pointing at the lead now point at the new contact.
async fn repoint_references(
    svc: &RecordService<'_>,
    tx: &mut crate::db::Tx,
    registry: &Registry,
    lead_id: i64,
    contact_id: i64,
) -> StoreResult<()> {
    let mut fields: Vec<(ModuleDef, FieldDef)> = Vec::new();
    for m in registry.modules().filter(|m| m.entity) {
        for f in &m.fields {
            if f.field_type == FieldType::Reference
                && f.targets.iter().any(|t| t == "Leads")
                && f.targets.iter().any(|t| t == "Contacts")
            {
                fields.push((m.clone(), f.clone()));
            }
        }
    }
    for (m, f) in fields {
        let mut q = tx.sql();
        q.push("SELECT \"id\" FROM ")
            .ident(&table_name(&m))
            .push(" WHERE \"deleted_at\" IS NULL AND ")
            .ident(&f.name)
            .push(" = ")
            .bind(lead_id);
        let ids = tx
            .fetch_all(&q)
            .await?
            .iter()
            .map(|r| r.int("id"))
            .collect::<anyhow::Result<Vec<i64>>>()?;
        for id in ids {
            let mut values = FieldValues::new();
            values.insert(f.name.clone(), Value::Id(contact_id));
            svc.update_in(tx, registry, &m, id, None, values).await?;
        }
    }
    Ok(())
}

/// Copies the lead's comments to a new record and links its history: the lead's entries are
/// copied (as `lead_<action>`, version 0 so they never count as edits of the new record) and
/// a `convert` entry names the lead.
async fn carry_comments_and_history(
    tx: &mut crate::db::Tx,
    actor: &Actor,
    lead_id: i64,
    module: &str,
    id: i64,
) -> StoreResult<()> {
    let now = now_ms();
    let mut q = tx.sql();
    q.push("INSERT INTO comments (record_id, module, author_id, body, created_at, updated_at) SELECT ")
        .bind(id)
        .push(", ")
        .bind(module)
        .push(", author_id, body, created_at, ")
        .bind(now)
        .push(" FROM comments WHERE record_id = ")
        .bind(lead_id)
        .push(" ORDER BY id");
    tx.execute(&q).await?;
    let mut q = tx.sql();
    q.push("INSERT INTO record_history (record_id, module, action, version, actor_id, changes, created_at, updated_at) SELECT ")
        .bind(id)
        .push(", ")
        .bind(module)
        .push(", 'lead_' || action, 0, actor_id, changes, created_at, ")
        .bind(now)
        .push(" FROM record_history WHERE record_id = ")
        .bind(lead_id)
        .push(" ORDER BY id");
    tx.execute(&q).await?;
    write_history(
        tx,
        module,
        id,
        "convert",
        0,
        actor,
        &[json!({"field": "converted_from_lead", "old": null, "new": lead_id})],
        now,
    )
    .await?;
    Ok(())
}
