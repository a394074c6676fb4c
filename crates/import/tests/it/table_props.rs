//! Property tests: no input panics, and what the csv writer writes reads back.

use proptest::prelude::*;
use sable_import::table::{EncodingChoice, Limits, open_csv, open_xlsx};

fn choice() -> impl Strategy<Value = EncodingChoice> {
    prop_oneof![
        Just(EncodingChoice::Auto),
        Just(EncodingChoice::Utf8),
        Just(EncodingChoice::Gb18030),
        Just(EncodingChoice::Utf16),
    ]
}

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (1usize..6, 1usize..8, proptest::option::of(0usize..5)).prop_map(|(max_columns, max_cell_chars, max_rows)| {
            Limits {
                max_columns,
                max_cell_chars,
                max_rows,
            }
        }),
    ]
}

/// Bytes that are likely to mean something to the reader.
fn csvish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let pieces: Vec<&'static [u8]> = vec![
        b",",
        b";",
        b"\t",
        b"\"",
        b"\"\"",
        b"\r",
        b"\n",
        b"\r\n",
        b"a",
        b" ",
        b"\xEF\xBB\xBF",
        b"\xFF\xFE",
        b"\xFE\xFF",
        b"\x00",
        b"\xE4\xB8\xAD",
        b"\xD6\xD0",
        b"\xFF",
        b"\xC3",
        b"\x80",
        b"\x1A",
        b"PK\x03\x04",
    ];
    proptest::collection::vec(proptest::sample::select(pieces), 0..200).prop_map(|v| v.concat())
}

fn read_everything(bytes: Vec<u8>, choice: EncodingChoice, limits: Limits) {
    if let Ok(mut table) = open_csv(std::io::Cursor::new(bytes), choice, limits) {
        assert!(!table.headers.is_empty());
        let header_len = table.headers.len();
        let mut last_line = 0;
        for row in table.rows().flatten() {
            assert!(row.cells.len() >= header_len);
            assert!(row.line > last_line, "lines go up");
            last_line = row.line;
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        choice in choice(),
        limits in limits(),
    ) {
        read_everything(bytes, choice, limits);
    }

    #[test]
    fn csvish_bytes_never_panic(bytes in csvish_bytes(), choice in choice(), limits in limits()) {
        read_everything(bytes, choice, limits);
    }

    #[test]
    fn arbitrary_bytes_never_panic_as_xlsx(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = bytes;
        bytes.splice(0..0, b"PK\x03\x04".iter().copied());
        if let Ok(mut table) = open_xlsx(bytes, Limits::default()) {
            for _ in table.rows() {}
        }
    }

    #[test]
    fn written_csv_reads_back(
        columns in 1usize..5,
        cells in proptest::collection::vec(cell(), 0..100),
        delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t')],
        crlf in any::<bool>(),
        no_final_line_break in any::<bool>(),
    ) {
        let headers: Vec<String> = (0..columns).map(|i| format!("h{i}")).collect();
        let rows: Vec<Vec<String>> = cells.chunks(columns).map(|c| {
            let mut row = c.to_vec();
            row.resize(columns, String::new());
            row
        }).collect();
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .quote_style(csv::QuoteStyle::Always)
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        writer.write_record(&headers).unwrap();
        for row in &rows {
            writer.write_record(row).unwrap();
        }
        let mut bytes = writer.into_inner().unwrap();
        if no_final_line_break {
            bytes.truncate(bytes.len() - if crlf { 2 } else { 1 });
        }

        let mut table = open_csv(std::io::Cursor::new(bytes), EncodingChoice::Auto, Limits::default()).unwrap();
        prop_assert_eq!(&table.encoding, "UTF-8");
        prop_assert_eq!(&table.headers, &headers);
        if columns > 1 {
            prop_assert_eq!(table.delimiter, Some(delimiter as char));
        }
        // Expected: non-blank rows, each starting after the line breaks before it.
        let mut expected = Vec::new();
        let mut line = 2u64;
        for row in rows {
            let breaks: u64 = row.iter().map(|c| c.matches('\n').count() as u64).sum();
            if !row.iter().all(|c| c.trim().is_empty()) {
                expected.push((line, row));
            }
            line += breaks + 1;
        }
        let got: Vec<(u64, Vec<String>)> = table
            .rows()
            .map(|r| r.map(|r| (r.line, r.cells)))
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(got, expected);
    }
}

/// A cell built from pieces that matter to CSV (no lone CR: a CR right before a line
/// end is indistinguishable from a CRLF line end).
fn cell() -> impl Strategy<Value = String> {
    let pieces = vec![
        "a", "Z", "1", " ", ",", ";", "\t", "\"", "\n", "\r\n", "中", "文", "é", "𠮷", "　",
    ];
    proptest::collection::vec(proptest::sample::select(pieces), 0..6).prop_map(|v| v.concat())
}
