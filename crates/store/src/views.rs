//! Saved list views: a name, a filter tree, columns and a sort, owned by a user and
//! private or shared with everyone. A view only chooses what to show; record visibility
//! still applies to whoever opens it.

use anyhow::Context;
use sable_core::Filter;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::actor::Actor;
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::store::Store;

/// What a view shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewDefinition {
    /// The filter tree (JSON), checked against the module when saved.
    #[serde(default)]
    pub filter: Json,
    /// Columns, by field API name; empty = the module's default columns.
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub desc: bool,
}

/// A saved view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SavedView {
    pub id: i64,
    pub module: String,
    pub owner_id: i64,
    pub name: String,
    pub shared: bool,
    pub definition: ViewDefinition,
}

/// The views of a module the actor may use: their own and the shared ones.
pub async fn list_views(store: &Store, actor: &Actor, module: &str) -> anyhow::Result<Vec<SavedView>> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT id, module, owner_id, name, shared, definition FROM saved_views WHERE module = ")
        .bind(module)
        .push(" AND (owner_id = ")
        .bind(actor.user_id)
        .push(" OR shared = 1) ORDER BY name, id");
    db.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(SavedView {
                id: r.int("id")?,
                module: r.text("module")?,
                owner_id: r.int("owner_id")?,
                name: r.text("name")?,
                shared: r.int("shared")? != 0,
                definition: serde_json::from_str(&r.text("definition")?).context("reading a saved view")?,
            })
        })
        .collect()
}

/// Saves a new view after checking its filter, columns and sort against the module.
pub async fn create_view(
    store: &Store,
    actor: &Actor,
    module: &str,
    name: &str,
    shared: bool,
    definition: &ViewDefinition,
) -> StoreResult<i64> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::refused(
            "refused_view_name",
            "a view needs a name of 1 to 100 characters",
        ));
    }
    if shared && !actor.is_admin && actor.user_id == 0 {
        return Err(StoreError::Forbidden("the system cannot share views".into()));
    }
    let registry = store.registry().await?;
    let m = registry.module(module)?;
    let filter = Filter::from_json(&definition.filter)?;
    let ctx = sable_core::FilterContext {
        registry: &registry,
        today: sable_core::FilterContext::today_in(&actor.tz),
        tz: &actor.tz,
    };
    filter.resolve(m, &ctx)?;
    for c in definition.columns.iter().chain(definition.sort.iter()) {
        if m.field(c).is_none() {
            return Err(StoreError::Refused(
                sable_core::Refusal::new("refused_view_column", format!("`{c}` is not a field of {module}"))
                    .arg("name", c),
            ));
        }
    }
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("INSERT INTO saved_views (module, owner_id, name, shared, definition, created_at, updated_at) VALUES (")
        .bind(module)
        .push(", ")
        .bind(actor.user_id)
        .push(", ")
        .bind(name)
        .push(", ")
        .bind(shared)
        .push(", ")
        .bind(serde_json::to_string(definition).context("encoding view")?)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    Ok(db.fetch_optional(&q).await?.context("view row")?.int("id")?)
}

/// Deletes a view (its owner or an administrator).
pub async fn delete_view(store: &Store, actor: &Actor, id: i64) -> StoreResult<()> {
    let db = store.db();
    let mut q = db.sql();
    q.push("DELETE FROM saved_views WHERE id = ").bind(id);
    if !actor.is_admin {
        q.push(" AND owner_id = ").bind(actor.user_id);
    }
    if db.execute(&q).await? == 0 {
        return Err(StoreError::not_found("views", id));
    }
    Ok(())
}
