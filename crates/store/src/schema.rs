//! Schema: the fixed migrations, and module tables generated from metadata.
//!
//! Fixed tables are plain SQL files, one folder per database, applied once each and
//! recorded in `schema_migrations`. Module tables (`m_<table>`) follow the module
//! definitions: created when missing, and given any column a definition has gained.
//! Custom fields add their column in the same transaction that records them.

use anyhow::Context;
use sable_core::Registry;
use sable_core::meta::{FieldDef, ModuleDef, Storage};

use crate::db::{Db, Tx};
use crate::sql::{Dialect, is_safe_ident};

struct Migration {
    version: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// The migrations, oldest first. A file is never edited once merged; add a new one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "20261203000000_create_core_tables",
        sqlite: include_str!("../migrations/sqlite/20261203000000_create_core_tables.sql"),
        postgres: include_str!("../migrations/postgres/20261203000000_create_core_tables.sql"),
    },
    Migration {
        version: "20261203120000_create_sessions",
        sqlite: include_str!("../migrations/sqlite/20261203120000_create_sessions.sql"),
        postgres: include_str!("../migrations/postgres/20261203120000_create_sessions.sql"),
    },
    Migration {
        version: "20261203130000_create_metadata_overrides",
        sqlite: include_str!("../migrations/sqlite/20261203130000_create_metadata_overrides.sql"),
        postgres: include_str!("../migrations/postgres/20261203130000_create_metadata_overrides.sql"),
    },
    Migration {
        version: "20261203140000_create_saved_views",
        sqlite: include_str!("../migrations/sqlite/20261203140000_create_saved_views.sql"),
        postgres: include_str!("../migrations/postgres/20261203140000_create_saved_views.sql"),
    },
    Migration {
        version: "20261203150000_create_comments",
        sqlite: include_str!("../migrations/sqlite/20261203150000_create_comments.sql"),
        postgres: include_str!("../migrations/postgres/20261203150000_create_comments.sql"),
    },
    Migration {
        version: "20261203160000_add_user_formats",
        sqlite: include_str!("../migrations/sqlite/20261203160000_add_user_formats.sql"),
        postgres: include_str!("../migrations/postgres/20261203160000_add_user_formats.sql"),
    },
    Migration {
        version: "20261203170000_create_import_jobs",
        sqlite: include_str!("../migrations/sqlite/20261203170000_create_import_jobs.sql"),
        postgres: include_str!("../migrations/postgres/20261203170000_create_import_jobs.sql"),
    },
    Migration {
        version: "20261204050000_create_field_counters",
        sqlite: include_str!("../migrations/sqlite/20261204050000_create_field_counters.sql"),
        postgres: include_str!("../migrations/postgres/20261204050000_create_field_counters.sql"),
    },
    Migration {
        version: "20261204060000_add_import_job_total",
        sqlite: include_str!("../migrations/sqlite/20261204060000_add_import_job_total.sql"),
        postgres: include_str!("../migrations/postgres/20261204060000_add_import_job_total.sql"),
    },
    Migration {
        version: "20261204070000_create_company_settings",
        sqlite: include_str!("../migrations/sqlite/20261204070000_create_company_settings.sql"),
        postgres: include_str!("../migrations/postgres/20261204070000_create_company_settings.sql"),
    },
    Migration {
        version: "20261204080000_create_calendar_feeds",
        sqlite: include_str!("../migrations/sqlite/20261204080000_create_calendar_feeds.sql"),
        postgres: include_str!("../migrations/postgres/20261204080000_create_calendar_feeds.sql"),
    },
    Migration {
        version: "20261204081000_create_sales_stages",
        sqlite: include_str!("../migrations/sqlite/20261204081000_create_sales_stages.sql"),
        postgres: include_str!("../migrations/postgres/20261204081000_create_sales_stages.sql"),
    },
    Migration {
        version: "20261204082000_create_lead_convert_mappings",
        sqlite: include_str!("../migrations/sqlite/20261204082000_create_lead_convert_mappings.sql"),
        postgres: include_str!("../migrations/postgres/20261204082000_create_lead_convert_mappings.sql"),
    },
    Migration {
        version: "20261204100000_create_reports",
        sqlite: include_str!("../migrations/sqlite/20261204100000_create_reports.sql"),
        postgres: include_str!("../migrations/postgres/20261204100000_create_reports.sql"),
    },
    Migration {
        version: "20261204101000_create_dashboards",
        sqlite: include_str!("../migrations/sqlite/20261204101000_create_dashboards.sql"),
        postgres: include_str!("../migrations/postgres/20261204101000_create_dashboards.sql"),
    },
    Migration {
        version: "20261204110000_create_assignment_rules",
        sqlite: include_str!("../migrations/sqlite/20261204110000_create_assignment_rules.sql"),
        postgres: include_str!("../migrations/postgres/20261204110000_create_assignment_rules.sql"),
    },
    Migration {
        version: "20261204110100_create_webforms",
        sqlite: include_str!("../migrations/sqlite/20261204110100_create_webforms.sql"),
        postgres: include_str!("../migrations/postgres/20261204110100_create_webforms.sql"),
    },
    Migration {
        version: "20261204120000_create_workflows",
        sqlite: include_str!("../migrations/sqlite/20261204120000_create_workflows.sql"),
        postgres: include_str!("../migrations/postgres/20261204120000_create_workflows.sql"),
    },
];

/// Names of the embedded migrations, for the parity test.
pub fn migration_versions() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

/// Serialises schema changes between processes sharing one PostgreSQL.
async fn lock_schema(tx: &mut Tx) -> anyhow::Result<()> {
    if tx.dialect() == Dialect::Postgres {
        let mut q = tx.sql();
        q.push("SELECT pg_advisory_xact_lock(").bind(734_201_i64).push(")");
        tx.execute(&q).await.context("taking the schema lock")?;
    }
    Ok(())
}

/// Applies pending migrations and brings module tables up to date. Returns the number
/// of migrations applied.
pub async fn migrate(db: &Db, registry: &Registry) -> anyhow::Result<usize> {
    let mut tx = db.begin().await?;
    lock_schema(&mut tx).await?;
    tx.execute_script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await
    .context("creating schema_migrations")?;
    let applied: Vec<String> = tx
        .fetch_all(tx.sql().push("SELECT version FROM schema_migrations"))
        .await?
        .iter()
        .map(|r| r.text("version"))
        .collect::<anyhow::Result<_>>()?;
    let mut count = 0;
    for m in MIGRATIONS {
        if applied.iter().any(|v| v == m.version) {
            continue;
        }
        let script = match tx.dialect() {
            Dialect::Sqlite => m.sqlite,
            Dialect::Postgres => m.postgres,
        };
        tx.execute_script(script)
            .await
            .with_context(|| format!("applying migration {}", m.version))?;
        let mut q = tx.sql();
        q.push("INSERT INTO schema_migrations (version, applied_at) VALUES (")
            .bind(m.version)
            .push(", ")
            .bind(crate::now_ms())
            .push(")");
        tx.execute(&q).await?;
        count += 1;
    }
    for module in registry.entity_modules() {
        ensure_module_table(&mut tx, module).await?;
    }
    tx.commit().await?;
    Ok(count)
}

fn column_type(dialect: Dialect, storage: Storage) -> &'static str {
    match (dialect, storage) {
        (Dialect::Sqlite, Storage::Int) => "INTEGER",
        (Dialect::Postgres, Storage::Int) => "BIGINT",
        (Dialect::Sqlite, Storage::Text) => "TEXT",
        // Byte order on both databases: SQLite's default, so the same query sorts alike.
        (Dialect::Postgres, Storage::Text) => "TEXT COLLATE \"C\"",
    }
}

/// The table of a module.
pub fn table_name(module: &ModuleDef) -> String {
    format!("m_{}", module.table)
}

/// The columns a field needs: its own, and a match-key column for email and phone.
pub fn field_columns(field: &FieldDef) -> Vec<(String, Storage)> {
    let mut cols = vec![(field.name.clone(), field.field_type.storage())];
    if let Some(m) = field.match_column() {
        cols.push((m, Storage::Text));
    }
    cols
}

async fn existing_columns(tx: &mut Tx, table: &str) -> anyhow::Result<Vec<String>> {
    let mut q = tx.sql();
    match tx.dialect() {
        Dialect::Sqlite => q.push("SELECT name FROM pragma_table_info(").bind(table).push(")"),
        Dialect::Postgres => q
            .push("SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ")
            .bind(table),
    };
    tx.fetch_all(&q).await?.iter().map(|r| r.text("name")).collect()
}

/// Creates a module's table if missing and adds columns for fields it lacks.
pub async fn ensure_module_table(tx: &mut Tx, module: &ModuleDef) -> anyhow::Result<()> {
    let table = table_name(module);
    anyhow::ensure!(is_safe_ident(&table), "unsafe table name {table}");
    let dialect = tx.dialect();
    let existing = existing_columns(tx, &table).await?;
    if existing.is_empty() {
        let int = column_type(dialect, Storage::Int);
        let mut ddl = format!(
            "CREATE TABLE \"{table}\" (\"id\" {int} PRIMARY KEY REFERENCES records (id), \"version\" {int} NOT NULL, \"label\" TEXT NOT NULL DEFAULT '', \"deleted_at\" {int}"
        );
        for field in &module.fields {
            for (col, storage) in field_columns(field) {
                anyhow::ensure!(is_safe_ident(&col), "unsafe column name {col}");
                ddl.push_str(&format!(", \"{col}\" {}", column_type(dialect, storage)));
            }
        }
        ddl.push(')');
        tx.execute_script(&ddl)
            .await
            .with_context(|| format!("creating {table}"))?;
    } else {
        for field in &module.fields {
            for (col, storage) in field_columns(field) {
                if !existing.contains(&col) {
                    add_column(tx, &table, &col, storage).await?;
                }
            }
        }
    }
    for field in &module.fields {
        create_field_indexes(tx, &table, module, field).await?;
    }
    create_index(tx, &table, &["label"]).await?;
    // A salesperson's own list, newest first, is the commonest page of all.
    if module.field("assigned_user_id").is_some() {
        create_index(tx, &table, &["assigned_user_id", "modifiedtime"]).await?;
        create_index(tx, &table, &["assigned_user_id", "createdtime"]).await?;
    }
    for cols in crate::reports::covering_indexes(module) {
        create_index(tx, &table, cols).await?;
    }
    Ok(())
}

/// Which of a field's columns are indexed. Every index costs each insert, so only
/// columns lists sort or filter by often, related lists follow, or matching looks up.
fn indexed_columns(module: &ModuleDef, f: &FieldDef) -> Vec<String> {
    let mut cols = Vec::new();
    let sorted_or_looked_up = f.list_column
        || f.unique
        || f.field_type == sable_core::FieldType::Reference
        || matches!(f.name.as_str(), "createdtime" | "modifiedtime" | "assigned_user_id")
        || f.name == module.number_field;
    if sorted_or_looked_up {
        cols.push(f.name.clone());
    }
    // Equality filters and duplicate checks on e-mail and phone use the match key.
    if let Some(m) = f.match_column() {
        cols.push(m);
    }
    cols
}

/// Adds a column (custom field or a built-in field added in a newer version).
pub async fn add_column(tx: &mut Tx, table: &str, col: &str, storage: Storage) -> anyhow::Result<()> {
    anyhow::ensure!(is_safe_ident(table) && is_safe_ident(col), "unsafe identifier");
    let ddl = format!(
        "ALTER TABLE \"{table}\" ADD COLUMN \"{col}\" {}",
        column_type(tx.dialect(), storage)
    );
    tx.execute_script(&ddl)
        .await
        .with_context(|| format!("adding column {col} to {table}"))
}

/// Indexes a field's columns among live records, with `id` as the tie-breaker for keyset pages.
pub async fn create_field_indexes(
    tx: &mut Tx,
    table: &str,
    module: &ModuleDef,
    field: &FieldDef,
) -> anyhow::Result<()> {
    for col in indexed_columns(module, field) {
        create_index(tx, table, &[col.as_str()]).await?;
    }
    if field.unique {
        create_unique_index(tx, table, field).await?;
    }
    Ok(())
}

/// The database's own guard of a unique field among live records: the record service
/// checks first and explains, but two nodes saving the same value at the same moment on
/// one PostgreSQL both pass that check; the index refuses the second.
async fn create_unique_index(tx: &mut Tx, table: &str, field: &FieldDef) -> anyhow::Result<()> {
    let col = field.match_column().unwrap_or_else(|| field.name.clone());
    anyhow::ensure!(is_safe_ident(table) && is_safe_ident(&col), "unsafe identifier");
    let name = index_name(table, &col, "uniq");
    // Every start passes here: once the index exists, there is nothing to scan.
    let mut exists = tx.sql();
    match tx.dialect() {
        Dialect::Sqlite => exists.push("SELECT 1 AS one FROM sqlite_master WHERE type = 'index' AND name = "),
        Dialect::Postgres => exists.push("SELECT 1 AS one FROM pg_indexes WHERE indexname = "),
    };
    exists.bind(name.as_str());
    if tx.fetch_optional(&exists).await?.is_some() {
        return Ok(());
    }
    // Values saved before the field became unique may repeat: keep the server starting,
    // and keep relying on the service's check until they are cleaned up.
    let dupes = format!(
        "SELECT \"{col}\" FROM \"{table}\" WHERE \"deleted_at\" IS NULL AND \"{col}\" IS NOT NULL GROUP BY \"{col}\" HAVING COUNT(*) > 1 LIMIT 1"
    );
    let mut q = tx.sql();
    q.push(&dupes);
    if tx.fetch_optional(&q).await?.is_some() {
        tracing::warn!(
            table,
            column = col,
            "unique field holds repeated values: no unique index"
        );
        return Ok(());
    }
    let ddl =
        format!("CREATE UNIQUE INDEX IF NOT EXISTS \"{name}\" ON \"{table}\" (\"{col}\") WHERE \"deleted_at\" IS NULL");
    tx.execute_script(&ddl)
        .await
        .with_context(|| format!("unique index on {table}.{col}"))
}

/// An index name within PostgreSQL's 63 bytes: a long one keeps its start and gets a
/// digest of the whole, so two long names that share a start stay two indexes.
fn index_name(table: &str, col: &str, suffix: &str) -> String {
    let name = format!("{table}_{col}_{suffix}");
    if name.len() > 63 {
        use sha2::Digest;
        let digest = hex::encode(&sha2::Sha256::digest(name.as_bytes())[..4]);
        format!("{}_{digest}_{suffix}", &name[..50])
    } else {
        name
    }
}

async fn create_index(tx: &mut Tx, table: &str, cols: &[&str]) -> anyhow::Result<()> {
    anyhow::ensure!(
        is_safe_ident(table) && cols.iter().all(|c| is_safe_ident(c)),
        "unsafe identifier"
    );
    let col = cols.join("_");
    let name = index_name(table, &col, "idx");
    let columns: String = cols.iter().map(|c| format!("\"{c}\", ")).collect();
    let ddl =
        format!("CREATE INDEX IF NOT EXISTS \"{name}\" ON \"{table}\" ({columns}\"id\") WHERE \"deleted_at\" IS NULL");
    tx.execute_script(&ddl)
        .await
        .with_context(|| format!("indexing {table}.{col}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_databases_have_the_same_migrations() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let list = |sub: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir.join(sub))
                .expect("migrations folder")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let sqlite = list("sqlite");
        assert_eq!(sqlite, list("postgres"));
        let embedded: Vec<String> = super::migration_versions().iter().map(|v| format!("{v}.sql")).collect();
        assert_eq!(sqlite, embedded, "every migration file must be embedded in MIGRATIONS");
    }
}
