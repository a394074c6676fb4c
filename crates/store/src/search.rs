//! The global search index: written in the record transaction, read with visibility.

use sable_core::Registry;
use sable_core::meta::Sharing;
use sable_core::search::{Term, index_tokens, query_terms};

use crate::actor::Actor;
use crate::db::{Db, Tx};
use crate::record::SearchHit;
use crate::sql::{Arg, Dialect, Sql};

/// Replaces a record's tokens.
pub async fn index(tx: &mut Tx, record_id: i64, text: &str, fresh: bool, now: i64) -> anyhow::Result<()> {
    let tokens = index_tokens(text);
    let mut q = tx.sql();
    match tx.dialect() {
        Dialect::Sqlite => {
            if !fresh {
                let mut d = tx.sql();
                d.push("DELETE FROM search_fts WHERE rowid = ").bind(record_id);
                tx.execute(&d).await?;
            }
            q.push("INSERT INTO search_fts (rowid, tokens) VALUES (")
                .bind(record_id)
                .push(", ")
                .bind(tokens)
                .push(")");
        }
        Dialect::Postgres => {
            q.push("INSERT INTO search_index (record_id, tokens, created_at, updated_at) VALUES (")
                .bind(record_id)
                .push(", to_tsvector('simple', ")
                .bind(tokens)
                .push("), ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(") ON CONFLICT (record_id) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at");
        }
    }
    tx.execute(&q).await?;
    Ok(())
}

/// Removes a record's tokens (purge).
pub async fn unindex(tx: &mut Tx, record_id: i64) -> anyhow::Result<()> {
    let mut q = tx.sql();
    match tx.dialect() {
        Dialect::Sqlite => q.push("DELETE FROM search_fts WHERE rowid = ").bind(record_id),
        Dialect::Postgres => q.push("DELETE FROM search_index WHERE record_id = ").bind(record_id),
    };
    tx.execute(&q).await?;
    Ok(())
}

fn fts5_expression(terms: &[Term]) -> String {
    let quote = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    terms
        .iter()
        .map(|t| match t {
            Term::Exact(s) => quote(s),
            // One quoted string is an FTS5 phrase: its tokens must be adjacent and in order.
            Term::Phrase(parts) => quote(&parts.join(" ")),
            Term::Prefix(w) => format!("{}*", quote(w)),
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn tsquery_expression(terms: &[Term]) -> String {
    let quote = |t: &str| format!("'{}'", t.replace('\'', "''").replace('\\', "\\\\"));
    terms
        .iter()
        .map(|t| match t {
            Term::Exact(s) => quote(s),
            Term::Phrase(parts) => format!("({})", parts.iter().map(|p| quote(p)).collect::<Vec<_>>().join(" <-> ")),
            Term::Prefix(w) => format!("{}:*", quote(w)),
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// Appends `IN (ids of the newest `limit` live records of `module` whose index matches any
/// of the alternatives)`: a bounded candidate set for likely-duplicate names, found through
/// the index rather than a scan. Every text is bound.
pub fn push_matching_ids(q: &mut Sql, module: &str, alternatives: &[Vec<Term>], limit: i64) {
    let dialect = q.dialect();
    let expression = alternatives
        .iter()
        .map(|terms| match dialect {
            Dialect::Sqlite => format!("({})", fts5_expression(terms)),
            Dialect::Postgres => format!("({})", tsquery_expression(terms)),
        })
        .collect::<Vec<_>>();
    match dialect {
        Dialect::Sqlite => {
            q.push(" IN (SELECT r.id FROM search_fts f JOIN records r ON r.id = f.rowid WHERE search_fts MATCH ")
                .bind(expression.join(" OR "));
        }
        Dialect::Postgres => {
            q.push(" IN (SELECT r.id FROM search_index f JOIN records r ON r.id = f.record_id WHERE f.tokens @@ to_tsquery('simple', ")
                .bind(expression.join(" | "))
                .push(")");
        }
    }
    q.push(" AND r.module = ")
        .bind(module)
        .push(" AND r.deleted_at IS NULL ORDER BY r.id DESC LIMIT ")
        .bind(limit)
        .push(")");
}

/// Searches the entity modules the actor may see, newest first: every one when `modules`
/// is empty, else only those named (bound parameters, so the limit applies to them alone).
pub async fn search(
    db: &Db,
    registry: &Registry,
    actor: &Actor,
    text: &str,
    modules: &[String],
    limit: u32,
) -> anyhow::Result<Vec<SearchHit>> {
    let terms = query_terms(text);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = db.sql();
    match db.dialect() {
        Dialect::Sqlite => {
            q.push("SELECT r.id, r.module, r.label FROM search_fts f JOIN records r ON r.id = f.rowid WHERE search_fts MATCH ")
                .bind(fts5_expression(&terms));
        }
        Dialect::Postgres => {
            q.push("SELECT r.id, r.module, r.label FROM search_index f JOIN records r ON r.id = f.record_id WHERE f.tokens @@ to_tsquery('simple', ")
                .bind(tsquery_expression(&terms))
                .push(")");
        }
    }
    q.push(" AND r.deleted_at IS NULL");
    if !modules.is_empty() {
        q.push(" AND r.module IN (");
        q.bind_list(modules.iter().map(|m| Arg::Text(m.clone()))).push(")");
    }
    if !actor.is_admin {
        let public: Vec<Arg> = registry
            .entity_modules()
            .filter(|m| m.sharing != Sharing::Private)
            .map(|m| Arg::Text(m.name.clone()))
            .collect();
        q.push(" AND (r.owner_id = ").bind(actor.user_id);
        if !public.is_empty() {
            q.push(" OR r.module IN (");
            q.bind_list(public).push(")");
        }
        q.push(")");
    }
    q.push(match db.dialect() {
        Dialect::Sqlite => " ORDER BY f.rowid DESC LIMIT ",
        Dialect::Postgres => " ORDER BY f.record_id DESC LIMIT ",
    })
    .bind(i64::from(limit.clamp(1, 200)));
    db.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(SearchHit {
                id: r.int("id")?,
                module: r.text("module")?,
                label: r.text("label")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_quote_terms() {
        let t = query_terms("北京市 ali");
        assert_eq!(fts5_expression(&t), "\"北京 京市\" AND \"ali\"*");
        assert_eq!(tsquery_expression(&t), "('北京' <-> '京市') & 'ali':*");
    }
}
