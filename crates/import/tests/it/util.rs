//! Helpers: temporary files and reading a whole table.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sable_import::table::{EncodingChoice, Limits, Table, TableError, TableRow, open_csv};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sable-import-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// Writes `bytes` to `name` in the directory and returns the path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write fixture");
        path
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens `bytes` as CSV with default limits.
pub fn open(bytes: &[u8]) -> Result<Table, TableError> {
    open_with(bytes, EncodingChoice::Auto, Limits::default())
}

/// Opens `bytes` as CSV with a choice and limits.
pub fn open_with(bytes: &[u8], encoding: EncodingChoice, limits: Limits) -> Result<Table, TableError> {
    open_csv(std::io::Cursor::new(bytes.to_vec()), encoding, limits)
}

/// All rows, each `Ok` or `Err`.
pub fn all_rows(table: &mut Table) -> Vec<Result<TableRow, TableError>> {
    table.rows().collect()
}

/// All rows, which must all be `Ok`.
pub fn ok_rows(table: &mut Table) -> Vec<TableRow> {
    table.rows().map(|row| row.expect("row reads")).collect()
}

/// The cells of all rows, which must all be `Ok`.
pub fn cells(table: &mut Table) -> Vec<Vec<String>> {
    ok_rows(table).into_iter().map(|row| row.cells).collect()
}

/// `&[&[&str]]` to owned cells.
pub fn owned(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// UTF-16 bytes with a BOM.
pub fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    bytes
}

pub fn utf16be_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFE, 0xFF];
    bytes.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
    bytes
}

/// GBK bytes (panics on characters GBK lacks).
pub fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable, "fixture text must be in GBK");
    bytes.into_owned()
}

/// The shared data sets, or None (with a notice) when they are missing; a failure under
/// `SABLE_TEST_REQUIRE_ALL=1`.
pub fn shared_data() -> Option<PathBuf> {
    let dir = match std::env::var_os("SABLE_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    let message = format!("shared data folder {} not found (set SABLE_SHARED_DATA)", dir.display());
    if std::env::var("SABLE_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("SABLE_TEST_REQUIRE_ALL=1 but {message}");
    }
    sable_store::testing::announce_skip(&format!("SKIPPED shared-data tests: {message}"));
    None
}
