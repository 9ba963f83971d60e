//! Append-only, hash-chained audit log of every change to a case, a score or an account.
//!
//! Each entry stores who, when, what entity, the record before and after (JSON), and the
//! SHA-256 of the previous entry; its own hash covers all of that, and its MAC (under the key
//! outside the database) the same. Numbering, hashing, the MAC, the checkpoint and
//! verification are the chain's (see [`crate::chain`]), shared with the security events.
//! `ecowarden audit-log verify` walks the chain and names each edited, deleted, reordered or
//! rewritten entry and a truncation.

use serde::Serialize;
use sqlx::AnyConnection;

use crate::anchor::Chain;
pub use crate::chain::{GENESIS, Problem, Verification};
use crate::chain::{Head, Link, Linked};
use crate::store::{Db, Result, WriteTx};

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
        crate::chain::hash(&self.content())
    }
}

impl Linked for Entry {
    const CHAIN: Chain = Chain::AuditLog;

    fn link(&self) -> (i64, &str, &str, Option<&str>) {
        (self.seq, &self.prev_hash, &self.hash, self.mac.as_deref())
    }

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
    head: Head,
}

impl Appender {
    /// Reads the head of the chain inside the write transaction (under the store's write
    /// lock); the commit then checkpoints the new head.
    pub async fn start(w: &mut WriteTx) -> Result<Self> {
        Ok(Appender {
            head: Head::start(w, Chain::AuditLog).await?,
        })
    }

    pub async fn append(&mut self, conn: &mut AnyConnection, change: &Change<'_>) -> Result<i64> {
        let seq = self.head.next_seq();
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
        let mut head = self.head.clone();
        let entries: Vec<Pending> = changes
            .iter()
            .map(|c| {
                let at = crate::clock::now_rfc3339();
                let before = c.before.as_ref().map(|v| v.to_string());
                let after = c.after.as_ref().map(|v| v.to_string());
                let link = head.seal(|prev, seq| {
                    entry_content(
                        prev,
                        seq,
                        &at,
                        c.actor,
                        c.action,
                        c.entity,
                        &c.entity_id,
                        before.as_deref(),
                        after.as_deref(),
                    )
                });
                Pending {
                    link,
                    at,
                    change: c,
                    before,
                    after,
                }
            })
            .collect();
        const COLS: usize = 11;
        for chunk in entries.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, before_json, after_json, prev_hash, hash, mac) VALUES {}",
                crate::store::placeholders(chunk.len(), COLS)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                q = q
                    .bind(e.link.seq)
                    .bind(e.at.as_str())
                    .bind(e.change.actor)
                    .bind(e.change.action)
                    .bind(e.change.entity)
                    .bind(e.change.entity_id.as_str())
                    .bind(e.before.as_deref())
                    .bind(e.after.as_deref())
                    .bind(e.link.prev_hash.as_str())
                    .bind(e.link.hash.as_str())
                    .bind(e.link.mac.as_deref());
            }
            q.execute(&mut *conn).await?;
        }
        self.head = head;
        Ok(entries.iter().map(|e| e.link.seq).collect())
    }
}

/// Entries per multi-row insert (11 values each): few, because a statement's cost in
/// sqlx-sqlite grows with the square of its parameters (see `cases::intake`).
const ROWS_PER_INSERT: usize = 80;

/// An entry computed but not yet stored.
struct Pending<'a> {
    link: Link,
    at: String,
    change: &'a Change<'a>,
    before: Option<String>,
    after: Option<String>,
}

/// Walks the chain with the store's key and its checkpoint file (see [`verify_with`]).
pub async fn verify(db: &Db) -> Result<Verification> {
    crate::chain::verify::<Entry>(db).await
}

/// Walks the chain with `anchor`'s key (see [`crate::chain::verify_with`]).
pub async fn verify_with(
    db: &Db,
    anchor: Option<&crate::anchor::Anchor>,
    key_file: Option<&str>,
    checkpoint: Option<&crate::anchor::Checkpoint>,
) -> Result<Verification> {
    crate::chain::verify_with::<Entry>(db, anchor, key_file, checkpoint).await
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
    #[serde(default, deserialize_with = "crate::store::empty_or_iso_date")]
    pub from: Option<chrono::NaiveDate>,
    /// To this day included.
    #[serde(default, deserialize_with = "crate::store::empty_or_iso_date")]
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
