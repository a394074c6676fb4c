//! The shared test data sets (`SABLE_SHARED_DATA`, default `../shared/data` next to the
//! workspace). Skipped with a notice when the folder is missing, unless
//! `SABLE_TEST_REQUIRE_ALL=1`.

use std::path::PathBuf;

use sable_import::table::{EncodingChoice, Limits, Table, TableRow, open_file};

use crate::util::*;

fn open_shared(relative: &str) -> Option<(Table, PathBuf)> {
    let path = shared_data()?.join(relative);
    let table =
        open_file(&path, EncodingChoice::Auto, Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some((table, path))
}

/// Reads a shared file, checks its shape, and returns its rows.
fn read(relative: &str, rows: usize, columns: usize, encoding: &str) -> Option<Vec<TableRow>> {
    let (mut table, path) = open_shared(relative)?;
    assert_eq!(table.encoding, encoding, "{relative}");
    assert_eq!(table.delimiter, Some(','), "{relative}");
    assert_eq!(table.headers.len(), columns, "{relative}: {:?}", table.headers);
    assert!(
        table.headers.iter().all(|h| !h.is_empty() && h.trim() == h),
        "{relative}"
    );
    let all = ok_rows(&mut table);
    assert_eq!(all.len(), rows, "{relative}");
    for row in &all {
        assert!(row.cells.len() >= columns, "{relative} line {}", row.line);
    }
    // Line numbers are physical lines: each row's first cell starts its line.
    let bytes = std::fs::read(&path).unwrap();
    let starts: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    for row in &all {
        let first = row.cells[0].as_bytes();
        let at = starts[row.line as usize - 1];
        let line = &bytes[at..];
        let line = line.strip_prefix(b"\"").unwrap_or(line);
        if first.is_ascii() {
            assert!(
                line.starts_with(first),
                "{relative}: line {} does not start with {:?}",
                row.line,
                row.cells[0]
            );
        }
    }
    Some(all)
}

#[test]
fn synthetic_zh_leads_and_slices() {
    let Some(full) = read("synthetic_zh_crm/leads_zh_10000.csv", 10_000, 24, "UTF-8") else {
        return;
    };
    let (bom, _) = open_shared("synthetic_zh_crm/leads_zh_500_utf8_bom.csv").unwrap();
    assert_eq!(bom.headers[0], "lead_no");
    let headers = bom.headers.clone();
    let bom_rows = read("synthetic_zh_crm/leads_zh_500_utf8_bom.csv", 500, 24, "UTF-8 (BOM)").unwrap();
    let gbk_rows = read("synthetic_zh_crm/leads_zh_500_gbk.csv", 500, 24, "GBK").unwrap();
    let (gbk, _) = open_shared("synthetic_zh_crm/leads_zh_500_gbk.csv").unwrap();
    assert_eq!(gbk.headers, headers);
    assert_eq!(bom_rows, full[..500]);
    assert_eq!(gbk_rows, full[..500]);
    // Quoted cells with commas, quotes and line breaks came through.
    assert!(full.iter().any(|r| r.cells[23].contains('\n')));
    assert!(
        full.iter()
            .any(|r| r.cells[23].contains(',') && r.cells[23].contains('"'))
    );
    assert!(full.iter().any(|r| r.cells.iter().any(|c| c.contains('𠮷'))));
    assert_eq!(full[9_999].cells[0], "LEA10000");
}

#[test]
fn synthetic_zh_organizations() {
    if let Some(rows) = read("synthetic_zh_crm/organizations_zh_2000.csv", 2_000, 21, "UTF-8") {
        assert_eq!(rows[0].cells[0], "ACC00001");
        assert_eq!(rows[0].line, 2);
    }
}

#[test]
fn datablist_samples() {
    for (file, columns) in [
        ("customers-10000.csv", 12),
        ("leads-10000.csv", 14),
        ("organizations-10000.csv", 9),
    ] {
        let Some(rows) = read(&format!("datablist_samples/{file}"), 10_000, columns, "UTF-8") else {
            return;
        };
        assert_eq!(rows[0].cells[0], "1");
        assert_eq!(rows[9_999].cells[0], "10000");
    }
}

#[test]
fn maven_sales_pipeline_crlf() {
    let Some(rows) = read("maven_crm_sales_opportunities/sales_pipeline.csv", 8_800, 8, "UTF-8") else {
        return;
    };
    assert!(rows.iter().all(|r| !r.cells.iter().any(|c| c.contains('\r'))));
    // Open deals have empty close_date and close_value.
    assert!(rows.iter().any(|r| r.cells[6].is_empty() && r.cells[7].is_empty()));
    for (file, count, columns) in [
        ("accounts.csv", 85, 7),
        ("products.csv", 7, 3),
        ("sales_teams.csv", 35, 3),
        ("data_dictionary.csv", 21, 3),
    ] {
        read(
            &format!("maven_crm_sales_opportunities/{file}"),
            count,
            columns,
            "UTF-8",
        );
    }
}

#[test]
fn other_shared_csvs() {
    for (file, count, columns) in [
        ("china_admin_divisions/provinces.csv", 31, 2),
        ("china_admin_divisions/cities.csv", 342, 3),
        ("china_admin_divisions/areas.csv", 2_978, 4),
        ("salesforce_apex_recipes/Accounts.csv", 50, 18),
        ("salesforce_apex_recipes/Contacts.csv", 150, 6),
        ("salesforce_apex_recipes/Opportunities.csv", 50, 6),
        ("salesforce_apex_recipes/Campaigns.csv", 15, 3),
    ] {
        if read(file, count, columns, "UTF-8").is_none() {
            return;
        }
    }
}
