//! The two languages Sable speaks, and labels that carry both.

use serde::{Deserialize, Serialize};

/// A user-interface language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    Zh,
}

impl Lang {
    /// BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// Parses a tag such as `zh-CN`, `zh`, `zh-Hans`, `en-US`; `None` for other languages.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the first supported language of an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("");
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }
}

/// A text in English and Simplified Chinese.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Labels {
    pub en: String,
    #[serde(rename = "zh-CN")]
    pub zh: String,
}

impl Labels {
    /// Builds labels from the two texts.
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Labels {
        Labels {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// The text in a language.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_highest_quality_supported() {
        assert_eq!(Lang::from_accept_language("fr, zh-CN;q=0.8, en;q=0.5"), Some(Lang::Zh));
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,zh;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de, fr"), None);
        assert_eq!(Lang::from_accept_language(""), None);
    }
}

/// A request refused with a message meant for a person: a key of the interface catalogues
/// (`refused_…`, listed in [`REFUSAL_KEYS`]), the values for its `{placeholders}`, and the
/// English text for logs, the API and the command line. The web interface shows the
/// catalogue's text in the reader's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
    pub en: String,
}

impl Refusal {
    /// A refusal with its catalogue key and English text.
    pub fn new(key: &'static str, en: impl Into<String>) -> Refusal {
        debug_assert!(REFUSAL_KEYS.contains(&key), "{key} is not in REFUSAL_KEYS");
        Refusal {
            key,
            args: Vec::new(),
            en: en.into(),
        }
    }

    /// Adds the value of one placeholder.
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Refusal {
        self.args.push((name, value.into()));
        self
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

/// Every catalogue key a [`Refusal`] may carry; the server checks that both catalogues
/// have each of them.
pub const REFUSAL_KEYS: &[&str] = &[
    "refused_password_short",
    "refused_password_long",
    "refused_user_name",
    "refused_last_name",
    "refused_email",
    "refused_time_zone",
    "refused_user_taken",
    "refused_no_user",
    "refused_deactivate_self",
    "refused_last_admin",
    "refused_language",
    "refused_format",
    "refused_view_name",
    "refused_view_column",
    "refused_no_sharing",
    "refused_picklist_missing",
    "refused_picklist_empty",
    "refused_picklist_value",
    "refused_unknown_block",
    "refused_unknown_field",
    "refused_no_custom_fields",
    "refused_labels_needed",
    "refused_scale",
    "refused_reference_targets",
    "refused_reference_target",
    "refused_prefix",
    "refused_field_name",
    "refused_field_exists",
    "refused_field_type",
    "refused_transfer_target",
    "refused_position",
    "refused_cursor",
    "refused_sort_field",
    "refused_sort_id",
    "refused_sort_many",
    "refused_currency",
    "refused_comment_empty",
    "refused_comment_long",
    "refused_comment_control",
    "refused_person_name",
    "refused_no_token",
    "refused_not_entity",
    "refused_default_reference",
    "refused_default_invalid",
    "act_refused_module",
    "stage_refused_in_use",
    "stage_refused_no_open",
    "stage_refused_probability",
    "stage_refused_too_long",
    "stage_refused_unknown",
    "stage_refused_no_item",
    "conv_refused_read_only",
    "rep_refused_module",
    "rep_refused_limit",
    "rep_refused_groups",
    "rep_refused_size",
    "rep_refused_shape",
    "rep_refused_field",
    "rep_refused_bucket",
    "rep_refused_group_type",
    "rep_refused_aggregate",
    "rep_refused_pivot",
    "rep_refused_duplicate",
    "rep_refused_sort",
    "rep_refused_drill",
    "rep_refused_schedule",
    "rep_refused_name",
    "rep_refused_chart",
    "rep_refused_share",
    "dash_refused_name",
    "dash_refused_widget",
    "dash_refused_full",
    "dash_refused_report_missing",
    "form6_rule_invalid",
    "form6_rule_module",
    "form6_rule_user",
    "form6_form_invalid",
    "wf_refused_admin",
    "wf_refused_invalid",
    "wf_refused_retry",
    "wf_refused_mail_recipients",
    "wf_refused_mail_address",
    "wf_refused_mail_subject",
    "wf_refused_mail_body",
    "wf_refused_template_name",
    "wf_refused_template_subject",
    "wf_refused_template_long",
    "wf_refused_template_syntax",
    "wf_refused_template_taken",
    "wf_refused_smtp_host",
    "wf_refused_smtp_port",
    "wf_refused_smtp_from",
    "wf_refused_smtp_from_name",
    "wf_refused_smtp_login",
    "wfui_refused_smtp_unset",
    "wfui_refused_no_address",
    "wfui_refused_render",
];
