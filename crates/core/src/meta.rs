//! Module metadata: what modules, blocks, fields and picklists exist.
//!
//! Built-in modules are TOML files embedded in the binary (`crates/core/modules/`);
//! custom fields arrive at run time and are merged in by [`Registry::add_custom_field`].
//! Nothing here touches a database: the store persists custom fields and hands them back.

use serde::{Deserialize, Serialize};

use crate::i18n::{Labels, Lang};

/// The type of a field, which decides its widget, parser, storage and operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Textarea,
    Integer,
    Decimal,
    Currency,
    Percent,
    Date,
    Datetime,
    Time,
    Boolean,
    Email,
    Phone,
    Url,
    Picklist,
    Multipicklist,
    Reference,
    Owner,
    AutoNumber,
    Tags,
}

impl FieldType {
    /// Every type, in the order describe lists them.
    pub const ALL: [FieldType; 19] = [
        FieldType::Text,
        FieldType::Textarea,
        FieldType::Integer,
        FieldType::Decimal,
        FieldType::Currency,
        FieldType::Percent,
        FieldType::Date,
        FieldType::Datetime,
        FieldType::Time,
        FieldType::Boolean,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Url,
        FieldType::Picklist,
        FieldType::Multipicklist,
        FieldType::Reference,
        FieldType::Owner,
        FieldType::AutoNumber,
        FieldType::Tags,
    ];

    /// The snake_case name used on the wire and in TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Textarea => "textarea",
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Time => "time",
            FieldType::Boolean => "boolean",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Picklist => "picklist",
            FieldType::Multipicklist => "multipicklist",
            FieldType::Reference => "reference",
            FieldType::Owner => "owner",
            FieldType::AutoNumber => "auto_number",
            FieldType::Tags => "tags",
        }
    }

    /// Parses the wire name; `None` for an unknown type.
    pub fn parse(s: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// How the value is kept in a database column.
    pub fn storage(self) -> Storage {
        match self {
            FieldType::Integer
            | FieldType::Decimal
            | FieldType::Currency
            | FieldType::Percent
            | FieldType::Datetime
            | FieldType::Boolean
            | FieldType::Reference
            | FieldType::Owner => Storage::Int,
            _ => Storage::Text,
        }
    }

    /// Types whose value is also kept normalised in a `<name>__n` column for matching.
    pub fn has_match_key(self) -> bool {
        matches!(self, FieldType::Email | FieldType::Phone)
    }

    /// Decimal places kept for scaled-integer types unless the field says otherwise.
    pub fn default_scale(self) -> u32 {
        match self {
            FieldType::Currency | FieldType::Percent => 2,
            FieldType::Decimal => 4,
            _ => 0,
        }
    }

    /// True for types whose values are a list (stored as a JSON array).
    pub fn is_list(self) -> bool {
        matches!(self, FieldType::Multipicklist | FieldType::Tags)
    }
}

/// Column storage class: every value is bound as an `i64` or a `String`, on both databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    Int,
    Text,
}

/// Who may see a module's records besides their owner and admins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    /// Only the owner and admins.
    #[default]
    Private,
    /// Everyone may read; only the owner and admins may write.
    PublicRead,
    /// Everyone may read and write.
    PublicReadWrite,
}

impl Sharing {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sharing::Private => "private",
            Sharing::PublicRead => "public_read",
            Sharing::PublicReadWrite => "public_read_write",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Sharing> {
        [Sharing::Private, Sharing::PublicRead, Sharing::PublicReadWrite]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Whether a sales stage is still open, or closed as won or lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Open,
    Won,
    Lost,
}

impl StageKind {
    /// The snake_case name used on the wire and in pages.
    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Open => "open",
            StageKind::Won => "won",
            StageKind::Lost => "lost",
        }
    }
}

/// One value of a picklist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PicklistValueDef {
    /// The stored value (vtiger's untranslated value, stable).
    pub value: String,
    /// Display labels.
    pub labels: Labels,
    /// Probability in percent, for sales stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<u32>,
    /// Open, won or lost, for sales stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<StageKind>,
    /// Display colour (CSS hex), optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// A named list of values, possibly shared by fields of several modules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PicklistDef {
    pub name: String,
    pub values: Vec<PicklistValueDef>,
}

impl PicklistDef {
    /// Finds the stored value for an input matching a value or a label in either language,
    /// case-insensitively after trimming.
    pub fn resolve(&self, input: &str) -> Option<&PicklistValueDef> {
        let wanted = input.trim();
        self.values.iter().find(|v| v.value == wanted).or_else(|| {
            let folded = wanted.to_lowercase();
            self.values.iter().find(|v| {
                v.value.to_lowercase() == folded
                    || v.labels.en.to_lowercase() == folded
                    || v.labels.zh.to_lowercase() == folded
            })
        })
    }
}

/// A group of fields shown together on forms and detail pages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockDef {
    pub name: String,
    pub labels: Labels,
}

/// One field of a module.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// API name, also the column name (vtiger's where one exists).
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub labels: Labels,
    /// Block the field is shown in.
    #[serde(default)]
    pub block: String,
    #[serde(default)]
    pub mandatory: bool,
    /// Set by the system only (record number, timestamps, modified by).
    #[serde(default)]
    pub readonly: bool,
    /// Unique among live records of the module.
    #[serde(default)]
    pub unique: bool,
    /// Default value for new records, as input text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Picklist name for picklist and multipicklist fields (defaults to the field name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picklist: Option<String>,
    /// Target modules of a reference field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Maximum length in characters for text-like fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Decimal places for decimal, currency and percent fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// Indexed for global search.
    #[serde(default)]
    pub searchable: bool,
    /// Shown as a column in the default list view.
    #[serde(default)]
    pub list_column: bool,
    /// Help text shown beside the widget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Labels>,
    /// Added at run time by an admin.
    #[serde(default)]
    pub custom: bool,
    /// Position inside its block.
    #[serde(default)]
    pub sequence: u32,
    /// Prefix of a custom auto-number field's values (`T-` gives `T-1`, `T-2` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_prefix: Option<String>,
}

impl FieldDef {
    /// The label in a language.
    pub fn label(&self, lang: Lang) -> &str {
        self.labels.get(lang)
    }

    /// Decimal places for scaled-integer storage.
    pub fn scale(&self) -> u32 {
        self.scale.unwrap_or_else(|| self.field_type.default_scale())
    }

    /// Picklist name for picklist-typed fields.
    pub fn picklist_name(&self) -> &str {
        self.picklist.as_deref().unwrap_or(&self.name)
    }

    /// Name of the normalised match-key column, for email and phone fields.
    pub fn match_column(&self) -> Option<String> {
        self.field_type.has_match_key().then(|| format!("{}__n", self.name))
    }
}

/// A module: a kind of record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModuleDef {
    /// API name (`Leads`, `Accounts`, `Opportunities`).
    pub name: String,
    /// Table holding the module's typed columns.
    pub table: String,
    /// Plural labels.
    pub labels: Labels,
    /// Singular labels.
    pub singular: Labels,
    /// Prefix of the record number (`LEA`).
    #[serde(default)]
    pub number_prefix: String,
    /// Name of the auto-number field (`lead_no`).
    #[serde(default)]
    pub number_field: String,
    /// Fields whose values, joined by a space, make a record's display label.
    pub label_fields: Vec<String>,
    /// Default sharing.
    #[serde(default)]
    pub sharing: Sharing,
    /// Whether records of this module live in the generic record store (false for Users).
    #[serde(default = "yes")]
    pub entity: bool,
    pub blocks: Vec<BlockDef>,
    pub fields: Vec<FieldDef>,
}

fn yes() -> bool {
    true
}

impl ModuleDef {
    /// The field with an API name.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Fields a client may write (not read-only, not auto-number).
    pub fn writable_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields
            .iter()
            .filter(|f| !f.readonly && f.field_type != FieldType::AutoNumber)
    }

    /// The label in a language.
    pub fn label(&self, lang: Lang) -> &str {
        self.labels.get(lang)
    }
}

/// Errors in metadata: a broken built-in definition or a bad custom field.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MetaError {
    #[error("module definition {file}: {message}")]
    BadDefinition { file: String, message: String },
    #[error("unknown module `{0}`")]
    UnknownModule(String),
    #[error(
        "invalid field name `{0}`: use 2 to 40 lowercase letters, digits and single underscores, starting with a letter"
    )]
    BadFieldName(String),
    #[error("field `{0}` already exists in this module")]
    DuplicateField(String),
    #[error("field type `{0}` cannot be added as a custom field")]
    BadCustomType(String),
    #[error("{0}")]
    Invalid(String),
    /// A custom-field or picklist change refused, with a message for the interfaces.
    #[error("{0}")]
    Refused(crate::i18n::Refusal),
}

impl MetaError {
    /// The refusal to show a person: every variant a custom-field change can fail with.
    pub fn refusal(&self) -> Option<crate::i18n::Refusal> {
        use crate::i18n::Refusal;
        Some(match self {
            MetaError::Refused(r) => r.clone(),
            MetaError::BadFieldName(n) => Refusal::new("refused_field_name", self.to_string()).arg("name", n),
            MetaError::DuplicateField(n) => Refusal::new("refused_field_exists", self.to_string()).arg("name", n),
            MetaError::BadCustomType(t) => Refusal::new("refused_field_type", self.to_string()).arg("type", t),
            _ => return None,
        })
    }
}
