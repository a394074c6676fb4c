//! Templates and UI strings: minijinja over `templates/`, strings from `i18n/*.toml`.
//!
//! Templates are read from disk in debug builds (an edit needs no rebuild; the
//! environment is rebuilt per render) and embedded in release builds. Auto-escaping is on
//! for every `.html` template and undefined values are errors, so a typo fails a test.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::response::{Html, IntoResponse, Response};
use minijinja::value::{Kwargs, Value as TemplateValue};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};
use rust_embed::RustEmbed;
use sable_core::Lang;
use serde::Serialize;

#[derive(RustEmbed)]
#[folder = "templates/"]
struct Templates;

/// UI strings of both languages.
pub struct Catalogs {
    en: HashMap<String, String>,
    zh: HashMap<String, String>,
}

fn parse_catalog(name: &str, text: &str) -> HashMap<String, String> {
    match toml::from_str::<HashMap<String, String>>(text) {
        Ok(map) => map,
        Err(e) => panic!("UI catalog {name} is invalid: {e}"),
    }
}

impl Catalogs {
    /// The embedded catalogs.
    pub fn embedded() -> &'static Catalogs {
        static CATALOGS: OnceLock<Catalogs> = OnceLock::new();
        CATALOGS.get_or_init(|| Catalogs {
            en: parse_catalog("en.toml", include_str!("../../i18n/en.toml")),
            zh: parse_catalog("zh-CN.toml", include_str!("../../i18n/zh-CN.toml")),
        })
    }

    /// A string in a language; the key itself when missing (a test keeps them complete).
    pub fn get<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        let map = match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        };
        map.get(key).map(String::as_str).unwrap_or(key)
    }

    /// Keys present in one language but not the other.
    pub fn missing_keys(&self) -> Vec<String> {
        let mut out: Vec<String> = self.en.keys().filter(|k| !self.zh.contains_key(*k)).cloned().collect();
        out.extend(self.zh.keys().filter(|k| !self.en.contains_key(*k)).cloned());
        out.sort();
        out
    }
}

/// Fills `{name}` placeholders.
pub fn fill(template: &str, args: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (k, v) in args {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// A store or metadata refusal in a language, from the catalogues.
pub fn refusal_text(lang: Lang, refusal: &sable_core::Refusal) -> String {
    let template = Catalogs::embedded().get(lang, refusal.key);
    if template == refusal.key {
        // A key missing from the catalogue (a unit test prevents it): the English text.
        return refusal.en.clone();
    }
    let args: Vec<(&str, String)> = refusal.args.iter().map(|(k, v)| (*k, v.clone())).collect();
    fill(template, &args)
}

/// `t("key", name=value…)` in templates, in the language of the page's `lang`.
fn translate(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or_default();
    let mut text = Catalogs::embedded().get(lang, key).to_string();
    for name in kwargs.args() {
        let value: TemplateValue = kwargs.get(name)?;
        text = text.replace(&format!("{{{name}}}"), &value.to_string());
    }
    Ok(text)
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_loader(|name| match Templates::get(name) {
        Some(file) => String::from_utf8(file.data.into_owned()).map(Some).map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("template {name} is not UTF-8: {e}"),
            )
        }),
        None => Ok(None),
    });
    env.add_function("t", translate);
    env
}

fn shared() -> Arc<Environment<'static>> {
    if cfg!(debug_assertions) {
        return Arc::new(environment());
    }
    static ENV: OnceLock<Arc<Environment<'static>>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(environment())).clone()
}

/// Renders a template with a context; a template error is a 500 with the cause logged.
pub fn render<C: Serialize>(name: &str, context: &C) -> Response {
    let env = shared();
    let result = env
        .get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(context)));
    match result {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            let mut chain = format!("{e:#}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(&format!(": {s}"));
                source = s.source();
            }
            tracing::error!(template = name, error = chain, "template failed");
            crate::error::AppError::Internal(anyhow::anyhow!("template {name} failed")).into_response()
        }
    }
}

/// Names of every template, for the test that renders them all.
pub fn template_names() -> Vec<String> {
    Templates::iter().map(|n| n.into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_every_string() {
        assert_eq!(Catalogs::embedded().missing_keys(), Vec::<String>::new());
    }

    #[test]
    fn every_refusal_has_a_message_in_both_languages() {
        let c = Catalogs::embedded();
        for key in sable_core::i18n::REFUSAL_KEYS {
            for lang in [Lang::En, Lang::Zh] {
                assert_ne!(c.get(lang, key), *key, "{key} missing in {}", lang.tag());
            }
        }
        let r = sable_core::Refusal::new("refused_user_taken", "user name `li` is taken").arg("name", "li");
        assert_eq!(refusal_text(Lang::Zh, &r), "用户名“li”已被使用。");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(fill("共 {count} 条", &[("count", "3".into())]), "共 3 条");
    }
}
