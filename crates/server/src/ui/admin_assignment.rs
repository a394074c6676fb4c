//! Assignment rules for administrators: the list, an editor and each rule's latest
//! decisions. Branches are written one per line as
//! `field = value | value => user, user` (`~=` for "contains"); the fallback is the users
//! ticked below them (one: a fixed user; several: round robin). Rules live in
//! `sable_store::assignment`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use sable_core::assignment::{Branch, Condition, MatchOp, RuleSpec, Target};
use sable_store::assignment::{self, LogEntry, NewRule};
use sable_store::users::{User, list_users};
use serde::{Deserialize, Serialize};

use super::render::{Catalogs, fill, render};
use super::session::UiUser;
use super::{Layout, csrf_refused, error_page, form_value, parse_form, see_other, store_error_page};
use crate::AppState;

/// Modules a rule is offered for in the editor.
const MODULES: [&str; 4] = ["Leads", "Contacts", "Accounts", "Opportunities"];

#[derive(Deserialize)]
pub struct Params {
    flash: Option<String>,
    edit: Option<i64>,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    name: String,
    module: String,
    active: bool,
}

#[derive(Serialize)]
struct UserBox {
    id: i64,
    name: String,
    active: bool,
    checked: bool,
}

#[derive(Serialize)]
struct PageCtx {
    layout: Layout,
    lang: &'static str,
    rules: Vec<Row>,
    modules: [&'static str; 4],
    id: Option<i64>,
    name: String,
    module: String,
    active: bool,
    branches: String,
    users: Vec<UserBox>,
    followup_hours: String,
    log: Vec<LogEntry>,
    error: Option<String>,
}

fn user_name(users: &[User], id: i64) -> String {
    users
        .iter()
        .find(|u| u.id == id)
        .map_or_else(|| id.to_string(), |u| u.user_name.clone())
}

/// The branches as editor lines.
fn branch_lines(spec: &RuleSpec, users: &[User]) -> String {
    spec.branches
        .iter()
        .map(|b| {
            let when: Vec<String> = b
                .when
                .iter()
                .map(|c| {
                    let op = if c.op == MatchOp::Contains { "~=" } else { "=" };
                    format!("{} {op} {}", c.field, c.values.join(" | "))
                })
                .collect();
            let who: Vec<String> = b.target.users().iter().map(|u| user_name(users, *u)).collect();
            format!("{} => {}", when.join(" & "), who.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses editor lines; the error names the line.
fn parse_branches(text: &str, users: &[User]) -> Result<Vec<Branch>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |why: &str| format!("line {}: {why}", n + 1);
        let (when, who) = line
            .split_once("=>")
            .ok_or_else(|| bad("expected `field = value => user`"))?;
        let mut conditions = Vec::new();
        for part in when.split('&') {
            let (field, op, values) = if let Some((f, v)) = part.split_once("~=") {
                (f, MatchOp::Contains, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, MatchOp::In, v)
            } else {
                return Err(bad("a condition is `field = value`"));
            };
            conditions.push(Condition {
                field: field.trim().to_string(),
                op,
                values: values
                    .split('|')
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .collect(),
            });
        }
        let mut ids = Vec::new();
        for name in who.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let u = users
                .iter()
                .find(|u| u.user_name.eq_ignore_ascii_case(name))
                .ok_or_else(|| bad(&format!("no user `{name}`")))?;
            ids.push(u.id);
        }
        let target = match ids.as_slice() {
            [one] => Target::User { user_id: *one },
            _ => Target::RoundRobin { user_ids: ids },
        };
        out.push(Branch {
            when: conditions,
            target,
        });
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    rule: &NewRule,
    branches: Option<String>,
    flash: Option<&str>,
    error: Option<String>,
) -> Response {
    if !user.actor.is_admin() {
        return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
    }
    let registry = match state.store.registry().await {
        Ok(r) => r,
        Err(e) => return store_error_page(user.lang, e.into()),
    };
    let (rules, users) = match (
        assignment::list_rules(&state.store, &user.actor).await,
        list_users(&state.store).await,
    ) {
        (Ok(r), Ok(u)) => (r, u),
        (Err(e), _) => return store_error_page(user.lang, e),
        (_, Err(e)) => return store_error_page(user.lang, e.into()),
    };
    let log = match id {
        Some(id) => assignment::log_for_rule(&state.store, &user.actor, id, 50)
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let fallback = rule.spec.fallback.as_ref().map(Target::users).unwrap_or_default();
    let title = Catalogs::embedded().get(user.lang, "form6_rules_title").to_string();
    let ctx = PageCtx {
        layout: Layout::new(user, &registry, title, "admin_assignment", flash),
        lang: user.lang.tag(),
        rules: rules
            .iter()
            .map(|r| Row {
                id: r.id,
                name: r.name.clone(),
                module: r.module.clone(),
                active: r.active,
            })
            .collect(),
        modules: MODULES,
        id,
        name: rule.name.clone(),
        module: rule.module.clone(),
        active: rule.active,
        branches: branches.unwrap_or_else(|| branch_lines(&rule.spec, &users)),
        users: users
            .iter()
            .map(|u| UserBox {
                id: u.id,
                name: u.display_name(),
                active: u.is_active(),
                checked: fallback.contains(&u.id),
            })
            .collect(),
        followup_hours: rule.spec.followup_hours.map(|h| h.to_string()).unwrap_or_default(),
        log,
        error,
    };
    render("pages/admin_assignment.html", &ctx)
}

fn blank() -> NewRule {
    NewRule {
        name: String::new(),
        module: "Leads".into(),
        active: true,
        spec: RuleSpec {
            branches: Vec::new(),
            fallback: None,
            followup_hours: Some(24),
        },
    }
}

/// `GET /admin/assignment-rules[?edit=id]`.
pub async fn show(State(state): State<AppState>, user: UiUser, Query(p): Query<Params>) -> Response {
    let (id, rule) = match p.edit {
        Some(id) => match assignment::get_rule(&state.store, &user.actor, id).await {
            Ok(r) => (
                Some(id),
                NewRule {
                    name: r.name,
                    module: r.module,
                    active: r.active,
                    spec: r.spec,
                },
            ),
            Err(e) => return store_error_page(user.lang, e),
        },
        None => (None, blank()),
    };
    page(&state, &user, id, &rule, None, p.flash.as_deref(), None).await
}

/// `POST /admin/assignment-rules`: create, or update when `id` is given.
pub async fn save(State(state): State<AppState>, user: UiUser, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    let users = list_users(&state.store).await.unwrap_or_default();
    let id = form_value(&form, "id").and_then(|v| v.parse::<i64>().ok());
    let text = form_value(&form, "branches").unwrap_or("").to_string();
    let fallback: Vec<i64> = form
        .iter()
        .filter(|(k, _)| k == "fallback")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let mut rule = NewRule {
        name: form_value(&form, "name").unwrap_or("").to_string(),
        module: form_value(&form, "module").unwrap_or("Leads").to_string(),
        active: form_value(&form, "active").is_some(),
        spec: RuleSpec {
            branches: Vec::new(),
            fallback: match fallback.as_slice() {
                [] => None,
                [one] => Some(Target::User { user_id: *one }),
                _ => Some(Target::RoundRobin {
                    user_ids: fallback.clone(),
                }),
            },
            followup_hours: form_value(&form, "followup_hours").and_then(|v| v.trim().parse().ok()),
        },
    };
    let detail = match parse_branches(&text, &users) {
        Ok(b) => {
            rule.spec.branches = b;
            let result = match id {
                Some(id) => assignment::update_rule(&state.store, &user.actor, id, &rule).await,
                None => assignment::create_rule(&state.store, &user.actor, &rule).await,
            };
            match result {
                Ok(r) => return see_other(&format!("/admin/assignment-rules?edit={}&flash=saved", r.id)),
                Err(sable_store::StoreError::Forbidden(_)) => {
                    return error_page(user.lang, StatusCode::FORBIDDEN, "admin_only");
                }
                Err(e) => super::store_message(user.lang, &e),
            }
        }
        Err(why) => why,
    };
    let message = fill(
        Catalogs::embedded().get(user.lang, "admin_error"),
        &[("detail", detail)],
    );
    page(&state, &user, id, &rule, Some(text), None, Some(message)).await
}

/// `POST /admin/assignment-rules/{id}/delete`.
pub async fn delete(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !user.csrf_ok(form_value(&form, "_csrf")) {
        return csrf_refused(user.lang);
    }
    match assignment::delete_rule(&state.store, &user.actor, id).await {
        Ok(()) => see_other("/admin/assignment-rules?flash=deleted"),
        Err(e) => store_error_page(user.lang, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_lines_round_trip_and_errors_name_the_line() {
        let users = vec![
            User {
                id: 7,
                user_name: "li".into(),
                first_name: None,
                last_name: "Li".into(),
                email1: None,
                is_admin: false,
                status: "Active".into(),
                language: String::new(),
                time_zone: "UTC".into(),
                date_format: String::new(),
                number_format: String::new(),
                created_at: String::new(),
            },
            User {
                id: 8,
                user_name: "wang".into(),
                ..users_one()
            },
        ];
        let b = parse_branches(
            "state = 北京 | Beijing => li\nleadsource ~= web & state = 上海 => li, wang\n\n",
            &users,
        )
        .unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].target, Target::User { user_id: 7 });
        assert_eq!(b[1].when[0].op, MatchOp::Contains);
        assert_eq!(b[1].target, Target::RoundRobin { user_ids: vec![7, 8] });
        let spec = RuleSpec {
            branches: b.clone(),
            fallback: None,
            followup_hours: None,
        };
        assert_eq!(parse_branches(&branch_lines(&spec, &users), &users).unwrap(), b);
        assert!(parse_branches("state 北京", &users).unwrap_err().starts_with("line 1"));
        assert!(
            parse_branches("\nstate = x => nobody", &users)
                .unwrap_err()
                .starts_with("line 2")
        );
    }

    fn users_one() -> User {
        User {
            id: 0,
            user_name: String::new(),
            first_name: None,
            last_name: "W".into(),
            email1: None,
            is_admin: false,
            status: "Active".into(),
            language: String::new(),
            time_zone: "UTC".into(),
            date_format: String::new(),
            number_format: String::new(),
            created_at: String::new(),
        }
    }
}
