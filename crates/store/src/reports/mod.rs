//! Reports: runs a [`ReportSpec`](sable_core::report::ReportSpec) as one SQL query (a
//! `GROUP BY` for summaries and matrices, a plain select for tabular reports) with the
//! viewer's visibility, and keeps saved reports with their sharing and delivery schedule.
//! The spec's rules live in `sable_core::report`; SQL is built here only.

mod compile;
mod run;
pub mod saved;

use sable_core::report::ReportError;

use crate::error::StoreError;

pub use run::run;
pub use saved::{
    DueDelivery, ReportInput, SavedReport, create_report, delete_report, due_deliveries, get_report, list_reports,
    mark_delivered, run_saved, update_report,
};

impl From<ReportError> for StoreError {
    fn from(e: ReportError) -> StoreError {
        match e {
            ReportError::Refused(r) => StoreError::Refused(r),
            ReportError::Filter(f) => StoreError::BadFilter(f),
        }
    }
}
