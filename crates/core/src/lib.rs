//! ecowarden's core: what every other part of the platform stands on.
//!
//! - [`ids`]: newtypes that parse (`RegionCode`, `CreditCode`, `CaseNo`, `Money`);
//! - [`clock`]: China Standard Time dates and instants;
//! - [`config`]: typed, layered settings;
//! - [`store`]: the SQLite / PostgreSQL pool, its migrations, dynamic SQL, store errors;
//! - [`org`]: the region tree, units and officers;
//! - [`scope`]: where a caller may read and write (`Scope`, `Area`);
//! - [`auth`]: accounts, roles, passwords, sessions, security events;
//! - [`audit_log`]: the append-only, hash-chained log of every change, keyed and
//!   checkpointed by [`anchor`] outside the database through [`chain`], which also chains
//!   the security events;
//! - [`sheet`]: reading spreadsheets (.xlsx, .xls, CSV in UTF-8 or GBK) into cells.
//!
//! It never holds a domain rule of the ledger, monitoring or assessment, never speaks HTTP and
//! never parses a command line. Dependency direction: `ids`, `clock` ← `store` ← `org` ←
//! `scope` ← `chain` ← `audit_log` ← `auth`; the store knows scopes only through
//! `store::ScopeFilter`, and chains only by their table (`anchor::Chain`).

pub mod anchor;
pub mod audit_log;
pub mod auth;
pub mod chain;
pub mod clock;
pub mod config;
pub mod ids;
pub mod memo;
pub mod org;
pub mod scan;
pub mod scope;
pub mod sheet;
pub mod store;
pub mod throttle;

use anyhow::Context;

use config::Settings;
use store::Db;

/// Opens the store named by the settings (creating the data directory for SQLite), applies
/// the migrations and seeds the organisation: what every command does first.
pub async fn open(settings: &Settings) -> anyhow::Result<Db> {
    open_with(settings, true).await
}

/// [`open`]; `create_key` off leaves a missing audit key missing (`audit-log verify` reads
/// the key, it never makes one).
pub async fn open_with(settings: &Settings, create_key: bool) -> anyhow::Result<Db> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
    }
    let db = Db::connect(&url)
        .await
        .with_context(|| format!("opening {}", store::redact(&url)))?;
    let key = settings.audit_key_file();
    let checkpoints = [
        settings.audit_checkpoint_file(),
        settings.security_checkpoint_file(),
    ];
    let anchor = anchor::Anchor::load(&key, [&checkpoints[0], &checkpoints[1]], create_key)
        .with_context(|| format!("reading the audit-log key {}", key.display()))?;
    let db = db.with_anchor(anchor);
    org::seed(&db).await?;
    if create_key {
        // Verify reads the store as it is; everyone else chains what migration 0018 left.
        auth::chain_security_events(&db).await?;
    }
    Ok(db)
}
