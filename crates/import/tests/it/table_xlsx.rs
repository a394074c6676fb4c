//! XLSX reading on workbooks written here with rust_xlsxwriter.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use sable_import::table::{EncodingChoice, Limits, TableError, TableRow, open_file, open_xlsx};

use crate::util::*;

fn sample_workbook() -> Vec<u8> {
    let mut workbook = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let time = Format::new().set_num_format("hh:mm");
    let sheet = workbook.add_worksheet();
    sheet.set_name("客户").unwrap();
    let headers = ["客户名称", "金额", "签约日期", "创建时间", "手机", "折扣", " 备注 "];
    for (col, h) in headers.iter().enumerate() {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    // Row 2 in the sheet.
    sheet.write_string(1, 0, "星辰科技").unwrap();
    sheet.write_number(1, 1, 12000).unwrap();
    sheet
        .write_datetime_with_format(1, 2, ExcelDateTime::from_ymd(2024, 3, 17).unwrap(), &date)
        .unwrap();
    sheet
        .write_datetime_with_format(
            1,
            3,
            ExcelDateTime::from_ymd(2024, 3, 17)
                .unwrap()
                .and_hms(1, 42, 37)
                .unwrap(),
            &datetime,
        )
        .unwrap();
    sheet.write_number(1, 4, 13_800_138_000.0).unwrap();
    sheet.write_number(1, 5, 0.15).unwrap();
    sheet.write_string(1, 6, "多行\n备注").unwrap();
    // Row 3 is blank, row 4 partly filled.
    sheet.write_string(3, 0, "海洋电子").unwrap();
    sheet.write_number(3, 1, 3.5).unwrap();
    sheet
        .write_datetime_with_format(3, 3, ExcelDateTime::from_hms(13, 30, 0).unwrap(), &time)
        .unwrap();
    sheet.write_number(3, 4, -42).unwrap();
    sheet.write_boolean(3, 5, true).unwrap();
    // Row 5: only a name. Row 6: a cell past the last header.
    sheet.write_string(4, 0, "只有名称").unwrap();
    sheet.write_string(5, 0, "多一列").unwrap();
    sheet.write_string(5, 8, "extra").unwrap();
    // A second sheet is ignored.
    let other = workbook.add_worksheet();
    other.write_string(0, 0, "ignored").unwrap();
    workbook.save_to_buffer().unwrap()
}

fn expected_rows() -> Vec<TableRow> {
    let row = |line: u64, cells: &[&str]| TableRow {
        line,
        cells: cells.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    };
    vec![
        row(
            2,
            &[
                "星辰科技",
                "12000",
                "2024-03-17",
                "2024-03-17 01:42:37",
                "13800138000",
                "0.15",
                "多行\n备注",
            ],
        ),
        row(4, &["海洋电子", "3.5", "", "13:30:00", "-42", "TRUE", ""]),
        row(5, &["只有名称", "", "", "", "", "", ""]),
        row(6, &["多一列", "", "", "", "", "", "", "", "extra"]),
    ]
}

const HEADERS: [&str; 7] = ["客户名称", "金额", "签约日期", "创建时间", "手机", "折扣", "备注"];

#[test]
fn reads_the_first_sheet() {
    let mut table = open_xlsx(sample_workbook(), Limits::default()).unwrap();
    assert_eq!(table.encoding, "XLSX");
    assert_eq!(table.delimiter, None);
    assert_eq!(table.headers, HEADERS);
    assert_eq!(ok_rows(&mut table), expected_rows());
}

#[test]
fn open_file_picks_xlsx_by_magic() {
    let dir = TempDir::new("xlsx");
    for name in ["leads.xlsx", "leads.csv", "leads"] {
        let path = dir.write(name, &sample_workbook());
        for choice in [EncodingChoice::Auto, EncodingChoice::Gb18030] {
            let mut table = open_file(&path, choice, Limits::default()).unwrap();
            assert_eq!(table.encoding, "XLSX", "{name}");
            assert_eq!(table.headers, HEADERS);
            assert_eq!(ok_rows(&mut table), expected_rows());
        }
    }
}

#[test]
fn header_below_blank_rows() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(2, 1, "name").unwrap();
    sheet.write_string(2, 2, "").unwrap();
    sheet.write_string(2, 3, "city").unwrap();
    sheet.write_string(3, 1, "Alice").unwrap();
    sheet.write_string(3, 3, "Paris").unwrap();
    let mut table = open_xlsx(workbook.save_to_buffer().unwrap(), Limits::default()).unwrap();
    assert_eq!(table.headers, ["name", "column 2", "city"]);
    assert_eq!(
        ok_rows(&mut table),
        vec![TableRow {
            line: 4,
            cells: vec!["Alice".into(), "".into(), "Paris".into()],
            ..Default::default()
        }]
    );
}

#[test]
fn limits_apply_per_row() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for col in 0..3 {
        sheet.write_string(0, col, format!("h{col}")).unwrap();
    }
    for col in 0..5 {
        sheet.write_string(1, col, "x").unwrap();
    }
    sheet.write_string(2, 1, "x".repeat(50)).unwrap();
    sheet.write_string(3, 0, "ok").unwrap();
    sheet.write_string(4, 0, "cut").unwrap();
    let limits = Limits {
        max_columns: 4,
        max_cell_chars: 10,
        max_rows: Some(3),
    };
    let mut table = open_xlsx(workbook.save_to_buffer().unwrap(), limits).unwrap();
    assert_eq!(
        all_rows(&mut table),
        vec![
            Err(TableError::TooManyColumns {
                line: 2,
                count: 5,
                max: 4
            }),
            Err(TableError::CellTooLong {
                line: 3,
                column: 2,
                max: 10
            }),
            Ok(TableRow {
                line: 4,
                cells: vec!["ok".into(), "".into(), "".into()],
                ..Default::default()
            }),
        ]
    );
}

#[test]
fn empty_and_broken_workbooks() {
    let mut workbook = Workbook::new();
    workbook.add_worksheet();
    assert_eq!(
        open_xlsx(workbook.save_to_buffer().unwrap(), Limits::default()).unwrap_err(),
        TableError::NoHeader
    );
    assert_eq!(open_xlsx(Vec::new(), Limits::default()).unwrap_err(), TableError::Empty);
    assert!(matches!(
        open_xlsx(b"name,city\n".to_vec(), Limits::default()),
        Err(TableError::Xlsx(_))
    ));
    let mut truncated = sample_workbook();
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(
        open_xlsx(truncated.clone(), Limits::default()),
        Err(TableError::Xlsx(_))
    ));
    let dir = TempDir::new("xlsx-broken");
    let path = dir.write("broken.xlsx", &truncated);
    assert!(matches!(
        open_file(&path, EncodingChoice::Auto, Limits::default()),
        Err(TableError::Xlsx(_))
    ));
}
