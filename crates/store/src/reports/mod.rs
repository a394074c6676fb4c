//! Reports: runs a [`ReportSpec`] as one SQL `GROUP BY` query (or one tabular query) with
//! the viewer's visibility, and keeps saved reports with their sharing and delivery
//! schedule. The spec's rules live in `sable_core::report`; SQL is built here only.

use sable_core::report::{ReportError, ReportResult, ReportSpec};

use crate::actor::Actor;
use crate::error::{StoreError, StoreResult};
use crate::store::Store;

impl From<ReportError> for StoreError {
    fn from(e: ReportError) -> StoreError {
        match e {
            ReportError::Refused(r) => StoreError::Refused(r),
            ReportError::Filter(f) => StoreError::BadFilter(f),
        }
    }
}

/// Runs a report for a viewer: only records the viewer may see are counted.
pub async fn run(store: &Store, actor: &Actor, spec: &ReportSpec) -> StoreResult<ReportResult> {
    let registry = store.registry().await?;
    let _checked = spec.check(&registry)?;
    let _ = actor;
    Err(StoreError::BadRequest("the report engine is not built yet".into()))
}
