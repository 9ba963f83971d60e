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
    /// A unique or foreign-key constraint refused the write; the text names the constraint.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sqlx(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(ref d)
                if d.is_unique_violation() || d.is_foreign_key_violation() =>
            {
                StoreError::Conflict(d.message().to_owned())
            }
            e => StoreError::Sqlx(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
}

/// A write transaction holding the process-wide write lock until commit or drop.
pub struct WriteTx {
    pub tx: Transaction<'static, Any>,
    _guard: OwnedMutexGuard<()>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
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
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("migrations/sqlite").run(&self.pool).await?;
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
        Ok(WriteTx { tx, _guard: guard })
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
    fn backend_by_scheme() {
        assert_eq!(Backend::from_url("sqlite:a.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgresql://h/d").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://h/d").is_err());
    }
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
        let mut q = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(self.text));
        for b in self.binds {
            q = match b {
                Value::Int(i) => q.bind(i),
                Value::Text(s) => q.bind(s),
            };
        }
        Ok(q.fetch_all(db.pool()).await?)
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

    pub async fn fetch_scalar(self, db: &Db) -> Result<i64> {
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(self.text));
        for b in self.binds {
            q = match b {
                Value::Int(i) => q.bind(i),
                Value::Text(s) => q.bind(s),
            };
        }
        Ok(q.fetch_one(db.pool()).await?)
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
