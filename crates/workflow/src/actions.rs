//! The actions a workflow runs. Record writes go through the record service as the system
//! with the workflow's origin marker; e-mail and webhooks carry the action's idempotency key.

use sable_core::expr::DateExpr;
use sable_core::workflow::{Action, Recipient, related_field};
use sable_core::{Labels, Lang};
use sable_store::email_templates;
use sable_store::workflows::Workflow;
use sable_store::{Actor, Store, StoreError, jobs, mail_settings, stages, templating};
use serde_json::{Map, Value as Json, json};

use crate::context::RecordContext;
use crate::mailer::{self, Mail};
use crate::webhook;

/// What an action did.
#[derive(Debug)]
pub enum Outcome {
    /// Done, with a note for the run log (ids written, addresses, HTTP status).
    Done(Json),
    /// Nothing to do, and why (e.g. the record has no e-mail address).
    Skipped(String),
}

/// Why an action failed, and whether a retry could help.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ActionError {
    pub message: String,
    pub permanent: bool,
}

impl ActionError {
    fn permanent(message: impl Into<String>) -> ActionError {
        ActionError {
            message: message.into(),
            permanent: true,
        }
    }

    fn transient(message: impl Into<String>) -> ActionError {
        ActionError {
            message: message.into(),
            permanent: false,
        }
    }
}

impl From<StoreError> for ActionError {
    fn from(e: StoreError) -> ActionError {
        // Validation, permission and not-found errors repeat on every try; others may pass.
        let permanent = !matches!(e, StoreError::Other(_) | StoreError::Conflict(_));
        ActionError {
            message: format!("{e:#}"),
            permanent,
        }
    }
}

/// Everything an action needs besides the record.
pub struct ActionEnv<'a> {
    pub store: &'a Store,
    pub http: &'a reqwest::Client,
    pub workflow: &'a Workflow,
    /// The system, marked with this workflow as origin.
    pub actor: &'a Actor,
    /// The action's idempotency key (Message-ID, `Idempotency-Key`).
    pub key: &'a str,
    /// Today in the engine's time zone.
    pub today: jiff::civil::Date,
    pub now_ms: i64,
    /// What triggered the run, for webhook bodies.
    pub trigger: &'a Json,
}

/// Runs one action. `ctx` is reloaded after actions that change the record.
pub async fn execute(env: &ActionEnv<'_>, action: &Action, ctx: &mut RecordContext) -> Result<Outcome, ActionError> {
    let outcome = match action {
        Action::SendEmail {
            template_id,
            subject,
            body,
            to,
        } => send_email(env, ctx, *template_id, subject.as_deref(), body.as_deref(), to).await?,
        Action::CreateActivity {
            module,
            subject,
            due_in_days,
            description,
            priority,
        } => {
            create_activity(
                env,
                ctx,
                module,
                subject,
                *due_in_days,
                description.as_deref(),
                priority.as_deref(),
            )
            .await?
        }
        Action::UpdateFields { values } => {
            let input = evaluate_values(values, env.today);
            let r = env
                .store
                .records(env.actor)
                .update(&ctx.record.module, ctx.record.id, None, &input)
                .await?;
            Outcome::Done(json!({"version": r.version, "fields": input.keys().collect::<Vec<_>>()}))
        }
        Action::AssignOwner { rule_id } => assign_owner(env, ctx, *rule_id).await?,
        Action::CreateRelated { module, values } => create_related(env, ctx, module, values).await?,
        Action::Webhook { url, format, template } => {
            let text = render(template.as_deref().unwrap_or(webhook::DEFAULT_TEXT), env, ctx)?;
            let event = json!({
                "idempotency_key": env.key,
                "workflow": {"id": env.workflow.id, "name": env.workflow.def.name},
                "trigger": env.trigger,
                "record": ctx.json,
            });
            let body = webhook::body(*format, &event, &text);
            let status = webhook::post(env.http, url, &body, env.key)
                .await
                .map_err(|e| ActionError {
                    message: e.message,
                    permanent: e.permanent,
                })?;
            Outcome::Done(json!({"status": status}))
        }
        Action::SendStageGuidance => stage_guidance(env, ctx).await?,
    };
    if matches!(action, Action::UpdateFields { .. } | Action::AssignOwner { .. }) {
        *ctx = crate::context::load_as_system(env.store, &ctx.record.module, ctx.record.id).await?;
    }
    Ok(outcome)
}

/// Field values with `today + N days` expressions evaluated.
pub fn evaluate_values(values: &Map<String, Json>, today: jiff::civil::Date) -> Map<String, Json> {
    values
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Json::String(s) => match DateExpr::parse(s).and_then(|e| e.eval(today)) {
                    Some(d) => json!(d.to_string()),
                    None => v.clone(),
                },
                _ => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

fn template_context(env: &ActionEnv<'_>, ctx: &RecordContext) -> Json {
    let mut c = ctx.json.clone();
    if let Some(o) = c.as_object_mut() {
        o.insert("workflow".into(), json!(env.workflow.def.name));
        o.insert("today".into(), json!(env.today.to_string()));
    }
    c
}

fn render(source: &str, env: &ActionEnv<'_>, ctx: &RecordContext) -> Result<String, ActionError> {
    templating::render(source, &template_context(env, ctx))
        .map_err(|e| ActionError::permanent(format!("template: {e}")))
}

fn owner_lang(ctx: &RecordContext) -> Lang {
    ctx.owner.as_ref().and_then(|u| u.preferred_lang()).unwrap_or(Lang::Zh)
}

async fn send_email(
    env: &ActionEnv<'_>,
    ctx: &RecordContext,
    template_id: Option<i64>,
    subject: Option<&str>,
    body: Option<&str>,
    to: &Recipient,
) -> Result<Outcome, ActionError> {
    let recipients: Vec<String> = match to {
        Recipient::Owner => match ctx
            .owner
            .as_ref()
            .and_then(|u| u.email1.clone())
            .filter(|e| !e.is_empty())
        {
            Some(a) => vec![a],
            None => return Ok(Outcome::Skipped("the record's owner has no e-mail address".into())),
        },
        Recipient::RecordField(f) => match ctx.json.get(f).and_then(Json::as_str).filter(|s| !s.is_empty()) {
            Some(a) => vec![a.to_string()],
            None => return Ok(Outcome::Skipped(format!("the record has no address in `{f}`"))),
        },
        Recipient::Address(list) => list.clone(),
    };
    let lang = owner_lang(ctx);
    let (subject_src, body_src) = match template_id {
        Some(id) => {
            let t = email_templates::get_template(env.store, id)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound { .. } => {
                        ActionError::permanent(format!("e-mail template {id} no longer exists"))
                    }
                    other => other.into(),
                })?;
            let (s, b) = t.content.in_lang(lang);
            (s.to_string(), b.to_string())
        }
        None => (
            subject.unwrap_or_default().to_string(),
            body.unwrap_or_default().to_string(),
        ),
    };
    let subject = render(&subject_src, env, ctx)?.replace(['\r', '\n'], " ");
    let body = render(&body_src, env, ctx)?;
    deliver(env, ctx, recipients, subject, body).await
}

/// Sends through the configured server and logs the mail on the record's timeline.
async fn deliver(
    env: &ActionEnv<'_>,
    ctx: &RecordContext,
    to: Vec<String>,
    subject: String,
    body: String,
) -> Result<Outcome, ActionError> {
    let settings = mail_settings::load_smtp(env.store)
        .await
        .map_err(|e| ActionError::transient(format!("{e:#}")))?
        .ok_or_else(|| ActionError::transient("no SMTP server is configured (Settings → Mail)"))?;
    let message_id = jobs::message_id_for(env.key, &mailer::message_domain(&settings));
    let mail = Mail {
        to: to.clone(),
        subject: subject.clone(),
        body: body.clone(),
        message_id: message_id.clone(),
        attachments: Vec::new(),
    };
    mailer::send(&settings, &mail).await.map_err(|e| ActionError {
        message: e.message,
        permanent: e.permanent,
    })?;
    jobs::record_sent_mail(
        env.store,
        &ctx.record.module,
        ctx.record.id,
        &to,
        &subject,
        &body,
        &message_id,
        env.now_ms,
    )
    .await
    .map_err(|e| ActionError::transient(format!("{e:#}")))?;
    Ok(Outcome::Done(json!({"to": to, "message_id": message_id})))
}

#[allow(clippy::too_many_arguments)]
async fn create_activity(
    env: &ActionEnv<'_>,
    ctx: &RecordContext,
    module: &str,
    subject: &str,
    due_in_days: i64,
    description: Option<&str>,
    priority: Option<&str>,
) -> Result<Outcome, ActionError> {
    let due = env
        .today
        .checked_add(jiff::Span::new().days(due_in_days))
        .map_err(|e| ActionError::permanent(format!("due date: {e}")))?;
    let mut input = Map::new();
    input.insert("subject".into(), json!(render(subject, env, ctx)?));
    input.insert("date_start".into(), json!(due.to_string()));
    input.insert("due_date".into(), json!(due.to_string()));
    if let Some(d) = description {
        input.insert("description".into(), json!(render(d, env, ctx)?));
    }
    if let Some(p) = priority {
        input.insert("taskpriority".into(), json!(p));
    }
    if let Some(o) = &ctx.owner {
        input.insert("assigned_user_id".into(), json!(o.id));
    }
    let registry = env
        .store
        .registry()
        .await
        .map_err(|e| ActionError::transient(format!("{e:#}")))?;
    let target = registry.module(module).map_err(StoreError::from)?;
    if related_field(target, &ctx.record.module).is_some_and(|f| f.name == "parent_id") {
        input.insert("parent_id".into(), json!(ctx.record.id));
    }
    let r = env.store.records(env.actor).create(module, &input).await?;
    Ok(Outcome::Done(json!({"module": module, "record_id": r.id})))
}

async fn create_related(
    env: &ActionEnv<'_>,
    ctx: &RecordContext,
    module: &str,
    values: &Map<String, Json>,
) -> Result<Outcome, ActionError> {
    let registry = env
        .store
        .registry()
        .await
        .map_err(|e| ActionError::transient(format!("{e:#}")))?;
    let target = registry.module(module).map_err(StoreError::from)?;
    let link = related_field(target, &ctx.record.module)
        .ok_or_else(|| ActionError::permanent(format!("{module} has no field referring to {}", ctx.record.module)))?;
    let mut input = evaluate_values(values, env.today);
    input.insert(link.name.clone(), json!(ctx.record.id));
    if !input.contains_key("assigned_user_id")
        && let Some(o) = &ctx.owner
    {
        input.insert("assigned_user_id".into(), json!(o.id));
    }
    let r = env.store.records(env.actor).create(module, &input).await?;
    Ok(Outcome::Done(json!({"module": module, "record_id": r.id})))
}

async fn assign_owner(env: &ActionEnv<'_>, ctx: &RecordContext, rule_id: i64) -> Result<Outcome, ActionError> {
    let decided = sable_store::assignment::assign_as(env.store, env.actor, rule_id, &ctx.record.module, ctx.record.id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => ActionError::permanent(format!("assignment rule {rule_id} does not exist")),
            other => other.into(),
        })?;
    Ok(match decided {
        Some(a) => Outcome::Done(json!({"user_id": a.user_id, "task_id": a.task_id, "reason": a.reason})),
        None => Outcome::Skipped(format!(
            "assignment rule {rule_id} found no active user; the owner was kept"
        )),
    })
}

async fn stage_guidance(env: &ActionEnv<'_>, ctx: &RecordContext) -> Result<Outcome, ActionError> {
    let Some(stage) = ctx
        .json
        .get("sales_stage")
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Ok(Outcome::Skipped("the record has no sales stage".into()));
    };
    let Some(def) = stages::stage(env.store, stage).await? else {
        return Ok(Outcome::Skipped(format!("stage `{stage}` no longer exists")));
    };
    let Some(to) = ctx
        .owner
        .as_ref()
        .and_then(|u| u.email1.clone())
        .filter(|e| !e.is_empty())
    else {
        return Ok(Outcome::Skipped("the record's owner has no e-mail address".into()));
    };
    let lang = owner_lang(ctx);
    let (subject, body) = guidance_mail(lang, &ctx.record.label, &def.labels, &def.guidance, &def.checklist);
    deliver(env, ctx, vec![to], subject, body).await
}

/// The subject and body of a stage-guidance e-mail in a language.
pub fn guidance_mail(
    lang: Lang,
    record: &str,
    stage: &Labels,
    guidance: &Labels,
    checklist: &[Labels],
) -> (String, String) {
    let stage_label = stage.get(lang);
    let (subject, intro, list_head) = match lang {
        Lang::En => (
            format!("{record}: now at stage {stage_label}"),
            format!("The opportunity {record} entered the stage {stage_label}."),
            "Checklist:",
        ),
        Lang::Zh => (
            format!("{record}：已进入“{stage_label}”阶段"),
            format!("商机“{record}”已进入“{stage_label}”阶段。"),
            "检查清单：",
        ),
    };
    let mut body = format!("{intro}\n\n{}\n", guidance.get(lang));
    if !checklist.is_empty() {
        body.push('\n');
        body.push_str(list_head);
        body.push('\n');
        for item in checklist {
            body.push_str("- ");
            body.push_str(item.get(lang));
            body.push('\n');
        }
    }
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_in_values_are_evaluated() {
        let mut m = Map::new();
        m.insert("closingdate".into(), json!("today + 3 days"));
        m.insert("description".into(), json!("literal"));
        m.insert("amount".into(), json!(5));
        let out = evaluate_values(&m, jiff::civil::date(2026, 12, 30));
        assert_eq!(out["closingdate"], json!("2027-01-02"));
        assert_eq!(out["description"], json!("literal"));
        assert_eq!(out["amount"], json!(5));
    }

    #[test]
    fn guidance_in_both_languages() {
        let (s, b) = guidance_mail(
            Lang::Zh,
            "大单",
            &Labels::new("Proposal", "方案"),
            &Labels::new("Send it", "发送方案"),
            &[Labels::new("Price", "报价")],
        );
        assert!(s.contains("方案") && b.contains("发送方案") && b.contains("- 报价"));
        let (s, _) = guidance_mail(
            Lang::En,
            "Big",
            &Labels::new("Proposal", "方案"),
            &Labels::default(),
            &[],
        );
        assert_eq!(s, "Big: now at stage Proposal");
    }
}
