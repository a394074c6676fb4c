//! The pipeline board's data: per-stage count, total and weighted amount aggregated in
//! SQL, and the cards, for the opportunities the actor may see. Read-only: moving a card
//! is an ordinary record update through the record service.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::actor::Actor;
use crate::error::StoreResult;
use crate::read::{fill_labels, row_to_record, select_columns, visibility, visibility_on};
use crate::record::Record;
use crate::schema::table_name;
use crate::stages::MODULE;
use crate::store::Store;

/// Most cards on one board (the columns' figures always count everything).
pub const MAX_CARDS: i64 = 1000;

/// Most organizations offered by the board's organization filter.
pub const MAX_ACCOUNT_CHOICES: i64 = 500;

/// What the board shows.
#[derive(Clone, Debug, Default)]
pub struct BoardFilter {
    pub owner: Option<i64>,
    pub account: Option<i64>,
    /// Inclusive ISO dates for `closingdate`.
    pub close_from: Option<String>,
    pub close_to: Option<String>,
}

/// One stage's figures, amounts in minor units of the base currency.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ColumnTotals {
    pub count: i64,
    pub total: i64,
    pub weighted: i64,
}

/// Figures by stage value, and the cards.
#[derive(Debug, Default)]
pub struct Board {
    pub totals: BTreeMap<String, ColumnTotals>,
    pub cards: Vec<Record>,
}

fn push_where(q: &mut crate::sql::Sql, actor: &Actor, m: &sable_core::ModuleDef, f: &BoardFilter) {
    q.push(" WHERE t.\"deleted_at\" IS NULL");
    visibility(q, actor, m);
    if let Some(owner) = f.owner {
        q.push(" AND t.\"assigned_user_id\" = ").bind(owner);
    }
    if let Some(account) = f.account {
        q.push(" AND t.\"related_to\" = ").bind(account);
    }
    if let Some(from) = &f.close_from {
        q.push(" AND t.\"closingdate\" >= ").bind(from.as_str());
    }
    if let Some(to) = &f.close_to {
        q.push(" AND t.\"closingdate\" <= ").bind(to.as_str());
    }
}

/// The board for the actor.
pub async fn board(store: &Store, actor: &Actor, f: &BoardFilter) -> StoreResult<Board> {
    let registry = store.registry().await?;
    let m = registry.module(MODULE)?;
    let table = table_name(m);
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT t.\"sales_stage\" AS stage, COUNT(*) AS n, CAST(COALESCE(SUM(t.\"amount\"), 0) AS BIGINT) AS total, CAST(COALESCE(SUM(t.\"forecast_amount\"), 0) AS BIGINT) AS weighted FROM ")
        .ident(&table)
        .push(" t");
    push_where(&mut q, actor, m, f);
    q.push(" GROUP BY t.\"sales_stage\"");
    let mut totals = BTreeMap::new();
    for row in db.fetch_all(&q).await? {
        let stage = row.opt_text("stage")?.unwrap_or_default();
        totals.insert(
            stage,
            ColumnTotals {
                count: row.int("n")?,
                total: row.int("total")?,
                weighted: row.int("weighted")?,
            },
        );
    }
    let mut q = db.sql();
    q.push("SELECT ");
    select_columns(&mut q, m);
    q.push(" FROM ").ident(&table).push(" t");
    push_where(&mut q, actor, m, f);
    q.push(" ORDER BY t.\"closingdate\", t.\"id\" LIMIT ").bind(MAX_CARDS);
    let mut cards = db
        .fetch_all(&q)
        .await?
        .iter()
        .map(|r| row_to_record(m, r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    fill_labels(db, m, &mut cards).await?;
    Ok(Board { totals, cards })
}

/// The organizations the board's filter offers: those the actor may see that have an
/// opportunity the actor may see, by name, at most `limit` of them, as (id, name).
pub async fn board_accounts(store: &Store, actor: &Actor, limit: i64) -> StoreResult<Vec<(i64, String)>> {
    let registry = store.registry().await?;
    let opportunities = registry.module(MODULE)?;
    let accounts = registry.module("Accounts")?;
    let name = accounts
        .label_fields
        .first()
        .map(String::as_str)
        .unwrap_or("accountname");
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT t.\"id\" AS id, ")
        .col("t", name)
        .push(" AS name FROM ")
        .ident(&table_name(accounts))
        .push(" t WHERE t.\"deleted_at\" IS NULL");
    visibility(&mut q, actor, accounts);
    q.push(" AND EXISTS (SELECT 1 FROM ")
        .ident(&table_name(opportunities))
        .push(" o WHERE o.\"related_to\" = t.\"id\" AND o.\"deleted_at\" IS NULL");
    visibility_on(&mut q, actor, opportunities, "o");
    q.push(") ORDER BY ")
        .col("t", name)
        .push(", t.\"id\" LIMIT ")
        .bind(limit.clamp(0, MAX_ACCOUNT_CHOICES));
    db.fetch_all(&q)
        .await?
        .iter()
        .map(|r| Ok((r.int("id")?, r.opt_text("name")?.unwrap_or_default())))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(Into::into)
}

/// The first and last day (`YYYY-MM-DD`) of this month, quarter or year in the zone `tz`:
/// the board's close-period filter, the same for the page and the API.
pub fn close_period(period: &str, tz: &jiff::tz::TimeZone) -> Option<(String, String)> {
    let today = jiff::Timestamp::now().to_zoned_datetime(tz.clone()).date();
    let (start, months) = match period {
        "month" => (today.first_of_month(), 1),
        "quarter" => {
            let first = (today.month() - 1) / 3 * 3 + 1;
            (jiff::civil::date(today.year(), first, 1), 3)
        }
        "year" => (jiff::civil::date(today.year(), 1, 1), 12),
        _ => return None,
    };
    let end = start
        .checked_add(jiff::Span::new().months(months))
        .ok()?
        .yesterday()
        .ok()?;
    Some((start.to_string(), end.to_string()))
}
