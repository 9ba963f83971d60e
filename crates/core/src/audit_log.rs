//! Append-only, hash-chained audit log of every change to a case, a score or an account.
//!
//! Each entry stores who, when, what entity, the record before and after (JSON), and the
//! SHA-256 of the previous entry; its own hash covers all of that. Entries are numbered under
//! the store's write lock, so a gap in the numbers is a deleted entry, a broken link is a
//! reordered or deleted one, and a hash that does not match its content is an edited one.
//! `ecowarden audit-log verify` walks the chain and names each.
//!
//! The hash alone is unkeyed: whoever can write the database could edit an entry and recompute
//! every later hash, or delete the last entries. So each entry also carries a MAC
//! (HMAC-SHA256 of the same content) under a key kept outside the database, and the head is
//! checkpointed outside it after each commit (see [`crate::anchor`]). Entries written before
//! the key existed have no MAC and are verified by their hash only; every entry after the
//! first keyed one must have one.

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::anchor::{Anchor, Checkpoint};
use crate::store::{Db, Result, WriteTx};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A change about to be recorded.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// A stored entry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    /// HMAC-SHA256 of the content under the key outside the database; `None` for entries
    /// written before the key existed. Not shown: pages and the API keep their fields.
    #[serde(skip)]
    pub mac: Option<String>,
}

impl Entry {
    /// When, as users read it: China Standard Time, to the minute.
    pub fn at_local(&self) -> String {
        crate::clock::display_instant(&self.at)
    }

    /// The action in Chinese for pages (the stored name stays English and stable).
    pub fn action_label(&self) -> &str {
        match self.action.as_str() {
            "create" => "新建",
            "update" => "修改",
            "transition" => "办理环节",
            "correct" => "更正",
            "add_measure" => "登记配套措施",
            "add_referral" => "登记移送",
            "referral_outcome" => "更新移送结果",
            "add_document" => "登记文书",
            "add_record" => "登记笔录",
            "add_approval" => "登记审批",
            "add_evidence" => "登记证据",
            "add_provision" => "登记法律依据",
            "record_hearing" => "登记告知听证裁量",
            "disable" => "停用",
            "enable" => "启用",
            "reset_password" => "重置密码",
            "accept" => "采纳",
            "dismiss" => "排除",
            "lift" => "撤销",
            "start" => "启动",
            other => other,
        }
    }

    /// The kind of record in Chinese for pages.
    pub fn entity_label(&self) -> &str {
        entity_label(&self.entity)
    }

    /// The hash this entry's content and link should have.
    pub fn expected_hash(&self) -> String {
        hex::encode(Sha256::digest(self.content().as_bytes()))
    }

    /// What the hash and the MAC cover.
    fn content(&self) -> String {
        entry_content(
            &self.prev_hash,
            self.seq,
            &self.at,
            self.actor.as_str(),
            &self.action,
            &self.entity,
            &self.entity_id,
            self.before_json.as_deref(),
            self.after_json.as_deref(),
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn entry_content(
    prev: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    // A JSON array is an unambiguous encoding of the fields (no separator can be forged).
    serde_json::to_string(&(
        prev, seq, at, actor, action, entity, entity_id, before, after,
    ))
    .expect("strings serialise")
}

/// Appends an entry inside the caller's write transaction (see [`Db::write`]), so the change
/// and its record commit or roll back together.
pub async fn append(w: &mut WriteTx, change: &Change<'_>) -> Result<i64> {
    Appender::start(w).await?.append(&mut w.tx, change).await
}

/// Appends many entries in one transaction, reading the chain's head once (imports).
pub struct Appender {
    next_seq: i64,
    prev_hash: String,
    anchor: Option<Arc<Anchor>>,
}

impl Appender {
    /// Reads the head of the chain inside the write transaction (under the store's write
    /// lock); the commit then checkpoints the new head.
    pub async fn start(w: &mut WriteTx) -> Result<Self> {
        let anchor = w.audit_anchor();
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *w.tx)
            .await?;
        Ok(match last {
            Some(r) => Appender {
                next_seq: r.try_get::<i64, _>(0)? + 1,
                prev_hash: r.try_get(1)?,
                anchor,
            },
            None => Appender {
                next_seq: 1,
                prev_hash: GENESIS.to_owned(),
                anchor,
            },
        })
    }

    /// The next entry of the chain for `change`, advancing the head (seq and hash) past it.
    fn next(&mut self, change: &Change<'_>) -> Pending {
        let seq = self.next_seq;
        let at = crate::clock::now_rfc3339();
        let before = change.before.as_ref().map(|v| v.to_string());
        let after = change.after.as_ref().map(|v| v.to_string());
        let content = entry_content(
            &self.prev_hash,
            seq,
            &at,
            change.actor,
            change.action,
            change.entity,
            &change.entity_id,
            before.as_deref(),
            after.as_deref(),
        );
        let hash = hex::encode(Sha256::digest(content.as_bytes()));
        let mac = self.anchor.as_ref().map(|a| a.mac(content.as_bytes()));
        let prev_hash = std::mem::replace(&mut self.prev_hash, hash.clone());
        self.next_seq += 1;
        Pending {
            seq,
            at,
            actor: change.actor.to_owned(),
            action: change.action.to_owned(),
            entity: change.entity.to_owned(),
            entity_id: change.entity_id.clone(),
            before,
            after,
            prev_hash,
            hash,
            mac,
        }
    }

    pub async fn append(&mut self, conn: &mut AnyConnection, change: &Change<'_>) -> Result<i64> {
        let seq = self.next_seq;
        self.append_many(conn, std::slice::from_ref(change)).await?;
        Ok(seq)
    }

    /// Appends `changes` in order, chaining their hashes in memory and inserting the entries
    /// with multi-row statements. Returns the seq of each entry.
    pub async fn append_many(
        &mut self,
        conn: &mut AnyConnection,
        changes: &[Change<'_>],
    ) -> Result<Vec<i64>> {
        // The head advances only once the entries are stored.
        let mut head = Appender {
            next_seq: self.next_seq,
            prev_hash: self.prev_hash.clone(),
            anchor: self.anchor.clone(),
        };
        let entries: Vec<Pending> = changes.iter().map(|c| head.next(c)).collect();
        const COLS: usize = 11;
        for chunk in entries.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, before_json, after_json, prev_hash, hash, mac) VALUES ",
            );
            for r in 0..chunk.len() {
                if r > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for c in 0..COLS {
                    if c > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("${}", r * COLS + c + 1));
                }
                sql.push(')');
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                q = q
                    .bind(e.seq)
                    .bind(e.at.as_str())
                    .bind(e.actor.as_str())
                    .bind(e.action.as_str())
                    .bind(e.entity.as_str())
                    .bind(e.entity_id.as_str())
                    .bind(e.before.as_deref())
                    .bind(e.after.as_deref())
                    .bind(e.prev_hash.as_str())
                    .bind(e.hash.as_str())
                    .bind(e.mac.as_deref());
            }
            q.execute(&mut *conn).await?;
        }
        *self = head;
        Ok(entries.iter().map(|e| e.seq).collect())
    }
}

/// Entries per multi-row insert (11 values each): few, because a statement's cost in
/// sqlx-sqlite grows with the square of its parameters (see `cases::intake`).
const ROWS_PER_INSERT: usize = 80;

/// An entry computed but not yet stored.
struct Pending {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    before: Option<String>,
    after: Option<String>,
    prev_hash: String,
    hash: String,
    mac: Option<String>,
}

/// One break in the chain, naming the entry.
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

/// Result of walking the whole chain.
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

/// Walks the chain with the store's key and its checkpoint file (see [`verify_with`]).
pub async fn verify(db: &Db) -> Result<Verification> {
    let checkpoint = db
        .anchor()
        .and_then(|a| Checkpoint::read(&a.checkpoint_file).ok().flatten());
    verify_with(db, db.anchor(), None, checkpoint.as_ref()).await
}

/// Walks the chain in order, checking each entry's link, hash and (with the key) MAC, and
/// that the store reaches `checkpoint`'s head with its hash. `key_file` names a key that
/// should exist when `anchor` is `None`. Reads in pages so a large log does not sit in memory.
pub async fn verify_with(
    db: &Db,
    anchor: Option<&Anchor>,
    key_file: Option<&str>,
    checkpoint: Option<&Checkpoint>,
) -> Result<Verification> {
    let mut problems = Vec::new();
    let mut prev_seq = 0i64;
    let mut prev_hash = GENESIS.to_owned();
    let mut entries = 0i64;
    let mut first_keyed = checkpoint.and_then(|c| c.first_keyed);
    let mut key_missing = false;
    loop {
        let page: Vec<Entry> =
            sqlx::query_as("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000")
                .bind(prev_seq)
                .fetch_all(db.pool())
                .await?;
        if page.is_empty() {
            break;
        }
        for e in page {
            entries += 1;
            if e.seq != prev_seq + 1 {
                problems.push(Problem::Missing {
                    from: prev_seq + 1,
                    to: e.seq - 1,
                });
            }
            if e.prev_hash != prev_hash {
                problems.push(Problem::BrokenLink { seq: e.seq });
            }
            let content = e.content();
            let edited = hex::encode(Sha256::digest(content.as_bytes())) != e.hash;
            if edited {
                problems.push(Problem::Edited { seq: e.seq });
            }
            match (&e.mac, anchor) {
                (Some(mac), Some(a)) => {
                    // An entry already named as edited is not named twice.
                    if !edited && !a.verify_mac(content.as_bytes(), mac) {
                        problems.push(Problem::Rewritten { seq: e.seq });
                    }
                }
                (Some(_), None) => key_missing = true,
                (None, _) => {
                    if first_keyed.is_some_and(|k| e.seq >= k) {
                        problems.push(Problem::Unkeyed { seq: e.seq });
                    }
                }
            }
            if e.mac.is_some() && first_keyed.is_none() {
                first_keyed = Some(e.seq);
            }
            if let Some(c) = checkpoint
                && c.seq == e.seq
                && c.hash != e.hash
            {
                problems.push(Problem::HeadChanged { seq: e.seq });
            }
            prev_seq = e.seq;
            prev_hash = e.hash;
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

/// The history of one record, oldest first.
pub async fn history(db: &Db, entity: &str, entity_id: &str) -> Result<Vec<Entry>> {
    Ok(
        sqlx::query_as("SELECT * FROM audit_log WHERE entity = $1 AND entity_id = $2 ORDER BY seq")
            .bind(entity)
            .bind(entity_id)
            .fetch_all(db.pool())
            .await?,
    )
}

/// The newest entries, for the audit page.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Entry>> {
    Ok(
        sqlx::query_as("SELECT * FROM audit_log ORDER BY seq DESC LIMIT $1")
            .bind(limit)
            .fetch_all(db.pool())
            .await?,
    )
}

/// Filters of the audit page. Empty strings mean "any", as HTML forms send them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Filter {
    /// The kind of record (`case`, `user`, …).
    pub entity: Option<String>,
    /// Who: a login name or a person's name.
    pub actor: Option<String>,
    /// From this day, China Standard Time (YYYY-MM-DD).
    #[serde(default, deserialize_with = "crate::store::empty_as_none")]
    pub from: Option<chrono::NaiveDate>,
    /// To this day included.
    #[serde(default, deserialize_with = "crate::store::empty_as_none")]
    pub to: Option<chrono::NaiveDate>,
    /// One case: its 案号, or its id.
    pub case: Option<String>,
    /// 1-based page number.
    #[serde(default, deserialize_with = "crate::store::empty_as_none")]
    pub page: Option<i64>,
}

/// Entries on a page of the audit log.
pub const PAGE_SIZE: i64 = 100;

/// A kind of record in Chinese for pages (the stored name stays English and stable).
pub fn entity_label(entity: &str) -> &str {
    match entity {
        "case" => "案件",
        "facility" => "企业",
        "outlet" => "排口",
        "user" => "用户",
        "lead" => "线索",
        "suppression" => "疑点屏蔽",
        "screening" => "数据筛查",
        other => other,
    }
}

/// The entity kinds a page offers as a filter.
pub const ENTITIES: [&str; 7] = [
    "case",
    "facility",
    "outlet",
    "user",
    "lead",
    "suppression",
    "screening",
];

/// The instant a China Standard Time day starts, as stored (`at` compares as text: every
/// entry is written by [`crate::clock::now_rfc3339`] in UTC with microseconds).
fn day_start(d: chrono::NaiveDate) -> String {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_local_timezone(crate::clock::cst())
        .single()
        .expect("fixed offset")
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// One page of the entries a filter selects, newest first, and whether there is a next page.
pub async fn page(db: &Db, f: &Filter) -> Result<(Vec<Entry>, bool)> {
    let set = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut sql = crate::store::Sql::new("SELECT * FROM audit_log WHERE 1=1");
    if let Some(e) = set(&f.entity) {
        sql.push(" AND entity = ").bind(e);
    }
    if let Some(a) = set(&f.actor) {
        sql.push(" AND (actor = ")
            .bind(a.clone())
            .push(" OR actor IN (SELECT username FROM users WHERE display_name = ")
            .bind(a)
            .push("))");
    }
    if let Some(d) = f.from {
        sql.push(" AND at >= ").bind(day_start(d));
    }
    if let Some(d) = f.to.and_then(|d| d.succ_opt()) {
        sql.push(" AND at < ").bind(day_start(d));
    }
    if let Some(c) = set(&f.case) {
        sql.push(" AND entity = 'case' AND entity_id IN (SELECT CAST(id AS TEXT) FROM cases WHERE case_no = ")
            .bind(c.clone())
            .push(" OR CAST(id AS TEXT) = ")
            .bind(c)
            .push(")");
    }
    sql.fetch_page(db, "seq DESC", f.page, PAGE_SIZE).await
}
