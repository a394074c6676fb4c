//! CSV/TSV: delimiter detection and the streaming row reader.

use std::io::{Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use ::csv::{ByteRecord, ReaderBuilder, Terminator};
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::decode::{self, Decoding};
use super::{
    EncodingChoice, Limits, RowSource, Table, TableError, TableRow, check_cell_len, check_columns, normalize_headers,
};

type Input = Box<dyn Read + Send>;

/// Opens CSV/TSV from any reader, streaming.
///
/// The first 64 KiB at most are sniffed to choose the encoding (BOM, then valid UTF-8,
/// then chardetng; see [`EncodingChoice`]) and the delimiter (`,`, `;` or tab), and are
/// then read again in front of the rest of the stream. Errors here are about the file as
/// a whole or its header row ([`TableError::Empty`], [`TableError::Binary`],
/// [`TableError::NoHeader`], or a header that breaks a limit); errors about data rows
/// come from [`Table::rows`].
pub fn open_csv(
    reader: impl Read + Send + 'static,
    encoding: EncodingChoice,
    limits: Limits,
) -> Result<Table, TableError> {
    let mut reader = reader;
    let (sniff, eof) = decode::read_sniff(&mut reader)?;
    let detected = decode::detect(&sniff, eof, encoding)?;
    let delimiter = detect_delimiter(&detected.text, eof);

    let mut head = Cursor::new(sniff);
    head.set_position(detected.bom_len as u64);
    let raw: Input = Box::new(head.chain(reader));
    let utf8: Input = match detected.decoding {
        Decoding::Utf8 => raw,
        Decoding::Transcode(enc) => Box::new(DecodeReaderBytesBuilder::new().encoding(Some(enc)).build(raw)),
    };
    let utf8: Input = if detected.cr_only { Box::new(CrToLf(utf8)) } else { utf8 };
    let record_cap = RECORD_BYTES_CAP.max(limits.max_cell_chars.saturating_mul(8)) as u64;
    let stream = Arc::new(StreamState {
        limit: AtomicU64::new(record_cap + READ_AHEAD),
        read: AtomicU64::new(0),
        last: AtomicU8::new(b'\n'),
        exhausted: AtomicBool::new(false),
    });
    let guarded = Guard {
        inner: utf8,
        state: stream.clone(),
    };
    // Records end at LF only (a CR before it is cut off the last cell), and one more LF
    // at the end makes every record end in one: so the line a record starts on is the
    // reader's line count after it, minus the line breaks inside it, minus one.
    let input: Input = Box::new(guarded.chain(&b"\n"[..]));
    let reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter as u8)
        .terminator(Terminator::Any(b'\n'))
        .quoting(true)
        .double_quote(true)
        .buffer_capacity(READ_AHEAD as usize)
        .from_reader(input);
    let mut rows = CsvRows {
        reader,
        record: ByteRecord::new(),
        encoding: detected.label.clone(),
        limits,
        header_len: 0,
        emitted: 0,
        done: false,
        stream,
        record_cap,
        strip_lf: false,
        last_line: 0,
    };
    let header = match rows.next_record() {
        None => return Err(TableError::NoHeader),
        Some(header) => header?,
    };
    let headers = normalize_headers(header.cells);
    rows.header_len = headers.len();
    Ok(Table {
        encoding: detected.label,
        delimiter: Some(delimiter),
        headers,
        rows: RowSource::Csv(Box::new(rows)),
    })
}

/// The streaming state behind [`Table::rows`] for CSV.
pub(super) struct CsvRows {
    reader: ::csv::Reader<Input>,
    record: ByteRecord,
    encoding: String,
    limits: Limits,
    header_len: usize,
    emitted: usize,
    done: bool,
    /// Shared with the [`Guard`].
    stream: Arc<StreamState>,
    record_cap: u64,
    /// The record swallowed the LF added at the end (a quote left open at the end of the
    /// file): take it off the last cell.
    strip_lf: bool,
    /// The line the previous record started on: the next one starts at least one later.
    last_line: u64,
}

/// The CSV parser's buffer.
const READ_AHEAD: u64 = 64 * 1024;

/// The parser keeps a whole record in memory, so an unclosed quote would pull in the
/// rest of the file. A record may take at most this many bytes (or 8 bytes per allowed
/// cell character, if that is more).
const RECORD_BYTES_CAP: usize = 16 * 1024 * 1024;

impl CsvRows {
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

    /// The next non-blank record, not padded.
    fn next_record(&mut self) -> Option<Result<TableRow, TableError>> {
        loop {
            if self.done {
                return None;
            }
            let start = self.reader.position().clone();
            self.stream
                .limit
                .store(start.byte() + self.record_cap + READ_AHEAD, Ordering::Relaxed);
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    let line = self.reader.position().line();
                    return Some(Err(match e.into_kind() {
                        ::csv::ErrorKind::Io(e) if e.get_ref().is_some_and(|e| e.is::<RecordTooLong>()) => {
                            self.done = true;
                            TableError::Csv {
                                line: start.line(),
                                message: format!(
                                    "the record is longer than {} MiB; a quote (\") is probably not closed",
                                    self.record_cap / (1024 * 1024)
                                ),
                            }
                        }
                        ::csv::ErrorKind::Io(e) => {
                            self.done = true;
                            TableError::Io(e.to_string())
                        }
                        other => TableError::Csv {
                            line,
                            message: format!("{other:?}"),
                        },
                    }));
                }
            }
            self.strip_lf = self.swallowed_final_lf();
            let breaks: u64 = (0..self.record.len()).map(|i| count_lf(self.field(i))).sum();
            // A quote left open by the file's last `""` cannot be told from one closed by it,
            // so the added LF may count as a break inside the cell: every record starts at
            // least one line after the previous one, whatever that count says.
            let line = self
                .reader
                .position()
                .line()
                .saturating_sub(1 + breaks)
                .max(self.last_line + 1);
            self.last_line = line;
            if self.is_blank() {
                continue;
            }
            return Some(self.convert(line));
        }
    }

    /// Whether the record just read ran to the end of the input with a quote still open,
    /// so that the LF added after the file ended up in its last cell. That is the case
    /// when the record consumed the added LF and its last cell ends in LF, unless the
    /// file itself ends in a quote or CR (then the added LF ended the record after a
    /// quoted cell that ends in a line break).
    fn swallowed_final_lf(&self) -> bool {
        let stream = &self.stream;
        stream.exhausted.load(Ordering::Relaxed)
            && self.reader.position().byte() == stream.read.load(Ordering::Relaxed) + 1
            && !matches!(stream.last.load(Ordering::Relaxed), b'"' | b'\r')
            && self
                .record
                .len()
                .checked_sub(1)
                .and_then(|last| self.record.get(last))
                .is_some_and(|cell| cell.ends_with(b"\n"))
    }

    /// Field `i`, without the CR of a CRLF line end (or the added LF, see
    /// [`CsvRows::swallowed_final_lf`]) on the last field.
    fn field(&self, i: usize) -> &[u8] {
        let f = &self.record[i];
        if i + 1 != self.record.len() {
            f
        } else if self.strip_lf {
            f.strip_suffix(b"\n").unwrap_or(f)
        } else {
            f.strip_suffix(b"\r").unwrap_or(f)
        }
    }

    fn is_blank(&self) -> bool {
        (0..self.record.len()).all(|i| std::str::from_utf8(self.field(i)).is_ok_and(|s| s.trim().is_empty()))
    }

    fn convert(&self, line: u64) -> Result<TableRow, TableError> {
        let count = self.record.len();
        check_columns(count, line, &self.limits)?;
        let mut cells = Vec::with_capacity(count.max(self.header_len));
        let mut breaks_before = 0;
        for i in 0..count {
            let bytes = self.field(i);
            let cell = std::str::from_utf8(bytes).map_err(|e| TableError::InvalidEncoding {
                encoding: self.encoding.clone(),
                line: line + breaks_before + count_lf(&bytes[..e.valid_up_to()]),
            })?;
            check_cell_len(cell, line, i, &self.limits)?;
            breaks_before += count_lf(bytes);
            cells.push(cell.to_owned());
        }
        Ok(TableRow {
            line,
            cells,
            number_cells: Vec::new(),
        })
    }
}

fn count_lf(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Watches the decoded stream: fails reads past `limit` (which [`CsvRows`] moves
/// forward before each record) and records where and how the stream ended.
struct Guard {
    inner: Input,
    state: Arc<StreamState>,
}

struct StreamState {
    limit: AtomicU64,
    read: AtomicU64,
    last: AtomicU8,
    exhausted: AtomicBool,
}

#[derive(Debug)]
struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("record too long")
    }
}

impl std::error::Error for RecordTooLong {}

impl Read for Guard {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let state = &self.state;
        if state.read.load(Ordering::Relaxed) > state.limit.load(Ordering::Relaxed) {
            return Err(std::io::Error::other(RecordTooLong));
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            if !buf.is_empty() {
                state.exhausted.store(true, Ordering::Relaxed);
            }
        } else {
            state.read.fetch_add(n as u64, Ordering::Relaxed);
            state.last.store(buf[n - 1], Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Turns every CR into LF, for files whose lines end in a lone CR.
struct CrToLf(Input);

impl Read for CrToLf {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        for b in &mut buf[..n] {
            if *b == b'\r' {
                *b = b'\n';
            }
        }
        Ok(n)
    }
}

/// Picks `,`, `;` or tab from the first records of `text`: delimiters are counted
/// outside quotes; a candidate must occur in the header row; the one whose count in the
/// header matches most other records (at least 80 %) and occurs most often wins.
/// `complete` says `text` is the whole file (else its last, cut-off record is ignored).
/// Comma when nothing fits.
pub(super) fn detect_delimiter(text: &str, complete: bool) -> char {
    let mut best: Option<((bool, usize, usize), char)> = None;
    for delim in [',', ';', '\t'] {
        let counts = field_counts(text, delim, complete, 200);
        let Some(&first) = counts.first() else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == first).count();
        let key = (consistent * 10 >= counts.len() * 8, first, consistent);
        if best.is_none_or(|(k, _)| key > k) {
            best = Some((key, delim));
        }
    }
    best.map_or(',', |(_, delim)| delim)
}

/// For each non-blank record (up to `max`), how many times `delim` occurs outside quotes.
fn field_counts(text: &str, delim: char, complete: bool, max: usize) -> Vec<usize> {
    let mut counts = Vec::new();
    let (mut count, mut at_start, mut in_quotes, mut content) = (0, true, false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                } else {
                    in_quotes = false;
                }
            }
            continue;
        }
        if c == delim {
            count += 1;
            at_start = true;
            content = true;
        } else if c == '\n' || c == '\r' {
            if c == '\r' && chars.peek() == Some(&'\n') {
                continue;
            }
            if content {
                counts.push(count);
                if counts.len() >= max {
                    return counts;
                }
            }
            (count, at_start, content) = (0, true, false);
        } else if c == '"' && at_start {
            in_quotes = true;
            at_start = false;
            content = true;
        } else {
            at_start = false;
            content |= !c.is_whitespace();
        }
    }
    if complete && content {
        counts.push(count);
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::detect_delimiter;

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter("a,b,c\n1,2,3\n", true), ',');
        assert_eq!(detect_delimiter("a;b;c\n1;2,5;3\n", true), ';');
        assert_eq!(detect_delimiter("a\tb\tc\n1\t2, 3\t3\n", true), '\t');
        assert_eq!(detect_delimiter("name\n张三\n", true), ',');
        assert_eq!(detect_delimiter("", true), ',');
        // Delimiters inside quotes (with escaped quotes and line breaks) do not count.
        assert_eq!(
            detect_delimiter("a;b\n\"x,\"\"y\"\",\nz,w\";2\n\"1,2,3\";4\n", true),
            ';'
        );
        // The cut-off last record of a sniff window is ignored.
        assert_eq!(detect_delimiter("a;b\r\n1;2\r\n3,4,5,6,7", false), ';');
        // Lone-CR line ends.
        assert_eq!(detect_delimiter("a\tb\r1\t2\r", true), '\t');
        // Consistency beats frequency in a data row.
        assert_eq!(detect_delimiter("a,b;c\n1,2;3\n4,5;6;7;8;9\n7,8;9\n", true), ',');
    }
}
