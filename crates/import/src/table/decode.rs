//! Encoding detection on the sniffed head of a file.

use std::io::Read;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, GB18030, GBK, UTF_8, UTF_16BE, UTF_16LE};

use super::{EncodingChoice, TableError};

/// How many bytes are sniffed at most.
pub(super) const SNIFF_LEN: usize = 64 * 1024;

/// How the bytes after the BOM become UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decoding {
    /// Already UTF-8: parse the raw bytes and check each cell, so that invalid bytes
    /// are an error with a line number rather than U+FFFD.
    Utf8,
    /// Transcode with this encoding (malformed sequences become U+FFFD).
    Transcode(&'static Encoding),
}

/// What the sniff found.
#[derive(Debug)]
pub(super) struct Detected {
    /// The label shown to users, e.g. `UTF-8 (BOM)` or `GBK`.
    pub label: String,
    pub decoding: Decoding,
    /// Bytes of BOM at the start to skip.
    pub bom_len: usize,
    /// The sniffed bytes after the BOM, decoded (lossily), for delimiter detection.
    pub text: String,
    /// Lines end in a lone CR (classic Mac): CRs are turned into LFs while reading.
    pub cr_only: bool,
}

/// Reads up to [`SNIFF_LEN`] bytes. Returns the bytes and whether the reader is at its
/// end (`true` only when fewer than `SNIFF_LEN` bytes came).
pub(super) fn read_sniff(reader: &mut impl Read) -> Result<(Vec<u8>, bool), TableError> {
    let mut buf = Vec::with_capacity(8 * 1024);
    reader.by_ref().take(SNIFF_LEN as u64).read_to_end(&mut buf)?;
    let eof = buf.len() < SNIFF_LEN;
    Ok((buf, eof))
}

/// Picks the encoding for `sniff` (the first bytes of the file; `eof` when that is the
/// whole file) and checks that the file is text.
pub(super) fn detect(sniff: &[u8], eof: bool, choice: EncodingChoice) -> Result<Detected, TableError> {
    if sniff.is_empty() {
        return Err(TableError::Empty);
    }
    // A BOM is unambiguous, so it wins even over a forced choice.
    let bom = if sniff.starts_with(b"\xEF\xBB\xBF") {
        Some((UTF_8, 3))
    } else if sniff.starts_with(b"\xFF\xFE") {
        Some((UTF_16LE, 2))
    } else if sniff.starts_with(b"\xFE\xFF") {
        Some((UTF_16BE, 2))
    } else {
        None
    };
    let (encoding, label, bom_len): (&'static Encoding, String, usize) = match bom {
        Some((enc, n)) => {
            let label = if enc == UTF_8 {
                "UTF-8 (BOM)".to_string()
            } else {
                enc.name().to_string()
            };
            (enc, label, n)
        }
        None => match choice {
            EncodingChoice::Utf8 => (UTF_8, "UTF-8".to_string(), 0),
            EncodingChoice::Gb18030 => (GB18030, "GB18030".to_string(), 0),
            EncodingChoice::Utf16 => {
                let enc = utf16_without_bom(sniff).unwrap_or(UTF_16LE);
                (enc, enc.name().to_string(), 0)
            }
            EncodingChoice::Auto => {
                if let Some(enc) = utf16_without_bom(sniff) {
                    (enc, enc.name().to_string(), 0)
                } else if sniff.contains(&0) {
                    return Err(TableError::Binary);
                } else if mostly_utf8(sniff, eof) {
                    (UTF_8, "UTF-8".to_string(), 0)
                } else {
                    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
                    detector.feed(sniff, eof);
                    // Sable's files mostly come from Chinese Windows: where a short file leaves
                    // the detector unsure between GBK and a Western code page (a few Chinese
                    // names among ASCII), the hint of a .cn origin settles it for GBK.
                    let guess = detector.guess(Some(b"cn"), Utf8Detection::Allow);
                    if guess == GBK {
                        // GB18030 decodes everything GBK does, and more.
                        (GB18030, "GBK".to_string(), 0)
                    } else if guess == UTF_16LE || guess == UTF_16BE {
                        (UTF_8, "UTF-8".to_string(), 0)
                    } else {
                        (guess, guess.name().to_string(), 0)
                    }
                }
            }
        },
    };
    let body = &sniff[bom_len..];
    let utf16 = encoding == UTF_16LE || encoding == UTF_16BE;
    if !utf16 && body.contains(&0) {
        return Err(TableError::Binary);
    }
    let text = if encoding == UTF_8 {
        String::from_utf8_lossy(body).into_owned()
    } else {
        encoding.decode_without_bom_handling(body).0.into_owned()
    };
    if mostly_control(&text) {
        return Err(TableError::Binary);
    }
    let cr_only = text.contains('\r') && !text.contains('\n');
    let decoding = if encoding == UTF_8 {
        Decoding::Utf8
    } else {
        Decoding::Transcode(encoding)
    };
    Ok(Detected {
        label,
        decoding,
        bom_len,
        text,
        cr_only,
    })
}

/// UTF-16 without a BOM, recognised by NUL bytes in every other position (true of
/// text that is mostly ASCII).
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let bytes = &bytes[..bytes.len().min(4096) & !1];
    let pairs = bytes.len() / 2;
    if pairs < 2 {
        return None;
    }
    let zero_even = bytes.iter().step_by(2).filter(|&&b| b == 0).count();
    let zero_odd = bytes.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    let mostly = |n: usize| n * 10 >= pairs * 4;
    let rarely = |n: usize| n * 20 <= pairs;
    if mostly(zero_odd) && rarely(zero_even) {
        Some(UTF_16LE)
    } else if mostly(zero_even) && rarely(zero_odd) {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Valid UTF-8, allowing a multi-byte sequence cut off by the end of the sniff window;
/// or UTF-8 text with a few stray bytes (at most one invalid sequence per 20 valid
/// non-ASCII characters), so that a damaged UTF-8 file reports the bad line instead of
/// being read as something else.
fn mostly_utf8(bytes: &[u8], eof: bool) -> bool {
    let mut non_ascii = 0usize;
    let mut errors = 0usize;
    let mut rest = bytes;
    let count = |s: &[u8]| s.iter().filter(|&&b| b >= 0xC0).count();
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => {
                non_ascii += count(rest);
                break;
            }
            Err(e) => {
                let (good, after) = rest.split_at(e.valid_up_to());
                non_ascii += count(good);
                match e.error_len() {
                    None => {
                        if eof {
                            errors += 1;
                        }
                        break;
                    }
                    Some(n) => {
                        errors += 1;
                        rest = &after[n..];
                    }
                }
            }
        }
    }
    errors == 0 || (non_ascii >= 20 && errors * 20 <= non_ascii)
}

/// More than 5 % of the characters are control characters other than tab, line breaks
/// and form feed. (U+FFFD does not count: text in the wrong encoding is still text.)
fn mostly_control(text: &str) -> bool {
    let mut total = 0usize;
    let mut bad = 0usize;
    for c in text.chars() {
        total += 1;
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c') {
            bad += 1;
        }
    }
    bad * 20 > total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_utf8_at_window_end_is_utf8() {
        let mut bytes = "名称,电话\n".repeat(10).into_bytes();
        bytes.extend_from_slice(&"张".as_bytes()[..2]);
        assert!(mostly_utf8(&bytes, false));
        // At the real end of the file a cut-off sequence is an error.
        let short = ["名,\n".as_bytes(), &"张".as_bytes()[..2]].concat();
        assert!(mostly_utf8(&short, false));
        assert!(!mostly_utf8(&short, true));
    }

    #[test]
    fn gbk_is_not_mostly_utf8() {
        let text = "北京市朝阳区建国路客户张伟，上海浦东新区李娜\n".repeat(50);
        let (gbk, _, _) = GBK.encode(&text);
        assert!(!mostly_utf8(&gbk, true));
    }

    #[test]
    fn utf16_without_bom_is_recognised() {
        let le: Vec<u8> = "name,phone\r\n".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let be: Vec<u8> = "name,phone\r\n".encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert_eq!(utf16_without_bom(&le), Some(UTF_16LE));
        assert_eq!(utf16_without_bom(&be), Some(UTF_16BE));
        assert_eq!(utf16_without_bom(b"name,phone\n"), None);
    }
}
