//! E-mail templates: a name, an optional module, and a subject and body in English and
//! Simplified Chinese (minijinja over the record's fields). Administrators manage them;
//! workflows and "send from a record" render them through [`crate::templating`].

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::db::Row;
use crate::error::{StoreError, StoreResult};
use crate::store::Store;
use crate::{now_ms, templating};
use sable_core::Lang;

/// Longest template name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest subject or body, in bytes.
pub const MAX_TEXT_BYTES: usize = sable_core::workflow::MAX_TEMPLATE_BYTES;

/// A template as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EmailTemplate {
    pub id: i64,
    #[serde(flatten)]
    pub content: TemplateContent,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What an administrator writes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateContent {
    pub name: String,
    /// The module whose fields it uses; none for any.
    #[serde(default)]
    pub module: Option<String>,
    #[serde(default)]
    pub subject_en: String,
    #[serde(default)]
    pub body_en: String,
    #[serde(default)]
    pub subject_zh: String,
    #[serde(default)]
    pub body_zh: String,
}

impl TemplateContent {
    /// Subject and body in a language, falling back to the other one when empty.
    pub fn in_lang(&self, lang: Lang) -> (&str, &str) {
        let en = (self.subject_en.as_str(), self.body_en.as_str());
        let zh = (self.subject_zh.as_str(), self.body_zh.as_str());
        let (first, second) = match lang {
            Lang::En => (en, zh),
            Lang::Zh => (zh, en),
        };
        if first.0.trim().is_empty() { second } else { first }
    }
}

fn admin_only(actor: &Actor) -> StoreResult<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(StoreError::refused(
            "wf_refused_admin",
            "only administrators manage workflows",
        ))
    }
}

async fn check(store: &Store, c: &TemplateContent) -> StoreResult<()> {
    let name = c.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::refused(
            "wf_refused_template_name",
            format!("a name of 1 to {MAX_NAME_CHARS} characters is needed"),
        ));
    }
    if let Some(m) = &c.module {
        store.registry().await?.module(m)?;
    }
    if c.subject_en.trim().is_empty() && c.subject_zh.trim().is_empty() {
        return Err(StoreError::refused(
            "wf_refused_template_subject",
            "a subject in at least one language is needed",
        ));
    }
    for (part, text) in [
        ("subject_en", &c.subject_en),
        ("body_en", &c.body_en),
        ("subject_zh", &c.subject_zh),
        ("body_zh", &c.body_zh),
    ] {
        if text.len() > MAX_TEXT_BYTES {
            return Err(StoreError::Refused(
                sable_core::Refusal::new(
                    "wf_refused_template_long",
                    format!("{part} is longer than {MAX_TEXT_BYTES} bytes"),
                )
                .arg("part", part),
            ));
        }
        if let Err(e) = templating::check(text) {
            return Err(StoreError::Refused(
                sable_core::Refusal::new("wf_refused_template_syntax", format!("{part}: {e}"))
                    .arg("part", part)
                    .arg("error", e.0),
            ));
        }
    }
    Ok(())
}

const COLUMNS: &str = "id, name, module, subject_en, body_en, subject_zh, body_zh, created_at, updated_at";

fn row_to_template(r: &Row) -> anyhow::Result<EmailTemplate> {
    Ok(EmailTemplate {
        id: r.int("id")?,
        content: TemplateContent {
            name: r.text("name")?,
            module: r.opt_text("module")?,
            subject_en: r.text("subject_en")?,
            body_en: r.text("body_en")?,
            subject_zh: r.text("subject_zh")?,
            body_zh: r.text("body_zh")?,
        },
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

fn name_taken(e: StoreError) -> StoreError {
    match e.unique_race() {
        StoreError::Conflict(_) => StoreError::refused("wf_refused_template_taken", "another template has that name"),
        other => other,
    }
}

/// Every template (optionally those for one module and those for any), by name.
/// Every user may list them, to send one from a record.
pub async fn list_templates(store: &Store, module: Option<&str>) -> StoreResult<Vec<EmailTemplate>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ").push(COLUMNS).push(" FROM email_templates");
    if let Some(m) = module {
        q.push(" WHERE module IS NULL OR module = ").bind(m);
    }
    q.push(" ORDER BY name, id");
    Ok(db
        .fetch_all(&q)
        .await?
        .iter()
        .map(row_to_template)
        .collect::<anyhow::Result<Vec<_>>>()?)
}

/// One template.
pub async fn get_template(store: &Store, id: i64) -> StoreResult<EmailTemplate> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM email_templates WHERE id = ")
        .bind(id);
    db.fetch_optional(&q)
        .await?
        .as_ref()
        .map(row_to_template)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("email_templates", id))
}

/// Creates a template after checking names, sizes and syntax.
pub async fn create_template(store: &Store, actor: &Actor, c: &TemplateContent) -> StoreResult<EmailTemplate> {
    admin_only(actor)?;
    check(store, c).await?;
    let now = now_ms();
    let db = store.db();
    let mut q = db.sql();
    q.push("INSERT INTO email_templates (name, module, subject_en, body_en, subject_zh, body_zh, created_at, updated_at) VALUES (")
        .bind(c.name.trim())
        .push(", ")
        .bind(c.module.clone())
        .push(", ")
        .bind(c.subject_en.as_str())
        .push(", ")
        .bind(c.body_en.as_str())
        .push(", ")
        .bind(c.subject_zh.as_str())
        .push(", ")
        .bind(c.body_zh.as_str())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let row = db
        .fetch_optional(&q)
        .await
        .map_err(|e| name_taken(StoreError::Other(e)))?;
    let id = row
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("no id returned")))?
        .int("id")?;
    get_template(store, id).await
}

/// Replaces a template's content.
pub async fn update_template(store: &Store, actor: &Actor, id: i64, c: &TemplateContent) -> StoreResult<EmailTemplate> {
    admin_only(actor)?;
    check(store, c).await?;
    let db = store.db();
    let mut q = db.sql();
    q.push("UPDATE email_templates SET name = ")
        .bind(c.name.trim())
        .push(", module = ")
        .bind(c.module.clone())
        .push(", subject_en = ")
        .bind(c.subject_en.as_str())
        .push(", body_en = ")
        .bind(c.body_en.as_str())
        .push(", subject_zh = ")
        .bind(c.subject_zh.as_str())
        .push(", body_zh = ")
        .bind(c.body_zh.as_str())
        .push(", updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = ")
        .bind(id);
    let n = db.execute(&q).await.map_err(|e| name_taken(StoreError::Other(e)))?;
    if n != 1 {
        return Err(StoreError::not_found("email_templates", id));
    }
    get_template(store, id).await
}

/// Deletes a template. Workflows that name it fail their e-mail action with a clear error.
pub async fn delete_template(store: &Store, actor: &Actor, id: i64) -> StoreResult<()> {
    admin_only(actor)?;
    let db = store.db();
    let mut q = db.sql();
    q.push("DELETE FROM email_templates WHERE id = ").bind(id);
    if db.execute(&q).await? != 1 {
        return Err(StoreError::not_found("email_templates", id));
    }
    Ok(())
}
