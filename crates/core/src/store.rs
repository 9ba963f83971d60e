//! The relational store: SQLite (embedded default) or PostgreSQL (server option), chosen by URL.
//!
//! Both backends sit behind sqlx's `Any` driver and share one set of SQL statements written in
//! the common dialect (`$n` placeholders, `RETURNING`, `ON CONFLICT`). We keep values to the
//! types both speak natively (integers, text): dates are ISO text, money is whole fen. What
//! differs between the backends (migrations, pragmas, the audit-log lock) is named by
//! [`Backend`] and kept in this module, so domain modules never branch on the database.
//! The integration suite runs every test on both.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::anchor::{Anchor, Chain, Checkpoint};

mod template;

/// The SQLite migrations, embedded once: a new store's template records them, every open
/// applies what a store lacks.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::BadUrl(redact(url)))
        }
    }
}

/// Errors of the store layer; the web layer maps them to HTTP statuses.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite: or postgres://, got {0}")]
    BadUrl(String),
    #[error("record not found")]
    NotFound,
    /// The record exists but lies outside the caller's scope (see [`Sql::fetch_in_scope`]).
    #[error("record outside the caller's scope")]
    OutOfScope,
    /// A unique or foreign-key constraint refused the write ([`Conflict`] says it in Chinese).
    #[error("{0}")]
    Conflict(Conflict),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sqlx(sqlx::Error),
    /// A [`crate::scan::Scan`]'s read failed.
    #[error(transparent)]
    Scan(#[from] rusqlite::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(ref d)
                if d.is_unique_violation() || d.is_foreign_key_violation() =>
            {
                StoreError::Conflict(Conflict::of(d.as_ref()))
            }
            e => StoreError::Sqlx(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A write refused by a constraint, named the same on both backends: the table and the
/// constrained columns joined by `_` (`cases`, `case_no`; `outlets`, `facility_id_name`).
/// Its `Display` is the Chinese sentence a user reads, never the driver's English text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub table: String,
    pub columns: String,
    /// A unique value taken (`true`), or a reference to a missing record (`false`).
    pub duplicate: bool,
}

impl Conflict {
    /// SQLite names the columns in its message (`UNIQUE constraint failed: t.a, t.b`) and
    /// nothing for a foreign key; PostgreSQL names the constraint (`t_a_b_key`, `t_a_fkey`)
    /// and the table.
    fn of(d: &dyn sqlx::error::DatabaseError) -> Conflict {
        Conflict::parse(
            d.message(),
            d.constraint(),
            d.table(),
            d.is_unique_violation(),
        )
    }

    fn parse(
        message: &str,
        constraint: Option<&str>,
        table: Option<&str>,
        duplicate: bool,
    ) -> Conflict {
        if let Some(cols) = message.strip_prefix("UNIQUE constraint failed: ") {
            let mut table = String::new();
            let columns: Vec<&str> = cols
                .split(", ")
                .map(|tc| match tc.split_once('.') {
                    Some((t, c)) => {
                        table = t.to_owned();
                        c
                    }
                    None => tc,
                })
                .collect();
            return Conflict {
                table,
                columns: columns.join("_"),
                duplicate,
            };
        }
        let table = table.unwrap_or_default();
        let columns = constraint
            .map(|c| {
                let c = c.strip_prefix(table).unwrap_or(c).trim_start_matches('_');
                c.strip_suffix("_fkey")
                    .or_else(|| c.strip_suffix("_key"))
                    .unwrap_or(c)
            })
            .unwrap_or_default();
        Conflict {
            table: table.to_owned(),
            columns: columns.to_owned(),
            duplicate,
        }
    }

    /// What the constrained value is called on the pages.
    pub fn field(&self) -> &'static str {
        match (self.table.as_str(), self.columns.as_str()) {
            ("cases", "case_no") => "案号",
            ("facilities", "credit_code") => "统一社会信用代码",
            ("third_parties", "credit_code") => "第三方机构信用代码",
            ("users", "username") => "用户名",
            ("units", "name") => "单位名称",
            ("officers", "certificate_no") => "执法证号",
            ("outlets", "mn") => "数采仪编号（MN）",
            ("outlets", "facility_id_name") => "同一单位的排放口名称",
            ("leads", "outlet_id_period_from_period_to") => "同一排放口同一期间的线索",
            (_, "region_code" | "inspector_region" | "target_region") => "行政区划",
            (_, "unit_id") => "执法单位",
            (_, "officer_id") => "执法人员",
            (_, "case_id") => "案件",
            (_, "facility_id") => "当事人",
            (_, "outlet_id") => "排放口",
            (_, "lead_id") => "线索",
            _ => "",
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.duplicate, self.field()) {
            (true, "") => f.write_str("与已有记录重复，未保存"),
            (true, field) => write!(f, "{field}已存在，未保存"),
            (false, "") => f.write_str("引用的记录不存在或仍被其他记录引用，未保存"),
            (false, field) => write!(f, "{field}不存在或仍被其他记录引用，未保存"),
        }
    }
}

/// Hides the password in a URL before it reaches a log or an error message.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A connection pool plus what the domain modules need to write safely.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Serialises write transactions in this process. SQLite has one writer anyway (and a
    /// deferred transaction that upgrades to a write can fail with SQLITE_BUSY instead of
    /// waiting); the audit log's hash chain needs its appends in one order on both backends.
    write_lock: Arc<Mutex<()>>,
    /// The audit log's key and checkpoint (see [`crate::anchor`]); `None`: entries are
    /// written unkeyed and no checkpoint is kept (stores opened without settings).
    anchor: Option<Arc<Anchor>>,
    /// The SQLite store's file, for [`crate::scan::Scan`]; `None` on PostgreSQL or in memory.
    sqlite_file: Option<Arc<std::path::PathBuf>>,
}

/// The file a SQLite URL names (`sqlite:PATH` or `sqlite://PATH`, options after `?`); `None`
/// for a store in memory.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || options.contains("mode=memory");
    (!in_memory).then(|| path.into())
}

/// A write transaction holding the process-wide write lock until commit or drop.
pub struct WriteTx {
    pub tx: Transaction<'static, Any>,
    _guard: OwnedMutexGuard<()>,
    anchor: Option<Arc<Anchor>>,
    /// Chains appended to: their checkpoints are rewritten after the commit.
    chained: Vec<Chain>,
}

impl WriteTx {
    /// Commits; for each chain appended to, then records its head in its checkpoint (after
    /// the commit, so a rolled-back append never reaches it). A checkpoint that cannot be
    /// written is logged, not an error: the change is stored.
    pub async fn commit(mut self) -> Result<()> {
        let mut heads = Vec::new();
        if let Some(a) = &self.anchor {
            for &chain in &self.chained {
                if let Some(c) = head_checkpoint(&mut self.tx, a, chain).await? {
                    heads.push((chain, c));
                }
            }
        }
        self.tx.commit().await?;
        if let Some(a) = &self.anchor {
            for (chain, c) in heads {
                if let Err(e) = a.write_checkpoint(chain, &c) {
                    tracing::error!(file = %a.checkpoint_file(chain).display(), error = %e, "writing a chain's checkpoint");
                }
            }
        }
        Ok(())
    }

    /// The key, for the MACs of the rows appended to `chain`; marks the chain for its
    /// checkpoint.
    pub fn chain_anchor(&mut self, chain: Chain) -> Option<Arc<Anchor>> {
        if !self.chained.contains(&chain) {
            self.chained.push(chain);
        }
        self.anchor.clone()
    }
}

/// The head of `chain` as its checkpoint records it, read inside the transaction.
async fn head_checkpoint(
    tx: &mut Transaction<'static, Any>,
    anchor: &Anchor,
    chain: Chain,
) -> Result<Option<Checkpoint>> {
    use sqlx::Row;
    let (table, seq) = (chain.table(), chain.seq());
    let Some(head) = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {seq}, hash FROM {table} ORDER BY {seq} DESC LIMIT 1"
    )))
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let known = Checkpoint::read(anchor.checkpoint_file(chain))
        .ok()
        .flatten()
        .and_then(|c| c.first_keyed);
    let first_keyed = match known {
        Some(k) => Some(k),
        None => {
            sqlx::query_scalar::<_, Option<i64>>(sqlx::AssertSqlSafe(format!(
                "SELECT MIN({seq}) FROM {table} WHERE mac IS NOT NULL"
            )))
            .fetch_one(&mut **tx)
            .await?
        }
    };
    Ok(Some(Checkpoint {
        seq: head.try_get(0)?,
        hash: head
            .try_get::<Option<String>, _>(1)?
            .unwrap_or_else(|| crate::chain::GENESIS.to_owned()),
        first_keyed,
    }))
}

impl Db {
    /// Connects and applies the backend's embedded migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            // Create the file on first start; the data directory is made by the caller.
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        // A new SQLite store starts as a copy of the migrated template.
        if let (Backend::Sqlite, Some(path)) = (backend, sqlite_file(&url)) {
            template::create(&path, &SQLITE_MIGRATIONS).await?;
        }
        let opts: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; NORMAL is durable across
                        // application crashes, which is what a ledger needs on one machine.
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                             PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; \
                             PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        let db = Db {
            pool,
            backend,
            write_lock: Arc::new(Mutex::new(())),
            anchor: None,
            sqlite_file: sqlite_file(&url).map(Arc::new),
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                // A store made from the template has its migrations recorded: this finds
                // nothing to apply.
                SQLITE_MIGRATIONS.run(&self.pool).await?;
                // The list and dashboard plans rest on index statistics (0006 gathers them);
                // re-gather them where a table has grown or shrunk much since (a store
                // migrated empty, then filled), sampling at most 1,000 rows per index.
                sqlx::raw_sql("PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002;")
                    .execute(&self.pool)
                    .await?;
            }
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The aggregate that joins a group's integer `col` into one comma-separated text
    /// (`group_concat` on SQLite, `string_agg` on PostgreSQL): a million rows come back as
    /// one row per group, with their ids.
    pub fn ids_text(&self, col: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("group_concat({col}, ',')"),
            Backend::Postgres => format!("string_agg(CAST({col} AS TEXT), ',')"),
        }
    }

    /// The SQLite store's file; `None` on PostgreSQL or for a store in memory.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.sqlite_file.as_deref().map(|p| p.as_path())
    }

    /// This store with the audit log's key and checkpoint (see [`crate::open`]).
    pub fn with_anchor(mut self, anchor: Option<Anchor>) -> Db {
        self.anchor = anchor.map(Arc::new);
        self
    }

    pub fn anchor(&self) -> Option<&Anchor> {
        self.anchor.as_deref()
    }

    /// Starts a write transaction; every change and its audit entry go through one.
    pub async fn write(&self) -> Result<WriteTx> {
        let guard = self.write_lock.clone().lock_owned().await;
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Several app servers may share one PostgreSQL: the transaction-scoped advisory
            // lock orders their writes the way the in-process mutex orders ours.
            sqlx::query("SELECT pg_advisory_xact_lock(212017)")
                .execute(&mut *tx)
                .await?;
        }
        Ok(WriteTx {
            tx,
            _guard: guard,
            anchor: self.anchor.clone(),
            chained: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite:x.db"), "sqlite:x.db");
    }

    #[test]
    fn conflicts_read_the_same_on_both_backends() {
        let sqlite = Conflict::parse("UNIQUE constraint failed: cases.case_no", None, None, true);
        let pg = Conflict::parse(
            "duplicate key value violates unique constraint \"cases_case_no_key\"",
            Some("cases_case_no_key"),
            Some("cases"),
            true,
        );
        assert_eq!(sqlite, pg);
        assert_eq!(sqlite.to_string(), "案号已存在，未保存");
        let sqlite = Conflict::parse(
            "UNIQUE constraint failed: outlets.facility_id, outlets.name",
            None,
            None,
            true,
        );
        let pg = Conflict::parse(
            "duplicate key value violates unique constraint",
            Some("outlets_facility_id_name_key"),
            Some("outlets"),
            true,
        );
        assert_eq!(sqlite, pg);
        assert_eq!(pg.to_string(), "同一单位的排放口名称已存在，未保存");
        let fk = Conflict::parse(
            "insert violates",
            Some("cases_unit_id_fkey"),
            Some("cases"),
            false,
        );
        assert_eq!(fk.to_string(), "执法单位不存在或仍被其他记录引用，未保存");
        let sqlite_fk = Conflict::parse("FOREIGN KEY constraint failed", None, None, false);
        assert_eq!(
            sqlite_fk.to_string(),
            "引用的记录不存在或仍被其他记录引用，未保存"
        );
    }

    /// Where the two migration sets differ on purpose, after [`normalised`]:
    /// (file, SQLite line, PostgreSQL line).
    const DELIBERATE: &[(&str, &str, &str)] = &[
        // SQLite's planner reads sqlite_stat1 for every table; PostgreSQL's autovacuum
        // analyses the small tables itself, so only the million-row one is analysed at once.
        ("0006_list_indexes.sql", "ANALYZE;", "ANALYZE cases;"),
    ];

    /// Migrations whose statements differ whole between the backends, by design: the list's
    /// contains-search is FTS5 trigram tables with triggers on SQLite and pg_trgm GIN indexes
    /// on PostgreSQL, and the short search's table of 案号 pieces is kept by SQL triggers on
    /// SQLite and a PL/pgSQL trigger on PostgreSQL. Only their last `usize` lines (the plain
    /// indexes) must agree.
    const BACKEND_OWN: &[(&str, usize)] =
        &[("0016_list_search.sql", 2), ("0023_short_search.sql", 0)];

    /// A migration's statements without comments and spacing, with the backends' spellings of
    /// one type made one: `BIGSERIAL PRIMARY KEY` is SQLite's `INTEGER PRIMARY KEY` (a rowid),
    /// SQLite's `INTEGER` holds what PostgreSQL's `BIGINT` does, its `REAL` what `DOUBLE
    /// PRECISION` does and its `BLOB` what `BYTEA` does.
    fn normalised(sql: &str) -> Vec<String> {
        sql.lines()
            .map(|l| l.split("--").next().unwrap_or_default())
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.replace("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY")
                    .replace("BIGINT", "INTEGER")
                    .replace("DOUBLE PRECISION", "REAL")
                    .replace("BYTEA", "BLOB")
            })
            .collect()
    }

    #[test]
    fn migration_sets_agree_but_for_the_deliberate_lines() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let names = |backend: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir.join(backend))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let files = names("sqlite");
        assert_eq!(
            files,
            names("postgres"),
            "the same migrations on both backends"
        );
        let mut differences = Vec::new();
        for f in &files {
            let read = |b: &str| normalised(&std::fs::read_to_string(dir.join(b).join(f)).unwrap());
            let (mut lite, mut pg) = (read("sqlite"), read("postgres"));
            if let Some((_, common)) = BACKEND_OWN.iter().find(|(name, _)| name == f) {
                lite.drain(..lite.len() - common);
                pg.drain(..pg.len() - common);
            }
            assert_eq!(lite.len(), pg.len(), "{f}: statements line up");
            for (a, b) in lite.iter().zip(&pg) {
                if a != b {
                    differences.push((f.clone(), a.clone(), b.clone()));
                }
            }
        }
        let expected: Vec<(String, String, String)> = DELIBERATE
            .iter()
            .map(|(f, a, b)| (f.to_string(), a.to_string(), b.to_string()))
            .collect();
        assert_eq!(differences, expected);
    }

    #[test]
    fn backend_by_scheme() {
        assert_eq!(Backend::from_url("sqlite:a.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgresql://h/d").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://h/d").is_err());
    }
}

/// A number field of a list's filter, as HTML forms send it: empty means the filter is not
/// set; an integer may be spelled as JSON Schema allows (`2.0`); anything else that does not
/// parse is refused with the value named. The API document says so ([`empty_or_integer`]).
pub fn empty_as_none<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
{
    let Some(t) = filter_value(d)? else {
        return Ok(None);
    };
    parse_whole(&t).map(Some).ok_or_else(|| refused(&t))
}

/// `t` parsed, or its integer part when it is an integer spelled with zero decimals (`2.0`).
fn parse_whole<T: std::str::FromStr>(t: &str) -> Option<T> {
    t.parse().ok().or_else(|| {
        let (int, frac) = t.split_once('.')?;
        (!frac.is_empty() && frac.bytes().all(|b| b == b'0'))
            .then(|| int.parse().ok())
            .flatten()
    })
}

/// A date field of a list's filter: empty means the filter is not set; otherwise a date as
/// RFC 3339 writes it (YYYY-MM-DD, what the API document's `format: date` means, see
/// [`empty_or_date`]), nothing looser.
pub fn empty_or_iso_date<'de, D>(d: D) -> std::result::Result<Option<chrono::NaiveDate>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let Some(t) = filter_value(d)? else {
        return Ok(None);
    };
    let b = t.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    shaped
        .then(|| chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok())
        .flatten()
        .filter(|d| chrono::Datelike::year(d) >= 1)
        .map(Some)
        .ok_or_else(|| refused(&t))
}

/// A filter's value; `None` when absent or empty.
fn filter_value<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    let s: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(s.filter(|s| !s.is_empty()))
}

fn refused<E: serde::de::Error>(t: &str) -> E {
    E::custom(format!(
        "“{t}”无法识别：年份、页码为整数，日期为 YYYY-MM-DD"
    ))
}

/// The API document's schema of a filter read by [`empty_as_none`]: an integer, or empty.
pub fn empty_or_integer() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    or_empty(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
    )
}

/// The API document's schema of a filter read by [`empty_or_iso_date`]: a date, or empty.
pub fn empty_or_date() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    or_empty(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
    )
}

/// `value`, or the empty string that means "any".
fn or_empty(value: utoipa::openapi::schema::ObjectBuilder) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    AnyOfBuilder::new()
        .item(value)
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .build()
        .into()
}

/// A whole number in a JSON body, also as JSON Schema spells integers (`3.0`), which serde
/// alone refuses; or in a form, as text.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Whole {
        Number(serde_json::Number),
        Text(String),
    }
    let t = match serde::Deserialize::deserialize(d)? {
        Whole::Number(n) => n.to_string(),
        Whole::Text(t) => t,
    };
    parse_whole(&t).ok_or_else(|| serde::de::Error::custom(format!("“{t}”不是整数")))
}

/// A value bound into a [`Sql`] statement.
#[derive(Debug, Clone)]
pub enum Value {
    Int(i64),
    Text(String),
}

/// What a query needs of a caller's scope (`scope::Scope`, `scope::Area`): the condition that
/// keeps a list inside it, and whether one record lies inside it. A trait, so the store knows
/// nothing of the organisation the scopes are made from.
pub trait ScopeFilter {
    /// A SQL condition on `{alias}.region_code` / `{alias}.city_code` and its bind value.
    fn condition(&self, alias: &str) -> Option<(String, String)>;
    /// Whether a record of this region (reporting to this city) is inside.
    fn covers(&self, region_code: &str, city_code: &str) -> bool;
}

/// A record that belongs to a region, so a scope can be checked against it.
pub trait InRegion {
    fn region_code(&self) -> &str;
    fn city_code(&self) -> &str;
}

/// [`InRegion`] for rows that carry their `region_code` and `city_code` as fields.
#[macro_export]
macro_rules! in_region {
    ($($row:ty),+) => {$(
        impl $crate::store::InRegion for $row {
            fn region_code(&self) -> &str {
                &self.region_code
            }
            fn city_code(&self) -> &str {
                &self.city_code
            }
        }
    )+};
}
pub use crate::in_region;

/// The rows of a page fetched with one extra row ([`Sql::page`]) and whether there is a next
/// page.
pub fn page_of<T>(mut rows: Vec<T>, size: i64) -> (Vec<T>, bool) {
    let more = rows.len() as i64 > size;
    rows.truncate(size as usize);
    (rows, more)
}

/// `rows` groups of `cols` placeholders numbered from `$1`, for a multi-row `INSERT …
/// VALUES` or an `IN (…)` list: `($1,$2),($3,$4)`; `$1,$2` when `cols` is 1. Both backends
/// take `$n`; one statement for many rows saves a round trip to the store's connection per
/// row.
pub fn placeholders(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        if cols > 1 {
            s.push('(');
        }
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            s.push_str(&format!("${}", r * cols + c + 1));
        }
        if cols > 1 {
            s.push(')');
        }
    }
    s
}

/// Builds dynamic SQL (filters, paging) with `$n` placeholders, which both backends accept.
/// sqlx's `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL rejects.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    binds: Vec<Value>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            binds: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// The statement with its `$n` placeholders.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The values of the placeholders, in order.
    pub fn binds(&self) -> &[Value] {
        &self.binds
    }

    /// Appends a placeholder for `v`.
    pub fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.binds.push(v.into());
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    /// Appends ` AND {col} = $n` for a scope condition, if the scope has one.
    pub fn scope(&mut self, scope: &impl ScopeFilter, alias: &str) -> &mut Self {
        if let Some((col, v)) = scope.condition(alias) {
            self.push(" AND ").push(&col).push(" = ").bind(v);
        }
        self
    }

    pub async fn fetch_all<T>(self, db: &Db) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let rows = self.fetch_rows(db).await?;
        Ok(rows.iter().map(T::from_row).collect::<Result<_, _>>()?)
    }

    /// The one row the query finds, if the caller's scope covers its region: a missing row is
    /// [`StoreError::NotFound`], one of another region [`StoreError::OutOfScope`], which each
    /// resource's error names in its own words.
    pub async fn fetch_in_scope<T>(self, db: &Db, scope: &impl ScopeFilter) -> Result<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin + InRegion,
    {
        let row: T = self
            .fetch_all(db)
            .await?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound)?;
        if !scope.covers(row.region_code(), row.city_code()) {
            return Err(StoreError::OutOfScope);
        }
        Ok(row)
    }

    /// Appends ` ORDER BY {order}` and the paging of 1-based `page` of `size` rows, one more
    /// than a page so [`page_of`] can tell whether a next page exists.
    pub fn page(&mut self, order: &str, page: Option<i64>, size: i64) -> &mut Self {
        let page = page.unwrap_or(1).max(1);
        self.push(" ORDER BY ")
            .push(order)
            .push(" LIMIT ")
            .bind(size + 1)
            .push(" OFFSET ")
            .bind((page - 1).saturating_mul(size))
    }

    /// [`Sql::page`], fetched: the page's rows and whether there is a next page.
    pub async fn fetch_page<T>(
        mut self,
        db: &Db,
        order: &str,
        page: Option<i64>,
        size: i64,
    ) -> Result<(Vec<T>, bool)>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        self.page(order, page, size);
        Ok(page_of(self.fetch_all(db).await?, size))
    }

    /// The rows as the driver returns them, for readers that take many columns by name.
    pub async fn fetch_rows(self, db: &Db) -> Result<Vec<sqlx::any::AnyRow>> {
        Ok(self.query().fetch_all(db.pool()).await?)
    }

    /// The statement with its values bound, for the driver.
    pub(crate) fn query(self) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text));
        for b in self.binds {
            q = match b {
                Value::Int(i) => q.bind(i),
                Value::Text(s) => q.bind(s),
            };
        }
        q
    }

    pub async fn fetch_scalar(self, db: &Db) -> Result<i64> {
        use sqlx::Row;
        let rows = self.fetch_rows(db).await?;
        Ok(rows.first().ok_or(StoreError::NotFound)?.try_get(0)?)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
