//! The shapes records, pages, history and search results take when they leave the store.

use std::collections::BTreeMap;

use sable_core::filter::Filter;
use sable_core::meta::ModuleDef;
use sable_core::record::FieldValues;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

/// A record as read: its values and the display labels of the records it points to.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub id: i64,
    pub module: String,
    pub version: i64,
    pub label: String,
    /// When the record went to the recycle bin (epoch ms), if it did.
    pub deleted_at: Option<i64>,
    pub values: FieldValues,
    /// Reference and owner field → label of the record or user it points to.
    pub labels: BTreeMap<String, String>,
}

impl Record {
    /// The wire form: `{"id","module","version","label","fields":{…},"labels":{…}}`.
    pub fn to_json(&self, module: &ModuleDef) -> Json {
        let mut fields = Map::new();
        for field in &module.fields {
            let v = self.values.get(&field.name).map_or(Json::Null, |v| v.to_json(field));
            fields.insert(field.name.clone(), v);
        }
        let mut out = json!({
            "id": self.id,
            "module": self.module,
            "version": self.version,
            "label": self.label,
            "fields": fields,
            "labels": self.labels,
        });
        if let Some(at) = self.deleted_at
            && let Some(o) = out.as_object_mut()
        {
            o.insert("deleted_at".into(), json!(crate::record::format_ms(at)));
        }
        out
    }
}

/// Epoch milliseconds as RFC 3339 UTC.
pub fn format_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(sable_core::value::format_timestamp)
        .unwrap_or_default()
}

/// One sort key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub field: String,
    pub desc: bool,
}

/// A list query: filter, order, page.
#[derive(Clone, Debug)]
pub struct Query {
    pub filter: Filter,
    pub sort: Vec<SortKey>,
    /// Page size, 1..=500.
    pub limit: u32,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
    /// Offset paging, when no cursor is used.
    pub offset: Option<u64>,
    /// Whether to count matches (capped, see [`Page::count_exact`]).
    pub with_count: bool,
    /// List the recycle bin instead of live records.
    pub deleted: bool,
}

impl Default for Query {
    fn default() -> Query {
        Query {
            filter: Filter::everything(),
            sort: Vec::new(),
            limit: 50,
            cursor: None,
            offset: None,
            with_count: true,
            deleted: false,
        }
    }
}

/// Largest page.
pub const MAX_PAGE: u32 = 500;
/// Counting stops here; beyond it the count is "at least".
pub const COUNT_CAP: i64 = 10_000;

/// One page of a list.
#[derive(Clone, Debug)]
pub struct Page {
    pub items: Vec<Record>,
    pub next_cursor: Option<String>,
    pub count: Option<i64>,
    /// False when the count reached [`COUNT_CAP`] and stopped.
    pub count_exact: bool,
}

/// One change in a record's history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub id: i64,
    pub record_id: i64,
    pub action: String,
    pub version: i64,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub at: String,
    /// `[{"field","old","new"}]`
    pub changes: Json,
}

/// One global search result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchHit {
    pub module: String,
    pub id: i64,
    pub label: String,
}
