//! Company-wide settings an administrator sets: for now the base currency that money is
//! shown in. Stored by name in `company_settings`, read on every page (several nodes
//! serve one company, so nothing is cached in memory).

use crate::actor::Actor;
use crate::error::{StoreError, StoreResult};
use crate::now_ms;
use crate::store::Store;

/// The base currency when none was set.
pub const DEFAULT_CURRENCY: &str = "CNY";

/// Currencies offered in the settings page (others may be set by their ISO 4217 code).
pub const CURRENCIES: [&str; 8] = ["CNY", "USD", "EUR", "JPY", "HKD", "GBP", "TWD", "SGD"];

const BASE_CURRENCY: &str = "base_currency";

/// An ISO 4217 code: three ASCII capital letters.
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// The company's base currency (ISO 4217 code).
pub async fn base_currency(store: &Store) -> anyhow::Result<String> {
    let db = store.db();
    let mut q = db.sql();
    q.push("SELECT value FROM company_settings WHERE name = ")
        .bind(BASE_CURRENCY);
    Ok(match db.fetch_optional(&q).await? {
        Some(row) => row.text("value")?,
        None => DEFAULT_CURRENCY.to_string(),
    })
}

/// Sets the base currency; administrators only, an ISO 4217 code.
pub async fn set_base_currency(store: &Store, actor: &Actor, code: &str) -> StoreResult<()> {
    if !actor.is_admin {
        return Err(StoreError::Forbidden(
            "only an administrator may change company settings".into(),
        ));
    }
    let code = code.trim().to_ascii_uppercase();
    if !is_currency_code(&code) {
        return Err(StoreError::Refused(
            sable_core::Refusal::new("refused_currency", format!("`{code}` is not a currency code")).arg("code", code),
        ));
    }
    let db = store.db();
    let now = now_ms();
    let mut q = db.sql();
    q.push("INSERT INTO company_settings (name, value, created_at, updated_at) VALUES (")
        .bind(BASE_CURRENCY)
        .push(", ")
        .bind(code.as_str())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at");
    db.execute(&q).await?;
    Ok(())
}
