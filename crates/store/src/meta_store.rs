//! Metadata kept in the database: custom fields and per-module sharing.
//!
//! A change bumps `meta_version` in the same transaction, so every node notices it
//! within a second (see [`crate::Store::registry`]).

use anyhow::Context;
use sable_core::Registry;
use sable_core::meta::{FieldDef, PicklistDef, Sharing};
use sable_core::registry::NewField;

use crate::actor::Actor;
use crate::db::{Db, Tx};
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::schema::{add_column, create_field_indexes, field_columns, table_name};
use crate::store::Store;

/// The built-in registry plus custom fields and sharing settings, and the metadata version.
pub async fn load_registry(db: &Db) -> anyhow::Result<(Registry, i64)> {
    let mut registry = Registry::builtin()?;
    let version = meta_version(db).await?;
    let rows = db
        .fetch_all(
            db.sql()
                .push("SELECT module, definition, picklist FROM custom_fields ORDER BY id"),
        )
        .await?;
    for row in rows {
        let module = row.text("module")?;
        let field: FieldDef =
            serde_json::from_str(&row.text("definition")?).context("reading a custom field definition")?;
        let picklist: Option<PicklistDef> = match row.opt_text("picklist")? {
            Some(p) => Some(serde_json::from_str(&p).context("reading a custom picklist")?),
            None => None,
        };
        if let Err(e) = registry.add_custom_field(&module, field, picklist) {
            tracing::warn!(error = %e, module, "skipping a custom field that no longer fits its module");
        }
    }
    for row in db
        .fetch_all(db.sql().push("SELECT name, definition FROM picklist_overrides"))
        .await?
    {
        let list: PicklistDef =
            serde_json::from_str(&row.text("definition")?).context("reading a picklist override")?;
        if let Err(e) = registry.set_picklist(list) {
            tracing::warn!(error = %e, "skipping a picklist override that no longer applies");
        }
    }
    for row in db
        .fetch_all(db.sql().push("SELECT module, field, block, sequence FROM field_layout"))
        .await?
    {
        let sequence = u32::try_from(row.int("sequence")?).unwrap_or(0);
        if let Err(e) =
            registry.set_field_position(&row.text("module")?, &row.text("field")?, &row.text("block")?, sequence)
        {
            tracing::warn!(error = %e, "skipping a field position that no longer applies");
        }
    }
    let rows = db
        .fetch_all(
            db.sql()
                .push("SELECT module, sharing FROM module_settings WHERE sharing IS NOT NULL"),
        )
        .await?;
    for row in rows {
        let module = row.text("module")?;
        if let Some(sharing) = Sharing::parse(&row.text("sharing")?) {
            let _ = registry.set_sharing(&module, sharing);
        }
    }
    Ok((registry, version))
}

/// The current metadata version.
pub async fn meta_version(db: &Db) -> anyhow::Result<i64> {
    db.fetch_optional(db.sql().push("SELECT version FROM meta_version WHERE id = 1"))
        .await?
        .context("meta_version row is missing")?
        .int("version")
}

pub(crate) async fn bump_version(tx: &mut Tx) -> anyhow::Result<()> {
    let mut q = tx.sql();
    q.push("UPDATE meta_version SET version = version + 1, updated_at = ")
        .bind(now_ms())
        .push(" WHERE id = 1");
    tx.execute(&q).await?;
    Ok(())
}

fn require_admin(actor: &Actor) -> StoreResult<()> {
    if actor.is_admin {
        Ok(())
    } else {
        Err(StoreError::Forbidden("only an administrator may change modules".into()))
    }
}

/// Adds a custom field: records it, adds its column and indexes, in one transaction.
pub async fn add_custom_field(store: &Store, actor: &Actor, module: &str, new: &NewField) -> StoreResult<FieldDef> {
    require_admin(actor)?;
    let registry = store.registry().await?;
    let (field, picklist) = registry.plan_custom_field(module, new)?;
    let module_def = registry.module(module)?;
    let table = table_name(module_def);
    let mut w = store.begin_write().await?;
    let mut q = w.tx.sql();
    let now = now_ms();
    q.push("INSERT INTO custom_fields (module, name, definition, picklist, created_at, updated_at) VALUES (")
        .bind(module)
        .push(", ")
        .bind(field.name.as_str())
        .push(", ")
        .bind(serde_json::to_string(&field).context("encoding field")?)
        .push(", ")
        .bind(
            picklist
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .context("encoding picklist")?,
        )
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    if let Err(e) = w.tx.execute(&q).await {
        let text = format!("{e:#}");
        if text.contains("custom_fields_module_name_key") || text.contains("UNIQUE constraint failed") {
            return Err(sable_core::meta::MetaError::DuplicateField(field.name.clone()).into());
        }
        return Err(e.into());
    }
    for (col, storage) in field_columns(&field) {
        add_column(&mut w.tx, &table, &col, storage).await?;
    }
    create_field_indexes(&mut w.tx, &table, module_def, &field).await?;
    bump_version(&mut w.tx).await?;
    w.commit().await?;
    store.reload_registry().await?;
    Ok(field)
}

/// Changes a module's default sharing.
pub async fn set_sharing(store: &Store, actor: &Actor, module: &str, sharing: Sharing) -> StoreResult<()> {
    require_admin(actor)?;
    let registry = store.registry().await?;
    let m = registry.module(module)?;
    if !m.entity {
        return Err(StoreError::Refused(
            sable_core::Refusal::new("refused_no_sharing", format!("module {module} has no sharing setting"))
                .arg("name", module),
        ));
    }
    let mut w = store.begin_write().await?;
    let now = now_ms();
    let mut q = w.tx.sql();
    q.push("INSERT INTO module_settings (module, sharing, next_number, created_at, updated_at) VALUES (")
        .bind(module)
        .push(", ")
        .bind(sharing.as_str())
        .push(", 1, ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (module) DO UPDATE SET sharing = excluded.sharing, updated_at = excluded.updated_at");
    w.tx.execute(&q).await?;
    bump_version(&mut w.tx).await?;
    w.commit().await?;
    store.reload_registry().await?;
    Ok(())
}

/// Replaces the values (and their labels in both languages) of a picklist.
pub async fn set_picklist(store: &Store, actor: &Actor, list: PicklistDef) -> StoreResult<()> {
    require_admin(actor)?;
    let mut check = (*store.registry().await?).clone();
    check.set_picklist(list.clone())?;
    let list = check.picklist(&list.name).cloned().ok_or_else(|| {
        StoreError::Refused(
            sable_core::Refusal::new(
                "refused_picklist_missing",
                format!("there is no picklist `{}`", list.name),
            )
            .arg("name", list.name.clone()),
        )
    })?;
    let mut w = store.begin_write().await?;
    let now = now_ms();
    let mut q = w.tx.sql();
    q.push("INSERT INTO picklist_overrides (name, definition, created_at, updated_at) VALUES (")
        .bind(list.name.as_str())
        .push(", ")
        .bind(serde_json::to_string(&list).context("encoding picklist")?)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at");
    w.tx.execute(&q).await?;
    bump_version(&mut w.tx).await?;
    w.commit().await?;
    store.reload_registry().await?;
    Ok(())
}

/// Places fields in blocks and orders them: `(field, block, sequence)` for each.
pub async fn set_field_layout(
    store: &Store,
    actor: &Actor,
    module: &str,
    layout: &[(String, String, u32)],
) -> StoreResult<()> {
    require_admin(actor)?;
    let mut check = (*store.registry().await?).clone();
    for (field, block, sequence) in layout {
        check.set_field_position(module, field, block, *sequence)?;
    }
    let mut w = store.begin_write().await?;
    let now = now_ms();
    for (field, block, sequence) in layout {
        let mut q = w.tx.sql();
        q.push("INSERT INTO field_layout (module, field, block, sequence, created_at, updated_at) VALUES (")
            .bind(module)
            .push(", ")
            .bind(field.as_str())
            .push(", ")
            .bind(block.as_str())
            .push(", ")
            .bind(i64::from(*sequence))
            .push(", ")
            .bind(now)
            .push(", ")
            .bind(now)
            .push(") ON CONFLICT (module, field) DO UPDATE SET block = excluded.block, sequence = excluded.sequence, updated_at = excluded.updated_at");
        w.tx.execute(&q).await?;
    }
    bump_version(&mut w.tx).await?;
    w.commit().await?;
    store.reload_registry().await?;
    Ok(())
}
