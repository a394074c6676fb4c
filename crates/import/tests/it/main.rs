//! Integration tests for `sable-import`.

mod import_data;
mod reports;
mod table_csv;
mod table_props;
mod table_shared_data;
mod table_xlsx;
mod util;
