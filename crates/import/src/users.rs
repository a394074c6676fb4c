//! Users from a sheet (a sales team list): each row becomes a user whose user name is
//! derived from the name, with an unknown random password, so nobody can sign in as the
//! user until an administrator sets one (`sable user passwd NAME`). Existing user names
//! are skipped, so the same sheet imports twice without harm. Users are not records:
//! there is no undo journal; deactivate users to take them back.

use sable_store::users::{self, NewUser};
use sable_store::{Actor, Store, StoreError};

use crate::mapping::MappingFile;
use crate::run::{ImportError, ImportReport, RowStatus};
use crate::table::Table;

/// What a column may fill: `name` (full name, first name first), `first_name`,
/// `last_name`, `user_name` or `email1`.
pub const USER_FIELDS: [&str; 5] = ["name", "first_name", "last_name", "user_name", "email1"];

/// A user name from a person's name: `anna.snelling` from Anna Snelling, `张三` from 张三.
pub fn user_name_for(first: Option<&str>, last: &str) -> String {
    let joined = match first {
        Some(f) if !f.trim().is_empty() => format!("{}.{}", f.trim(), last.trim()),
        _ => last.trim().to_string(),
    };
    joined
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(".")
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        .collect()
}

/// Imports users as `actor` (an administrator). Columns map by the mapping file's
/// `columns` or by a header equal to one of [`USER_FIELDS`].
pub async fn import_users(
    store: &Store,
    actor: &Actor,
    mut table: Table,
    mapping: Option<&MappingFile>,
) -> Result<ImportReport, ImportError> {
    let fields: Vec<Option<String>> = table
        .headers
        .iter()
        .map(|h| {
            let target = match mapping.and_then(|m| m.columns.get(h)) {
                Some(f) => f.clone(),
                None => h.trim().to_lowercase(),
            };
            USER_FIELDS.contains(&target.as_str()).then_some(target)
        })
        .collect();
    if !fields.iter().flatten().any(|f| f == "name" || f == "last_name") {
        return Err(ImportError::Invalid(
            "a users import needs a `name` or `last_name` column".into(),
        ));
    }
    let mut report = ImportReport {
        encoding: table.encoding.clone(),
        headers: table.headers.clone(),
        fields: fields.clone(),
        ..ImportReport::default()
    };
    let mut rows = Vec::new();
    for row in table.rows() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                rows.push((
                    e.line().unwrap_or(0),
                    RowStatus::Failed,
                    Some(e.to_string()),
                    Vec::new(),
                ));
                continue;
            }
        };
        let get = |name: &str| {
            fields
                .iter()
                .position(|f| f.as_deref() == Some(name))
                .and_then(|i| row.cells.get(i))
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
        };
        let (mut first, mut last) = (get("first_name"), get("last_name"));
        if let Some(name) = get("name") {
            match name.rsplit_once(char::is_whitespace) {
                Some((f, l)) => {
                    first = first.or(Some(f.trim().to_string()));
                    last = last.or(Some(l.trim().to_string()));
                }
                None => last = last.or(Some(name)),
            }
        }
        let Some(last) = last else {
            rows.push((row.line, RowStatus::Failed, Some("no name".into()), row.cells));
            continue;
        };
        let user_name = get("user_name").unwrap_or_else(|| user_name_for(first.as_deref(), &last));
        if users::find_user(store, &user_name)
            .await
            .map_err(StoreError::from)?
            .is_some()
        {
            rows.push((
                row.line,
                RowStatus::Skipped,
                Some(format!("user `{user_name}` exists")),
                Vec::new(),
            ));
            continue;
        }
        let new = NewUser {
            user_name: user_name.clone(),
            password: users::random_secret("reset-").map_err(StoreError::from)?,
            first_name: first,
            last_name: last,
            email1: get("email1"),
            ..NewUser::default()
        };
        match users::create_user(store, actor, &new).await {
            Ok(_) => rows.push((row.line, RowStatus::Created, None, Vec::new())),
            Err(e @ (StoreError::Forbidden(_) | StoreError::Other(_))) => return Err(e.into()),
            Err(e) => rows.push((row.line, RowStatus::Failed, Some(e.to_string()), row.cells)),
        }
    }
    for (line, status, reason, cells) in rows {
        report.record_row(line, status, reason, cells);
    }
    Ok(report)
}
