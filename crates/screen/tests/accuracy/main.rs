//! Accuracy of the screening engine on generated fleets (recall per signature, false
//! positives on clean outlets) and invariants of the detectors (property tests).
//!
//! `cargo test -p screen --test accuracy -- --nocapture` prints the per-signature table.

mod props;
mod recall;
