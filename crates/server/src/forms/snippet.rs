//! The HTML snippet an administrator pastes into any website: a plain form posting to
//! Sable, working without JavaScript.

use sable_core::Lang;
use sable_store::webforms::Form;

use super::HONEYPOT;

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A plain HTML form to paste into any website: it posts to Sable and works without
/// JavaScript. With the captcha on, Sable answers the first post with its hosted page
/// (the values kept) showing the picture to type.
pub fn snippet(form: &Form, registry: &sable_core::Registry, base: &str) -> String {
    let module = registry.module(&form.module).ok();
    let mut out = format!(
        "<form method=\"post\" action=\"{}/forms/{}\" accept-charset=\"utf-8\">\n",
        esc(base.trim_end_matches('/')),
        esc(&form.public_id)
    );
    for f in &form.spec.fields {
        let def = module.and_then(|m| m.field(&f.name));
        let label = |lang: Lang| match f.label.get(lang).trim() {
            "" => def.map(|d| d.label(lang).to_string()).unwrap_or_else(|| f.name.clone()),
            l => l.to_string(),
        };
        let kind = match def.map(|d| d.field_type) {
            Some(sable_core::FieldType::Email) => "email",
            Some(sable_core::FieldType::Phone) => "tel",
            Some(sable_core::FieldType::Url) => "url",
            _ => "text",
        };
        let req = if f.required { " required" } else { "" };
        out.push_str(&format!(
            "  <p><label>{} / {}{}<br><input type=\"{kind}\" name=\"{}\"{req}></label></p>\n",
            esc(&label(Lang::Zh)),
            esc(&label(Lang::En)),
            if f.required { " *" } else { "" },
            esc(&f.name)
        ));
    }
    if let Some(c) = &form.spec.consent {
        out.push_str(&format!(
            "  <p><label><input type=\"checkbox\" name=\"consent\" value=\"1\"{}> {} / {}</label></p>\n",
            if form.spec.consent_required { " required" } else { "" },
            esc(&c.zh),
            esc(&c.en)
        ));
    }
    out.push_str(&format!(
        "  <div style=\"position:absolute;left:-10000px\" aria-hidden=\"true\"><input type=\"text\" name=\"{HONEYPOT}\" tabindex=\"-1\" autocomplete=\"off\"></div>\n"
    ));
    out.push_str("  <p><button type=\"submit\">提交 / Submit</button></p>\n</form>\n");
    out
}
