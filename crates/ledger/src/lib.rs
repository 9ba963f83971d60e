//! ecowarden's case ledger (案件台账).
//!
//! - [`cases`]: the case record, its scoped list and page, the dashboard; `intake` records
//!   cases from forms, the API and imports, `workflow` moves them through their stages, `rules`
//!   holds the legal rules both apply, `vocab` the controlled vocabularies;
//! - [`stats`]: every figure the corps reports, fetched by SQL and counted by pure functions;
//! - [`cooperation`]: task forces, typical-case batches, lead transfers, listed supervision and
//!   cross enforcement, each table with the functions that record and read it;
//! - [`third_parties`]: the providers named in third-party fraud cases;
//! - [`checks`], [`dossier`], [`check_results`]: the legal checks C1–C16, the case files
//!   they read from the store, and their stored results for the list of failed checks;
//! - [`ledger_io`]: the ledger in and out of spreadsheets (import, template, exports).
//!
//! It depends on `ecowarden-core` only. It never speaks HTTP, never parses a command line and
//! never reads the monitoring archive (the monitoring crate turns screening leads into cases
//! through [`cases::intake`]).

/// `SUM(c.fine_fen)` with each case's fine capped at 10亿元 (`fields::limits::MAX_AMOUNT`):
/// a value stored before amounts were bounded cannot overflow a sum (issue #16).
macro_rules! fine_sum {
    () => {
        "CAST(COALESCE(SUM(CASE WHEN c.fine_fen > 100000000000 THEN 100000000000 ELSE c.fine_fen END), 0) AS BIGINT)"
    };
}

pub mod calendar;
pub mod cases;
pub mod check_results;
pub mod checks;
pub mod cooperation;
pub mod dossier;
pub mod ledger_io;
pub mod sampling;
pub mod stats;
pub mod third_parties;
