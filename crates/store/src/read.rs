//! Reads of records: one, a page of a list, history. Every read carries the actor and
//! the visibility predicate is added here, not by callers.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use base64::Engine;
use sable_core::filter::FilterContext;
use sable_core::meta::{FieldDef, FieldType, ModuleDef, Sharing};
use sable_core::{Registry, Stored, Value};
use serde_json::{Value as Json, json};

use crate::actor::Actor;
use crate::db::{Db, Row, Tx};
use crate::error::{StoreError, StoreResult};
use crate::filter_sql;
use crate::record::{COUNT_CAP, HistoryEntry, MAX_PAGE, Page, Query, Record, format_ms};
use crate::schema::table_name;
use crate::sql::{Arg, Sql};

/// Appends the column list for a module table aliased `t`.
pub fn select_columns(sql: &mut Sql, module: &ModuleDef) {
    sql.push("t.\"id\", t.\"version\", t.\"label\", t.\"deleted_at\"");
    for f in &module.fields {
        sql.push(", ").col("t", &f.name);
    }
}

/// Appends ` AND <visibility>` for the actor on table alias `t`.
pub fn visibility(sql: &mut Sql, actor: &Actor, module: &ModuleDef) {
    visibility_on(sql, actor, module, "t");
}

pub(crate) fn visibility_on(sql: &mut Sql, actor: &Actor, module: &ModuleDef, alias: &str) {
    if actor.is_admin || module.sharing != Sharing::Private {
        return;
    }
    sql.push(" AND ")
        .col(alias, "assigned_user_id")
        .push(" = ")
        .bind(actor.user_id);
}

/// Whether the actor may change a record owned by `owner`.
pub fn may_write(actor: &Actor, module: &ModuleDef, owner: Option<i64>) -> bool {
    actor.is_admin || module.sharing == Sharing::PublicReadWrite || owner == Some(actor.user_id)
}

/// Builds a record from a row selected with [`select_columns`].
pub fn row_to_record(module: &ModuleDef, row: &Row) -> anyhow::Result<Record> {
    let mut values = BTreeMap::new();
    for f in &module.fields {
        let v = Value::from_stored(f, row.stored(&f.name)?);
        if v != Value::Null {
            values.insert(f.name.clone(), v);
        }
    }
    Ok(Record {
        id: row.int("id")?,
        module: module.name.clone(),
        version: row.int("version")?,
        label: row.text("label")?,
        deleted_at: row.opt_int("deleted_at")?,
        values,
        labels: BTreeMap::new(),
    })
}

/// The display labels of records and users by id (references show them; they are not
/// the records' contents, so no visibility applies, as for a reference on a record).
pub async fn labels_of(db: &Db, ids: &[i64]) -> anyhow::Result<BTreeMap<i64, String>> {
    let mut labels = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let mut q = db.sql();
        q.push("SELECT id, label FROM records WHERE id IN (");
        q.bind_list(chunk.iter().map(|i| Arg::Int(*i))).push(")");
        for row in db.fetch_all(&q).await? {
            labels.insert(row.int("id")?, row.text("label")?);
        }
    }
    Ok(labels)
}

/// Fills the display labels of the records and users the records point to.
pub async fn fill_labels(db: &Db, module: &ModuleDef, records: &mut [Record]) -> anyhow::Result<()> {
    let ref_fields: Vec<&FieldDef> = module
        .fields
        .iter()
        .filter(|f| matches!(f.field_type, FieldType::Reference | FieldType::Owner))
        .collect();
    let ids: BTreeSet<i64> = records
        .iter()
        .flat_map(|r| {
            ref_fields.iter().filter_map(|f| match r.values.get(&f.name) {
                Some(Value::Id(id)) => Some(*id),
                _ => None,
            })
        })
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = ids.into_iter().collect();
    let labels = labels_of(db, &ids).await?;
    for r in records.iter_mut() {
        for f in &ref_fields {
            if let Some(Value::Id(id)) = r.values.get(&f.name)
                && let Some(l) = labels.get(id)
            {
                r.labels.insert(f.name.clone(), l.clone());
            }
        }
    }
    Ok(())
}

/// Reads one record the actor may see; deleted ones only when asked.
pub async fn get_record(
    db: &Db,
    actor: &Actor,
    module: &ModuleDef,
    id: i64,
    include_deleted: bool,
) -> StoreResult<Record> {
    let mut q = db.sql();
    q.push("SELECT ");
    select_columns(&mut q, module);
    q.push(" FROM ")
        .ident(&table_name(module))
        .push(" t WHERE t.\"id\" = ")
        .bind(id);
    if !include_deleted {
        q.push(" AND t.\"deleted_at\" IS NULL");
    }
    visibility(&mut q, actor, module);
    let row = db
        .fetch_optional(&q)
        .await?
        .ok_or_else(|| StoreError::not_found(&module.name, id))?;
    let mut records = vec![row_to_record(module, &row)?];
    fill_labels(db, module, &mut records).await?;
    Ok(records.remove(0))
}

/// Reads the current row of a record inside a write transaction, locking it on PostgreSQL.
pub async fn lock_record(tx: &mut Tx, module: &ModuleDef, id: i64) -> StoreResult<Option<Record>> {
    let mut q = tx.sql();
    q.push("SELECT ");
    select_columns(&mut q, module);
    q.push(" FROM ")
        .ident(&table_name(module))
        .push(" t WHERE t.\"id\" = ")
        .bind(id);
    if q.dialect() == crate::sql::Dialect::Postgres {
        q.push(" FOR UPDATE");
    }
    match tx.fetch_optional(&q).await? {
        Some(row) => Ok(Some(row_to_record(module, &row)?)),
        None => Ok(None),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    /// offset paging
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<u64>,
    /// keyset: last sort value and id
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
}

fn encode_cursor(c: &Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode_cursor(s: &str) -> StoreResult<Cursor> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| StoreError::refused("refused_cursor", "cursor is not one this server issued"))
}

fn stored_to_json(s: &Stored) -> Json {
    match s {
        Stored::Null => Json::Null,
        Stored::Int(i) => json!(i),
        Stored::Text(t) => json!(t),
    }
}

fn json_to_stored(j: &Json) -> Stored {
    match j {
        Json::Number(n) => n.as_i64().map_or(Stored::Null, Stored::Int),
        Json::String(s) => Stored::Text(s.clone()),
        _ => Stored::Null,
    }
}

/// Lists records matching a query, one page at a time.
pub async fn query_records(
    db: &Db,
    registry: &Registry,
    actor: &Actor,
    module: &ModuleDef,
    query: &Query,
) -> StoreResult<Page> {
    let today = FilterContext::today_in(&actor.tz);
    let ctx = FilterContext {
        registry,
        today,
        tz: &actor.tz,
    };
    let resolved = query.filter.resolve(module, &ctx)?;
    let mut keys = Vec::new();
    for s in &query.sort {
        let field = if s.field == "id" {
            None
        } else {
            Some(module.field(&s.field).ok_or_else(|| {
                StoreError::Refused(
                    sable_core::Refusal::new(
                        "refused_sort_field",
                        format!("cannot sort by unknown field `{}`", s.field),
                    )
                    .arg("name", &s.field),
                )
            })?)
        };
        match field {
            Some(f) => keys.push((f.clone(), s.desc)),
            None if keys.is_empty() && query.sort.len() == 1 => {}
            None => {
                return Err(StoreError::refused(
                    "refused_sort_id",
                    "`id` can only be the only sort key",
                ));
            }
        }
    }
    let id_desc = query.sort.len() == 1 && query.sort[0].field == "id" && query.sort[0].desc;
    if keys.len() > 3 {
        return Err(StoreError::refused("refused_sort_many", "sort by at most 3 fields"));
    }
    let limit = query.limit.clamp(1, MAX_PAGE);
    let cursor = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let keyset = keys.len() <= 1 && query.offset.is_none() && !id_desc;
    let offset = match &cursor {
        Some(Cursor { o: Some(o), .. }) => *o,
        _ => query.offset.unwrap_or(0),
    };

    let table = table_name(module);
    // The page walks the sort index when there is one to walk (see filter_sql::compile);
    // the count uses whichever index narrows most.
    let sorted_by_time_with_owner = keys
        .first()
        .is_none_or(|(f, _)| matches!(f.name.as_str(), "createdtime" | "modifiedtime"));
    let where_clause = |walk: bool| {
        let mut w = db.sql();
        w.push(if query.deleted {
            " WHERE t.\"deleted_at\" IS NOT NULL"
        } else {
            " WHERE t.\"deleted_at\" IS NULL"
        });
        // The (owner, time) indexes serve a time sort with the owner condition; for any
        // other sort the owner condition is a filter on the walk.
        let owner_alias =
            if walk && !keys.is_empty() && !sorted_by_time_with_owner && db.dialect() == crate::sql::Dialect::Sqlite {
                "+t"
            } else {
                "t"
            };
        visibility_on(&mut w, actor, module, owner_alias);
        w.push(" AND ");
        filter_sql::compile(&mut w, "t", &resolved, walk && !keys.is_empty());
        w
    };
    let where_sql = where_clause(true);

    let mut q = db.sql();
    q.push("SELECT ");
    select_columns(&mut q, module);
    q.push(" FROM ").ident(&table).push(" t");
    append(&mut q, &where_sql);
    if let Some(Cursor {
        id: Some(last_id), v, ..
    }) = &cursor
        && keyset
    {
        let last = v.as_ref().map_or(Stored::Null, json_to_stored);
        if !filter_sql::cursor_value_fits(keys.first(), &last) {
            return Err(StoreError::refused(
                "refused_cursor",
                "cursor belongs to another sort order: start again without it",
            ));
        }
        q.push(" AND ");
        filter_sql::after(&mut q, "t", keys.first(), &last, *last_id);
    }
    if id_desc {
        q.push(" ORDER BY t.\"id\" DESC");
    } else {
        filter_sql::order_by(&mut q, "t", &keys);
    }
    q.push(" LIMIT ").bind(i64::from(limit) + 1);
    if !keyset || id_desc {
        q.push(" OFFSET ").bind(i64::try_from(offset).unwrap_or(i64::MAX));
    }
    // The count runs beside the page, on another connection, so a page costs the slower
    // of the two rather than their sum.
    let count_query = query.with_count.then(|| {
        let mut c = db.sql();
        c.push("SELECT COUNT(*) AS n FROM (SELECT 1 FROM ")
            .ident(&table)
            .push(" t");
        append(&mut c, &where_clause(false));
        c.push(" LIMIT ").bind(COUNT_CAP).push(") capped");
        c
    });
    let count_future = async {
        match &count_query {
            Some(c) => db.fetch_optional(c).await?.context("count row")?.int("n").map(Some),
            None => Ok(None),
        }
    };
    let (rows, count) = tokio::try_join!(
        async { db.fetch_all(&q).await.context("listing records") },
        count_future
    )?;
    let more = rows.len() > limit as usize;
    let mut items = rows
        .iter()
        .take(limit as usize)
        .map(|r| row_to_record(module, r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let next_cursor = if !more {
        None
    } else if keyset {
        let last = rows.get(limit as usize - 1).context("last row")?;
        let v = match keys.first() {
            Some((f, _)) => Some(stored_to_json(&last.stored(&f.name)?)),
            None => None,
        };
        Some(encode_cursor(&Cursor {
            o: None,
            v,
            id: Some(last.int("id")?),
        }))
    } else {
        Some(encode_cursor(&Cursor {
            o: Some(offset + u64::from(limit)),
            v: None,
            id: None,
        }))
    };
    fill_labels(db, module, &mut items).await?;

    let count_exact = count.is_some_and(|n| n < COUNT_CAP);
    Ok(Page {
        items,
        next_cursor,
        count,
        count_exact,
    })
}

/// Appends another statement's text and arguments, renumbering PostgreSQL placeholders.
fn append(dst: &mut Sql, src: &Sql) {
    if !src.persistent {
        dst.one_off();
    }
    match dst.dialect() {
        crate::sql::Dialect::Sqlite => {
            dst.text.push_str(&src.text);
            dst.args.extend(src.args.iter().cloned());
        }
        crate::sql::Dialect::Postgres => {
            // Re-bind each argument so numbering continues from dst's.
            let mut rest = src.text.as_str();
            let mut i = 0;
            while let Some(pos) = rest.find('$') {
                dst.text.push_str(&rest[..pos]);
                let digits: String = rest[pos + 1..].chars().take_while(|c| c.is_ascii_digit()).collect();
                dst.bind(src.args[i].clone());
                i += 1;
                rest = &rest[pos + 1 + digits.len()..];
            }
            dst.text.push_str(rest);
        }
    }
}

/// A record's history, oldest first, with actors' names.
pub async fn history(db: &Db, record_id: i64, since_version: Option<i64>) -> anyhow::Result<Vec<HistoryEntry>> {
    let mut q = db.sql();
    q.push("SELECT h.id, h.record_id, h.action, h.version, h.actor_id, h.changes, h.created_at, r.label AS actor FROM record_history h LEFT JOIN records r ON r.id = h.actor_id WHERE h.record_id = ")
        .bind(record_id);
    if let Some(v) = since_version {
        q.push(" AND h.version > ").bind(v);
    }
    q.push(" ORDER BY h.id");
    db.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(HistoryEntry {
                id: r.int("id")?,
                record_id: r.int("record_id")?,
                action: r.text("action")?,
                version: r.int("version")?,
                actor_id: r.opt_int("actor_id")?,
                actor: r.opt_text("actor")?,
                at: format_ms(r.int("created_at")?),
                changes: serde_json::from_str(&r.text("changes")?).unwrap_or(Json::Null),
            })
        })
        .collect()
}
