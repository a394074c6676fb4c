//! Import and export: reading CSV and XLSX in whatever encoding they were saved
//! (UTF-8 with or without BOM, GBK/GB18030, UTF-16), mapping columns to fields,
//! converting values, matching duplicates, and writing files back out.
//! Every imported row goes through the record service; nothing here writes records.
#![forbid(unsafe_code)]

pub mod convert;
pub mod export;
pub mod jobs;
pub mod mapping;
pub mod prepare;
pub mod report_export;
pub mod run;
pub mod table;
pub mod users;
