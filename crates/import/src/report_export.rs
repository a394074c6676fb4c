//! A report's answer as a file: CSV in UTF-8 with a BOM (what Excel on Chinese Windows
//! opens correctly) or XLSX. Headings are the column labels, group and field cells their
//! display text, aggregates numbers (real number cells in XLSX), and a last row of totals
//! when the answer has them.

use rust_xlsxwriter::Workbook;
use sable_core::Lang;
use sable_core::report::ReportResult;
use serde_json::Value as Json;

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing the report file: {0}")]
pub struct ReportExportError(String);

fn err(e: impl std::fmt::Display) -> ReportExportError {
    ReportExportError(e.to_string())
}

/// A cell: a number stays a number; anything else is text.
enum Cell {
    Text(String),
    Number(f64),
}

fn raw_text(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn cells(result: &ReportResult, lang: Lang) -> Vec<Vec<Cell>> {
    let mut out = Vec::with_capacity(result.rows.len() + 2);
    out.push(result.columns.iter().map(|c| Cell::Text(c.label.clone())).collect());
    for (i, row) in result.rows.iter().enumerate() {
        let labels = result.labels.get(i);
        out.push(
            row.iter()
                .enumerate()
                .map(|(j, v)| match labels.and_then(|l| l.get(j)).cloned().flatten() {
                    Some(text) => Cell::Text(text),
                    None => match v.as_f64() {
                        Some(n) => Cell::Number(n),
                        None => Cell::Text(raw_text(v)),
                    },
                })
                .collect(),
        );
    }
    if let Some(totals) = &result.totals {
        let mut row: Vec<Cell> = totals
            .iter()
            .map(|v| match v.as_f64() {
                Some(n) => Cell::Number(n),
                None => Cell::Text(raw_text(v)),
            })
            .collect();
        if let Some(first) = row.first_mut()
            && matches!(first, Cell::Text(t) if t.is_empty())
        {
            *first = Cell::Text(match lang {
                Lang::En => "Total".into(),
                Lang::Zh => "合计".into(),
            });
        }
        out.push(row);
    }
    out
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        // Whole numbers without a trailing `.0`.
        return format!("{}", n as i64);
    }
    serde_json::Number::from_f64(n).map_or_else(String::new, |n| n.to_string())
}

/// The answer as CSV, UTF-8 with a BOM, CRLF line ends.
pub fn to_csv(result: &ReportResult, lang: Lang) -> Result<Vec<u8>, ReportExportError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    for row in cells(result, lang) {
        let texts: Vec<String> = row
            .into_iter()
            .map(|c| match c {
                Cell::Text(t) => t,
                Cell::Number(n) => number_text(n),
            })
            .collect();
        w.write_record(&texts).map_err(err)?;
    }
    w.into_inner().map_err(err)
}

/// The answer as an XLSX workbook with one sheet.
pub fn to_xlsx(result: &ReportResult, lang: Lang) -> Result<Vec<u8>, ReportExportError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, row) in cells(result, lang).into_iter().enumerate() {
        let r = u32::try_from(r).map_err(err)?;
        for (c, cell) in row.into_iter().enumerate() {
            let c = u16::try_from(c).map_err(err)?;
            match cell {
                Cell::Text(t) => sheet.write_string(r, c, t).map_err(err)?,
                Cell::Number(n) => sheet.write_number(r, c, n).map_err(err)?,
            };
        }
    }
    workbook.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result() -> ReportResult {
        serde_json::from_value(json!({
            "columns": [
                {"key": "sales_stage", "label": "阶段", "kind": "group"},
                {"key": "sum(amount)", "label": "金额合计", "kind": "aggregate"}
            ],
            "rows": [["Closed Won", 3300.5], ["Proposal, \"A\"", 0]],
            "labels": [["赢单", null], ["方案, \"A\"", null]],
            "totals": [null, 3300.5],
            "truncated": false
        }))
        .unwrap()
    }

    #[test]
    fn csv_has_bom_labels_numbers_and_totals() {
        let bytes = to_csv(&result(), Lang::Zh).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "阶段,金额合计\r\n赢单,3300.5\r\n\"方案, \"\"A\"\"\",0\r\n合计,3300.5\r\n"
        );
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = to_xlsx(&result(), Lang::En).unwrap();
        assert!(bytes.starts_with(b"PK"));
    }
}
