//! User-written templates (e-mail subjects and bodies, webhook messages): minijinja with
//! fuel, so a runaway loop stops with an error instead of holding a worker, and an output
//! cap. Checking a template when it is saved and rendering it when it is sent use the same
//! engine settings, so a template that saves also renders.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// Instructions one rendering may execute.
pub const FUEL: u64 = 50_000;
/// Longest rendered output, in bytes.
pub const MAX_OUTPUT_BYTES: usize = 512 * 1024;

/// A template that would not parse or render, with the engine's message (line included).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

fn environment(html: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    // A misspelt field renders empty rather than failing every mail; syntax errors still fail.
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(move |_| {
        if html {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env
}

/// Checks a template's syntax.
pub fn check(source: &str) -> Result<(), TemplateError> {
    let env = environment(false);
    env.template_from_str(source)
        .map(|_| ())
        .map_err(|e| TemplateError(describe(&e)))
}

/// Renders a template over a context (plain text: nothing is escaped).
pub fn render(source: &str, ctx: &impl Serialize) -> Result<String, TemplateError> {
    render_with(source, ctx, false)
}

/// Renders with HTML escaping of every value (for bodies sent as HTML).
pub fn render_html(source: &str, ctx: &impl Serialize) -> Result<String, TemplateError> {
    render_with(source, ctx, true)
}

fn render_with(source: &str, ctx: &impl Serialize, html: bool) -> Result<String, TemplateError> {
    let env = environment(html);
    let out = env
        .render_str(source, minijinja::value::Serde(ctx))
        .map_err(|e| TemplateError(describe(&e)))?;
    if out.len() > MAX_OUTPUT_BYTES {
        return Err(TemplateError(format!(
            "the rendered text is longer than {MAX_OUTPUT_BYTES} bytes"
        )));
    }
    Ok(out)
}

fn describe(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.to_string())),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_fields_and_refuses_runaway_loops() {
        let ctx = json!({"lastname": "张", "related_to": {"accountname": "ACME"}});
        assert_eq!(
            render("Hi {{ lastname }} @ {{ related_to.accountname }}{{ nope }}", &ctx).unwrap(),
            "Hi 张 @ ACME"
        );
        assert!(
            render(
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
                &ctx
            )
            .is_err()
        );
        let e = check("line one\n{% if %}").unwrap_err();
        assert!(e.0.contains("line 2"), "{e}");
        assert_eq!(render_html("{{ v }}", &json!({"v": "<b>"})).unwrap(), "&lt;b&gt;");
        assert_eq!(render("{{ v }}", &json!({"v": "<b>"})).unwrap(), "<b>");
    }
}
