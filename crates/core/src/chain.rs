//! The anchored hash chain under the audit log and the security events.
//!
//! Each row is numbered under the store's write lock and carries the SHA-256 of the row
//! before it; its own hash covers that link, its number and its content. So a gap in the
//! numbers is a deleted row, a broken link a reordered or deleted one, and a hash that does
//! not match its content an edited one. The hash alone is unkeyed: whoever can write the
//! database could edit a row and recompute every later hash, or delete the last rows. So each
//! row also carries a MAC (HMAC-SHA256 of the same content) under a key kept outside the
//! database, and the head is checkpointed outside it after each commit (see [`crate::anchor`]).
//! Rows written before the key existed have no MAC and are verified by their hash only;
//! every row after the first keyed one must have one.
//!
//! A table's rows say what they hold ([`Linked::content`]); numbering, hashing, MACs and
//! verification are here, once for every chained table.

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::anchor::{Anchor, Chain, Checkpoint};
use crate::store::{Db, Result, WriteTx};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The SHA-256 of a row's content, hex.
pub fn hash(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

/// A row's place in its chain, as it is stored.
#[derive(Debug, Clone)]
pub struct Link {
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub mac: Option<String>,
}

/// The head of a chain while appending: the next number and the hash to link to.
#[derive(Debug, Clone)]
pub struct Head {
    next_seq: i64,
    prev_hash: String,
    anchor: Option<Arc<Anchor>>,
}

impl Head {
    /// Reads the head inside the write transaction (under the store's write lock); the commit
    /// then checkpoints the new head.
    pub async fn start(w: &mut WriteTx, chain: Chain) -> Result<Head> {
        let anchor = w.chain_anchor(chain);
        let (table, seq) = (chain.table(), chain.seq());
        let last = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {seq}, hash FROM {table} ORDER BY {seq} DESC LIMIT 1"
        )))
        .fetch_optional(&mut *w.tx)
        .await?;
        Ok(match last {
            Some(r) => Head {
                next_seq: r.try_get::<i64, _>(0)? + 1,
                prev_hash: r
                    .try_get::<Option<String>, _>(1)?
                    .unwrap_or_else(|| GENESIS.to_owned()),
                anchor,
            },
            None => Head::genesis(anchor),
        })
    }

    /// The head of an empty chain.
    pub fn genesis(anchor: Option<Arc<Anchor>>) -> Head {
        Head {
            next_seq: 1,
            prev_hash: GENESIS.to_owned(),
            anchor,
        }
    }

    /// The number the next row gets.
    pub fn next_seq(&self) -> i64 {
        self.next_seq
    }

    /// Seals the next row, advancing the head past it. `content(prev_hash, seq)` is what
    /// the hash and the MAC cover: the row's canonical encoding with its link and number.
    pub fn seal(&mut self, content: impl FnOnce(&str, i64) -> String) -> Link {
        let seq = self.next_seq;
        let content = content(&self.prev_hash, seq);
        let hash = hash(&content);
        let mac = self.anchor.as_ref().map(|a| a.mac(content.as_bytes()));
        let prev_hash = std::mem::replace(&mut self.prev_hash, hash.clone());
        self.next_seq += 1;
        Link {
            seq,
            prev_hash,
            hash,
            mac,
        }
    }
}

/// A stored row of a chained table.
pub trait Linked: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin {
    const CHAIN: Chain;
    /// (number, link to the row before, hash, MAC) as stored.
    fn link(&self) -> (i64, &str, &str, Option<&str>);
    /// What the hash and the MAC cover, from the stored values.
    fn content(&self) -> String;
}

/// One break in a chain, naming the row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Problem {
    /// The entry's content no longer matches its hash.
    Edited { seq: i64 },
    /// Entries between two stored ones are gone.
    Missing { from: i64, to: i64 },
    /// The entry does not link to the one stored before it.
    BrokenLink { seq: i64 },
    /// The entry's MAC does not match: its content, or the chain before it, was rewritten
    /// (hashes recomputed) by someone without the key.
    Rewritten { seq: i64 },
    /// An entry after the first keyed one has no MAC.
    Unkeyed { seq: i64 },
    /// The store ends before the checkpoint's head: the last entries were deleted.
    Truncated { entries: i64, checkpoint: i64 },
    /// The entry at the checkpoint's head has another hash than the checkpoint records.
    HeadChanged { seq: i64 },
    /// Entries carry MACs but the key file is missing: they cannot be checked.
    KeyMissing { file: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Edited { seq } => {
                write!(f, "entry {seq}: content was edited (hash does not match)")
            }
            Problem::Missing { from, to } if from == to => write!(f, "entry {from}: deleted"),
            Problem::Missing { from, to } => write!(f, "entries {from}..={to}: deleted"),
            Problem::BrokenLink { seq } => write!(
                f,
                "entry {seq}: does not link to the entry before it (reordered, replaced or preceded by a deletion)"
            ),
            Problem::Rewritten { seq } => write!(
                f,
                "entry {seq}: rewritten (MAC does not match the key; content or hashes recomputed)"
            ),
            Problem::Unkeyed { seq } => write!(
                f,
                "entry {seq}: has no MAC although entries before it are keyed (rewritten)"
            ),
            Problem::Truncated {
                entries,
                checkpoint,
            } => write!(
                f,
                "truncated: the checkpoint records {checkpoint} entries, the store ends at {entries} (entries {}..={checkpoint} deleted)",
                entries + 1
            ),
            Problem::HeadChanged { seq } => write!(
                f,
                "entry {seq}: hash differs from the checkpoint (rewritten)"
            ),
            Problem::KeyMissing { file } => write!(
                f,
                "audit key {file} missing: the entries' MACs cannot be checked"
            ),
        }
    }
}

/// Result of walking a whole chain.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub entries: i64,
    pub head: String,
    /// The head as the operator keeps it (`entries=N head=H first_keyed=K`).
    pub head_checkpoint: Checkpoint,
    /// The checkpoint the chain was compared with, if any.
    pub checkpoint: Option<Checkpoint>,
    pub problems: Vec<Problem>,
}

/// Walks the chain of `T` with the store's key and its checkpoint file (see [`verify_with`]).
pub async fn verify<T: Linked>(db: &Db) -> Result<Verification> {
    let checkpoint = db
        .anchor()
        .and_then(|a| Checkpoint::read(a.checkpoint_file(T::CHAIN)).ok().flatten());
    verify_with::<T>(db, db.anchor(), None, checkpoint.as_ref()).await
}

/// Walks the chain of `T` in order, checking each row's link, hash and (with the key) MAC,
/// and that the store reaches `checkpoint`'s head with its hash. `key_file` names a key that
/// should exist when `anchor` is `None`. Reads in pages so a large table does not sit in
/// memory.
pub async fn verify_with<T: Linked>(
    db: &Db,
    anchor: Option<&Anchor>,
    key_file: Option<&str>,
    checkpoint: Option<&Checkpoint>,
) -> Result<Verification> {
    let (table, seq_col) = (T::CHAIN.table(), T::CHAIN.seq());
    let select =
        format!("SELECT * FROM {table} WHERE {seq_col} > $1 ORDER BY {seq_col} LIMIT 5000");
    let mut problems = Vec::new();
    let mut prev_seq = 0i64;
    let mut prev_hash = GENESIS.to_owned();
    let mut entries = 0i64;
    let mut first_keyed = checkpoint.and_then(|c| c.first_keyed);
    let mut key_missing = false;
    loop {
        let page: Vec<T> = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
            .bind(prev_seq)
            .fetch_all(db.pool())
            .await?;
        if page.is_empty() {
            break;
        }
        for row in page {
            let (seq, link, stored_hash, mac) = row.link();
            entries += 1;
            if seq != prev_seq + 1 {
                problems.push(Problem::Missing {
                    from: prev_seq + 1,
                    to: seq - 1,
                });
            }
            if link != prev_hash {
                problems.push(Problem::BrokenLink { seq });
            }
            let content = row.content();
            let edited = hash(&content) != stored_hash;
            if edited {
                problems.push(Problem::Edited { seq });
            }
            match (mac, anchor) {
                (Some(mac), Some(a)) => {
                    // A row already named as edited is not named twice.
                    if !edited && !a.verify_mac(content.as_bytes(), mac) {
                        problems.push(Problem::Rewritten { seq });
                    }
                }
                (Some(_), None) => key_missing = true,
                (None, _) => {
                    if first_keyed.is_some_and(|k| seq >= k) {
                        problems.push(Problem::Unkeyed { seq });
                    }
                }
            }
            if mac.is_some() && first_keyed.is_none() {
                first_keyed = Some(seq);
            }
            if let Some(c) = checkpoint
                && c.seq == seq
                && c.hash != stored_hash
            {
                problems.push(Problem::HeadChanged { seq });
            }
            prev_seq = seq;
            prev_hash = stored_hash.to_owned();
        }
    }
    if let Some(c) = checkpoint
        && prev_seq < c.seq
    {
        problems.push(Problem::Truncated {
            entries: prev_seq,
            checkpoint: c.seq,
        });
    }
    if key_missing {
        problems.push(Problem::KeyMissing {
            file: key_file
                .map(str::to_owned)
                .or_else(|| anchor.map(|a| a.key_file.display().to_string()))
                .unwrap_or_default(),
        });
    }
    Ok(Verification {
        entries,
        head_checkpoint: Checkpoint {
            seq: prev_seq,
            hash: prev_hash.clone(),
            first_keyed,
        },
        head: prev_hash,
        checkpoint: checkpoint.cloned(),
        problems,
    })
}
