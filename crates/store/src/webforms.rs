//! Lead-capture web forms: their definitions (administrators only), the submissions
//! (what was sent, the consent shown and given, what became of it) and the captcha
//! secret and used tokens shared by every node.
//!
//! A submission is written through the record service as the system, with the form's
//! owner as the first owner; the assignment rule then picks the real one. Only the
//! form's own fields are accepted: anything else is a per-field error. A returning
//! visitor (same normalised e-mail or phone as a live Lead or Contact) is never refused:
//! the form's policy attaches an activity, fills empty fields, or creates a new record.
//! The consent text and answer are kept on the submission row and as a comment on the
//! record, so they show on the record's page.

use std::collections::BTreeMap;

use sable_core::meta::FieldType;
use sable_core::{FieldError, Labels, ModuleDef, Refusal, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use crate::actor::Actor;
use crate::db::Row;
use crate::error::{StoreError, StoreResult};
use crate::record::format_ms;
use crate::schema::table_name;
use crate::service::CreateOptions;
use crate::store::Store;
use crate::{assignment, now_ms};

/// Modules a web form may create records in.
pub const FORM_MODULES: [&str; 2] = ["Leads", "Contacts"];
/// Most fields on one form.
pub const MAX_FIELDS: usize = 60;
/// Longest label, thank-you or consent text.
pub const MAX_TEXT: usize = 2000;
/// Most allowed origins.
pub const MAX_ORIGINS: usize = 20;
/// Fields a visitor may never set, even if an administrator lists them.
const SYSTEM_FIELDS: [&str; 5] = [
    "assigned_user_id",
    "created_user_id",
    "modifiedby",
    "createdtime",
    "modifiedtime",
];

/// What happens when the visitor's e-mail or phone matches an existing Lead or Contact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Returning {
    /// Attach a "Web form submission" task to the existing record.
    #[default]
    Attach,
    /// Fill the existing record's empty fields, and attach the task.
    UpdateEmpty,
    /// Create a new record anyway.
    CreateNew,
}

impl Returning {
    /// The policy's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Returning::Attach => "attach",
            Returning::UpdateEmpty => "update_empty",
            Returning::CreateNew => "create_new",
        }
    }
}

/// One field shown on a form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    pub name: String,
    /// The label shown; empty texts fall back to the field's own label.
    #[serde(default)]
    pub label: Labels,
    #[serde(default)]
    pub required: bool,
}

/// Everything about a form but its name and module.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSpec {
    #[serde(default)]
    pub title: Labels,
    pub fields: Vec<FormField>,
    /// Hidden values set on every record (e.g. `leadsource` = `Web Site`).
    #[serde(default)]
    pub defaults: Map<String, Json>,
    #[serde(default)]
    pub thanks: Labels,
    /// Where the browser goes after a form-encoded post, instead of the thank-you page.
    #[serde(default)]
    pub return_url: Option<String>,
    #[serde(default)]
    pub assignment_rule_id: Option<i64>,
    /// The consent checkbox's text; none: no checkbox.
    #[serde(default)]
    pub consent: Option<Labels>,
    /// Whether the consent box must be ticked.
    #[serde(default)]
    pub consent_required: bool,
    /// Origins (`https://shop.example.com`) whose pages may post with JavaScript.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub captcha: bool,
    #[serde(default)]
    pub returning: Returning,
}

/// A stored form.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Form {
    pub id: i64,
    pub public_id: String,
    pub name: String,
    pub module: String,
    pub active: bool,
    /// The first owner of records it creates (the administrator who made it).
    pub owner_id: i64,
    #[serde(flatten)]
    pub spec: FormSpec,
    pub created_at: String,
    pub updated_at: String,
}

/// What an administrator sends to create or replace a form.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewForm {
    pub name: String,
    pub module: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(flatten)]
    pub spec: FormSpec,
}

fn yes() -> bool {
    true
}

/// A visitor's submission, already stripped of the honeypot and captcha fields.
#[derive(Clone, Debug, Default)]
pub struct Submission {
    pub values: BTreeMap<String, String>,
    pub consent: bool,
    /// A hash of the visitor's address (never the address itself).
    pub ip_hash: String,
}

/// What became of a submission.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Outcome {
    /// `created`, `attached` or `updated`.
    pub outcome: String,
    pub record_id: i64,
    /// The "Web form submission" task of a returning visitor.
    pub activity_id: Option<i64>,
    /// The owner the assignment rule chose, if it ran.
    pub assigned_user_id: Option<i64>,
}

/// One stored submission.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SubmissionRow {
    pub id: i64,
    pub form_id: i64,
    pub module: String,
    pub record_id: Option<i64>,
    pub activity_id: Option<i64>,
    pub outcome: String,
    pub consent_text: Option<String>,
    pub consent_given: Option<bool>,
    pub submitted: Json,
    pub created_at: String,
}

fn require_admin(actor: &Actor) -> StoreResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(StoreError::Forbidden(
            "only an administrator may manage web forms".into(),
        ))
    }
}

fn invalid(en: String) -> StoreError {
    StoreError::Refused(Refusal::new("form6_form_invalid", en.clone()).arg("reason", en))
}

fn short(l: &Labels) -> bool {
    l.en.chars().count() <= MAX_TEXT && l.zh.chars().count() <= MAX_TEXT
}

/// Checks an origin is `scheme://host[:port]` and nothing else.
pub fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && rest.len() <= 253
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

async fn check(store: &Store, new: &NewForm) -> StoreResult<()> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid("a form needs a name of 1 to 100 characters".into()));
    }
    if !FORM_MODULES.contains(&new.module.as_str()) {
        return Err(invalid(format!(
            "web forms create Leads or Contacts, not `{}`",
            new.module
        )));
    }
    let registry = store.registry().await?;
    let m = registry.module(&new.module)?;
    let s = &new.spec;
    if s.fields.is_empty() || s.fields.len() > MAX_FIELDS {
        return Err(invalid(format!("a form shows 1 to {MAX_FIELDS} fields")));
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in &s.fields {
        let def = m
            .field(&f.name)
            .ok_or_else(|| invalid(format!("`{}` is not a field of {}", f.name, m.name)))?;
        if def.readonly || SYSTEM_FIELDS.contains(&f.name.as_str()) || def.field_type == FieldType::AutoNumber {
            return Err(invalid(format!("`{}` is set by the system, not by visitors", f.name)));
        }
        if !seen.insert(f.name.as_str()) {
            return Err(invalid(format!("`{}` is on the form twice", f.name)));
        }
        if !short(&f.label) {
            return Err(invalid(format!("the label of `{}` is too long", f.name)));
        }
    }
    for k in s.defaults.keys() {
        if m.field(k).is_none() || SYSTEM_FIELDS.contains(&k.as_str()) {
            return Err(invalid(format!("`{k}` cannot have a hidden default")));
        }
    }
    // The defaults must be valid values of their fields.
    let probe = sable_core::record::validate_input(
        &registry,
        m,
        &s.defaults,
        sable_core::record::Mode::Update,
        &jiff::tz::TimeZone::UTC,
        false,
    );
    if let Err(e) = probe {
        let (field, msg) = e.messages(sable_core::Lang::En).into_iter().next().unwrap_or_default();
        return Err(invalid(format!("hidden default `{field}` {msg}")));
    }
    if [&s.title, &s.thanks]
        .into_iter()
        .chain(s.consent.as_ref())
        .any(|l| !short(l))
    {
        return Err(invalid(format!("texts have at most {MAX_TEXT} characters")));
    }
    if let Some(url) = &s.return_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(invalid("the return URL must start with http:// or https://".into()));
    }
    if s.allowed_origins.len() > MAX_ORIGINS || s.allowed_origins.iter().any(|o| !is_origin(o)) {
        return Err(invalid(format!(
            "allowed origins are up to {MAX_ORIGINS} of the form https://host[:port]"
        )));
    }
    if let Some(rule) = s.assignment_rule_id {
        let r = assignment::get_rule(store, &Actor::unrestricted_for_system_jobs(), rule).await?;
        if r.module != new.module {
            return Err(invalid(format!("rule {rule} assigns {}, not {}", r.module, new.module)));
        }
    }
    if s.consent_required && s.consent.is_none() {
        return Err(invalid("a required consent needs its text".into()));
    }
    Ok(())
}

fn row_to_form(r: &Row) -> StoreResult<Form> {
    let spec: FormSpec =
        serde_json::from_str(&r.text("spec")?).map_err(|e| anyhow::anyhow!("stored form spec: {e}"))?;
    Ok(Form {
        id: r.int("id")?,
        public_id: r.text("public_id")?,
        name: r.text("name")?,
        module: r.text("module")?,
        active: r.int("active")? != 0,
        owner_id: r.int("owner_id")?,
        spec,
        created_at: format_ms(r.int("created_at")?),
        updated_at: format_ms(r.int("updated_at")?),
    })
}

const FORM_COLUMNS: &str =
    "SELECT id, public_id, name, module, spec, active, owner_id, created_at, updated_at FROM webforms";

/// Every form, by name (administrators only).
pub async fn list_forms(store: &Store, actor: &Actor) -> StoreResult<Vec<Form>> {
    require_admin(actor)?;
    let db = store.db();
    let mut q = db.sql();
    q.push(FORM_COLUMNS).push(" ORDER BY name, id");
    db.fetch_all(&q).await?.iter().map(row_to_form).collect()
}

/// One form by id (administrators only).
pub async fn get_form(store: &Store, actor: &Actor, id: i64) -> StoreResult<Form> {
    require_admin(actor)?;
    let db = store.db();
    let mut q = db.sql();
    q.push(FORM_COLUMNS).push(" WHERE id = ").bind(id);
    match db.fetch_optional(&q).await? {
        Some(r) => row_to_form(&r),
        None => Err(StoreError::not_found("WebForms", id)),
    }
}

/// An active form by its public id, for the public pages (no actor: they are public).
pub async fn public_form(store: &Store, public_id: &str) -> StoreResult<Option<Form>> {
    if public_id.len() > 64
        || !public_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Ok(None);
    }
    let db = store.db();
    let mut q = db.sql();
    q.push(FORM_COLUMNS)
        .push(" WHERE public_id = ")
        .bind(public_id)
        .push(" AND active = 1");
    db.fetch_optional(&q).await?.map(|r| row_to_form(&r)).transpose()
}

/// A random, unguessable public id (128 bits).
fn new_public_id() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

/// Adds a form owned by the acting administrator.
pub async fn create_form(store: &Store, actor: &Actor, new: &NewForm) -> StoreResult<Form> {
    require_admin(actor)?;
    check(store, new).await?;
    let owner = owner_for(store, actor).await?;
    let spec = serde_json::to_string(&new.spec).map_err(anyhow::Error::from)?;
    let now = now_ms();
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("INSERT INTO webforms (public_id, name, module, spec, active, owner_id, created_at, updated_at) VALUES (")
        .bind(new_public_id()?)
        .push(", ")
        .bind(new.name.trim())
        .push(", ")
        .bind(new.module.as_str())
        .push(", ")
        .bind(spec)
        .push(", ")
        .bind(new.active)
        .push(", ")
        .bind(owner)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id = w.tx.fetch_one(&q).await?.int("id")?;
    w.commit().await?;
    get_form(store, actor, id).await
}

/// The first owner of a form's records: the acting administrator, or (for the system)
/// the first active administrator.
async fn owner_for(store: &Store, actor: &Actor) -> StoreResult<i64> {
    if let Some(id) = actor.user_ref() {
        return Ok(id);
    }
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT id FROM users WHERE is_admin = 1 AND status = 'Active' ORDER BY id LIMIT 1");
    match db.fetch_optional(&q).await? {
        Some(r) => Ok(r.int("id")?),
        None => Err(invalid(
            "there is no active administrator to own the form's records".into(),
        )),
    }
}

/// Replaces a form's definition; its public id stays.
pub async fn update_form(store: &Store, actor: &Actor, id: i64, new: &NewForm) -> StoreResult<Form> {
    require_admin(actor)?;
    check(store, new).await?;
    let spec = serde_json::to_string(&new.spec).map_err(anyhow::Error::from)?;
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("UPDATE webforms SET name = ")
        .bind(new.name.trim())
        .push(", module = ")
        .bind(new.module.as_str())
        .push(", spec = ")
        .bind(spec)
        .push(", active = ")
        .bind(new.active)
        .push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(id);
    if w.tx.execute(&q).await? != 1 {
        return Err(StoreError::not_found("WebForms", id));
    }
    w.commit().await?;
    get_form(store, actor, id).await
}

/// Removes a form; its submissions stay for the record.
pub async fn delete_form(store: &Store, actor: &Actor, id: i64) -> StoreResult<()> {
    require_admin(actor)?;
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("DELETE FROM webforms WHERE id = ").bind(id);
    if w.tx.execute(&q).await? != 1 {
        return Err(StoreError::not_found("WebForms", id));
    }
    w.commit().await?;
    Ok(())
}

/// Checks a submission against its form: only the form's fields, required ones filled,
/// consent given when required. Returns the record input (with the hidden defaults).
pub fn form_input(form: &Form, sub: &Submission) -> Result<Map<String, Json>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut input = form.spec.defaults.clone();
    for (name, value) in &sub.values {
        if form.spec.fields.iter().any(|f| &f.name == name) {
            let v = value.trim();
            if !v.is_empty() {
                input.insert(name.clone(), json!(v));
            }
        } else {
            errors.add(name, FieldError::Other("is not a field of this form".into()));
        }
    }
    for f in form.spec.fields.iter().filter(|f| f.required) {
        if sub.values.get(&f.name).is_none_or(|v| v.trim().is_empty()) {
            errors.add(&f.name, FieldError::Required);
        }
    }
    if form.spec.consent_required && !sub.consent {
        errors.add("consent", FieldError::Required);
    }
    errors.into_result().map(|()| input)
}

/// An existing live Lead or Contact with the same normalised e-mail or phone.
async fn returning_record(store: &Store, sub: &Submission, form: &Form) -> StoreResult<Option<(String, i64)>> {
    let registry = store.registry().await?;
    let m = registry.module(&form.module)?;
    let mut emails = Vec::new();
    let mut phones = Vec::new();
    for (name, raw) in &sub.values {
        let raw = raw.trim();
        match m.field(name).map(|f| f.field_type) {
            Some(FieldType::Email) if !raw.is_empty() => emails.push(raw.to_lowercase()),
            Some(FieldType::Phone) if !raw.is_empty() => {
                let n = sable_core::phone::normalize(raw);
                if n.chars().filter(char::is_ascii_digit).count() >= 5 {
                    phones.push(n);
                }
            }
            _ => {}
        }
    }
    if emails.is_empty() && phones.is_empty() {
        return Ok(None);
    }
    // The form's own module first: a returning lead is found before a contact.
    let order: Vec<&str> = std::iter::once(form.module.as_str())
        .chain(FORM_MODULES.into_iter().filter(|x| *x != form.module))
        .collect();
    let db = store.db();
    for module in order {
        let md: &ModuleDef = registry.module(module)?;
        let mut q = db.sql();
        q.push("SELECT t.\"id\" FROM ")
            .ident(&table_name(md))
            .push(" t WHERE t.\"deleted_at\" IS NULL AND (1=0");
        for f in md.fields.iter() {
            let keys = match f.field_type {
                FieldType::Email => &emails,
                FieldType::Phone => &phones,
                _ => continue,
            };
            if let (Some(col), false) = (f.match_column(), keys.is_empty()) {
                q.push(" OR ").col("t", &col).push(" IN (");
                q.bind_list(keys.iter().map(|k| crate::sql::Arg::Text(k.clone())))
                    .push(")");
            }
        }
        q.push(") ORDER BY t.\"id\" LIMIT 1");
        if let Some(r) = db.fetch_optional(&q).await? {
            return Ok(Some((module.to_string(), r.int("id")?)));
        }
    }
    Ok(None)
}

/// Takes a checked submission: creates the record (or attaches to a returning one),
/// runs the assignment rule, and keeps the submission and consent. Per-field errors
/// come back as `StoreError::Invalid`; nothing is written then.
pub async fn submit(store: &Store, form: &Form, sub: &Submission) -> StoreResult<Outcome> {
    let input = form_input(form, sub).map_err(StoreError::Invalid)?;
    let system = Actor::unrestricted_for_system_jobs();
    let svc = store.records(&system);
    let existing = match form.spec.returning {
        Returning::CreateNew => None,
        _ => returning_record(store, sub, form).await?,
    };
    let submitted = json!(sub.values);
    let (outcome, record_id, activity_id, assigned, module) = match existing {
        None => {
            let mut input = input;
            input.insert("assigned_user_id".into(), json!(form.owner_id));
            let opts = CreateOptions {
                source: Some("WEBFORM".into()),
                ..CreateOptions::default()
            };
            let mut out = svc
                .create_many_with(&form.module, std::slice::from_ref(&input), &opts)
                .await?;
            let id = match out.pop() {
                Some(Ok(id)) => id,
                Some(Err(e)) => return Err(StoreError::Invalid(e)),
                None => return Err(StoreError::Other(anyhow::anyhow!("batch returned nothing"))),
            };
            let assigned = match form.spec.assignment_rule_id {
                Some(rule) => match assignment::assign(store, rule, &form.module, id).await {
                    Ok(a) => a.map(|a| a.user_id),
                    Err(e) => {
                        // The lead is kept: a broken rule must not lose a visitor.
                        tracing::warn!(form = form.id, rule, error = %e, "web form assignment failed");
                        None
                    }
                },
                None => None,
            };
            ("created", id, None, assigned, form.module.clone())
        }
        Some((module, id)) => {
            let current = svc.get(&module, id).await?;
            let mut outcome = "attached";
            if form.spec.returning == Returning::UpdateEmpty && module == form.module {
                let empty: Map<String, Json> = input
                    .iter()
                    .filter(|(k, _)| current.values.get(*k).is_none_or(sable_core::Value::is_empty))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !empty.is_empty() {
                    svc.update(&module, id, None, &empty).await?;
                    outcome = "updated";
                }
            }
            let owner = match current.values.get("assigned_user_id") {
                Some(sable_core::Value::Id(u)) => *u,
                _ => form.owner_id,
            };
            let lines: Vec<String> = sub.values.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            let today = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
            let task = svc
                .create(
                    "Tasks",
                    &json!({
                        "subject": format!("Web form submission: {}", form.name).chars().take(250).collect::<String>(),
                        "description": lines.join("\n"),
                        "parent_id": id,
                        "assigned_user_id": owner,
                        "date_start": today.to_string(),
                        "due_date": today.to_string(),
                    })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                )
                .await?;
            (outcome, id, Some(task.id), None, module)
        }
    };
    let consent_text = form.spec.consent.as_ref().map(|l| format!("{} / {}", l.en, l.zh));
    let consent_given = form.spec.consent.as_ref().map(|_| sub.consent);
    let now = now_ms();
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    q.push("INSERT INTO webform_submissions (form_id, module, record_id, activity_id, outcome, ip_hash, consent_text, consent_given, submitted, created_at, updated_at) VALUES (")
        .bind(form.id).push(", ")
        .bind(module.as_str()).push(", ")
        .bind(record_id).push(", ")
        .bind(activity_id).push(", ")
        .bind(outcome).push(", ")
        .bind(sub.ip_hash.as_str()).push(", ")
        .bind(consent_text.clone()).push(", ")
        .bind(consent_given.map(i64::from)).push(", ")
        .bind(submitted.to_string()).push(", ")
        .bind(now).push(", ")
        .bind(now).push(")");
    w.tx.execute(&q).await?;
    // The comment makes the submission (and consent) visible on the record's page.
    let mut body = format!("Web form “{}” ({outcome}).", form.name);
    if let (Some(text), Some(given)) = (&consent_text, consent_given) {
        body.push_str(&format!(
            "\nConsent shown: “{text}” — answer: {}",
            if given { "yes / 同意" } else { "no / 未同意" }
        ));
    }
    let mut q = w.tx.sql();
    q.push("INSERT INTO comments (record_id, module, author_id, body, created_at, updated_at) VALUES (")
        .bind(record_id)
        .push(", ")
        .bind(module.as_str())
        .push(", ")
        .bind(form.owner_id)
        .push(", ")
        .bind(body)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    w.tx.execute(&q).await?;
    w.commit().await?;
    Ok(Outcome {
        outcome: outcome.into(),
        record_id,
        activity_id,
        assigned_user_id: assigned,
    })
}

/// A form's latest submissions, newest first (administrators only).
pub async fn submissions(store: &Store, actor: &Actor, form_id: i64, limit: u32) -> StoreResult<Vec<SubmissionRow>> {
    require_admin(actor)?;
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT id, form_id, module, record_id, activity_id, outcome, consent_text, consent_given, submitted, created_at FROM webform_submissions WHERE form_id = ")
        .bind(form_id)
        .push(" ORDER BY id DESC LIMIT ")
        .bind(i64::from(limit.clamp(1, 1000)));
    let rows = db.fetch_all(&q).await?;
    rows.iter()
        .map(|r| {
            Ok(SubmissionRow {
                id: r.int("id")?,
                form_id: r.int("form_id")?,
                module: r.text("module")?,
                record_id: r.opt_int("record_id")?,
                activity_id: r.opt_int("activity_id")?,
                outcome: r.text("outcome")?,
                consent_text: r.opt_text("consent_text")?,
                consent_given: r.opt_int("consent_given")?.map(|v| v != 0),
                submitted: serde_json::from_str(&r.text("submitted")?).unwrap_or(Json::Null),
                created_at: format_ms(r.int("created_at")?),
            })
        })
        .collect::<anyhow::Result<_>>()
        .map_err(StoreError::from)
}

/// The captcha secret shared by every node, made on first use.
pub async fn captcha_secret(store: &Store) -> anyhow::Result<Vec<u8>> {
    let db = store.db();
    let read = |db: &crate::Db| {
        let mut q = db.sql();
        q.push("SELECT secret FROM webform_secret WHERE id = 1");
        q
    };
    if let Some(r) = db.fetch_optional(&read(db)).await? {
        return Ok(hex::decode(r.text("secret")?)?);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let now = now_ms();
    let mut q = db.sql();
    q.push("INSERT INTO webform_secret (id, secret, created_at, updated_at) VALUES (1, ")
        .bind(hex::encode(bytes))
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (id) DO NOTHING");
    db.execute(&q).await?;
    // Another node may have won the race: read whatever is stored.
    let r = db
        .fetch_optional(&read(db))
        .await?
        .ok_or_else(|| anyhow::anyhow!("captcha secret missing"))?;
    Ok(hex::decode(r.text("secret")?)?)
}

/// Marks a captcha token's nonce used; false when it was used before (on any node).
pub async fn use_captcha_nonce(store: &Store, nonce: &str, expires_at: i64) -> anyhow::Result<bool> {
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("DELETE FROM webform_captcha_used WHERE expires_at < ").bind(now);
    db.execute(&q).await?;
    let mut q = db.sql();
    q.push("INSERT INTO webform_captcha_used (nonce, expires_at, created_at, updated_at) VALUES (")
        .bind(nonce)
        .push(", ")
        .bind(expires_at)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (nonce) DO NOTHING");
    Ok(db.execute(&q).await? == 1)
}
