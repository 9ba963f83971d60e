//! The commands that are more than one call: each reads its arguments, opens the store and
//! calls the domain crates. Every clap type they take lives in [`crate::cli`].

pub mod assess;
pub mod dossier;
pub mod inspection;
pub mod ledger;
pub mod monitoring;
pub mod user;
