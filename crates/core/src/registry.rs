//! The registry: every module definition and picklist in force, built-in plus custom.
//!
//! Built-in definitions are embedded TOML; the system fields every entity module has
//! (record number, owner, timestamps, tags …) are added here, once, so the TOML files
//! stay about what differs between modules.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::i18n::{Labels, Refusal};
use crate::meta::{BlockDef, FieldDef, FieldType, MetaError, ModuleDef, PicklistDef, Sharing};

const BUILTIN_MODULES: [(&str, &str); 7] = [
    ("accounts.toml", include_str!("../modules/accounts.toml")),
    ("contacts.toml", include_str!("../modules/contacts.toml")),
    ("events.toml", include_str!("../modules/events.toml")),
    ("tasks.toml", include_str!("../modules/tasks.toml")),
    ("leads.toml", include_str!("../modules/leads.toml")),
    ("opportunities.toml", include_str!("../modules/opportunities.toml")),
    ("users.toml", include_str!("../modules/users.toml")),
];
const BUILTIN_PICKLISTS: &str = include_str!("../modules/picklists.toml");
const ACTIVITY_PICKLISTS: &str = include_str!("../modules/activity_picklists.toml");

/// Modules whose records carry the follow-up figures kept from their linked activities.
pub const FOLLOWUP_MODULES: [&str; 4] = ["Leads", "Contacts", "Accounts", "Opportunities"];

/// Names a custom field may not take: system columns of every module table.
pub const RESERVED_COLUMNS: [&str; 6] = ["id", "version", "label", "deleted_at", "module", "owner_id"];

/// A custom field as an admin asks for it (API, CLI), before it is checked.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewField {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: String,
    pub label: Labels,
    #[serde(default)]
    pub block: Option<String>,
    #[serde(default)]
    pub mandatory: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub default: Option<String>,
    /// Values of a new picklist or multipicklist: plain values, or value with labels.
    #[serde(default)]
    pub values: Vec<NewPicklistValue>,
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub max_length: Option<u32>,
    #[serde(default)]
    pub scale: Option<u32>,
    #[serde(default)]
    pub searchable: bool,
    #[serde(default)]
    pub help: Option<Labels>,
    /// Prefix of an auto-number field's values.
    #[serde(default)]
    pub prefix: Option<String>,
}

/// One value of a custom picklist: `"Gold"` or `{"value":"Gold","labels":{…}}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum NewPicklistValue {
    Plain(String),
    Labelled { value: String, labels: Option<Labels> },
}

#[derive(Deserialize)]
struct PicklistFile {
    picklist: Vec<PicklistDef>,
}

/// All modules and picklists in force.
#[derive(Clone, Debug)]
pub struct Registry {
    modules: BTreeMap<String, ModuleDef>,
    picklists: BTreeMap<String, PicklistDef>,
}

impl Registry {
    /// The built-in modules, with system fields added.
    pub fn builtin() -> Result<Registry, MetaError> {
        let picklists: PicklistFile = toml::from_str(BUILTIN_PICKLISTS).map_err(|e| MetaError::BadDefinition {
            file: "picklists.toml".into(),
            message: e.to_string(),
        })?;
        let activity: PicklistFile = toml::from_str(ACTIVITY_PICKLISTS).map_err(|e| MetaError::BadDefinition {
            file: "activity_picklists.toml".into(),
            message: e.to_string(),
        })?;
        let mut registry = Registry {
            modules: BTreeMap::new(),
            picklists: picklists
                .picklist
                .into_iter()
                .chain(activity.picklist)
                .map(|p| (p.name.clone(), p))
                .collect(),
        };
        for (file, text) in BUILTIN_MODULES {
            let mut module: ModuleDef = toml::from_str(text).map_err(|e| MetaError::BadDefinition {
                file: file.into(),
                message: e.to_string(),
            })?;
            if module.entity {
                add_system_fields(&mut module);
            }
            if FOLLOWUP_MODULES.contains(&module.name.as_str()) {
                add_followup_fields(&mut module);
            }
            registry
                .check_module(&module)
                .map_err(|message| MetaError::BadDefinition {
                    file: file.into(),
                    message,
                })?;
            registry.modules.insert(module.name.clone(), module);
        }
        Ok(registry)
    }

    fn check_module(&self, module: &ModuleDef) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for f in &module.fields {
            if !seen.insert(f.name.as_str()) {
                return Err(format!("field `{}` is defined twice", f.name));
            }
            if !module.blocks.iter().any(|b| b.name == f.block) {
                return Err(format!("field `{}` names unknown block `{}`", f.name, f.block));
            }
            if matches!(f.field_type, FieldType::Picklist | FieldType::Multipicklist)
                && !self.picklists.contains_key(f.picklist_name())
            {
                return Err(format!(
                    "field `{}` names unknown picklist `{}`",
                    f.name,
                    f.picklist_name()
                ));
            }
        }
        for l in &module.label_fields {
            if module.field(l).is_none() {
                return Err(format!("label field `{l}` is not a field"));
            }
        }
        Ok(())
    }

    /// A module by API name.
    pub fn module(&self, name: &str) -> Result<&ModuleDef, MetaError> {
        self.modules
            .get(name)
            .ok_or_else(|| MetaError::UnknownModule(name.to_string()))
    }

    /// Every module, in name order.
    pub fn modules(&self) -> impl Iterator<Item = &ModuleDef> {
        self.modules.values()
    }

    /// Modules whose records live in the record store.
    pub fn entity_modules(&self) -> impl Iterator<Item = &ModuleDef> {
        self.modules.values().filter(|m| m.entity)
    }

    /// A picklist by name.
    pub fn picklist(&self, name: &str) -> Option<&PicklistDef> {
        self.picklists.get(name)
    }

    /// The picklist of a picklist-typed field.
    pub fn picklist_of(&self, field: &FieldDef) -> Option<&PicklistDef> {
        self.picklists.get(field.picklist_name())
    }

    /// Overrides a module's default sharing (an admin setting kept in the database).
    pub fn set_sharing(&mut self, module: &str, sharing: Sharing) -> Result<(), MetaError> {
        let m = self
            .modules
            .get_mut(module)
            .ok_or_else(|| MetaError::UnknownModule(module.to_string()))?;
        m.sharing = sharing;
        Ok(())
    }

    /// Replaces a picklist's values (an admin edit), checked: at least one value, values
    /// unique and non-empty, labels in both languages (the value stands in for a missing one).
    pub fn set_picklist(&mut self, mut list: PicklistDef) -> Result<(), MetaError> {
        if !self.picklists.contains_key(&list.name) {
            return Err(MetaError::Refused(
                Refusal::new(
                    "refused_picklist_missing",
                    format!("there is no picklist `{}`", list.name),
                )
                .arg("name", &list.name),
            ));
        }
        if list.values.is_empty() {
            return Err(MetaError::Refused(Refusal::new(
                "refused_picklist_empty",
                "a picklist needs at least one value",
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for v in &mut list.values {
            v.value = v.value.trim().to_string();
            if v.value.is_empty() || v.value.chars().count() > 100 || !seen.insert(v.value.clone()) {
                return Err(MetaError::Refused(
                    Refusal::new(
                        "refused_picklist_value",
                        format!("picklist value `{}` is empty, too long or repeated", v.value),
                    )
                    .arg("value", &v.value),
                ));
            }
            if v.labels.en.trim().is_empty() {
                v.labels.en = v.value.clone();
            }
            if v.labels.zh.trim().is_empty() {
                v.labels.zh = v.value.clone();
            }
        }
        self.picklists.insert(list.name.clone(), list);
        Ok(())
    }

    /// Moves a field to a block and position (an admin's layout).
    pub fn set_field_position(
        &mut self,
        module: &str,
        field: &str,
        block: &str,
        sequence: u32,
    ) -> Result<(), MetaError> {
        let m = self
            .modules
            .get_mut(module)
            .ok_or_else(|| MetaError::UnknownModule(module.to_string()))?;
        if !m.blocks.iter().any(|b| b.name == block) {
            return Err(MetaError::Refused(
                Refusal::new("refused_unknown_block", format!("unknown block `{block}`")).arg("name", block),
            ));
        }
        let f = m.fields.iter_mut().find(|f| f.name == field).ok_or_else(|| {
            MetaError::Refused(
                Refusal::new("refused_unknown_field", format!("unknown field `{field}`")).arg("name", field),
            )
        })?;
        f.block = block.to_string();
        f.sequence = sequence;
        Ok(())
    }

    /// Checks a requested custom field and turns it into a definition (and its picklist),
    /// without adding it. The store calls this before it alters the table.
    pub fn plan_custom_field(
        &self,
        module: &str,
        new: &NewField,
    ) -> Result<(FieldDef, Option<PicklistDef>), MetaError> {
        let m = self.module(module)?;
        if !m.entity {
            return Err(MetaError::Refused(
                Refusal::new(
                    "refused_no_custom_fields",
                    format!("module `{module}` does not take custom fields"),
                )
                .arg("name", module),
            ));
        }
        if !valid_field_name(&new.name) || RESERVED_COLUMNS.contains(&new.name.as_str()) {
            return Err(MetaError::BadFieldName(new.name.clone()));
        }
        if m.field(&new.name).is_some() {
            return Err(MetaError::DuplicateField(new.name.clone()));
        }
        let field_type =
            FieldType::parse(&new.field_type).ok_or_else(|| MetaError::BadCustomType(new.field_type.clone()))?;
        if new.label.en.trim().is_empty() || new.label.zh.trim().is_empty() {
            return Err(MetaError::Refused(Refusal::new(
                "refused_labels_needed",
                "a custom field needs a label in both en and zh-CN",
            )));
        }
        let block = match &new.block {
            Some(b) if m.blocks.iter().any(|x| &x.name == b) => b.clone(),
            Some(b) => {
                return Err(MetaError::Refused(
                    Refusal::new("refused_unknown_block", format!("unknown block `{b}`")).arg("name", b),
                ));
            }
            None => m.blocks.first().map(|b| b.name.clone()).unwrap_or_default(),
        };
        if let Some(scale) = new.scale
            && scale > 8
        {
            return Err(MetaError::Refused(Refusal::new(
                "refused_scale",
                "scale must be between 0 and 8",
            )));
        }
        let mut picklist = None;
        let mut picklist_name = None;
        match field_type {
            FieldType::Picklist | FieldType::Multipicklist => {
                if new.values.is_empty() {
                    return Err(MetaError::Refused(Refusal::new(
                        "refused_picklist_empty",
                        "a picklist field needs at least one value",
                    )));
                }
                let name = format!("{}.{}", m.name, new.name);
                let mut values = Vec::new();
                for v in &new.values {
                    let (value, labels) = match v {
                        NewPicklistValue::Plain(s) => (s.trim().to_string(), None),
                        NewPicklistValue::Labelled { value, labels } => (value.trim().to_string(), labels.clone()),
                    };
                    if value.is_empty() || values.iter().any(|x: &crate::meta::PicklistValueDef| x.value == value) {
                        return Err(MetaError::Refused(
                            Refusal::new(
                                "refused_picklist_value",
                                format!("picklist value `{value}` is empty or repeated"),
                            )
                            .arg("value", value),
                        ));
                    }
                    let labels = labels.unwrap_or_else(|| Labels::new(value.clone(), value.clone()));
                    values.push(crate::meta::PicklistValueDef {
                        value,
                        labels,
                        probability: None,
                        kind: None,
                        color: None,
                    });
                }
                picklist_name = Some(name.clone());
                picklist = Some(PicklistDef { name, values });
            }
            FieldType::Reference => {
                if new.targets.is_empty() {
                    return Err(MetaError::Refused(Refusal::new(
                        "refused_reference_targets",
                        "a reference field needs at least one target module",
                    )));
                }
                for t in &new.targets {
                    let target = self.module(t)?;
                    if !target.entity {
                        return Err(MetaError::Refused(
                            Refusal::new(
                                "refused_reference_target",
                                format!("`{t}` cannot be a reference target"),
                            )
                            .arg("name", t),
                        ));
                    }
                }
            }
            _ => {}
        }
        let sequence = m
            .fields
            .iter()
            .filter(|f| f.block == block)
            .map(|f| f.sequence)
            .max()
            .unwrap_or(0)
            + 1;
        let mut field = FieldDef {
            name: new.name.clone(),
            field_type,
            labels: new.label.clone(),
            block,
            mandatory: new.mandatory,
            readonly: false,
            unique: new.unique,
            default: new.default.clone(),
            picklist: picklist_name,
            targets: if field_type == FieldType::Reference {
                new.targets.clone()
            } else {
                Vec::new()
            },
            max_length: new.max_length,
            scale: new.scale,
            searchable: new.searchable,
            list_column: false,
            help: new.help.clone(),
            custom: true,
            sequence,
            number_prefix: None,
        };
        // An auto-number is written by the system, once, when the record is created.
        if field_type == FieldType::AutoNumber {
            let prefix = new.prefix.clone().unwrap_or_default();
            if prefix.chars().count() > 20 || prefix.chars().any(char::is_control) {
                return Err(MetaError::Refused(Refusal::new(
                    "refused_prefix",
                    "an auto-number prefix has at most 20 printable characters",
                )));
            }
            field.readonly = true;
            field.mandatory = false;
            field.unique = true;
            field.default = None;
            field.number_prefix = Some(prefix);
        }
        // A default that does not parse would make every later create in the module fail.
        if let Some(default) = field.default.as_deref() {
            let ctx = crate::parse::ParseContext {
                picklist: picklist.as_ref(),
                tz: &jiff::tz::TimeZone::UTC,
            };
            if field_type == FieldType::Reference {
                return Err(MetaError::Refused(crate::i18n::Refusal::new(
                    "refused_default_reference",
                    "a reference field cannot have a default",
                )));
            }
            if let Err(e) = crate::parse::parse_text(&field, default, &ctx) {
                return Err(MetaError::Refused(
                    crate::i18n::Refusal::new(
                        "refused_default_invalid",
                        format!("default value `{default}` is invalid: {e}"),
                    )
                    .arg("default", default),
                ));
            }
        }
        Ok((field, picklist))
    }

    /// Adds a custom field (already planned and persisted) to its module.
    pub fn add_custom_field(
        &mut self,
        module: &str,
        field: FieldDef,
        picklist: Option<PicklistDef>,
    ) -> Result<(), MetaError> {
        let m = self
            .modules
            .get_mut(module)
            .ok_or_else(|| MetaError::UnknownModule(module.to_string()))?;
        if m.field(&field.name).is_some() {
            return Err(MetaError::DuplicateField(field.name));
        }
        if let Some(p) = picklist {
            self.picklists.insert(p.name.clone(), p);
        }
        m.fields.push(field);
        Ok(())
    }
}

/// A field or column name: a lowercase letter, then lowercase letters, digits and single underscores.
pub fn valid_field_name(name: &str) -> bool {
    let len = name.len();
    (2..=40).contains(&len)
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

fn system_field(name: &str, field_type: FieldType, en: &str, zh: &str, block: &str, sequence: u32) -> FieldDef {
    FieldDef {
        name: name.into(),
        field_type,
        labels: Labels::new(en, zh),
        block: block.into(),
        mandatory: false,
        readonly: true,
        unique: false,
        default: None,
        picklist: None,
        targets: Vec::new(),
        max_length: None,
        scale: None,
        searchable: false,
        list_column: false,
        help: None,
        custom: false,
        sequence,
        number_prefix: None,
    }
}

/// Adds the fields every entity module has: record number, owner, who and when.
fn add_system_fields(module: &mut ModuleDef) {
    let main = module.blocks.first().map(|b| b.name.clone()).unwrap_or_default();
    if !module.blocks.iter().any(|b| b.name == "system_information") {
        module.blocks.push(BlockDef {
            name: "system_information".into(),
            labels: Labels::new("System Information", "系统信息"),
        });
    }
    let sys = "system_information";
    let mut number = system_field(
        &module.number_field,
        FieldType::AutoNumber,
        "Record Number",
        "编号",
        &main,
        0,
    );
    number.searchable = true;
    number.max_length = Some(40);
    let mut owner = system_field(
        "assigned_user_id",
        FieldType::Owner,
        "Assigned To",
        "负责人",
        &main,
        900,
    );
    owner.readonly = false;
    owner.mandatory = true;
    owner.list_column = true;
    owner.targets = vec!["Users".into()];
    let mut tags = system_field("tags", FieldType::Tags, "Tags", "标签", sys, 6);
    tags.readonly = false;
    tags.searchable = true;
    let mut modifiedby = system_field("modifiedby", FieldType::Owner, "Last Modified By", "最后修改人", sys, 4);
    modifiedby.targets = vec!["Users".into()];
    let mut createdby = system_field("created_user_id", FieldType::Owner, "Created By", "创建人", sys, 3);
    createdby.targets = vec!["Users".into()];
    let mut fields = vec![number, owner];
    fields.push(system_field(
        "createdtime",
        FieldType::Datetime,
        "Created Time",
        "创建时间",
        sys,
        1,
    ));
    fields.push(system_field(
        "modifiedtime",
        FieldType::Datetime,
        "Modified Time",
        "修改时间",
        sys,
        2,
    ));
    fields.push(createdby);
    fields.push(modifiedby);
    let mut source = system_field("source", FieldType::Text, "Source", "来源", sys, 5);
    source.max_length = Some(40);
    fields.push(source);
    fields.push(tags);
    // vtiger's star is per user; Sable keeps one flag on the record (a shared "watch" mark).
    let mut starred = system_field("starred", FieldType::Boolean, "Starred", "星标", sys, 7);
    starred.readonly = false;
    fields.push(starred);
    module.fields.splice(0..0, fields);
}

/// Adds the follow-up figures, kept by the record service from linked tasks and events:
/// how many follow-ups (completed tasks, held events), the last one, and the next open one.
fn add_followup_fields(module: &mut ModuleDef) {
    if !module.blocks.iter().any(|b| b.name == "followup_information") {
        module.blocks.push(BlockDef {
            name: "followup_information".into(),
            labels: Labels::new("Follow-up", "跟进"),
        });
    }
    let block = "followup_information";
    // Zero, not empty, before the first follow-up: "never followed up" is `followup_count = 0`.
    let mut count = system_field("followup_count", FieldType::Integer, "Follow-ups", "跟进次数", block, 1);
    count.default = Some("0".into());
    let last = system_field(
        "last_contacted",
        FieldType::Datetime,
        "Last Contacted",
        "最近联系",
        block,
        2,
    );
    let next = system_field("next_followup", FieldType::Date, "Next Follow-up", "下次跟进", block, 3);
    module.fields.extend([count, last, next]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_registry_loads_and_has_system_fields() {
        let r = Registry::builtin().expect("built-in definitions load");
        for name in ["Accounts", "Contacts", "Leads", "Opportunities"] {
            let m = r.module(name).expect("module exists");
            for f in [
                "assigned_user_id",
                "createdtime",
                "modifiedtime",
                "modifiedby",
                "tags",
                "starred",
                "source",
            ] {
                assert!(m.field(f).is_some(), "{name} lacks {f}");
            }
            assert!(m.field(&m.number_field).is_some());
            assert_eq!(m.sharing, Sharing::Private);
        }
        assert!(!r.module("Users").unwrap().entity);
        for name in FOLLOWUP_MODULES {
            let m = r.module(name).expect("module exists");
            for f in ["followup_count", "last_contacted", "next_followup"] {
                assert!(m.field(f).is_some_and(|f| f.readonly), "{name} lacks read-only {f}");
            }
        }
    }

    #[test]
    fn activity_modules_have_vtiger_fields_and_chinese_labels() {
        let r = Registry::builtin().unwrap();
        let tasks = r.module("Tasks").unwrap();
        assert_eq!(tasks.number_prefix, "TSK");
        for f in [
            "subject",
            "date_start",
            "due_date",
            "taskstatus",
            "taskpriority",
            "parent_id",
            "contact_id",
        ] {
            assert!(tasks.field(f).is_some(), "Tasks lacks {f}");
        }
        let events = r.module("Events").unwrap();
        assert_eq!(events.number_prefix, "EVT");
        assert!(events.field("allday").is_some() && events.field("attendees").is_some());
        assert_eq!(
            r.picklist("activitytype").unwrap().resolve("拜访").unwrap().value,
            "Visit"
        );
        assert_eq!(
            r.picklist("taskstatus").unwrap().resolve("已完成").unwrap().value,
            "Completed"
        );
        assert_eq!(
            r.picklist("eventstatus").unwrap().resolve("已举行").unwrap().value,
            "Held"
        );
    }

    #[test]
    fn sales_stages_are_the_b2b_cycle() {
        let r = Registry::builtin().unwrap();
        let stages = r.picklist("sales_stage").unwrap();
        let values: Vec<_> = stages.values.iter().map(|v| v.value.as_str()).collect();
        assert_eq!(
            values,
            [
                "Prospecting",
                "Qualification",
                "Needs Analysis",
                "Proposal",
                "Bidding",
                "Negotiation",
                "Closed Won",
                "Closed Lost"
            ]
        );
        assert_eq!(stages.resolve("赢单").unwrap().value, "Closed Won");
        assert_eq!(
            stages.resolve("closed lost").unwrap().kind,
            Some(crate::meta::StageKind::Lost)
        );
    }

    #[test]
    fn chinese_picklist_labels_resolve_to_vtiger_values() {
        let r = Registry::builtin().unwrap();
        assert_eq!(
            r.picklist("leadsource").unwrap().resolve("陌生电话").unwrap().value,
            "Cold Call"
        );
        assert_eq!(
            r.picklist("leadstatus").unwrap().resolve("垃圾线索").unwrap().value,
            "Junk Lead"
        );
        assert_eq!(
            r.picklist("accounttype").unwrap().resolve("潜在客户").unwrap().value,
            "Prospect"
        );
        assert_eq!(
            r.picklist("rating").unwrap().resolve("项目取消").unwrap().value,
            "Project Cancelled"
        );
        assert_eq!(
            r.picklist("industry").unwrap().resolve("科技").unwrap().value,
            "Technology"
        );
    }

    #[test]
    fn custom_field_names_are_checked() {
        let r = Registry::builtin().unwrap();
        let mut new = NewField {
            name: "cf_region".into(),
            field_type: "text".into(),
            label: Labels::new("Region", "区域"),
            block: None,
            mandatory: false,
            unique: false,
            default: None,
            values: vec![],
            targets: vec![],
            max_length: None,
            scale: None,
            searchable: false,
            help: None,
            prefix: None,
        };
        assert!(r.plan_custom_field("Leads", &new).is_ok());
        for bad in [
            "Region",
            "x",
            "a__b",
            "1abc",
            "version",
            "lastname",
            "drop table",
            "a-b",
        ] {
            new.name = bad.into();
            assert!(r.plan_custom_field("Leads", &new).is_err(), "{bad} accepted");
        }
        // A default must be a value of the field, checked when the field is added.
        new.name = "cf_size".into();
        new.field_type = "integer".into();
        new.default = Some("abc".into());
        assert!(r.plan_custom_field("Leads", &new).is_err(), "integer default `abc`");
        new.default = Some("12".into());
        assert!(r.plan_custom_field("Leads", &new).is_ok());
        new.field_type = "picklist".into();
        new.values = vec![NewPicklistValue::Plain("华北".into())];
        new.default = Some("华南".into());
        assert!(r.plan_custom_field("Leads", &new).is_err(), "default outside the list");
        new.default = Some("华北".into());
        assert!(r.plan_custom_field("Leads", &new).is_ok());
    }
}
