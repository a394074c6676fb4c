//! Workflow definitions: what a workflow reacts to, when it applies and what it does.
//!
//! Pure data with serde and a check against the [`Registry`] that names the place and the
//! fault of every error in both languages. Nothing here runs a workflow: the store keeps
//! the definitions and the workflow crate executes them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::filter::{Filter, FilterContext};
use crate::i18n::{Labels, Lang};
use crate::meta::{FieldType, ModuleDef};
use crate::registry::Registry;

/// Most actions in one workflow.
pub const MAX_ACTIONS: usize = 20;
/// Longest subject, body or payload template, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// Most addresses one e-mail action may name.
pub const MAX_ADDRESSES: usize = 50;
/// Longest name of a workflow, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A workflow: module, trigger, optional condition (the filter tree) and ordered actions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    pub module: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub enabled: bool,
    pub trigger: Trigger,
    /// The foundation's filter-tree JSON; none (or `{}`) matches every record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Json>,
    pub actions: Vec<Action>,
}

/// What starts a workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A record was created.
    OnCreate,
    /// A record was created or changed.
    OnSave,
    /// A save after which the condition holds while it did not before (or on create).
    ConditionBecomesTrue,
    /// A field changed; with `from`/`to`, only that change (values in wire form).
    FieldChanged {
        field: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Json>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Json>,
    },
    /// The sales stage became `stage` (any stage when none).
    StageEntered {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
    },
    /// On a schedule, over every record that meets the condition.
    Schedule {
        every: Every,
        /// `HH:MM`, in the company's time zone.
        at: String,
        /// 1 = Monday … 7 = Sunday, for weekly schedules.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weekday: Option<u8>,
        /// 1 … 31 for monthly schedules (short months run on their last day).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        day: Option<u8>,
    },
    /// `days` days after (negative: before) the date in `field`, checked once a day.
    DateOffset { field: String, days: i32 },
}

/// How often a scheduled workflow runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Daily,
    Weekly,
    Monthly,
}

/// One step of a workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// An e-mail from a stored template or from a subject and body given here.
    SendEmail {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        to: Recipient,
    },
    /// A task or event linked to the record, owned by the record's owner.
    CreateActivity {
        /// `Tasks` or `Events`.
        module: String,
        subject: String,
        #[serde(default)]
        due_in_days: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<String>,
    },
    /// Sets fields: a value in wire form, or an expression such as `today + 3 days`.
    UpdateFields { values: Map<String, Json> },
    /// Gives the record an owner chosen by an assignment rule.
    AssignOwner { rule_id: i64 },
    /// Creates a record in another module that refers to this one.
    CreateRelated { module: String, values: Map<String, Json> },
    /// POSTs the record to a URL, as JSON or as an IM bot's message.
    Webhook {
        url: String,
        format: WebhookFormat,
        /// The message text for bot formats (a template over the record); a default when none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
    },
    /// Mails the guidance of the opportunity's current stage to its owner.
    SendStageGuidance,
}

impl Action {
    /// The action's type name as it appears in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::SendEmail { .. } => "send_email",
            Action::CreateActivity { .. } => "create_activity",
            Action::UpdateFields { .. } => "update_fields",
            Action::AssignOwner { .. } => "assign_owner",
            Action::CreateRelated { .. } => "create_related",
            Action::Webhook { .. } => "webhook",
            Action::SendStageGuidance => "send_stage_guidance",
        }
    }
}

/// Who an e-mail goes to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// The record's owner (`"owner"`).
    Owner,
    /// The address in one of the record's e-mail fields (`{"record_field": "email"}`).
    RecordField(String),
    /// Fixed addresses (`{"address": ["a@example.com"]}`).
    Address(Vec<String>),
}

/// The body a webhook sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    Json,
    Wecom,
    Dingtalk,
    Feishu,
    Slack,
}

/// A fault in a workflow definition and where it is (a JSON path such as `.actions[1].to`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("workflow{path}: {}", .labels.en)]
pub struct WorkflowError {
    pub path: String,
    pub labels: Labels,
}

impl WorkflowError {
    fn new(path: impl Into<String>, en: impl Into<String>, zh: impl Into<String>) -> WorkflowError {
        WorkflowError {
            path: path.into(),
            labels: Labels::new(en, zh),
        }
    }

    /// The message in a language.
    pub fn message(&self, lang: Lang) -> String {
        let prefix = match lang {
            Lang::En => "workflow",
            Lang::Zh => "工作流",
        };
        format!("{prefix}{}: {}", self.path, self.labels.get(lang))
    }
}

impl WorkflowDef {
    /// Parses a definition from JSON, naming the place of a shape error.
    pub fn from_json(v: &Json) -> Result<WorkflowDef, WorkflowError> {
        serde_json::from_value(v.clone()).map_err(|e| {
            let text = e.to_string();
            WorkflowError::new("", text.clone(), format!("格式错误：{text}"))
        })
    }

    /// Checks the definition against the metadata: module, fields, condition, actions.
    pub fn validate(&self, registry: &Registry) -> Result<(), WorkflowError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(WorkflowError::new(
                ".name",
                format!("a name of 1 to {MAX_NAME_CHARS} characters is needed"),
                format!("名称须为 1 到 {MAX_NAME_CHARS} 个字符"),
            ));
        }
        let module = registry.module(&self.module).ok().filter(|m| m.entity).ok_or_else(|| {
            WorkflowError::new(
                ".module",
                format!("unknown module `{}`", self.module),
                format!("未知模块“{}”", self.module),
            )
        })?;
        check_trigger(&self.trigger, module, registry)?;
        if let Some(c) = &self.condition {
            let tz = jiff::tz::TimeZone::UTC;
            let ctx = FilterContext {
                registry,
                today: FilterContext::today_in(&tz),
                tz: &tz,
            };
            Filter::from_json(c)
                .and_then(|f| f.resolve(module, &ctx))
                .map_err(|e| WorkflowError::new(".condition", e.message(Lang::En), e.message(Lang::Zh)))?;
        }
        if self.actions.is_empty() || self.actions.len() > MAX_ACTIONS {
            return Err(WorkflowError::new(
                ".actions",
                format!("1 to {MAX_ACTIONS} actions are needed"),
                format!("需要 1 到 {MAX_ACTIONS} 个动作"),
            ));
        }
        for (i, a) in self.actions.iter().enumerate() {
            check_action(a, module, registry, &format!(".actions[{i}]"))?;
        }
        Ok(())
    }

    /// True for triggers driven by the clock rather than by record events.
    pub fn is_timed(&self) -> bool {
        matches!(self.trigger, Trigger::Schedule { .. } | Trigger::DateOffset { .. })
    }
}

fn unknown_field(path: &str, field: &str) -> WorkflowError {
    WorkflowError::new(path, format!("unknown field `{field}`"), format!("未知字段“{field}”"))
}

fn check_trigger(t: &Trigger, m: &ModuleDef, registry: &Registry) -> Result<(), WorkflowError> {
    match t {
        Trigger::OnCreate | Trigger::OnSave | Trigger::ConditionBecomesTrue => Ok(()),
        Trigger::FieldChanged { field, .. } => m
            .field(field)
            .map(|_| ())
            .ok_or_else(|| unknown_field(".trigger.field", field)),
        Trigger::StageEntered { stage } => {
            let f = m.field("sales_stage").ok_or_else(|| {
                WorkflowError::new(
                    ".trigger",
                    format!("module `{}` has no sales stage", m.name),
                    format!("模块“{}”没有销售阶段", m.name),
                )
            })?;
            if let Some(s) = stage {
                let known = registry.picklist_of(f).is_some_and(|p| p.resolve(s).is_some());
                if !known {
                    return Err(WorkflowError::new(
                        ".trigger.stage",
                        format!("unknown stage `{s}`"),
                        format!("未知阶段“{s}”"),
                    ));
                }
            }
            Ok(())
        }
        Trigger::Schedule {
            every,
            at,
            weekday,
            day,
        } => {
            if parse_hh_mm(at).is_none() {
                return Err(WorkflowError::new(
                    ".trigger.at",
                    format!("`{at}` is not a time of day HH:MM"),
                    format!("“{at}”不是 HH:MM 格式的时间"),
                ));
            }
            match every {
                Every::Weekly if !weekday.is_some_and(|d| (1..=7).contains(&d)) => Err(WorkflowError::new(
                    ".trigger.weekday",
                    "a weekly schedule needs a weekday from 1 (Monday) to 7 (Sunday)",
                    "每周计划需要 1（周一）到 7（周日）的星期",
                )),
                Every::Monthly if !day.is_some_and(|d| (1..=31).contains(&d)) => Err(WorkflowError::new(
                    ".trigger.day",
                    "a monthly schedule needs a day of the month from 1 to 31",
                    "每月计划需要 1 到 31 的日期",
                )),
                _ => Ok(()),
            }
        }
        Trigger::DateOffset { field, days } => {
            let f = m.field(field).ok_or_else(|| unknown_field(".trigger.field", field))?;
            if !matches!(f.field_type, FieldType::Date | FieldType::Datetime) {
                return Err(WorkflowError::new(
                    ".trigger.field",
                    format!("`{field}` is not a date field"),
                    format!("“{field}”不是日期字段"),
                ));
            }
            if days.abs() > 3660 {
                return Err(WorkflowError::new(
                    ".trigger.days",
                    "the offset must be within 3660 days",
                    "偏移天数须在 3660 天以内",
                ));
            }
            Ok(())
        }
    }
}

fn check_template(path: &str, text: &str) -> Result<(), WorkflowError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(WorkflowError::new(
            path,
            format!("longer than {MAX_TEMPLATE_BYTES} bytes"),
            format!("超过 {MAX_TEMPLATE_BYTES} 字节"),
        ));
    }
    Ok(())
}

/// A plausible e-mail address: one `@`, something on both sides, no spaces or controls.
pub fn plausible_address(a: &str) -> bool {
    let a = a.trim();
    match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && a.len() <= 254
                && !a
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
        }
        None => false,
    }
}

fn check_action(a: &Action, m: &ModuleDef, registry: &Registry, path: &str) -> Result<(), WorkflowError> {
    match a {
        Action::SendEmail {
            template_id,
            subject,
            body,
            to,
        } => {
            match (template_id, subject, body) {
                (Some(id), _, _) if *id <= 0 => {
                    return Err(WorkflowError::new(
                        format!("{path}.template_id"),
                        "not a template id",
                        "不是模板编号",
                    ));
                }
                (Some(_), _, _) => {}
                (None, Some(s), Some(b)) if !s.trim().is_empty() => {
                    check_template(&format!("{path}.subject"), s)?;
                    check_template(&format!("{path}.body"), b)?;
                }
                _ => {
                    return Err(WorkflowError::new(
                        path,
                        "an e-mail needs a template_id, or a subject and a body",
                        "邮件需要模板，或主题和正文",
                    ));
                }
            }
            match to {
                Recipient::Owner => Ok(()),
                Recipient::RecordField(f) => {
                    let def = m.field(f).ok_or_else(|| unknown_field(&format!("{path}.to"), f))?;
                    if def.field_type != FieldType::Email {
                        return Err(WorkflowError::new(
                            format!("{path}.to"),
                            format!("`{f}` is not an e-mail field"),
                            format!("“{f}”不是邮箱字段"),
                        ));
                    }
                    Ok(())
                }
                Recipient::Address(list) => {
                    if list.is_empty() || list.len() > MAX_ADDRESSES {
                        return Err(WorkflowError::new(
                            format!("{path}.to"),
                            format!("1 to {MAX_ADDRESSES} addresses are needed"),
                            format!("需要 1 到 {MAX_ADDRESSES} 个地址"),
                        ));
                    }
                    match list.iter().position(|a| !plausible_address(a)) {
                        Some(i) => Err(WorkflowError::new(
                            format!("{path}.to.address[{i}]"),
                            format!("`{}` is not an e-mail address", list[i]),
                            format!("“{}”不是邮箱地址", list[i]),
                        )),
                        None => Ok(()),
                    }
                }
            }
        }
        Action::CreateActivity {
            module,
            subject,
            due_in_days,
            description,
            ..
        } => {
            if module != "Tasks" && module != "Events" {
                return Err(WorkflowError::new(
                    format!("{path}.module"),
                    "an activity is a Tasks or Events record",
                    "活动须为任务（Tasks）或日程（Events）",
                ));
            }
            if subject.trim().is_empty() {
                return Err(WorkflowError::new(
                    format!("{path}.subject"),
                    "a subject is needed",
                    "需要主题",
                ));
            }
            check_template(&format!("{path}.subject"), subject)?;
            if let Some(d) = description {
                check_template(&format!("{path}.description"), d)?;
            }
            if due_in_days.abs() > 3660 {
                return Err(WorkflowError::new(
                    format!("{path}.due_in_days"),
                    "the due date must be within 3660 days",
                    "到期天数须在 3660 天以内",
                ));
            }
            Ok(())
        }
        Action::UpdateFields { values } => check_values(values, m, &format!("{path}.values")),
        Action::AssignOwner { rule_id } => {
            if *rule_id <= 0 {
                return Err(WorkflowError::new(
                    format!("{path}.rule_id"),
                    "not an assignment rule id",
                    "不是分配规则编号",
                ));
            }
            Ok(())
        }
        Action::CreateRelated { module, values } => {
            let target = registry.module(module).ok().filter(|t| t.entity).ok_or_else(|| {
                WorkflowError::new(
                    format!("{path}.module"),
                    format!("unknown module `{module}`"),
                    format!("未知模块“{module}”"),
                )
            })?;
            if related_field(target, &m.name).is_none() {
                return Err(WorkflowError::new(
                    format!("{path}.module"),
                    format!("`{module}` has no field referring to `{}`", m.name),
                    format!("“{module}”没有指向“{}”的关联字段", m.name),
                ));
            }
            check_values(values, target, &format!("{path}.values"))
        }
        Action::Webhook { url, template, .. } => {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && url.len() <= 2048
                && !url.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(WorkflowError::new(
                    format!("{path}.url"),
                    "an http:// or https:// URL of at most 2048 characters is needed",
                    "需要 http:// 或 https:// 开头、不超过 2048 字符的网址",
                ));
            }
            if let Some(t) = template {
                check_template(&format!("{path}.template"), t)?;
            }
            Ok(())
        }
        Action::SendStageGuidance => {
            if m.field("sales_stage").is_none() {
                return Err(WorkflowError::new(
                    path,
                    format!("module `{}` has no sales stage", m.name),
                    format!("模块“{}”没有销售阶段", m.name),
                ));
            }
            Ok(())
        }
    }
}

/// The field of `target` that refers to a record of `module` (the first one declared).
pub fn related_field<'a>(target: &'a ModuleDef, module: &str) -> Option<&'a crate::meta::FieldDef> {
    target
        .fields
        .iter()
        .find(|f| f.field_type == FieldType::Reference && f.targets.iter().any(|t| t == module))
}

fn check_values(values: &Map<String, Json>, m: &ModuleDef, path: &str) -> Result<(), WorkflowError> {
    if values.is_empty() {
        return Err(WorkflowError::new(path, "no values given", "未给出字段值"));
    }
    for (name, v) in values {
        let f = m
            .field(name)
            .ok_or_else(|| unknown_field(&format!("{path}.{name}"), name))?;
        if f.readonly {
            return Err(WorkflowError::new(
                format!("{path}.{name}"),
                format!("`{name}` is read-only"),
                format!("“{name}”为只读字段"),
            ));
        }
        if let Json::String(s) = v
            && crate::expr::looks_like_expression(s)
            && crate::expr::DateExpr::parse(s).is_none()
        {
            return Err(WorkflowError::new(
                format!("{path}.{name}"),
                format!("`{s}` is not an expression like `today + 3 days`"),
                format!("“{s}”不是“today + 3 days”这样的表达式"),
            ));
        }
    }
    Ok(())
}

/// Parses `HH:MM` (24-hour).
pub fn parse_hh_mm(s: &str) -> Option<(i8, i8)> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: i8 = h.parse().ok()?;
    let m: i8 = m.parse().ok()?;
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reg() -> Registry {
        Registry::builtin().expect("builtin")
    }

    fn def(v: Json) -> Result<WorkflowDef, WorkflowError> {
        let d = WorkflowDef::from_json(&v)?;
        d.validate(&reg())?;
        Ok(d)
    }

    #[test]
    fn a_full_definition_round_trips() {
        let v = json!({
            "module": "Leads", "name": "New lead", "enabled": true,
            "trigger": {"type": "field_changed", "field": "leadstatus", "to": "Hot"},
            "condition": {"all": [{"field": "leadsource", "op": "eq", "value": "Web Site"}]},
            "actions": [
                {"type": "send_email", "subject": "Hi {{ lastname }}", "body": "B", "to": "owner"},
                {"type": "send_email", "template_id": 3, "to": {"record_field": "email"}},
                {"type": "send_email", "template_id": 3, "to": {"address": ["a@example.com"]}},
                {"type": "create_activity", "module": "Tasks", "subject": "Call", "due_in_days": 1},
                {"type": "update_fields", "values": {"description": "x"}},
                {"type": "assign_owner", "rule_id": 1},
                {"type": "webhook", "url": "https://example.com/h", "format": "wecom"},
            ]
        });
        let d = def(v).expect("valid");
        let again = WorkflowDef::from_json(&serde_json::to_value(&d).expect("json")).expect("parse");
        assert_eq!(d, again);
        assert_eq!(d.actions[0].kind(), "send_email");
    }

    #[test]
    fn errors_name_the_place() {
        let base = |trigger: Json, actions: Json| json!({"module": "Leads", "name": "n", "trigger": trigger, "actions": actions});
        let mail = json!([{"type": "send_email", "subject": "s", "body": "b", "to": "owner"}]);
        let e = def(base(json!({"type": "field_changed", "field": "nope"}), mail.clone())).unwrap_err();
        assert_eq!(e.path, ".trigger.field");
        let e = def(base(json!({"type": "stage_entered"}), mail.clone())).unwrap_err();
        assert_eq!(e.path, ".trigger");
        let e = def(base(
            json!({"type": "schedule", "every": "daily", "at": "25:00"}),
            mail.clone(),
        ))
        .unwrap_err();
        assert_eq!(e.path, ".trigger.at");
        let e = def(base(
            json!({"type": "schedule", "every": "weekly", "at": "08:00"}),
            mail.clone(),
        ))
        .unwrap_err();
        assert_eq!(e.path, ".trigger.weekday");
        let e = def(base(
            json!({"type": "date_offset", "field": "lastname", "days": 3}),
            mail.clone(),
        ))
        .unwrap_err();
        assert!(e.labels.en.contains("not a date"), "{e}");
        let e = def(base(
            json!({"type": "on_create"}),
            json!([{"type": "send_email", "subject": "s", "body": "b", "to": {"address": ["ok@x.com", "bad"]}}]),
        ))
        .unwrap_err();
        assert_eq!(e.path, ".actions[0].to.address[1]");
        let e = def(base(
            json!({"type": "on_create"}),
            json!([{"type": "update_fields", "values": {"description": "today + x days"}}]),
        ))
        .unwrap_err();
        assert_eq!(e.path, ".actions[0].values.description");
        let e = def(base(
            json!({"type": "on_create"}),
            json!([{"type": "webhook", "url": "ftp://x", "format": "json"}]),
        ))
        .unwrap_err();
        assert_eq!(e.path, ".actions[0].url");
        let e = def(base(
            json!({"type": "on_create"}),
            json!([{"type": "send_stage_guidance"}]),
        ))
        .unwrap_err();
        assert_eq!(e.path, ".actions[0]");
        let e = def(base(json!({"type": "on_create"}), json!([]))).unwrap_err();
        assert_eq!(e.path, ".actions");
        let e =
            def(json!({"module": "Nope", "name": "n", "trigger": {"type": "on_create"}, "actions": mail})).unwrap_err();
        assert_eq!(e.path, ".module");
        assert!(e.message(Lang::Zh).contains("未知模块"));
    }

    #[test]
    fn malformed_json_is_refused_with_a_message() {
        for bad in [
            json!(null),
            json!([]),
            json!({"module": "Leads"}),
            json!({"module": "Leads", "name": "n", "trigger": {"type": "sometimes"}, "actions": []}),
            json!({"module": "Leads", "name": "n", "trigger": {"type": "on_create"}, "actions": [{"type": "explode"}]}),
            json!({"module": "Leads", "name": "n", "trigger": {"type": "on_create"}, "actions": [], "extra": 1}),
        ] {
            let e = WorkflowDef::from_json(&bad).unwrap_err();
            assert!(!e.labels.en.is_empty());
        }
    }

    #[test]
    fn condition_errors_are_reported() {
        let e = def(json!({"module": "Leads", "name": "n", "trigger": {"type": "on_save"},
            "condition": {"all": [{"field": "nope", "op": "eq", "value": 1}]},
            "actions": [{"type": "send_email", "subject": "s", "body": "b", "to": "owner"}]}))
        .unwrap_err();
        assert_eq!(e.path, ".condition");
        assert!(e.labels.en.contains("nope"));
    }

    #[test]
    fn times_of_day() {
        assert_eq!(parse_hh_mm("08:30"), Some((8, 30)));
        assert_eq!(parse_hh_mm("8:05"), Some((8, 5)));
        for bad in ["24:00", "12:60", "1230", "", ":", "-1:00", "12:5", "aa:bb"] {
            assert_eq!(parse_hh_mm(bad), None, "{bad}");
        }
    }

    #[test]
    fn addresses() {
        assert!(plausible_address("a.b@example.cn"));
        for bad in ["", "a", "a@b", "@b.cn", "a@.cn", "a b@c.cn", "a@b.cn>", "a@b@c.cn"] {
            assert!(!plausible_address(bad), "{bad}");
        }
    }
}
