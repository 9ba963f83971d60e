//! ecowarden's off-site enforcement (非现场执法): the path from a data logger's bytes to a
//! ranked, explained lead.
//!
//! - [`registry`]: facilities, outlets, data loggers (MN) and their factors;
//! - [`ingest`]: the HJ 212 receiver, with back-pressure on every resource;
//! - [`defects`]: refused frames of registered loggers (报文缺陷), stored for their pages;
//! - [`evidence`]: the append-only evidence log of every frame as received, fsynced before ack;
//! - [`archive`]: the Parquet archive compacted from the evidence log, and its reader;
//! - [`screening`]: screening runs over the archive with the `screen` crate's detectors;
//! - [`leads`]: the lead queue, dismissals and acceptance into the case ledger;
//! - [`simulate`]: simulated data loggers for demos and load tests.
//!
//! It depends on `ecowarden-core`, `ecowarden-ledger` (an accepted lead becomes a case),
//! `hj212` and `screen`. It never speaks HTTP and never parses a command line.

pub mod archive;
pub mod defects;
pub mod evidence;
pub mod ingest;
pub mod leads;
pub mod registry;
pub mod screening;
pub mod simulate;
