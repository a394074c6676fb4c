//! Sable's pure logic: module metadata, field values and their parsers, validation,
//! the filter tree and search tokens. No I/O and no async here: the store and the
//! server build on these types, and most unit tests live in this crate.
#![forbid(unsafe_code)]

pub mod assignment;
pub mod dashboard;
pub mod error;
pub mod expr;
pub mod filter;
pub mod filter_eval;
pub mod i18n;
pub mod meta;
pub mod parse;
pub mod phone;
pub mod record;
pub mod registry;
pub mod report;
pub mod search;
pub mod value;
pub mod workflow;

pub use error::{FieldError, ValidationErrors};
pub use filter::{Filter, FilterContext, FilterError, Resolved};
pub use i18n::{Labels, Lang, Refusal};
pub use meta::{FieldDef, FieldType, ModuleDef, Sharing};
pub use registry::Registry;
pub use value::{Stored, Value};
