//! Accounts, roles, scopes, passwords and sessions.
//!
//! Every user has a role (what they may do) and a scope (where): the region code of their
//! unit. Every read and write in the domain modules takes a [`Scope`] and filters by it, so a
//! county officer can neither see nor change another county's records through any page or API.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::anchor::Chain;
use crate::audit_log::{self, Change};
use crate::chain::{Head, Linked};
use crate::clock;
use crate::org::{Level, Org, Region};
use crate::scope::Scope;
use crate::store::{Db, Result, StoreError};

/// Idle sessions end after this long.
pub const SESSION_HOURS: i64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    ProvincialAdmin,
    ProvincialAnalyst,
    CityLeader,
    CityOfficer,
    CountyOfficer,
    Auditor,
}

/// What a role may do. Scope (where) is checked separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read cases, facilities and statistics in scope.
    ReadLedger,
    /// Create and change cases in scope.
    WriteLedger,
    /// Create, disable and reset accounts in scope.
    ManageUsers,
    /// Read the audit and security logs.
    ReadAudit,
    /// Accept screening leads into cases, or dismiss them, in scope.
    HandleLeads,
    /// Keep the province-wide settings every legal check reads (the holiday calendar).
    ManageCalendar,
    /// Fill the dossier-review sheets assigned to one (案卷评查), and put one's unit's own
    /// dossiers forward to a plan.
    ReviewDossiers,
    /// Keep the review sheet and draw review plans.
    ManageReviews,
    /// Conduct the inspection audits (稽查) one is on the team of.
    Inspect,
    /// Keep the scoring rules, decompose indicators into tasks and run evaluations (效能评估).
    ManageAssessment,
    /// Start a screening run of the whole province's monitoring archive from the page.
    RunScreening,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::ProvincialAdmin,
        Role::ProvincialAnalyst,
        Role::CityLeader,
        Role::CityOfficer,
        Role::CountyOfficer,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ProvincialAdmin => "provincial_admin",
            Role::ProvincialAnalyst => "provincial_analyst",
            Role::CityLeader => "city_leader",
            Role::CityOfficer => "city_officer",
            Role::CountyOfficer => "county_officer",
            Role::Auditor => "auditor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::ProvincialAdmin => "省级管理员",
            Role::ProvincialAnalyst => "省级分析员",
            Role::CityLeader => "市级领导",
            Role::CityOfficer => "市级执法人员",
            Role::CountyOfficer => "县级执法人员",
            Role::Auditor => "稽查员（只读）",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The level a user of this role must sit at; `None` where any level will do.
    pub fn required_level(self) -> Option<Level> {
        match self {
            Role::ProvincialAdmin | Role::ProvincialAnalyst => Some(Level::Province),
            Role::CityLeader | Role::CityOfficer => Some(Level::City),
            Role::CountyOfficer => Some(Level::County),
            Role::Auditor => None,
        }
    }

    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::ProvincialAdmin => true,
            Role::ProvincialAnalyst => matches!(p, ReadLedger | HandleLeads | RunScreening),
            Role::CityLeader => matches!(
                p,
                ReadLedger | WriteLedger | ManageUsers | HandleLeads | ReviewDossiers
            ),
            Role::CityOfficer | Role::CountyOfficer => {
                matches!(p, ReadLedger | WriteLedger | HandleLeads | ReviewDossiers)
            }
            Role::Auditor => matches!(p, ReadLedger | ReadAudit | Inspect),
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: String,
    pub region_code: String,
    pub city_code: String,
    pub disabled: i64,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub created_at: String,
}

/// A signed-in user, as every handler sees them.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub region_code: String,
    pub scope: Scope,
}

impl User {
    pub fn from_row(org: &Org, r: &UserRow) -> Option<User> {
        Some(User {
            id: r.id,
            username: r.username.clone(),
            display_name: r.display_name.clone(),
            role: Role::parse(&r.role)?,
            region_code: r.region_code.clone(),
            scope: Scope::for_region(org, &r.region_code),
        })
    }

    pub fn can(&self, p: Permission) -> bool {
        self.role.can(p)
    }
}

/// Whether `manager` may create or change an account of `role` in `region`: only inside their
/// own scope, and only a provincial administrator may grant a provincial role.
pub fn may_manage_account(manager: &User, region: &Region, role: Role) -> bool {
    let provincial = matches!(role, Role::ProvincialAdmin | Role::ProvincialAnalyst);
    manager.scope.covers(&region.code, &region.city_code)
        && (!provincial || manager.role == Role::ProvincialAdmin)
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes): run on a blocking thread.
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 with a random salt does not fail")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks a new password against the minimum the bureau's security rules ask for.
pub fn check_password_policy(p: &str) -> std::result::Result<(), String> {
    let classes = [
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if p.chars().count() < 10 || classes < 3 {
        return Err("密码至少10位，且包含大写字母、小写字母、数字、符号中的三类".into());
    }
    Ok(())
}

/// 32 random bytes, hex: session tokens and CSRF tokens.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("OS random source");
    hex::encode(b)
}

/// Sessions are stored by the hash of their token, so a leaked table opens no session.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Input for a new account.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub region_code: String,
}

/// Why an account change was refused; shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("用户名“{0}”已存在")]
    Duplicate(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn create_user(
    db: &Db,
    org: &Org,
    actor: &str,
    u: &NewUser,
) -> std::result::Result<i64, AccountError> {
    let username = u.username.trim();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
    {
        return Err(AccountError::Invalid(
            "用户名只能使用字母、数字、下划线、点和连字符（1-64位）".into(),
        ));
    }
    if u.display_name.trim().is_empty() {
        return Err(AccountError::Invalid("姓名不能为空".into()));
    }
    let region = org
        .known(&u.region_code)
        .map_err(AccountError::Invalid)?
        .clone();
    if let Some(level) = u.role.required_level()
        && level != region.level
    {
        return Err(AccountError::Invalid(format!(
            "角色“{}”须属于{}级单位，“{}”不是",
            u.role.label(),
            match level {
                Level::Province => "省",
                Level::City => "市",
                Level::County => "县",
            },
            region.name
        )));
    }
    check_password_policy(&u.password).map_err(AccountError::Invalid)?;
    let pw = u.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .expect("hash task");
    let mut w = db.write().await?;
    let id: i64 = match sqlx::query_scalar(
        "INSERT INTO users (username, display_name, password_hash, role, region_code, city_code, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
    )
    .bind(username)
    .bind(u.display_name.trim())
    .bind(hash)
    .bind(u.role.as_str())
    .bind(&region.code)
    .bind(&region.city_code)
    .bind(clock::now_rfc3339())
    .fetch_one(&mut *w.tx)
    .await
    .map_err(StoreError::from)
    {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => return Err(AccountError::Duplicate(username.into())),
        Err(e) => return Err(e.into()),
    };
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "create",
            entity: "user",
            entity_id: id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "username": username, "display_name": u.display_name.trim(),
                "role": u.role.as_str(), "region_code": region.code,
            })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}

pub async fn find_by_username(db: &Db, username: &str) -> Result<Option<UserRow>> {
    Ok(sqlx::query_as("SELECT * FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn get_user(db: &Db, id: i64) -> Result<UserRow> {
    Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?)
}

/// Users inside a scope, for the account page.
pub async fn list_users(db: &Db, scope: &Scope) -> Result<Vec<UserRow>> {
    let (sql, bind) = match scope.condition("u") {
        Some((col, v)) => (
            format!("SELECT u.* FROM users u WHERE {col} = $1 ORDER BY u.region_code, u.username"),
            Some(v),
        ),
        None => (
            "SELECT u.* FROM users u ORDER BY u.region_code, u.username".to_owned(),
            None,
        ),
    };
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    if let Some(v) = bind {
        q = q.bind(v);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// People's names by login name, for pages that say who did something (an account's login
/// name means little to a reader).
pub async fn display_names(db: &Db) -> Result<std::collections::HashMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT username, display_name FROM users")
        .fetch_all(db.pool())
        .await?;
    Ok(rows.into_iter().collect())
}

/// Disables or re-enables an account; disabling ends its sessions.
pub async fn set_disabled(db: &Db, actor: &str, id: i64, disabled: bool) -> Result<()> {
    let before = get_user(db, id).await?;
    let mut w = db.write().await?;
    sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(disabled as i64)
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
    if disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
    }
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: if disabled { "disable" } else { "enable" },
            entity: "user",
            entity_id: id.to_string(),
            before: Some(serde_json::json!({"disabled": before.disabled != 0})),
            after: Some(serde_json::json!({"disabled": disabled})),
        },
    )
    .await?;
    w.commit().await
}

/// Sets a new password, clears any lock and ends the account's sessions.
pub async fn reset_password(
    db: &Db,
    actor: &str,
    id: i64,
    password: &str,
) -> std::result::Result<(), AccountError> {
    check_password_policy(password).map_err(AccountError::Invalid)?;
    let pw = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .expect("hash task");
    let mut w = db.write().await?;
    let n = sqlx::query(
        "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2",
    )
    .bind(hash)
    .bind(id)
    .execute(&mut *w.tx)
    .await
    .map_err(StoreError::from)?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound.into());
    }
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::from)?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "reset_password",
            entity: "user",
            entity_id: id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

/// Why a login failed. The page shows one message for all of them, so it does not reveal
/// which usernames exist; the security log keeps the precise reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    UnknownUser,
    WrongPassword,
    Locked,
    Disabled,
}

impl LoginFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginFailure::UnknownUser => "unknown_user",
            LoginFailure::WrongPassword => "wrong_password",
            LoginFailure::Locked => "locked",
            LoginFailure::Disabled => "disabled",
        }
    }
}

/// A new session: the cookie value and the CSRF token that forms must echo.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
}

/// Checks the password and opens a session. Failures count per (account, client address)
/// in `throttle`, which makes that address wait before trying that account again (a growing
/// backoff, see [`crate::throttle`]); the account itself is never locked for everyone.
///
/// Every attempt spends one Argon2 verification, against the account's hash or, for an unknown
/// or disabled account or a waiting address, [`DUMMY_HASH`], and writes nothing on failure, so
/// the response time does not tell those cases apart (the page's message does not either).
pub async fn login(
    db: &Db,
    throttle: &crate::throttle::LoginThrottle,
    username: &str,
    password: &str,
    peer: &str,
) -> Result<std::result::Result<NewSession, LoginFailure>> {
    let waiting = throttle.is_blocked(username, peer);
    let user = find_by_username(db, username).await?;
    let hash = match &user {
        Some(u) if u.disabled == 0 && !waiting => u.password_hash.clone(),
        _ => DUMMY_HASH.to_owned(),
    };
    let pw = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .expect("verify task");
    let failure = match &user {
        None => Some(LoginFailure::UnknownUser),
        Some(u) if u.disabled != 0 => Some(LoginFailure::Disabled),
        Some(_) if waiting => Some(LoginFailure::Locked),
        Some(_) if !ok => Some(LoginFailure::WrongPassword),
        Some(_) => None,
    };
    let (Some(user), None) = (user, failure) else {
        throttle.failed(username, peer);
        return Ok(Err(failure.unwrap_or(LoginFailure::WrongPassword)));
    };
    throttle.succeeded(username, peer);
    let now = clock::now_rfc3339();
    let mut w = db.write().await?;
    let s = NewSession {
        token: random_token(),
        csrf: random_token(),
    };
    let expires = (chrono::Utc::now() + chrono::Duration::hours(SESSION_HOURS))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(user.id)
        .execute(&mut *w.tx)
        .await?;
    sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1,$2,$3,$4,$5)")
        .bind(token_hash(&s.token))
        .bind(user.id)
        .bind(&s.csrf)
        .bind(&now)
        .bind(expires)
        .execute(&mut *w.tx)
        .await?;
    w.commit().await?;
    Ok(Ok(s))
}

/// A hash of a random password, verified against when the username is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Wq3bW1FJ5o5ZpQk5yqkqvXq0j3d2ZbqQZ0u1g2vJx8E";

/// The user and CSRF token of a live session, or `None` if it is unknown, expired or disabled.
pub async fn session_user(db: &Db, org: &Org, token: &str) -> Result<Option<(User, String)>> {
    let row = sqlx::query(
        "SELECT s.csrf_token, s.expires_at, u.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(token_hash(token))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let expires: String = row.try_get("expires_at")?;
    if expires.as_str() <= clock::now_rfc3339().as_str() {
        return Ok(None);
    }
    let u: UserRow = sqlx::FromRow::from_row(&row)?;
    if u.disabled != 0 {
        return Ok(None);
    }
    Ok(User::from_row(org, &u).map(|u| (u, row.try_get("csrf_token").unwrap_or_default())))
}

pub async fn logout(db: &Db, token: &str) -> Result<()> {
    let mut w = db.write().await?;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(&mut *w.tx)
        .await?;
    w.commit().await
}

/// Records a refused login, a forbidden request or a malformed one, as the next row of the
/// security events' chain (see [`crate::chain`]).
pub async fn security_event(
    db: &Db,
    kind: &str,
    username: Option<&str>,
    peer: Option<&str>,
    path: &str,
    detail: &str,
) {
    // Issue #16: what an anonymous request sends is stored and logged capped.
    let username = username.map(|u| cap(u, 64));
    let username = username.as_deref();
    let (peer, path, detail) = (peer.map(|p| cap(p, 64)), cap(path, 256), cap(detail, 512));
    let (peer, path, detail) = (peer.as_deref(), path.as_str(), detail.as_str());
    tracing::warn!(kind, username, peer, path, detail, "security event");
    let event = SecurityEvent {
        id: 0,
        at: clock::now_rfc3339(),
        kind: kind.to_owned(),
        username: username.map(str::to_owned),
        peer: peer.map(str::to_owned),
        path: Some(path.to_owned()),
        detail: detail.to_owned(),
        prev_hash: None,
        hash: None,
        mac: None,
    };
    if let Err(e) = append_security_event(db, event).await {
        tracing::error!(error = %e, "could not record security event");
    }
}

async fn append_security_event(db: &Db, mut e: SecurityEvent) -> Result<()> {
    let mut w = db.write().await?;
    let mut head = Head::start(&mut w, Chain::SecurityEvents).await?;
    e.seal(&mut head);
    sqlx::query(
        "INSERT INTO security_events (id, at, kind, username, peer, path, detail, prev_hash, hash, mac) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
    )
    .bind(e.id)
    .bind(&e.at)
    .bind(&e.kind)
    .bind(e.username.as_deref())
    .bind(e.peer.as_deref())
    .bind(e.path.as_deref())
    .bind(&e.detail)
    .bind(e.prev_hash.as_deref())
    .bind(e.hash.as_deref())
    .bind(e.mac.as_deref())
    .execute(&mut *w.tx)
    .await?;
    w.commit().await
}

/// Chains the security events recorded before they were chained (migration 0018), in id
/// order from the first, renumbered 1, 2, … so that the chain has no gap. Runs only while no
/// event is chained yet: afterwards an unchained row is a rewrite for verify to name.
pub async fn chain_security_events(db: &Db) -> Result<u64> {
    // Most starts have nothing to chain: they take no write lock. (A write transaction dropped
    // without commit stays open on PostgreSQL until its connection is used again, and with it
    // the advisory write lock: every later writer would wait.)
    let unchained: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM security_events WHERE hash IS NULL")
            .fetch_one(db.pool())
            .await?;
    if unchained == 0 {
        return Ok(0);
    }
    let mut w = db.write().await?;
    let chained: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM security_events WHERE hash IS NOT NULL")
            .fetch_one(&mut *w.tx)
            .await?;
    let rows: Vec<SecurityEvent> = if chained > 0 {
        Vec::new()
    } else {
        sqlx::query_as("SELECT * FROM security_events ORDER BY id")
            .fetch_all(&mut *w.tx)
            .await?
    };
    if rows.is_empty() {
        w.commit().await?;
        return Ok(0);
    }
    let mut head = Head::genesis(w.chain_anchor(Chain::SecurityEvents));
    for mut e in rows.iter().cloned() {
        let old = e.id;
        e.seal(&mut head);
        sqlx::query(
            "UPDATE security_events SET id = $1, prev_hash = $2, hash = $3, mac = $4 WHERE id = $5",
        )
        .bind(e.id)
        .bind(e.prev_hash.as_deref())
        .bind(e.hash.as_deref())
        .bind(e.mac.as_deref())
        .bind(old)
        .execute(&mut *w.tx)
        .await?;
    }
    w.commit().await?;
    Ok(rows.len() as u64)
}

/// At most `max` characters of `s`, marked with `…` when cut.
fn cap(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// A refused login, a forbidden or a malformed request, chained like the audit log.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SecurityEvent {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub username: Option<String>,
    pub peer: Option<String>,
    pub path: Option<String>,
    pub detail: String,
    /// The chain (NULL only on rows recorded before migration 0018, until chained).
    #[serde(skip)]
    pub prev_hash: Option<String>,
    #[serde(skip)]
    pub hash: Option<String>,
    #[serde(skip)]
    pub mac: Option<String>,
}

impl SecurityEvent {
    /// Gives the event the head's next number and link, its hash and MAC.
    fn seal(&mut self, head: &mut Head) {
        let link = head.seal(|prev, seq| {
            self.id = seq;
            self.prev_hash = Some(prev.to_owned());
            self.content()
        });
        (self.hash, self.mac) = (Some(link.hash), link.mac);
    }
}

impl Linked for SecurityEvent {
    const CHAIN: Chain = Chain::SecurityEvents;

    fn link(&self) -> (i64, &str, &str, Option<&str>) {
        (
            self.id,
            self.prev_hash.as_deref().unwrap_or_default(),
            self.hash.as_deref().unwrap_or_default(),
            self.mac.as_deref(),
        )
    }

    fn content(&self) -> String {
        // A JSON array is an unambiguous encoding of the fields (no separator can be forged).
        serde_json::to_string(&(
            self.prev_hash.as_deref().unwrap_or_default(),
            self.id,
            &self.at,
            &self.kind,
            &self.username,
            &self.peer,
            &self.path,
            &self.detail,
        ))
        .expect("strings serialise")
    }
}

pub async fn recent_security_events(db: &Db, limit: i64) -> Result<Vec<SecurityEvent>> {
    Ok(
        sqlx::query_as("SELECT * FROM security_events ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(db.pool())
            .await?,
    )
}

/// Makes an account an officer's (by certificate number), so that officer reads their own
/// individual score sheet; the officer must sit in the account's scope.
pub async fn link_officer(
    db: &Db,
    org: &Org,
    actor: &str,
    user_id: i64,
    certificate_no: &str,
) -> std::result::Result<(), AccountError> {
    let user = get_user(db, user_id).await?;
    let officer: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, region_code, city_code FROM officers WHERE certificate_no = $1")
            .bind(certificate_no)
            .fetch_optional(db.pool())
            .await
            .map_err(StoreError::from)?;
    let Some((officer_id, region, city)) = officer else {
        return Err(AccountError::Invalid(format!(
            "没有执法证号为 {certificate_no} 的执法人员"
        )));
    };
    if !Scope::for_region(org, &user.region_code).covers(&region, &city) {
        return Err(AccountError::Invalid(format!(
            "执法人员 {certificate_no} 不在账户“{}”的单位范围内",
            user.username
        )));
    }
    let mut w = db.write().await?;
    let before: Option<i64> = sqlx::query_scalar("SELECT officer_id FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(StoreError::from)?;
    sqlx::query("UPDATE users SET officer_id = $1 WHERE id = $2")
        .bind(officer_id)
        .bind(user_id)
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::from)?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "link_officer",
            entity: "user",
            entity_id: user_id.to_string(),
            before: Some(serde_json::json!({"officer_id": before})),
            after: Some(
                serde_json::json!({"officer_id": officer_id, "certificate_no": certificate_no}),
            ),
        },
    )
    .await?;
    Ok(w.commit().await?)
}

/// The certificate number of the officer whose account this is, if any.
pub async fn officer_of(db: &Db, user_id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "SELECT o.certificate_no FROM users u JOIN officers o ON o.id = u.officer_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?
    .flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A login for an unknown, disabled or waiting account verifies against the dummy hash:
    /// it must be a real hash of the same cost as a stored one, or such a login answers
    /// measurably faster than a wrong password and tells the account apart.
    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).expect("the dummy hash parses");
        let real_hash = hash_password("Fujian-2023!");
        let real = PasswordHash::new(&real_hash).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.params, real.params);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
        let time = |hash: &str| {
            let t = std::time::Instant::now();
            for _ in 0..3 {
                assert!(!verify_password("wrong", hash));
            }
            t.elapsed().as_secs_f64()
        };
        let (d, r) = (time(DUMMY_HASH), time(&real_hash));
        assert!(d > r / 3.0 && d < r * 3.0, "dummy {d:.3} s, real {r:.3} s");
    }

    #[test]
    fn password_round_trip_and_policy() {
        let h = hash_password("Fujian-2023!");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Fujian-2023!", &h));
        assert!(!verify_password("fujian-2023!", &h));
        assert!(check_password_policy("short1A").is_err());
        assert!(check_password_policy("alllowercaseletters").is_err());
        assert!(check_password_policy("Fujian-2023!").is_ok());
    }

    #[test]
    fn managers_create_accounts_inside_their_scope_only() {
        let org: Org = crate::org::fujian_regions().into_iter().collect();
        let user = |role: Role, region: &str| User {
            id: 1,
            username: "m".into(),
            display_name: "管理员".into(),
            role,
            region_code: region.into(),
            scope: Scope::for_region(&org, region),
        };
        let region = |code: &str| org.region(code).unwrap();
        let fuzhou_leader = user(Role::CityLeader, "350100");
        assert!(may_manage_account(
            &fuzhou_leader,
            region("350102"),
            Role::CountyOfficer
        ));
        assert!(may_manage_account(
            &fuzhou_leader,
            region("350100"),
            Role::CityOfficer
        ));
        assert!(!may_manage_account(
            &fuzhou_leader,
            region("350203"),
            Role::CountyOfficer
        ));
        assert!(!may_manage_account(
            &fuzhou_leader,
            region("350100"),
            Role::ProvincialAnalyst
        ));
        let admin = user(Role::ProvincialAdmin, "350000");
        assert!(may_manage_account(
            &admin,
            region("350000"),
            Role::ProvincialAnalyst
        ));
        assert!(may_manage_account(
            &admin,
            region("350203"),
            Role::CountyOfficer
        ));
    }

    #[test]
    fn dummy_hash_is_well_formed() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn role_permissions() {
        assert!(Role::Auditor.can(Permission::ReadAudit));
        assert!(!Role::Auditor.can(Permission::WriteLedger));
        assert!(!Role::ProvincialAnalyst.can(Permission::WriteLedger));
        assert!(Role::CountyOfficer.can(Permission::WriteLedger));
        assert!(!Role::CountyOfficer.can(Permission::ManageUsers));
    }
}
