//! Per-field validation errors, collected and never panicked.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::i18n::Lang;

/// What is wrong with one field's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FieldError {
    #[error("is required")]
    Required,
    #[error("is not a field of this module")]
    UnknownField,
    #[error("is set by the system and cannot be written")]
    ReadOnly,
    #[error("is too long (at most {max} characters)")]
    TooLong { max: u32 },
    #[error("contains a control character")]
    ControlCharacter,
    #[error("expects {expected}")]
    WrongType { expected: String },
    #[error("is not a whole number")]
    NotAnInteger,
    #[error("is not a number")]
    NotANumber,
    #[error("has more than {scale} decimal places")]
    TooManyDecimals { scale: u32 },
    #[error("is out of range")]
    OutOfRange,
    #[error("is not a valid date (use YYYY-MM-DD)")]
    InvalidDate,
    #[error("is not a valid date and time (use RFC 3339, e.g. 2024-03-05T09:30:00Z)")]
    InvalidDateTime,
    #[error("is not a valid time (use HH:MM or HH:MM:SS)")]
    InvalidTime,
    #[error("is not yes or no")]
    InvalidBoolean,
    #[error("is not a valid e-mail address")]
    InvalidEmail,
    #[error("is not a valid phone number")]
    InvalidPhone,
    #[error("is not a valid web address")]
    InvalidUrl,
    #[error("`{value}` is not one of the allowed values")]
    NotInPicklist { value: String },
    #[error("has too many values (at most {max})")]
    TooManyValues { max: u32 },
    #[error("is not a record id")]
    NotAnId,
    #[error("record {id} does not exist or was deleted")]
    ReferenceNotFound { id: i64 },
    #[error("record {id} is a {module}, which this field cannot point to")]
    ReferenceWrongModule { id: i64, module: String },
    #[error("user {id} does not exist or is inactive")]
    InvalidOwner { id: i64 },
    #[error("must be unique; record {existing} already has this value")]
    NotUnique { existing: i64 },
    #[error("{0}")]
    Other(String),
}

impl FieldError {
    /// The message in a language.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::Zh => self.zh(),
        }
    }

    fn zh(&self) -> String {
        match self {
            FieldError::Required => "必填".into(),
            FieldError::UnknownField => "不是此模块的字段".into(),
            FieldError::ReadOnly => "由系统设置，不能修改".into(),
            FieldError::TooLong { max } => format!("太长（最多 {max} 个字符）"),
            FieldError::ControlCharacter => "包含控制字符".into(),
            FieldError::WrongType { expected } => format!("应为{expected}"),
            FieldError::NotAnInteger => "不是整数".into(),
            FieldError::NotANumber => "不是数字".into(),
            FieldError::TooManyDecimals { scale } => format!("小数位数超过 {scale} 位"),
            FieldError::OutOfRange => "超出范围".into(),
            FieldError::InvalidDate => "不是有效日期（格式 YYYY-MM-DD）".into(),
            FieldError::InvalidDateTime => "不是有效的日期时间（RFC 3339 格式，例如 2024-03-05T09:30:00Z）".into(),
            FieldError::InvalidTime => "不是有效时间（格式 HH:MM 或 HH:MM:SS）".into(),
            FieldError::InvalidBoolean => "应为是或否".into(),
            FieldError::InvalidEmail => "不是有效的电子邮件地址".into(),
            FieldError::InvalidPhone => "不是有效的电话号码".into(),
            FieldError::InvalidUrl => "不是有效的网址".into(),
            FieldError::NotInPicklist { value } => format!("“{value}”不是允许的选项"),
            FieldError::TooManyValues { max } => format!("值太多（最多 {max} 个）"),
            FieldError::NotAnId => "不是记录编号".into(),
            FieldError::ReferenceNotFound { id } => format!("记录 {id} 不存在或已删除"),
            FieldError::ReferenceWrongModule { id, module } => {
                format!("记录 {id} 属于 {module}，此字段不能引用")
            }
            FieldError::InvalidOwner { id } => format!("用户 {id} 不存在或已停用"),
            FieldError::NotUnique { existing } => format!("必须唯一；记录 {existing} 已有此值"),
            FieldError::Other(s) => s.clone(),
        }
    }
}

/// Field name → what is wrong with it. Empty means valid.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} field(s) are invalid: {}", .0.len(), summary(.0))]
pub struct ValidationErrors(pub BTreeMap<String, FieldError>);

fn summary(map: &BTreeMap<String, FieldError>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ValidationErrors {
    /// Records an error for a field (the first one wins).
    pub fn add(&mut self, field: impl Into<String>, error: FieldError) {
        self.0.entry(field.into()).or_insert(error);
    }

    /// True when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Messages per field in a language.
    pub fn messages(&self, lang: Lang) -> BTreeMap<String, String> {
        self.0.iter().map(|(k, v)| (k.clone(), v.message(lang))).collect()
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}
