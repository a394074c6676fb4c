//! Spreadsheets: the first sheet of an XLSX (also XLSM, XLSB, ODS and legacy XLS) file.

use std::io::Cursor;

use calamine::{Data, ExcelDateTime, Ods, Range, Reader, Xls, Xlsb, Xlsx};

use super::{
    Limits, RowSource, Table, TableError, TableRow, check_cell_len, check_columns, is_blank, normalize_headers,
};

/// Zip (XLSX, XLSM, XLSB, ODS) or OLE compound file (legacy XLS).
pub(super) fn is_spreadsheet_magic(magic: &[u8]) -> bool {
    magic.starts_with(b"PK\x03\x04") || magic.starts_with(b"\xD0\xCF\x11\xE0")
}

/// Opens the first sheet of an XLSX file (XLSM, XLSB, ODS and legacy XLS work too).
///
/// The first non-blank row is the header. Cells read as the sheet shows them: whole
/// numbers without `.0`, other numbers with at most 15 significant digits, dates as
/// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`, times as `HH:MM:SS`, booleans as
/// `TRUE`/`FALSE`, errors as `#N/A` etc. Row numbers are the sheet's.
pub fn open_xlsx(bytes: Vec<u8>, limits: Limits) -> Result<Table, TableError> {
    if bytes.is_empty() {
        return Err(TableError::Empty);
    }
    let range = first_sheet(&bytes)?;
    drop(bytes);
    let mut rows = XlsxRows {
        first_row: range.start().map_or(0, |(row, _)| u64::from(row)),
        range,
        next: 0,
        limits,
        header_len: 0,
        emitted: 0,
    };
    let header = match rows.next_record() {
        None => return Err(TableError::NoHeader),
        Some(header) => header?,
    };
    let headers = normalize_headers(header.cells);
    rows.header_len = headers.len();
    Ok(Table {
        encoding: "XLSX".to_string(),
        delimiter: None,
        headers,
        rows: RowSource::Xlsx(rows),
    })
}

fn first_sheet(bytes: &[u8]) -> Result<Range<Data>, TableError> {
    fn first<RS, R>(mut workbook: R) -> Result<Range<Data>, TableError>
    where
        RS: std::io::Read + std::io::Seek,
        R: Reader<RS>,
        R::Error: std::fmt::Display,
    {
        match workbook.worksheet_range_at(0) {
            None => Err(TableError::NoHeader),
            Some(range) => range.map_err(|e| TableError::Xlsx(e.to_string())),
        }
    }
    let cursor = || Cursor::new(bytes);
    if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        return match Xls::new(cursor()) {
            Ok(workbook) => first(workbook),
            Err(e) => Err(TableError::Xlsx(e.to_string())),
        };
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(TableError::Xlsx("not an XLSX file (no zip signature)".to_string()));
    }
    match Xlsx::new(cursor()) {
        Ok(workbook) => first(workbook),
        Err(xlsx_error) => {
            if let Ok(workbook) = Xlsb::new(cursor()) {
                first(workbook)
            } else if let Ok(workbook) = Ods::new(cursor()) {
                first(workbook)
            } else {
                Err(TableError::Xlsx(xlsx_error.to_string()))
            }
        }
    }
}

/// The state behind [`Table::rows`] for spreadsheets.
pub(super) struct XlsxRows {
    range: Range<Data>,
    /// 0-based sheet row of the range's first row.
    first_row: u64,
    /// Next row of the range to read.
    next: usize,
    limits: Limits,
    header_len: usize,
    emitted: usize,
}

impl XlsxRows {
    pub(super) fn next_row(&mut self) -> Option<Result<TableRow, TableError>> {
        if self.limits.max_rows.is_some_and(|max| self.emitted >= max) {
            return None;
        }
        let item = self.next_record()?;
        self.emitted += 1;
        Some(item.map(|mut row| {
            if row.cells.len() < self.header_len {
                row.cells.resize(self.header_len, String::new());
            }
            row
        }))
    }

    /// The next non-blank row, without trailing empty cells, not padded.
    fn next_record(&mut self) -> Option<Result<TableRow, TableError>> {
        loop {
            let index = self.next;
            let row = self.range.rows().nth(index)?;
            self.next += 1;
            let line = self.first_row + index as u64 + 1;
            let used = row.iter().rposition(|c| !is_empty(c)).map_or(0, |i| i + 1);
            let row = &row[..used];
            if row.iter().all(is_empty) {
                continue;
            }
            if let Err(e) = check_columns(row.len(), line, &self.limits) {
                return Some(Err(e));
            }
            let cells: Vec<String> = row.iter().map(render).collect();
            if is_blank(&cells) {
                continue;
            }
            for (i, cell) in cells.iter().enumerate() {
                if let Err(e) = check_cell_len(cell, line, i, &self.limits) {
                    return Some(Err(e));
                }
            }
            let number_cells = row
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, Data::Int(_) | Data::Float(_)))
                .map(|(i, _)| i)
                .collect();
            return Some(Ok(TableRow {
                line,
                cells,
                number_cells,
            }));
        }
    }
}

fn is_empty(cell: &Data) -> bool {
    match cell {
        Data::Empty => true,
        Data::String(s) => s.is_empty(),
        _ => false,
    }
}

/// A cell as the sheet shows it.
pub(super) fn render(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => render_number(*f),
        Data::Bool(true) => "TRUE".to_string(),
        Data::Bool(false) => "FALSE".to_string(),
        Data::DateTime(dt) => render_datetime(dt),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    }
}

/// Whole numbers without `.0`; others rounded to 15 significant digits like Excel.
pub(super) fn render_number(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        return format!("{}", rounded as i64);
    }
    rounded.to_string()
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, `HH:MM:SS` (a time without a date) or
/// `[h]:MM:SS` (a duration), rounded to the second.
pub(super) fn render_datetime(dt: &ExcelDateTime) -> String {
    let serial = dt.as_f64();
    if dt.is_duration() || (0.0..1.0).contains(&serial) {
        let negative = serial < 0.0;
        let total = (serial.abs() * 86_400.0).round() as u64;
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
        if dt.is_duration() {
            let sign = if negative { "-" } else { "" };
            return format!("{sign}{h}:{m:02}:{s:02}");
        }
        if h < 24 {
            return format!("{h:02}:{m:02}:{s:02}");
        }
    }
    let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
    let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (
        i64::from(y),
        i64::from(mo),
        i64::from(d),
        i64::from(h),
        i64::from(mi),
        i64::from(s),
    );
    if ms >= 500 {
        // Carry the rounded-up second; jiff knows the calendar (Excel's fictional
        // 1900-02-29 is left unrounded).
        let carried = i16::try_from(y).ok().and_then(|year| {
            jiff::civil::DateTime::new(year, mo as i8, d as i8, h as i8, mi as i8, s as i8, 0)
                .ok()?
                .checked_add(jiff::SignedDuration::from_secs(1))
                .ok()
        });
        if let Some(c) = carried {
            (y, mo, d, h, mi, s) = (
                i64::from(c.year()),
                i64::from(c.month()),
                i64::from(c.day()),
                i64::from(c.hour()),
                i64::from(c.minute()),
                i64::from(c.second()),
            );
        }
    }
    if h == 0 && mi == 0 && s == 0 {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    #[test]
    fn numbers() {
        assert_eq!(render_number(42.0), "42");
        assert_eq!(render_number(-0.0), "0");
        assert_eq!(render_number(13812345678.0), "13812345678");
        assert_eq!(render_number(1.5), "1.5");
        assert_eq!(render_number(0.1 + 0.2), "0.3");
        assert_eq!(render_number(1234.5678), "1234.5678");
        assert_eq!(render_number(2.9999999999999996), "3");
    }

    fn dt(v: f64) -> String {
        render_datetime(&ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false))
    }

    #[test]
    fn dates() {
        assert_eq!(dt(45943.0), "2025-10-13");
        assert_eq!(dt(45943.5), "2025-10-13 12:00:00");
        // 23:59:59.6 rounds into the next day.
        assert_eq!(dt(45943.0 + 86_399.6 / 86_400.0), "2025-10-14");
        assert_eq!(dt(0.75), "18:00:00");
        assert_eq!(
            render_datetime(&ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false)),
            "36:00:00"
        );
    }
}
