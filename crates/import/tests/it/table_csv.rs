//! CSV/TSV reading on fixtures generated here.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sable_import::table::{EncodingChoice, Limits, TableError, TableRow, open_csv, open_file};

use crate::util::*;

const ZH_CSV: &str = "客户名称,联系人,手机,城市,备注\n\
北京星辰科技有限公司,张伟,13800138000,北京市,重点客户\n\
上海浦东贸易有限公司,李娜,13912345678,上海市,\"客户原话:\"\"先发报价, 下周再谈\"\"\"\n\
广州南方物流集团,王芳,15011112222,广州市,\"第一行\n第二行\"\n\
深圳海洋电子有限公司,欧阳明,18600001111,深圳市,老客户推荐（已联系）\n";

fn zh_expected() -> Vec<Vec<String>> {
    owned(&[
        &["北京星辰科技有限公司", "张伟", "13800138000", "北京市", "重点客户"],
        &[
            "上海浦东贸易有限公司",
            "李娜",
            "13912345678",
            "上海市",
            "客户原话:\"先发报价, 下周再谈\"",
        ],
        &["广州南方物流集团", "王芳", "15011112222", "广州市", "第一行\n第二行"],
        &[
            "深圳海洋电子有限公司",
            "欧阳明",
            "18600001111",
            "深圳市",
            "老客户推荐（已联系）",
        ],
    ])
}

const ZH_HEADERS: [&str; 5] = ["客户名称", "联系人", "手机", "城市", "备注"];

#[test]
fn utf8_without_bom() {
    let mut table = open(ZH_CSV.as_bytes()).unwrap();
    assert_eq!(table.encoding, "UTF-8");
    assert_eq!(table.delimiter, Some(','));
    assert_eq!(table.headers, ZH_HEADERS);
    let rows = ok_rows(&mut table);
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4, 6]);
    assert_eq!(rows.into_iter().map(|r| r.cells).collect::<Vec<_>>(), zh_expected());
}

#[test]
fn utf8_with_bom() {
    let bytes = [&b"\xEF\xBB\xBF"[..], ZH_CSV.as_bytes()].concat();
    let mut table = open(&bytes).unwrap();
    assert_eq!(table.encoding, "UTF-8 (BOM)");
    assert_eq!(table.headers, ZH_HEADERS);
    assert_eq!(table.headers[0], "客户名称", "no BOM in the first header");
    assert_eq!(cells(&mut table), zh_expected());
}

#[test]
fn gbk_is_detected_and_decoded() {
    let bytes = gbk(&ZH_CSV.replace('\n', "\r\n"));
    let mut table = open(&bytes).unwrap();
    assert_eq!(table.encoding, "GBK");
    assert_eq!(table.delimiter, Some(','));
    assert_eq!(table.headers, ZH_HEADERS);
    let mut expected = zh_expected();
    expected[2][4] = "第一行\r\n第二行".to_string();
    let rows = ok_rows(&mut table);
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4, 6]);
    assert_eq!(rows.into_iter().map(|r| r.cells).collect::<Vec<_>>(), expected);
}

#[test]
fn a_few_chinese_names_among_ascii_are_still_gbk_and_western_files_stay_western() {
    // An English export with two Chinese names: little to go on, and GBK all the same.
    let csv = "Last Name,First Name,Email,Mobile\r\nZhang,Wei,wei@example.com,13800138000\r\n王,芳,fang@example.com,13912345678\r\nSmith,Ann,ann@example.com,\r\n";
    let mut table = open(&gbk(csv)).unwrap();
    assert_eq!(table.encoding, "GBK");
    let rows = ok_rows(&mut table);
    assert_eq!(rows[1].cells[0], "王");
    // A French list saved by Excel in windows-1252 is not taken for Chinese.
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(
        "Nom,Prénom,Société,Ville\r\nLefèvre,Hélène,Société Générale,Orléans\r\nDupré,François,Crédit Agricole,Besançon\r\nMüller,Zoë,Café de la Gare,Nîmes\r\n",
    );
    let mut table = open(&bytes).unwrap();
    assert_eq!(table.encoding, "windows-1252");
    assert_eq!(ok_rows(&mut table)[0].cells[1], "Hélène");
}

#[test]
fn gb18030_can_be_forced() {
    // Too little text for a confident guess; the user says what it is.
    let bytes = gbk("姓名,城市\n张三,北京\n");
    let mut table = open_with(&bytes, EncodingChoice::Gb18030, Limits::default()).unwrap();
    assert_eq!(table.encoding, "GB18030");
    assert_eq!(table.headers, ["姓名", "城市"]);
    assert_eq!(cells(&mut table), owned(&[&["张三", "北京"]]));
}

#[test]
fn forced_utf8_on_gbk_reports_the_line() {
    let bytes = gbk("name,city\nzhang,beijing\n张三,北京\nli,shanghai\n");
    let mut table = open_with(&bytes, EncodingChoice::Utf8, Limits::default()).unwrap();
    assert_eq!(table.encoding, "UTF-8");
    let rows = all_rows(&mut table);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].as_ref().unwrap().cells, ["zhang", "beijing"]);
    assert_eq!(
        rows[1],
        Err(TableError::InvalidEncoding {
            encoding: "UTF-8".to_string(),
            line: 3
        })
    );
    assert_eq!(rows[2].as_ref().unwrap().line, 4);
}

#[test]
fn utf16le_and_be_with_bom() {
    let text = ZH_CSV.replace('\n', "\r\n");
    let mut expected = zh_expected();
    expected[2][4] = "第一行\r\n第二行".to_string();
    for (bytes, name) in [
        (utf16le_with_bom(&text), "UTF-16LE"),
        (utf16be_with_bom(&text), "UTF-16BE"),
    ] {
        let mut table = open(&bytes).unwrap();
        assert_eq!(table.encoding, name);
        assert_eq!(table.headers, ZH_HEADERS);
        assert_eq!(cells(&mut table), expected);
        // Forcing UTF-16 (or even another encoding) keeps the BOM's byte order.
        for choice in [EncodingChoice::Utf16, EncodingChoice::Gb18030] {
            let table = open_with(&bytes, choice, Limits::default()).unwrap();
            assert_eq!(table.encoding, name);
        }
    }
}

#[test]
fn utf16le_tab_separated_without_bom() {
    // What Excel's "Unicode Text" looks like, minus the BOM.
    let bytes: Vec<u8> = "name\tcity\r\nAlice\tParis\r\n"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let mut table = open(&bytes).unwrap();
    assert_eq!(table.encoding, "UTF-16LE");
    assert_eq!(table.delimiter, Some('\t'));
    assert_eq!(cells(&mut table), owned(&[&["Alice", "Paris"]]));
}

#[test]
fn semicolon_delimiter() {
    let csv = "Name;Betrag;Ort\nMüller;1,50;\"Köln; Innenstadt\"\nSchmidt;2,75;Berlin\n";
    let mut table = open(csv.as_bytes()).unwrap();
    assert_eq!(table.delimiter, Some(';'));
    assert_eq!(table.headers, ["Name", "Betrag", "Ort"]);
    assert_eq!(
        cells(&mut table),
        owned(&[&["Müller", "1,50", "Köln; Innenstadt"], &["Schmidt", "2,75", "Berlin"]])
    );
}

#[test]
fn tab_delimiter() {
    let tsv = "公司\t地址\t备注\n星辰科技\t北京市朝阳区, 建国路88号\t无\n海洋电子\t深圳市\t\"带\t制表符\"\n";
    let mut table = open(tsv.as_bytes()).unwrap();
    assert_eq!(table.delimiter, Some('\t'));
    assert_eq!(
        cells(&mut table),
        owned(&[
            &["星辰科技", "北京市朝阳区, 建国路88号", "无"],
            &["海洋电子", "深圳市", "带\t制表符"]
        ])
    );
}

#[test]
fn quoted_cells_with_commas_quotes_and_line_breaks() {
    let csv = "id,note,tail\n\
1,\"a, b\",x\n\
2,\"say \"\"hi\"\"\",y\n\
3,\"line one\nline two\n\nline four\",z\n\
4,\"\",\n\
5,plain,\"\"\"quoted\"\"\"\n";
    let mut table = open(csv.as_bytes()).unwrap();
    let rows = ok_rows(&mut table);
    assert_eq!(
        rows,
        vec![
            TableRow {
                line: 2,
                cells: vec!["1".into(), "a, b".into(), "x".into()],
                ..Default::default()
            },
            TableRow {
                line: 3,
                cells: vec!["2".into(), "say \"hi\"".into(), "y".into()],
                ..Default::default()
            },
            TableRow {
                line: 4,
                cells: vec!["3".into(), "line one\nline two\n\nline four".into(), "z".into()],
                ..Default::default()
            },
            TableRow {
                line: 8,
                cells: vec!["4".into(), "".into(), "".into()],
                ..Default::default()
            },
            TableRow {
                line: 9,
                cells: vec!["5".into(), "plain".into(), "\"quoted\"".into()],
                ..Default::default()
            },
        ]
    );
}

#[test]
fn crlf_line_ends() {
    let csv = "a,b\r\n1,2\r\n\"x\r\ny\",\"last\"\r\n\r\n3,\"4\"\r\n";
    let mut table = open(csv.as_bytes()).unwrap();
    assert_eq!(table.headers, ["a", "b"]);
    let rows = ok_rows(&mut table);
    assert_eq!(
        rows.iter().map(|r| (r.line, r.cells.clone())).collect::<Vec<_>>(),
        vec![
            (2, vec!["1".to_string(), "2".to_string()]),
            (3, vec!["x\r\ny".to_string(), "last".to_string()]),
            (6, vec!["3".to_string(), "4".to_string()]),
        ]
    );
}

#[test]
fn lone_cr_line_ends() {
    let csv = "a,b\r1,2\r3,4\r";
    let mut table = open(csv.as_bytes()).unwrap();
    assert_eq!(table.headers, ["a", "b"]);
    let rows = ok_rows(&mut table);
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(
        rows.into_iter().map(|r| r.cells).collect::<Vec<_>>(),
        owned(&[&["1", "2"], &["3", "4"]])
    );
}

#[test]
fn no_final_line_break() {
    let mut table = open(b"a,b\n1,2\n3,4").unwrap();
    let rows = ok_rows(&mut table);
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(rows[1].cells, ["3", "4"]);
}

#[test]
fn ragged_rows() {
    let csv = "a,b,c\n1\n1,2\n1,2,3\n1,2,3,4,5\n";
    let mut table = open(csv.as_bytes()).unwrap();
    assert_eq!(
        cells(&mut table),
        owned(&[
            &["1", "", ""],
            &["1", "2", ""],
            &["1", "2", "3"],
            &["1", "2", "3", "4", "5"]
        ])
    );
}

#[test]
fn blank_lines_are_skipped_and_counted() {
    let csv = "\n\n  \nname,city\n\nAlice,Paris\n\n\n , \n,,\nBob,Rome\n   \n";
    let mut table = open(csv.as_bytes()).unwrap();
    assert_eq!(table.headers, ["name", "city"]);
    let rows = ok_rows(&mut table);
    assert_eq!(
        rows.iter().map(|r| (r.line, r.cells.clone())).collect::<Vec<_>>(),
        vec![
            (6, vec!["Alice".to_string(), "Paris".to_string()]),
            (11, vec!["Bob".to_string(), "Rome".to_string()]),
        ]
    );
}

#[test]
fn headers_are_trimmed_and_named() {
    let csv = "  name , ,city,\t\n1,2,3,4\n";
    let table = open(csv.as_bytes()).unwrap();
    assert_eq!(table.headers, ["name", "column 2", "city", "column 4"]);
}

#[test]
fn header_only_file() {
    for csv in ["a,b,c\n", "a,b,c", "a,b,c\r\n\r\n\r\n", "\u{feff}a,b,c\r\n"] {
        let mut table = open(csv.as_bytes()).unwrap();
        assert_eq!(table.headers, ["a", "b", "c"], "{csv:?}");
        assert_eq!(all_rows(&mut table), vec![], "{csv:?}");
    }
}

#[test]
fn empty_file() {
    assert_eq!(open(b"").unwrap_err(), TableError::Empty);
    let dir = TempDir::new("empty");
    let path = dir.write("empty.csv", b"");
    assert_eq!(
        open_file(&path, EncodingChoice::Auto, Limits::default()).unwrap_err(),
        TableError::Empty
    );
    let path = dir.write("empty.xlsx", b"");
    assert_eq!(
        open_file(&path, EncodingChoice::Auto, Limits::default()).unwrap_err(),
        TableError::Empty
    );
}

#[test]
fn no_header() {
    for bytes in [
        &b"\xEF\xBB\xBF"[..],
        b"\xFF\xFE",
        b"\n",
        b"\r\n\r\n   \r\n\t\n",
        b",,,\n, ,\n",
        b"\xEF\xBB\xBF\r\n\r\n",
    ] {
        assert_eq!(open(bytes).unwrap_err(), TableError::NoHeader, "{bytes:?}");
    }
}

/// The first bytes of a real PNG: signature, IHDR chunk, start of IDAT.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa\x00\x00\x00\x19IDATx\x9cc\xfc\xff\xff?\x03%\x80\x89\x81\x81\x81\x81\x81\x81\x01\x00>\x1b\x03\x00\x9a\x1b\x9b\x8a\x00\x00\x00\x00IEND\xaeB`\x82";

#[test]
fn binary_files_are_refused() {
    assert_eq!(open(PNG).unwrap_err(), TableError::Binary);
    for choice in [EncodingChoice::Utf8, EncodingChoice::Gb18030] {
        assert_eq!(
            open_with(PNG, choice, Limits::default()).unwrap_err(),
            TableError::Binary
        );
    }
    // No NUL bytes, but mostly control characters.
    let noise: Vec<u8> = (0..4000u32).map(|i| (i * 7 % 31 + 1) as u8).collect();
    assert_eq!(open(&noise).unwrap_err(), TableError::Binary);
    // A PNG saved as .csv is refused the same way through open_file.
    let dir = TempDir::new("png");
    let path = dir.write("logo.csv", PNG);
    assert_eq!(
        open_file(&path, EncodingChoice::Auto, Limits::default()).unwrap_err(),
        TableError::Binary
    );
}

#[test]
fn invalid_utf8_in_a_small_utf8_file() {
    // Mostly Chinese UTF-8 with one stray byte on line 4: still UTF-8, and that row fails.
    let mut bytes = ZH_CSV.as_bytes().to_vec();
    let pos = bytes
        .windows("王芳".len())
        .position(|w| w == "王芳".as_bytes())
        .unwrap();
    bytes.insert(pos + 3, 0xFF);
    let mut table = open(&bytes).unwrap();
    assert_eq!(table.encoding, "UTF-8");
    let rows = all_rows(&mut table);
    assert_eq!(rows.len(), 4);
    assert!(rows[0].is_ok() && rows[1].is_ok() && rows[3].is_ok());
    assert_eq!(
        rows[2],
        Err(TableError::InvalidEncoding {
            encoding: "UTF-8".to_string(),
            line: 4
        })
    );
    assert_eq!(rows[3].as_ref().unwrap().line, 6);
}

#[test]
fn invalid_utf8_after_the_sniff_window() {
    let mut csv = String::from("编号,名称,备注\n");
    let mut n = 0;
    while csv.len() < 100 * 1024 {
        n += 1;
        csv.push_str(&format!("{n},客户{n},\"多行\n备注\"\n"));
    }
    let mut bytes = csv.into_bytes();
    // A bad byte in the second line of record n + 1 (which starts on line 2n + 2).
    bytes.extend_from_slice(format!("{},坏行,\"第一行\n", n + 1).as_bytes());
    bytes.extend_from_slice(b"\xC3\x28 second line\"\n");
    bytes.extend_from_slice("ok,好行,end\n".as_bytes());
    let mut table = open(&bytes).unwrap();
    assert_eq!(table.encoding, "UTF-8");
    let rows = all_rows(&mut table);
    assert_eq!(rows.len(), n + 2);
    assert!(rows[..n].iter().all(Result::is_ok));
    assert_eq!(rows[n - 1].as_ref().unwrap().line, 2 * n as u64);
    assert_eq!(
        rows[n],
        Err(TableError::InvalidEncoding {
            encoding: "UTF-8".to_string(),
            line: 2 * n as u64 + 3
        })
    );
    let last = rows[n + 1].as_ref().unwrap();
    assert_eq!(last.line, 2 * n as u64 + 4);
    assert_eq!(last.cells, ["ok", "好行", "end"]);
}

#[test]
fn ten_thousand_columns() {
    let wide = vec!["x"; 10_000].join(",");
    let csv = format!("a,b\n1,2\n{wide}\n3,4\n");
    let mut table = open(csv.as_bytes()).unwrap();
    let rows = all_rows(&mut table);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[1],
        Err(TableError::TooManyColumns {
            line: 3,
            count: 10_000,
            max: 1000
        })
    );
    assert_eq!(rows[2].as_ref().unwrap().cells, ["3", "4"]);

    // A header that wide fails the whole file; a higher limit lets it through.
    let csv = format!("{wide}\n{wide}\n");
    assert_eq!(
        open(csv.as_bytes()).unwrap_err(),
        TableError::TooManyColumns {
            line: 1,
            count: 10_000,
            max: 1000
        }
    );
    let limits = Limits {
        max_columns: 10_000,
        ..Limits::default()
    };
    let mut table = open_with(csv.as_bytes(), EncodingChoice::Auto, limits).unwrap();
    assert_eq!(table.headers.len(), 10_000);
    assert_eq!(ok_rows(&mut table)[0].cells.len(), 10_000);
}

#[test]
fn one_megabyte_cell() {
    let big = "长".repeat(350_000); // 1,050,000 bytes
    let csv = format!("a,b,c\n1,2,3\n4,\"{big}\",6\n7,8,9\n");
    let mut table = open(csv.as_bytes()).unwrap();
    let rows = all_rows(&mut table);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[1],
        Err(TableError::CellTooLong {
            line: 3,
            column: 2,
            max: 65_536
        })
    );
    assert_eq!(rows[2].as_ref().unwrap().cells, ["7", "8", "9"]);

    // Characters are counted, not bytes: 65,536 Chinese characters fit.
    let fits = "长".repeat(65_536);
    let csv = format!("a\n{fits}\n");
    let mut table = open(csv.as_bytes()).unwrap();
    assert_eq!(ok_rows(&mut table)[0].cells[0].chars().count(), 65_536);
}

#[test]
fn max_rows_stops_early() {
    let csv = "a\n1\n2\n3\n4\n";
    let limits = Limits {
        max_rows: Some(2),
        ..Limits::default()
    };
    let mut table = open_with(csv.as_bytes(), EncodingChoice::Auto, limits).unwrap();
    assert_eq!(cells(&mut table), owned(&[&["1"], &["2"]]));
    let limits = Limits {
        max_rows: Some(0),
        ..Limits::default()
    };
    let mut table = open_with(csv.as_bytes(), EncodingChoice::Auto, limits).unwrap();
    assert_eq!(all_rows(&mut table), vec![]);
}

#[test]
fn open_file_reads_csv_whatever_the_name() {
    let dir = TempDir::new("open-file");
    for name in ["leads.csv", "leads.txt", "leads.xlsx", "leads"] {
        let path = dir.write(name, &gbk(&ZH_CSV.replace('\n', "\r\n")));
        let mut table = open_file(&path, EncodingChoice::Auto, Limits::default()).unwrap();
        assert_eq!(table.encoding, "GBK", "{name}");
        assert_eq!(table.delimiter, Some(','));
        assert_eq!(ok_rows(&mut table).len(), 4);
    }
    let missing = dir.path().join("missing.csv");
    assert!(matches!(
        open_file(&missing, EncodingChoice::Auto, Limits::default()),
        Err(TableError::Io(_))
    ));
}

#[test]
fn table_moves_across_threads() {
    fn send<T: Send + 'static>(_: &T) {}
    let mut table = open(ZH_CSV.as_bytes()).unwrap();
    send(&table);
    let handle = std::thread::spawn(move || table.rows().count());
    assert_eq!(handle.join().unwrap(), 4);
    let table = open(ZH_CSV.as_bytes()).unwrap();
    assert_eq!(table.into_rows().filter(Result::is_ok).count(), 4);
}

#[test]
fn encoding_choice_parse() {
    use EncodingChoice::*;
    for (s, choice) in [
        ("auto", Auto),
        ("", Auto),
        ("utf-8", Utf8),
        ("UTF8", Utf8),
        ("UTF-8 (BOM)", Utf8),
        ("gb18030", Gb18030),
        ("GBK", Gb18030),
        ("gb2312", Gb18030),
        ("utf-16", Utf16),
        ("UTF-16LE", Utf16),
        ("utf-16be", Utf16),
    ] {
        assert_eq!(EncodingChoice::parse(s), Some(choice), "{s}");
        assert_eq!(EncodingChoice::parse(choice.as_str()), Some(choice));
    }
    assert_eq!(EncodingChoice::parse("latin1"), None);
    assert_eq!(EncodingChoice::default(), Auto);
}

#[test]
fn error_messages_in_both_languages() {
    let errors = [
        TableError::Empty,
        TableError::Binary,
        TableError::NoHeader,
        TableError::InvalidEncoding {
            encoding: "UTF-8".into(),
            line: 7,
        },
        TableError::TooManyColumns {
            line: 7,
            count: 10_000,
            max: 1000,
        },
        TableError::CellTooLong {
            line: 7,
            column: 3,
            max: 65_536,
        },
        TableError::Csv {
            line: 7,
            message: "bad".into(),
        },
        TableError::Xlsx("zip".into()),
        TableError::Io("denied".into()),
    ];
    for e in &errors {
        let en = e.to_string();
        let zh = e.message_zh();
        assert!(!en.is_empty() && !zh.is_empty());
        assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{zh}");
        if let Some(line) = e.line() {
            assert!(en.contains(&format!("Line {line}")), "{en}");
            assert!(zh.contains(&format!("第 {line} 行")), "{zh}");
        }
    }
    assert_eq!(
        errors[5].to_string(),
        "Line 7, column 3: the cell is longer than 65536 characters."
    );
    assert_eq!(errors[5].message_zh(), "第 7 行第 3 列：单元格超过 65536 个字符。");
}

/// Produces a CSV of `rows` rows on the fly and counts the bytes handed out.
struct Generated {
    next: u64,
    rows: u64,
    pending: Vec<u8>,
    pos: usize,
    read: Arc<AtomicU64>,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.pending.len() {
            self.pending.clear();
            self.pos = 0;
            if self.next == 0 {
                self.pending.extend_from_slice("编号,名称,城市,备注\r\n".as_bytes());
            }
            while self.pending.len() < 8192 && self.next < self.rows {
                self.next += 1;
                let n = self.next;
                self.pending
                    .extend_from_slice(format!("{n},客户{n},北京市,\"备注, {n}\"\r\n").as_bytes());
            }
            if self.pending.is_empty() {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[test]
fn one_million_rows_stream() {
    let read = Arc::new(AtomicU64::new(0));
    let source = Generated {
        next: 0,
        rows: 1_000_000,
        pending: Vec::new(),
        pos: 0,
        read: read.clone(),
    };
    let mut table = open_csv(source, EncodingChoice::Auto, Limits::default()).unwrap();
    // Opening reads the sniff window and one parser buffer, not the file.
    assert!(read.load(Ordering::Relaxed) <= 192 * 1024);
    assert_eq!(table.encoding, "UTF-8");
    let mut count = 0u64;
    let mut parsed = "编号,名称,城市,备注\r\n".len() as u64;
    let mut max_read_ahead = 0u64;
    for row in table.rows() {
        let row = row.unwrap();
        count += 1;
        parsed += format!("{count},客户{count},北京市,\"备注, {count}\"\r\n").len() as u64;
        if count.is_multiple_of(50_000) {
            assert_eq!(row.line, count + 1);
            assert_eq!(row.cells[3], format!("备注, {count}"));
            // What has been read stays close to what has been parsed.
            let ahead = read.load(Ordering::Relaxed).saturating_sub(parsed);
            max_read_ahead = max_read_ahead.max(ahead);
        }
    }
    assert_eq!(count, 1_000_000);
    assert!(max_read_ahead < 1024 * 1024, "read ahead {max_read_ahead}");
}

#[test]
fn unclosed_quote_does_not_swallow_the_file() {
    let mut csv = b"a,b\n1,2\n3,\"never closed\n".to_vec();
    while csv.len() < 20 * 1024 * 1024 {
        csv.extend_from_slice(b"x,y,z\n");
    }
    let mut table = open(&csv).unwrap();
    let rows = all_rows(&mut table);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].as_ref().unwrap().cells, ["1", "2"]);
    match &rows[1] {
        Err(TableError::Csv { line: 3, message }) => {
            assert!(message.contains("not closed"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // In a small file, an unclosed quote keeps the rest of the file as one cell.
    for (csv, cell) in [
        (&b"a,b\n1,\"open\n2,3\n"[..], "open\n2,3\n"),
        (b"a,b\n1,\"open\n2,3", "open\n2,3"),
        (b"a,b\n1,\"open\r\n2,3\r\n", "open\r\n2,3\r\n"),
        // Closed quotes ending in a line break, with and without a final line break.
        (b"a,b\n1,\"x\n\"", "x\n"),
        (b"a,b\n1,\"x\n\"\n", "x\n"),
        (b"a,b\r\n1,\"x\r\n\"\r\n", "x\r\n"),
    ] {
        let mut table = open(csv).unwrap();
        let rows = ok_rows(&mut table);
        assert_eq!(
            rows,
            vec![TableRow {
                line: 2,
                cells: vec!["1".into(), cell.into()],
                ..Default::default()
            }],
            "{csv:?}"
        );
    }
}

#[test]
fn an_unclosed_quote_after_a_bom_in_the_header_keeps_lines_in_order() {
    // found by table_props: `,<BOM>` header, a row, then an unterminated quoted cell
    let bytes = b",\xEF\xBB\xBF\na\n\"\"\"".to_vec();
    let mut table = open(&bytes).unwrap();
    let mut last = 0;
    for row in table.rows() {
        let line = match &row {
            Ok(r) => r.line,
            Err(e) => e.line().unwrap_or(0),
        };
        if row.is_ok() {
            assert!(line > last, "lines go up: {line} after {last}");
            last = line;
        }
    }
    assert_eq!(last, 3, "the unclosed quote starts on line 3");
}
