//! What anchors the audit log and the security events outside the database: a secret key
//! for the rows' MACs and a checkpoint of each chain's head.
//!
//! - The key (32 random bytes, hex) lives in a file, by default `<data_dir>/audit.key`,
//!   created with mode 0600 at first start. Whoever can write the database but not read this
//!   file cannot forge an entry's MAC, so an edit followed by recomputing every later hash is
//!   found. A PostgreSQL deployment keeps the file on the app server(s); several app servers
//!   sharing one database must share the same key file.
//! - The checkpoint, by default `<data_dir>/audit-checkpoint`, records the head entry's
//!   number and hash (and the first keyed entry), rewritten after each commit that appended
//!   entries. Each app server writes its own (the head it saw under the database's write
//!   lock); any of them proves the entries up to it existed with that hash, so deleting the
//!   last entries is found. `ecowarden audit-log verify` prints the head for the operator to
//!   keep elsewhere. The security events' chain has its own checkpoint, by default
//!   `<data_dir>/security-checkpoint`, in the same format.
//!
//! This module depends on nothing else in the crate (the store holds an [`Anchor`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A chained table (see `chain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    AuditLog,
    SecurityEvents,
}

impl Chain {
    pub fn table(self) -> &'static str {
        match self {
            Chain::AuditLog => "audit_log",
            Chain::SecurityEvents => "security_events",
        }
    }

    /// The column numbering the rows.
    pub fn seq(self) -> &'static str {
        match self {
            Chain::AuditLog => "seq",
            Chain::SecurityEvents => "id",
        }
    }
}

/// The key and where the checkpoints go.
#[derive(Clone)]
pub struct Anchor {
    key: Vec<u8>,
    pub key_file: PathBuf,
    /// The audit log's checkpoint.
    pub checkpoint_file: PathBuf,
    /// The security events' checkpoint.
    pub security_checkpoint_file: PathBuf,
}

impl std::fmt::Debug for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchor")
            .field("key_file", &self.key_file)
            .field("checkpoint_file", &self.checkpoint_file)
            .field("security_checkpoint_file", &self.security_checkpoint_file)
            .finish_non_exhaustive()
    }
}

/// The head of the chain as recorded outside the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Checkpoint {
    /// The head entry's number (entries are numbered from 1: also the count of entries).
    pub seq: i64,
    pub hash: String,
    /// The first entry written with a MAC; every later one must carry one.
    pub first_keyed: Option<i64>,
}

impl Checkpoint {
    pub fn parse(text: &str) -> Option<Checkpoint> {
        let mut seq = None;
        let mut hash = None;
        let mut first_keyed = None;
        for part in text.split_whitespace() {
            match part.split_once('=') {
                Some(("entries", v)) => seq = v.parse().ok(),
                Some(("head", v)) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    hash = Some(v.to_ascii_lowercase())
                }
                Some(("first_keyed", v)) => first_keyed = v.parse().ok(),
                _ => {}
            }
        }
        Some(Checkpoint {
            seq: seq?,
            hash: hash?,
            first_keyed,
        })
    }

    pub fn read(path: &Path) -> std::io::Result<Option<Checkpoint>> {
        match std::fs::read_to_string(path) {
            Ok(t) => Ok(Checkpoint::parse(&t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl std::fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entries={} head={}", self.seq, self.hash)?;
        if let Some(k) = self.first_keyed {
            write!(f, " first_keyed={k}")?;
        }
        Ok(())
    }
}

impl Anchor {
    /// Reads the key file; with `create`, makes it (mode 0600, and its directory) when absent.
    /// `checkpoints`: the audit log's and the security events'. `Ok(None)`: no key file and
    /// `create` is off.
    pub fn load(
        key_file: &Path,
        checkpoints: [&Path; 2],
        create: bool,
    ) -> std::io::Result<Option<Anchor>> {
        let text = match std::fs::read_to_string(key_file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                Anchor::create_key(key_file)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let key = hex::decode(text.trim())
            .ok()
            .filter(|k| k.len() >= 32)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}: not an audit key (64 or more hex digits)",
                        key_file.display()
                    ),
                )
            })?;
        Ok(Some(Anchor {
            key,
            key_file: key_file.to_owned(),
            checkpoint_file: checkpoints[0].to_owned(),
            security_checkpoint_file: checkpoints[1].to_owned(),
        }))
    }

    /// Where `chain`'s head is checkpointed.
    pub fn checkpoint_file(&self, chain: Chain) -> &Path {
        match chain {
            Chain::AuditLog => &self.checkpoint_file,
            Chain::SecurityEvents => &self.security_checkpoint_file,
        }
    }

    fn create_key(path: &Path) -> std::io::Result<String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(std::io::Error::other)?;
        let text = hex::encode(key);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        match opts.open(path) {
            Ok(mut f) => {
                f.write_all(text.as_bytes())?;
                f.write_all(b"\n")?;
                f.sync_all()?;
                tracing::info!(file = %path.display(), "created the audit-log key");
                Ok(text)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::read_to_string(path)
            }
            Err(e) => Err(e),
        }
    }

    /// The MAC of an entry's canonical content (hex).
    pub fn mac(&self, content: &[u8]) -> String {
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(content);
        hex::encode(m.finalize().into_bytes())
    }

    /// Whether `mac` (hex) is the MAC of `content`, compared in constant time.
    pub fn verify_mac(&self, content: &[u8], mac: &str) -> bool {
        let Ok(tag) = hex::decode(mac) else {
            return false;
        };
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(content);
        m.verify_slice(&tag).is_ok()
    }

    /// Records `chain`'s head after a commit. A checkpoint further ahead (written by another
    /// process on the same data directory) is kept. Written to a temporary file and renamed,
    /// so a crash leaves the old checkpoint or the new one.
    pub fn write_checkpoint(&self, chain: Chain, c: &Checkpoint) -> std::io::Result<()> {
        let file = self.checkpoint_file(chain);
        if let Some(old) = Checkpoint::read(file)?
            && old.seq > c.seq
        {
            return Ok(());
        }
        let tmp = file.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            writeln!(f, "{c}")?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("ew-anchor-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (k, c) = (dir.join("sub/audit.key"), dir.join("sub/audit-checkpoint"));
        let s = dir.join("sub/security-checkpoint");
        assert!(Anchor::load(&k, [&c, &s], false).unwrap().is_none());
        let a = Anchor::load(&k, [&c, &s], true).unwrap().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&k).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let b = Anchor::load(&k, [&c, &s], true).unwrap().unwrap();
        let mac = a.mac(b"entry");
        assert!(b.verify_mac(b"entry", &mac));
        assert!(!b.verify_mac(b"entrY", &mac));
        let cp = Checkpoint {
            seq: 7,
            hash: "ab".repeat(32),
            first_keyed: Some(3),
        };
        a.write_checkpoint(Chain::AuditLog, &cp).unwrap();
        a.write_checkpoint(
            Chain::AuditLog,
            &Checkpoint {
                seq: 5,
                ..cp.clone()
            },
        )
        .unwrap();
        assert_eq!(Checkpoint::read(&c).unwrap(), Some(cp));
        assert_eq!(
            Checkpoint::read(&s).unwrap(),
            None,
            "each chain its own file"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
