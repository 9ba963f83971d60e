//! Typed configuration, layered: compiled defaults → a TOML file → environment variables
//! (`ECOWARDEN__HTTP__LISTEN=…`) → command-line flags.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// `sqlite:…` or `postgres://…`; empty means the SQLite file in the data directory.
    pub database_url: String,
    /// Holds the SQLite file and, later, the monitoring archive.
    pub data_dir: PathBuf,
    pub http: HttpSettings,
    pub ingest: IngestSettings,
    pub legal: LegalSettings,
    pub audit: AuditSettings,
    pub assessment: AssessmentSettings,
    pub inspection: InspectionSettings,
}

/// The limits of the inspection audits' platform-data comparison (稽查平台数据比对): each
/// province sets its own follow-up time and what counts as repeated exceedance.
#[derive(Debug, Clone, Deserialize)]
pub struct InspectionSettings {
    /// An open screening lead older than this many days is not followed up (default 30).
    pub lead_days: i64,
    /// An outlet over its limit on at least this many days of the period needs a case
    /// (default 3).
    pub exceedance_days: u32,
}

/// Assessment (科学考核).
#[derive(Debug, Clone, Deserialize)]
pub struct AssessmentSettings {
    /// The CJK font bulletins (通报) are set in: a TrueType/OpenType file or collection, of
    /// which the used glyphs are embedded. Not shipped; Debian's fonts-wqy-microhei by default.
    pub bulletin_font: PathBuf,
}

/// The audit log's anchor outside the database (see `anchor`).
#[derive(Debug, Clone, Deserialize)]
pub struct AuditSettings {
    /// The MAC key, created (mode 0600) at first start; empty: `<data_dir>/audit.key`.
    pub key_file: PathBuf,
    /// The head checkpoint, rewritten after each audited commit; empty:
    /// `<data_dir>/audit-checkpoint`.
    pub checkpoint_file: PathBuf,
    /// The security events' head checkpoint; empty: `<data_dir>/security-checkpoint`.
    pub security_checkpoint_file: PathBuf,
}

/// What the law leaves to the province, for the legal checks.
#[derive(Debug, Clone, Deserialize)]
pub struct LegalSettings {
    /// A fine of at least this many yuan is 较大数额 (处罚法 Art 63: the party may ask for a
    /// hearing). Default 50,000: the amount for organisations in most provinces' hearing
    /// rules, to be set to Fujian's confirmed figure.
    pub large_fine_yuan: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub listen: String,
    /// Largest request body accepted, in bytes (imports are the big ones).
    pub body_limit: usize,
    /// Mark cookies `Secure`; turn on behind HTTPS.
    pub secure_cookies: bool,
    /// Requests per minute from one address without a session (the login form, assets,
    /// unknown paths); more are answered 429 with `Retry-After`. 0 turns the limit off.
    pub anonymous_per_minute: u32,
}

/// The HJ 212 receiver (`ingest`, and inside `serve`/`demo`) and its archive compactor.
#[derive(Debug, Clone, Deserialize)]
pub struct IngestSettings {
    /// Address for data loggers; empty: `serve` runs no receiver.
    pub listen: String,
    /// Open connections at most (also bounded by the process's open-file limit).
    pub max_connections: usize,
    /// A connection with no bytes for this long is closed.
    pub idle_timeout_secs: u64,
    /// A frame still incomplete after this long closes its connection.
    pub frame_timeout_secs: u64,
    /// Frames per second per connection; a faster sender is slowed down, not dropped.
    pub max_frames_per_sec: u32,
    /// Frames per second of all connections together.
    pub max_total_frames_per_sec: u32,
    /// Bytes buffered by all connections at most; beyond it reads pause.
    pub max_pending_bytes: usize,
    /// Open sub-packet groups per connection; the oldest is given up beyond it.
    pub max_open_groups: usize,
    /// Seconds between compactions of the evidence log into the Parquet archive.
    pub compact_interval_secs: u64,
    /// A registered station with no frame for this long is listed as silent.
    pub silent_after_secs: u64,
}

impl Settings {
    /// Reads the layers. An explicit file must exist; `ecowarden.toml` in the working
    /// directory is read if present.
    pub fn load(file: Option<&Path>) -> Result<Settings, config::ConfigError> {
        let mut b = config::Config::builder()
            .set_default("database_url", "")?
            .set_default("data_dir", "ecowarden-data")?
            .set_default("http.listen", "127.0.0.1:8080")?
            .set_default("http.body_limit", 32 * 1024 * 1024)?
            .set_default("http.secure_cookies", false)?
            .set_default("http.anonymous_per_minute", 120)?
            .set_default("ingest.listen", "127.0.0.1:9212")?
            .set_default("ingest.max_connections", 50_000)?
            .set_default("ingest.idle_timeout_secs", 900)?
            .set_default("ingest.frame_timeout_secs", 60)?
            .set_default("ingest.max_frames_per_sec", 2_000)?
            .set_default("ingest.max_total_frames_per_sec", 200_000)?
            .set_default("ingest.max_pending_bytes", 256 * 1024 * 1024)?
            .set_default("ingest.max_open_groups", 16)?
            .set_default("ingest.compact_interval_secs", 60)?
            .set_default("ingest.silent_after_secs", 3900)?
            .set_default("legal.large_fine_yuan", 50_000)?
            .set_default("inspection.lead_days", 30)?
            .set_default("inspection.exceedance_days", 3)?
            .set_default("audit.key_file", "")?
            .set_default("audit.checkpoint_file", "")?
            .set_default("audit.security_checkpoint_file", "")?
            .set_default(
                "assessment.bulletin_font",
                "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
            )?;
        b = match file {
            Some(f) => b.add_source(config::File::from(f).required(true)),
            None => b.add_source(config::File::with_name("ecowarden.toml").required(false)),
        };
        b.add_source(
            config::Environment::with_prefix("ECOWARDEN")
                .prefix_separator("__")
                .separator("__"),
        )
        .build()?
        .try_deserialize()
    }

    /// Where the audit log's MAC key is.
    pub fn audit_key_file(&self) -> PathBuf {
        or_in(&self.audit.key_file, &self.data_dir, "audit.key")
    }

    /// Where the audit log's head checkpoint is.
    pub fn audit_checkpoint_file(&self) -> PathBuf {
        or_in(
            &self.audit.checkpoint_file,
            &self.data_dir,
            "audit-checkpoint",
        )
    }

    /// Where the security events' head checkpoint is.
    pub fn security_checkpoint_file(&self) -> PathBuf {
        or_in(
            &self.audit.security_checkpoint_file,
            &self.data_dir,
            "security-checkpoint",
        )
    }

    /// The database URL, defaulting to `sqlite:<data_dir>/ecowarden.sqlite`.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite:{}",
                self.data_dir.join("ecowarden.sqlite").display()
            )
        } else {
            self.database_url.clone()
        }
    }
}

fn or_in(set: &Path, dir: &Path, name: &str) -> PathBuf {
    if set.as_os_str().is_empty() {
        dir.join(name)
    } else {
        set.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_file_layer() {
        let s = Settings::load(None).unwrap();
        assert_eq!(s.http.listen, "127.0.0.1:8080");
        assert!(
            s.database_url()
                .ends_with("ecowarden-data/ecowarden.sqlite")
        );
        let dir = std::env::temp_dir().join(format!("ew-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(
            &f,
            "data_dir = \"/srv/ew\"\n[http]\nlisten = \"0.0.0.0:9000\"\n",
        )
        .unwrap();
        let s = Settings::load(Some(&f)).unwrap();
        assert_eq!(s.http.listen, "0.0.0.0:9000");
        assert_eq!(s.database_url(), "sqlite:/srv/ew/ecowarden.sqlite");
        assert!(Settings::load(Some(&dir.join("missing.toml"))).is_err());
    }
}
