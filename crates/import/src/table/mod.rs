//! Reading an uploaded file into rows of text.
//!
//! [`open_csv`] streams CSV/TSV in any common encoding: it sniffs at most the first
//! 64 KiB to pick the encoding and the delimiter, then decodes and parses the rest as it
//! goes, so memory stays flat however many rows the file has. [`open_xlsx`] reads the
//! first sheet of a spreadsheet. [`open_file`] picks one of the two by the file's magic
//! bytes. Both give a [`Table`]: the detected facts, the header row and an iterator of
//! [`TableRow`]s in which a bad row is an `Err` and reading goes on with the next row.

mod csv;
mod decode;
mod xlsx;

use std::fmt;
use std::io::Read;
use std::path::Path;

pub use self::csv::open_csv;
pub use self::xlsx::open_xlsx;

/// Encodings a user can force; `Auto` detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodingChoice {
    /// Detect from the BOM and the first 64 KiB.
    #[default]
    Auto,
    /// UTF-8, with or without a BOM.
    Utf8,
    /// GB18030, which is a superset of GBK and GB2312.
    Gb18030,
    /// UTF-16; the byte order comes from the BOM (little-endian without one, unless
    /// the bytes clearly say big-endian).
    Utf16,
}

impl EncodingChoice {
    /// Parses a user's choice: `auto`, `utf-8`/`utf8`, `gb18030`/`gbk`/`gb2312`,
    /// `utf-16`/`utf16`/`utf-16le`/`utf-16be`, case-insensitive. The labels that
    /// [`Table::encoding`] reports (`UTF-8 (BOM)`, `GBK`, `UTF-16LE`, …) parse too, so a
    /// detected encoding can be sent back as a forced one.
    pub fn parse(s: &str) -> Option<EncodingChoice> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_suffix("(bom)").unwrap_or(&s).trim();
        match s {
            "auto" | "" => Some(EncodingChoice::Auto),
            "utf-8" | "utf8" => Some(EncodingChoice::Utf8),
            "gb18030" | "gbk" | "gb2312" | "cp936" => Some(EncodingChoice::Gb18030),
            "utf-16" | "utf16" | "utf-16le" | "utf-16be" | "utf16le" | "utf16be" => Some(EncodingChoice::Utf16),
            _ => None,
        }
    }

    /// The canonical spelling accepted by [`EncodingChoice::parse`].
    pub fn as_str(self) -> &'static str {
        match self {
            EncodingChoice::Auto => "auto",
            EncodingChoice::Utf8 => "utf-8",
            EncodingChoice::Gb18030 => "gb18030",
            EncodingChoice::Utf16 => "utf-16",
        }
    }
}

/// Reading limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A row (or the header) with more cells than this is a
    /// [`TableError::TooManyColumns`]. Default 1000.
    pub max_columns: usize,
    /// A cell with more characters (not bytes) than this is a
    /// [`TableError::CellTooLong`]. Default 65 536.
    pub max_cell_chars: usize,
    /// Stop after this many data rows (failed rows count). `None` reads to the end.
    pub max_rows: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_columns: 1000,
            max_cell_chars: 65_536,
            max_rows: None,
        }
    }
}

/// What went wrong reading the file. `Display` is the English message;
/// [`TableError::message_zh`] gives the Chinese one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The file has 0 bytes.
    #[error("The file is empty (0 bytes).")]
    Empty,
    /// The file is not text (NUL bytes or mostly control characters).
    #[error(
        "The file is not a text CSV/TSV file: it contains binary data. Save it as CSV (UTF-8) or XLSX and upload it again."
    )]
    Binary,
    /// Nothing but a BOM, whitespace or blank lines: there is no header row.
    #[error("The file has no header row: it contains only blank lines.")]
    NoHeader,
    /// Bytes that are not valid in the file's (declared or detected) encoding.
    #[error(
        "Line {line}: the text is not valid {encoding}. Choose the file's real encoding (for example GBK) and try again."
    )]
    InvalidEncoding { encoding: String, line: u64 },
    /// A row with more cells than [`Limits::max_columns`].
    #[error("Line {line}: {count} columns, more than the limit of {max}.")]
    TooManyColumns { line: u64, count: usize, max: usize },
    /// A cell longer than [`Limits::max_cell_chars`]; `column` is 1-based.
    #[error("Line {line}, column {column}: the cell is longer than {max} characters.")]
    CellTooLong { line: u64, column: usize, max: usize },
    /// The CSV parser failed.
    #[error("Line {line}: invalid CSV: {message}")]
    Csv { line: u64, message: String },
    /// The spreadsheet could not be opened or read.
    #[error("Cannot read the spreadsheet: {0}")]
    Xlsx(String),
    /// Reading the file failed.
    #[error("Cannot read the file: {0}")]
    Io(String),
}

impl TableError {
    /// The message in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            TableError::Empty => "文件是空的（0 字节）。".to_string(),
            TableError::Binary => {
                "文件不是文本格式的 CSV/TSV：其中含有二进制数据。请另存为 CSV（UTF-8）或 XLSX 后重新上传。".to_string()
            }
            TableError::NoHeader => "文件没有标题行：只有空行。".to_string(),
            TableError::InvalidEncoding { encoding, line } => {
                format!("第 {line} 行：内容不是有效的 {encoding} 编码。请选择文件的实际编码（例如 GBK）后重试。")
            }
            TableError::TooManyColumns { line, count, max } => {
                format!("第 {line} 行：共 {count} 列，超过上限 {max} 列。")
            }
            TableError::CellTooLong { line, column, max } => {
                format!("第 {line} 行第 {column} 列：单元格超过 {max} 个字符。")
            }
            TableError::Csv { line, message } => format!("第 {line} 行：CSV 格式错误：{message}"),
            TableError::Xlsx(message) => format!("无法读取电子表格：{message}"),
            TableError::Io(message) => format!("无法读取文件：{message}"),
        }
    }

    /// The line the error is about, if it is about one.
    pub fn line(&self) -> Option<u64> {
        match self {
            TableError::InvalidEncoding { line, .. }
            | TableError::TooManyColumns { line, .. }
            | TableError::CellTooLong { line, .. }
            | TableError::Csv { line, .. } => Some(*line),
            _ => None,
        }
    }
}

impl From<std::io::Error> for TableError {
    fn from(e: std::io::Error) -> Self {
        TableError::Io(e.to_string())
    }
}

/// One data row. Rows compare by line and cells.
#[derive(Debug, Clone, Default, Eq)]
pub struct TableRow {
    /// 1-based line in the file where the record starts (the header is line 1 unless
    /// blank lines precede it; for XLSX, the sheet's row number).
    pub line: u64,
    /// The cells, untrimmed. Rows shorter than the header are padded with `""`; longer
    /// rows keep their extra cells.
    pub cells: Vec<String>,
    /// The indexes of the cells that were numbers in a spreadsheet (never in CSV): only
    /// these may be Excel serial dates whatever their value.
    pub number_cells: Vec<usize>,
}

impl PartialEq for TableRow {
    fn eq(&self, other: &Self) -> bool {
        self.line == other.line && self.cells == other.cells
    }
}

/// An opened table: detected facts and a streaming row iterator.
pub struct Table {
    /// `"UTF-8"`, `"UTF-8 (BOM)"`, `"GBK"`, `"GB18030"`, `"UTF-16LE"`, `"UTF-16BE"`,
    /// another WHATWG name chardetng guessed (e.g. `"Big5"`, `"windows-1252"`), or
    /// `"XLSX"` for spreadsheets.
    pub encoding: String,
    /// `,`, `;` or `\t`; `None` for spreadsheets.
    pub delimiter: Option<char>,
    /// Header names, trimmed; empty ones become `column N` (1-based). Never has a BOM.
    pub headers: Vec<String>,
    rows: RowSource,
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("encoding", &self.encoding)
            .field("delimiter", &self.delimiter)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// The data rows, read lazily. A row that breaks a limit or has invalid bytes is an
    /// `Err` and the next call goes on with the following row; after an I/O error the
    /// iterator ends. Blank rows (every cell empty or whitespace) are skipped.
    pub fn rows(&mut self) -> Rows<'_> {
        Rows { source: &mut self.rows }
    }

    /// Like [`Table::rows`], but owning the table (e.g. to move into a blocking task).
    pub fn into_rows(self) -> IntoRows {
        IntoRows { source: self.rows }
    }
}

/// Iterator returned by [`Table::rows`].
pub struct Rows<'a> {
    source: &'a mut RowSource,
}

impl Iterator for Rows<'_> {
    type Item = Result<TableRow, TableError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.source.next_row()
    }
}

/// Iterator returned by [`Table::into_rows`].
pub struct IntoRows {
    source: RowSource,
}

impl Iterator for IntoRows {
    type Item = Result<TableRow, TableError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.source.next_row()
    }
}

enum RowSource {
    Csv(Box<self::csv::CsvRows>),
    Xlsx(self::xlsx::XlsxRows),
}

impl RowSource {
    fn next_row(&mut self) -> Option<Result<TableRow, TableError>> {
        match self {
            RowSource::Csv(rows) => rows.next_row(),
            RowSource::Xlsx(rows) => rows.next_row(),
        }
    }
}

/// Opens a CSV/TSV or spreadsheet file, chosen by its first bytes: `PK\x03\x04` (zip:
/// XLSX, XLSB, ODS) and `D0 CF 11 E0` (legacy XLS) go to the spreadsheet reader, the rest
/// to [`open_csv`]. The contents decide, not the file name's extension: a CSV saved
/// as `.xlsx` still opens, and an XLSX renamed to `.csv` opens as a spreadsheet.
pub fn open_file(path: &Path, encoding: EncodingChoice, limits: Limits) -> Result<Table, TableError> {
    let mut file = std::fs::File::open(path)?;
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let magic = &magic[..got];
    if xlsx::is_spreadsheet_magic(magic) {
        let mut bytes = magic.to_vec();
        file.read_to_end(&mut bytes)?;
        return open_xlsx(bytes, limits);
    }
    let head = std::io::Cursor::new(magic.to_vec());
    open_csv(head.chain(file), encoding, limits)
}

/// Header cells: trimmed, BOM-free, empty ones named `column N`.
fn normalize_headers(cells: Vec<String>) -> Vec<String> {
    cells
        .into_iter()
        .enumerate()
        .map(|(i, cell)| {
            let name = cell.trim().trim_start_matches('\u{feff}').trim();
            if name.is_empty() {
                format!("column {}", i + 1)
            } else {
                name.to_string()
            }
        })
        .collect()
}

/// True when every cell is empty or whitespace.
fn is_blank<S: AsRef<str>>(cells: &[S]) -> bool {
    cells.iter().all(|c| c.as_ref().trim().is_empty())
}

/// The per-cell length check shared by both readers.
fn check_cell_len(cell: &str, line: u64, index: usize, limits: &Limits) -> Result<(), TableError> {
    // A cell has at least as many bytes as characters: count only when it may be too long.
    if cell.len() > limits.max_cell_chars && cell.chars().count() > limits.max_cell_chars {
        return Err(TableError::CellTooLong {
            line,
            column: index + 1,
            max: limits.max_cell_chars,
        });
    }
    Ok(())
}

fn check_columns(count: usize, line: u64, limits: &Limits) -> Result<(), TableError> {
    if count > limits.max_columns {
        return Err(TableError::TooManyColumns {
            line,
            count,
            max: limits.max_columns,
        });
    }
    Ok(())
}
