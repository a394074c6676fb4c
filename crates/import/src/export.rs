//! Export: a module's records (those the actor may see, through a filter) to CSV in
//! UTF-8 with BOM (what Excel on Chinese Windows opens correctly), plain UTF-8 or GB18030,
//! or to XLSX. Headers are field labels and picklists their labels in the chosen language,
//! so an exported file imports again unchanged.

use std::collections::HashMap;
use std::io::Write;

use sable_core::meta::{FieldDef, FieldType, ModuleDef};
use sable_core::{Filter, Lang, Registry, Value};
use sable_store::{Actor, Query, SortKey, Store, StoreError};

/// How the CSV text is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExportEncoding {
    #[default]
    Utf8Bom,
    Utf8,
    Gb18030,
}

impl ExportEncoding {
    /// `utf-8-bom`, `utf-8` or `gb18030`.
    pub fn parse(s: &str) -> Option<ExportEncoding> {
        match s.to_ascii_lowercase().as_str() {
            "utf-8-bom" | "utf8-bom" => Some(ExportEncoding::Utf8Bom),
            "utf-8" | "utf8" => Some(ExportEncoding::Utf8),
            "gb18030" | "gbk" => Some(ExportEncoding::Gb18030),
            _ => None,
        }
    }
}

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("writing the file: {0}")]
    Io(String),
}

/// Fields exported: everything but the internal user references; the owner as a name.
pub fn export_fields(module: &ModuleDef) -> Vec<&FieldDef> {
    module
        .fields
        .iter()
        .filter(|f| !matches!(f.name.as_str(), "modifiedby" | "created_user_id"))
        .collect()
}

/// A date-time as the import reads it back: local time in the actor's zone (what a person
/// expects to see in a spreadsheet), with the offset only when that local time occurs twice
/// (a daylight-saving fall-back hour) and would otherwise be ambiguous.
pub fn datetime_cell(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let datetime = tz.to_datetime(t);
    let local = datetime.strftime("%Y-%m-%d %H:%M:%S%.f").to_string();
    if tz.to_ambiguous_timestamp(datetime).unambiguous().is_ok() {
        local
    } else {
        let seconds = tz.to_offset(t).seconds();
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.unsigned_abs() / 60;
        format!("{local}{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

fn cell(
    registry: &Registry,
    field: &FieldDef,
    value: Option<&Value>,
    label: Option<&str>,
    lang: Lang,
    tz: &jiff::tz::TimeZone,
) -> String {
    match (field.field_type, value) {
        (_, None | Some(Value::Null)) => String::new(),
        (FieldType::Picklist, Some(Value::Text(v))) => label_of(registry, field, v, lang),
        (FieldType::Multipicklist, Some(Value::List(items))) => items
            .iter()
            .map(|v| label_of(registry, field, v, lang))
            .collect::<Vec<_>>()
            .join(";"),
        (FieldType::Reference | FieldType::Owner, Some(Value::Id(id))) => {
            label.map_or_else(|| id.to_string(), str::to_string)
        }
        (FieldType::Boolean, Some(Value::Bool(b))) => if *b { "1" } else { "0" }.into(),
        (FieldType::Datetime, Some(Value::DateTime(t))) => datetime_cell(*t, tz),
        (_, Some(v)) => v.to_text(field),
    }
}

/// A reference as the import resolves it back: the target's label when that names one
/// record, else its record number (labels repeat: two organizations may share a name).
async fn reference_cell(
    svc: &sable_store::service::RecordService<'_>,
    registry: &Registry,
    field: &FieldDef,
    id: i64,
    label: &str,
) -> Result<String, ExportError> {
    let mut named = 0;
    for t in &field.targets {
        named += svc.find_by_label_or_number(t, label).await?.len();
    }
    if named == 1 {
        return Ok(label.to_string());
    }
    for t in &field.targets {
        let Ok(target) = registry.module(t) else { continue };
        if target.number_field.is_empty() {
            continue;
        }
        match svc.get(t, id).await {
            Ok(record) => {
                if let (Some(number), Some(def)) = (
                    record.values.get(&target.number_field),
                    target.field(&target.number_field),
                ) {
                    let number = number.to_text(def);
                    if !number.is_empty() {
                        return Ok(number);
                    }
                }
            }
            Err(StoreError::NotFound { .. } | StoreError::Forbidden(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(label.to_string())
}

fn label_of(registry: &Registry, field: &FieldDef, value: &str, lang: Lang) -> String {
    registry
        .picklist_of(field)
        .and_then(|p| p.values.iter().find(|v| v.value == value))
        .map_or_else(|| value.to_string(), |v| v.labels.get(lang).to_string())
}

/// What to export: a filter and, optionally, the columns (field names) of a list view.
#[derive(Clone, Debug)]
pub struct Selection {
    pub filter: Filter,
    pub columns: Option<Vec<String>>,
}

/// Reads every matching record page by page and hands each row of cells to `emit`.
async fn each_row(
    store: &Store,
    actor: &Actor,
    module: &str,
    selection: Selection,
    mut emit: impl FnMut(Vec<String>) -> Result<(), ExportError>,
) -> Result<Vec<String>, ExportError> {
    let registry = store.registry().await.map_err(StoreError::from)?;
    let m = registry.module(module).map_err(StoreError::from)?.clone();
    let fields: Vec<&FieldDef> = match &selection.columns {
        Some(cols) => cols.iter().filter_map(|c| m.field(c)).collect(),
        None => export_fields(&m),
    };
    let filter = selection.filter;
    let headers: Vec<String> = fields.iter().map(|f| f.label(actor.lang()).to_string()).collect();
    emit(headers.clone())?;
    let mut query = Query {
        filter,
        sort: vec![SortKey {
            field: "id".into(),
            desc: false,
        }],
        limit: 500,
        with_count: false,
        ..Query::default()
    };
    let svc = store.records(actor);
    // Reference cells by (field, id): the label, or the record number when the label names
    // several records (the import would refuse to guess).
    let mut references: HashMap<(String, i64), String> = HashMap::new();
    loop {
        let page = svc.query(&m.name, &query).await?;
        for r in &page.items {
            let mut row = Vec::with_capacity(fields.len());
            for f in &fields {
                let label = r.labels.get(&f.name).map(String::as_str);
                if let (FieldType::Reference, Some(Value::Id(id)), Some(label)) =
                    (f.field_type, r.values.get(&f.name), label)
                {
                    let key = (f.name.clone(), *id);
                    if !references.contains_key(&key) {
                        let text = reference_cell(&svc, &registry, f, *id, label).await?;
                        references.insert(key.clone(), text);
                    }
                    row.push(references[&key].clone());
                    continue;
                }
                row.push(cell(
                    &registry,
                    f,
                    r.values.get(&f.name),
                    label,
                    actor.lang(),
                    actor.tz(),
                ));
            }
            emit(row)?;
        }
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    Ok(headers)
}

/// Writes CSV; returns the number of records written.
pub async fn export_csv(
    store: &Store,
    actor: &Actor,
    module: &str,
    selection: Selection,
    encoding: ExportEncoding,
    out: &mut (impl Write + Send),
) -> Result<u64, ExportError> {
    let io = |e: std::io::Error| ExportError::Io(e.to_string());
    if encoding == ExportEncoding::Utf8Bom {
        out.write_all(b"\xEF\xBB\xBF").map_err(io)?;
    }
    let mut count = 0u64;
    each_row(store, actor, module, selection, |row| {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(&row).map_err(|e| ExportError::Io(e.to_string()))?;
        let bytes = w.into_inner().map_err(|e| ExportError::Io(e.to_string()))?;
        match encoding {
            ExportEncoding::Gb18030 => {
                let text = String::from_utf8_lossy(&bytes);
                let (encoded, _, _) = encoding_rs::GB18030.encode(&text);
                out.write_all(&encoded).map_err(io)?;
            }
            _ => out.write_all(&bytes).map_err(io)?,
        }
        count += 1;
        Ok(())
    })
    .await?;
    Ok(count.saturating_sub(1))
}

/// Writes an XLSX workbook with one sheet; returns the number of records written.
pub async fn export_xlsx(
    store: &Store,
    actor: &Actor,
    module: &str,
    selection: Selection,
    out: &mut (impl Write + Send),
) -> Result<u64, ExportError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let mut row_index: u32 = 0;
    each_row(store, actor, module, selection, |row| {
        for (col, text) in row.iter().enumerate() {
            let col = u16::try_from(col).map_err(|_| ExportError::Io("too many columns".into()))?;
            sheet
                .write_string(row_index, col, text)
                .map_err(|e| ExportError::Io(e.to_string()))?;
        }
        row_index += 1;
        Ok(())
    })
    .await?;
    let bytes = workbook.save_to_buffer().map_err(|e| ExportError::Io(e.to_string()))?;
    out.write_all(&bytes).map_err(|e| ExportError::Io(e.to_string()))?;
    Ok(u64::from(row_index.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sable_core::parse::parse_datetime;

    #[test]
    fn datetimes_are_written_in_the_zone_the_import_reads_them_in() {
        let shanghai = jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone");
        let t: jiff::Timestamp = "2024-03-05T02:30:00Z".parse().expect("timestamp");
        assert_eq!(datetime_cell(t, &shanghai), "2024-03-05 10:30:00");
        let precise: jiff::Timestamp = "2024-03-05T02:30:00.125Z".parse().expect("timestamp");
        let new_york = jiff::tz::TimeZone::get("America/New_York").expect("zone");
        // 01:30 happens twice on 2024-11-03 in New York: the offset tells which.
        let fold: jiff::Timestamp = "2024-11-03T05:30:00Z".parse().expect("timestamp");
        assert_eq!(datetime_cell(fold, &new_york), "2024-11-03 01:30:00-04:00");
        for (t, tz) in [(t, &shanghai), (precise, &shanghai), (fold, &new_york), (t, &new_york)] {
            assert_eq!(parse_datetime(&datetime_cell(t, tz), tz), Ok(t), "{t} in {tz:?}");
        }
    }
}
