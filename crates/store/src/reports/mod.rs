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

/// Covering indexes for the reports every sales team runs (pipeline by stage and close
/// month, won revenue by month): read in group order, a summary over a million
/// opportunities needs neither the table nor a sort. See docs/decisions/0009-reports.md.
pub(crate) fn covering_indexes(module: &sable_core::ModuleDef) -> Vec<&'static [&'static str]> {
    const PIPELINE: &[&str] = &["sales_stage", "closingdate", "amount"];
    if module.name == "Opportunities" && PIPELINE.iter().all(|f| module.field(f).is_some()) {
        vec![PIPELINE]
    } else {
        Vec::new()
    }
}

impl From<ReportError> for StoreError {
    fn from(e: ReportError) -> StoreError {
        match e {
            ReportError::Refused(r) => StoreError::Refused(r),
            ReportError::Filter(f) => StoreError::BadFilter(f),
        }
    }
}
