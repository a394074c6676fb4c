//! The workflow edit form as posted: every input kept as typed (so a refused save shows
//! the form again unchanged), turned into the JSON of a `WorkflowDef` and back.
//!
//! The form works without JavaScript: adding, removing and moving actions are submit
//! buttons (`op=add`, `op=remove:2`, `op=up:1` …) that re-render the draft unsaved.
//! Nothing here checks a definition beyond its shape; `WorkflowDef::validate` does.

use sable_core::workflow::{Action, Every, Recipient, Trigger, WorkflowDef};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use super::filters;
use super::form_value;

/// Trigger types offered, in the form's order.
pub const TRIGGERS: [&str; 7] = [
    "on_create",
    "on_save",
    "condition_becomes_true",
    "field_changed",
    "stage_entered",
    "schedule",
    "date_offset",
];

/// Action types offered, in the form's order.
pub const ACTIONS: [&str; 7] = [
    "send_email",
    "create_activity",
    "update_fields",
    "assign_owner",
    "create_related",
    "webhook",
    "send_stage_guidance",
];

/// Webhook body formats offered.
pub const WEBHOOK_FORMATS: [&str; 5] = ["json", "wecom", "dingtalk", "feishu", "slack"];

/// Most actions a posted form is read for (the definition's own limit is lower).
const MAX_FORM_ACTIONS: usize = 40;

/// One action as typed; every kind's inputs are kept so switching kinds loses nothing.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ActionDraft {
    pub kind: String,
    pub template_id: String,
    pub subject: String,
    pub body: String,
    /// `owner`, `field` or `address`.
    pub to: String,
    pub to_field: String,
    pub to_address: String,
    pub module: String,
    pub due_in_days: String,
    pub description: String,
    pub priority: String,
    /// `field = value` lines.
    pub values: String,
    pub rule_id: String,
    pub url: String,
    pub format: String,
    pub template: String,
}

/// The trigger as typed.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct TriggerDraft {
    pub kind: String,
    pub field: String,
    pub from: String,
    pub to: String,
    pub stage: String,
    pub every: String,
    pub at: String,
    pub weekday: String,
    pub day: String,
    pub date_field: String,
    pub days: String,
}

/// The whole form as typed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Draft {
    pub name: String,
    pub description: String,
    pub module: String,
    pub enabled: bool,
    pub trigger: TriggerDraft,
    pub condition: filters::Builder,
    pub actions: Vec<ActionDraft>,
}

/// What the posted form asks for besides its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Save,
    /// Show the form again (the module changed).
    Refresh,
    Add(String),
    Remove(usize),
    Up(usize),
    Down(usize),
}

fn text(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn value_lines(values: &Map<String, Json>) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k} = {}", text(Some(v))))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ActionDraft {
    /// An empty action of a kind, with the kind's usual defaults.
    pub fn new(kind: &str) -> ActionDraft {
        ActionDraft {
            kind: kind.to_string(),
            to: "owner".into(),
            module: if kind == "create_activity" {
                "Tasks".into()
            } else {
                String::new()
            },
            due_in_days: "0".into(),
            format: "json".into(),
            ..ActionDraft::default()
        }
    }

    fn of(a: &Action) -> ActionDraft {
        let mut d = ActionDraft::new(a.kind());
        match a {
            Action::SendEmail {
                template_id,
                subject,
                body,
                to,
            } => {
                d.template_id = template_id.map(|i| i.to_string()).unwrap_or_default();
                d.subject = subject.clone().unwrap_or_default();
                d.body = body.clone().unwrap_or_default();
                match to {
                    Recipient::Owner => d.to = "owner".into(),
                    Recipient::RecordField(f) => {
                        d.to = "field".into();
                        d.to_field = f.clone();
                    }
                    Recipient::Address(list) => {
                        d.to = "address".into();
                        d.to_address = list.join(", ");
                    }
                }
            }
            Action::CreateActivity {
                module,
                subject,
                due_in_days,
                description,
                priority,
            } => {
                d.module = module.clone();
                d.subject = subject.clone();
                d.due_in_days = due_in_days.to_string();
                d.description = description.clone().unwrap_or_default();
                d.priority = priority.clone().unwrap_or_default();
            }
            Action::UpdateFields { values } => d.values = value_lines(values),
            Action::AssignOwner { rule_id } => d.rule_id = rule_id.to_string(),
            Action::CreateRelated { module, values } => {
                d.module = module.clone();
                d.values = value_lines(values);
            }
            Action::Webhook { url, format, template } => {
                d.url = url.clone();
                d.format = text(serde_json::to_value(format).ok().as_ref());
                d.template = template.clone().unwrap_or_default();
            }
            Action::SendStageGuidance => {}
        }
        d
    }

    /// The action's JSON as the definition takes it (shape errors are the definition's to name).
    fn to_json(&self) -> Json {
        // Empty means "none"; other text is kept as typed (a body's spacing is its own).
        let opt = |s: &str| {
            if s.trim().is_empty() { Json::Null } else { json!(s) }
        };
        let number = |s: &str| {
            let s = s.trim();
            s.parse::<i64>().map_or_else(|_| opt(s), |n| json!(n))
        };
        let mut o = Map::new();
        o.insert("type".into(), json!(self.kind));
        match self.kind.as_str() {
            "send_email" => {
                o.insert("template_id".into(), number(&self.template_id));
                if self.template_id.trim().is_empty() {
                    o.insert("subject".into(), json!(self.subject));
                    o.insert("body".into(), json!(self.body));
                }
                let to = match self.to.as_str() {
                    "field" => json!({"record_field": self.to_field.trim()}),
                    "address" => json!({"address": split_addresses(&self.to_address)}),
                    _ => json!("owner"),
                };
                o.insert("to".into(), to);
            }
            "create_activity" => {
                o.insert("module".into(), json!(self.module.trim()));
                o.insert("subject".into(), json!(self.subject));
                o.insert(
                    "due_in_days".into(),
                    number(if self.due_in_days.trim().is_empty() {
                        "0"
                    } else {
                        &self.due_in_days
                    }),
                );
                o.insert("description".into(), opt(&self.description));
                o.insert("priority".into(), opt(&self.priority));
            }
            "update_fields" => {
                o.insert("values".into(), Json::Object(parse_value_lines(&self.values)));
            }
            "assign_owner" => {
                o.insert("rule_id".into(), number(&self.rule_id));
            }
            "create_related" => {
                o.insert("module".into(), json!(self.module.trim()));
                o.insert("values".into(), Json::Object(parse_value_lines(&self.values)));
            }
            "webhook" => {
                o.insert("url".into(), json!(self.url.trim()));
                o.insert("format".into(), json!(self.format.trim()));
                o.insert("template".into(), opt(&self.template));
            }
            _ => {}
        }
        // Optional members left empty are omitted, so serde's defaults apply.
        o.retain(|_, v| !v.is_null());
        Json::Object(o)
    }
}

/// Addresses separated by commas, semicolons, Chinese commas or new lines.
pub fn split_addresses(text: &str) -> Vec<String> {
    text.split([',', ';', '，', '；', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `field = value` lines (also `field: value`); blank lines are skipped.
pub fn parse_value_lines(text: &str) -> Map<String, Json> {
    let mut out = Map::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line
            .split_once('=')
            .or_else(|| line.split_once(':'))
            .unwrap_or((line, ""));
        out.insert(k.trim().to_string(), json!(v.trim()));
    }
    out
}

impl TriggerDraft {
    fn of(t: &Trigger) -> TriggerDraft {
        let kind = text(serde_json::to_value(t).ok().as_ref().and_then(|v| v.get("type")));
        let mut d = TriggerDraft {
            kind,
            every: "daily".into(),
            at: "08:00".into(),
            ..TriggerDraft::default()
        };
        match t {
            Trigger::FieldChanged { field, from, to } => {
                d.field = field.clone();
                d.from = text(from.as_ref());
                d.to = text(to.as_ref());
            }
            Trigger::StageEntered { stage } => d.stage = stage.clone().unwrap_or_default(),
            Trigger::Schedule {
                every,
                at,
                weekday,
                day,
            } => {
                d.every = match every {
                    Every::Daily => "daily",
                    Every::Weekly => "weekly",
                    Every::Monthly => "monthly",
                }
                .into();
                d.at = at.clone();
                d.weekday = weekday.map(|w| w.to_string()).unwrap_or_default();
                d.day = day.map(|w| w.to_string()).unwrap_or_default();
            }
            Trigger::DateOffset { field, days } => {
                d.date_field = field.clone();
                d.days = days.to_string();
            }
            Trigger::OnCreate | Trigger::OnSave | Trigger::ConditionBecomesTrue => {}
        }
        d
    }

    fn to_json(&self) -> Json {
        let opt = |s: &str| {
            let s = s.trim();
            if s.is_empty() { Json::Null } else { json!(s) }
        };
        let number = |s: &str| {
            let s = s.trim();
            s.parse::<i64>().map_or_else(|_| opt(s), |n| json!(n))
        };
        let mut o = Map::new();
        o.insert("type".into(), json!(self.kind));
        match self.kind.as_str() {
            "field_changed" => {
                o.insert("field".into(), json!(self.field.trim()));
                o.insert("from".into(), opt(&self.from));
                o.insert("to".into(), opt(&self.to));
            }
            "stage_entered" => {
                o.insert("stage".into(), opt(&self.stage));
            }
            "schedule" => {
                o.insert("every".into(), json!(self.every.trim()));
                o.insert("at".into(), json!(self.at.trim()));
                if self.every == "weekly" {
                    o.insert("weekday".into(), number(&self.weekday));
                }
                if self.every == "monthly" {
                    o.insert("day".into(), number(&self.day));
                }
            }
            "date_offset" => {
                o.insert("field".into(), json!(self.date_field.trim()));
                o.insert(
                    "days".into(),
                    number(if self.days.trim().is_empty() { "0" } else { &self.days }),
                );
            }
            _ => {}
        }
        o.retain(|_, v| !v.is_null());
        Json::Object(o)
    }
}

impl Draft {
    /// An empty workflow of a module.
    pub fn new(module: &str) -> Draft {
        Draft {
            module: module.to_string(),
            trigger: TriggerDraft {
                kind: "on_create".into(),
                every: "daily".into(),
                at: "08:00".into(),
                ..TriggerDraft::default()
            },
            actions: vec![ActionDraft::new("send_email")],
            ..Draft::default()
        }
    }

    /// The form of a stored definition. `None` in `condition` when the builder cannot show
    /// the stored tree (it is then kept as it is unless the admin replaces it).
    pub fn of(def: &WorkflowDef) -> (Draft, Option<Json>) {
        let (condition, unshown) = match def.condition.as_ref().map(filters::rows_of) {
            None => (filters::Builder::default(), None),
            Some(Some(b)) => (b, None),
            Some(None) => (filters::Builder::default(), def.condition.clone()),
        };
        let draft = Draft {
            name: def.name.clone(),
            description: def.description.clone(),
            module: def.module.clone(),
            enabled: def.enabled,
            trigger: TriggerDraft::of(&def.trigger),
            condition,
            actions: def.actions.iter().map(ActionDraft::of).collect(),
        };
        (draft, unshown)
    }

    /// Reads the posted form: the draft and what to do with it.
    pub fn read(form: &[(String, String)]) -> (Draft, Op) {
        let get = |name: &str| form_value(form, name).unwrap_or("").to_string();
        let trigger = TriggerDraft {
            kind: get("trigger"),
            field: get("t_field"),
            from: get("t_from"),
            to: get("t_to"),
            stage: get("t_stage"),
            every: get("t_every"),
            at: get("t_at"),
            weekday: get("t_weekday"),
            day: get("t_day"),
            date_field: get("t_date_field"),
            days: get("t_days"),
        };
        let count: usize = get("acount").trim().parse().unwrap_or(0).min(MAX_FORM_ACTIONS);
        let mut ordered: Vec<(usize, usize, ActionDraft)> = Vec::new();
        for i in 0..count {
            let a = |name: &str| form_value(form, &format!("a{i}_{name}")).unwrap_or("").to_string();
            if a("type").is_empty() {
                continue;
            }
            let draft = ActionDraft {
                kind: a("type"),
                template_id: a("template_id"),
                subject: a("subject"),
                body: a("body"),
                to: a("to"),
                to_field: a("to_field"),
                to_address: a("to_address"),
                module: a("module"),
                due_in_days: a("due_in_days"),
                description: a("description"),
                priority: a("priority"),
                values: a("values"),
                rule_id: a("rule_id"),
                url: a("url"),
                format: a("format"),
                template: a("template"),
            };
            let order = a("order").trim().parse().unwrap_or(i + 1);
            ordered.push((order, i, draft));
        }
        ordered.sort_by_key(|(order, i, _)| (*order, *i));
        let mut draft = Draft {
            name: get("name"),
            description: get("description"),
            module: get("module"),
            enabled: !get("enabled").is_empty(),
            trigger,
            condition: filters::conditions(form),
            actions: ordered.into_iter().map(|(_, _, d)| d).collect(),
        };
        let op = match get("op").as_str() {
            "refresh" => Op::Refresh,
            "add" => Op::Add(get("add_type")),
            other => {
                let at = |prefix: &str| other.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok());
                match (at("remove:"), at("up:"), at("down:")) {
                    (Some(i), _, _) => Op::Remove(i),
                    (_, Some(i), _) => Op::Up(i),
                    (_, _, Some(i)) => Op::Down(i),
                    _ => Op::Save,
                }
            }
        };
        draft.apply(&op);
        (draft, op)
    }

    /// Applies an add/remove/move to the action list (positions are 0-based).
    fn apply(&mut self, op: &Op) {
        let n = self.actions.len();
        match op {
            Op::Add(kind) if ACTIONS.contains(&kind.as_str()) && n < MAX_FORM_ACTIONS => {
                self.actions.push(ActionDraft::new(kind));
            }
            Op::Remove(i) if *i < n => {
                self.actions.remove(*i);
            }
            Op::Up(i) if *i > 0 && *i < n => self.actions.swap(*i, *i - 1),
            Op::Down(i) if *i + 1 < n => self.actions.swap(*i, *i + 1),
            _ => {}
        }
    }

    /// The definition's JSON; `kept` is a stored condition the builder could not show.
    pub fn to_json(&self, kept: Option<&Json>) -> Json {
        let condition = match kept {
            Some(c) if self.condition.is_empty() => c.clone(),
            _ if self.condition.is_empty() => Json::Null,
            _ => filters::tree(&self.condition),
        };
        let mut o = json!({
            "module": self.module.trim(),
            "name": self.name.trim(),
            "description": self.description.trim(),
            "enabled": self.enabled,
            "trigger": self.trigger.to_json(),
            "actions": self.actions.iter().map(ActionDraft::to_json).collect::<Vec<_>>(),
        });
        if !condition.is_null() {
            o["condition"] = condition;
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn a_posted_form_becomes_a_definition_and_back() {
        let form = pairs(&[
            ("name", " 新线索 "),
            ("module", "Leads"),
            ("enabled", "1"),
            ("trigger", "field_changed"),
            ("t_field", "leadstatus"),
            ("t_to", "Hot"),
            ("m", "all"),
            ("f", "leadsource"),
            ("o", "eq"),
            ("v", "Web Site"),
            ("g", "0"),
            ("acount", "2"),
            ("a0_type", "webhook"),
            ("a0_order", "2"),
            ("a0_url", "https://example.com/h"),
            ("a0_format", "wecom"),
            ("a1_type", "send_email"),
            ("a1_order", "1"),
            ("a1_subject", "Hi"),
            ("a1_body", "B"),
            ("a1_to", "address"),
            ("a1_to_address", "a@example.com， b@example.com"),
        ]);
        let (draft, op) = Draft::read(&form);
        assert_eq!(op, Op::Save);
        let v = draft.to_json(None);
        let def = WorkflowDef::from_json(&v).expect("parses");
        assert_eq!(def.name, "新线索");
        assert!(def.enabled);
        assert_eq!(def.actions[0].kind(), "send_email");
        assert_eq!(
            def.actions[0],
            Action::SendEmail {
                template_id: None,
                subject: Some("Hi".into()),
                body: Some("B".into()),
                to: Recipient::Address(vec!["a@example.com".into(), "b@example.com".into()]),
            }
        );
        assert_eq!(
            def.trigger,
            Trigger::FieldChanged {
                field: "leadstatus".into(),
                from: None,
                to: Some(json!("Hot"))
            }
        );
        assert_eq!(
            def.condition,
            Some(json!({"all": [{"field": "leadsource", "op": "eq", "value": "Web Site"}]}))
        );
        let (back, kept) = Draft::of(&def);
        assert!(kept.is_none());
        assert_eq!(back.to_json(None), v);
    }

    #[test]
    fn buttons_add_remove_and_move_actions() {
        let base = [
            ("module", "Leads"),
            ("acount", "2"),
            ("a0_type", "send_email"),
            ("a1_type", "webhook"),
        ];
        let with = |op: &str, extra: &[(&str, &str)]| {
            let mut f = pairs(&base);
            f.push(("op".into(), op.into()));
            f.extend(pairs(extra));
            Draft::read(&f).0
        };
        let kinds = |d: &Draft| d.actions.iter().map(|a| a.kind.clone()).collect::<Vec<_>>();
        assert_eq!(
            kinds(&with("add", &[("add_type", "assign_owner")])),
            ["send_email", "webhook", "assign_owner"]
        );
        assert_eq!(
            kinds(&with("add", &[("add_type", "explode")])),
            ["send_email", "webhook"]
        );
        assert_eq!(kinds(&with("remove:0", &[])), ["webhook"]);
        assert_eq!(kinds(&with("up:1", &[])), ["webhook", "send_email"]);
        assert_eq!(kinds(&with("down:0", &[])), ["webhook", "send_email"]);
        assert_eq!(kinds(&with("down:1", &[])), ["send_email", "webhook"]);
        assert_eq!(kinds(&with("remove:9", &[])), ["send_email", "webhook"]);
        // a hostile count reads no more than the form's limit
        let (d, _) = Draft::read(&pairs(&[("acount", "99999999999"), ("a0_type", "webhook")]));
        assert_eq!(d.actions.len(), 1);
    }

    #[test]
    fn the_shipped_workflows_survive_the_form() {
        for (key, def) in sable_workflow::defaults::all(7) {
            let (draft, kept) = Draft::of(&def);
            assert!(kept.is_none(), "{key}: the builder shows its condition");
            let again = WorkflowDef::from_json(&draft.to_json(None)).expect(key);
            assert_eq!(again, def, "{key}");
        }
    }

    #[test]
    fn value_lines_and_addresses() {
        let m = parse_value_lines("leadstatus = Hot\n\n  description: due today + 3 days \nbare");
        assert_eq!(m["leadstatus"], "Hot");
        assert_eq!(m["description"], "due today + 3 days");
        assert_eq!(m["bare"], "");
        assert_eq!(
            split_addresses("a@x.cn;b@x.cn\n c@x.cn ,"),
            ["a@x.cn", "b@x.cn", "c@x.cn"]
        );
    }
}
