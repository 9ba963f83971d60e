//! A fresh SQLite store made from the template the build applied the migrations to
//! (`build.rs`) rather than by applying them one by one: a new store in ~17 ms instead of
//! ~40 ms on ext4, most of which was SQLite re-reading the whole schema after each
//! `ALTER TABLE`.
//! The two ways give the same database (`tests::a_store_from_the_template_equals_one_migrated`).

use std::path::Path;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::Result;

/// An empty database with every SQLite migration applied, as the build left it.
const TEMPLATE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/template.sqlite"));
/// The last migration the template holds.
const VERSION: i64 = include!(concat!(env!("OUT_DIR"), "/template_version.rs"));

/// Creates the store at `path` from the template if no file is there. The template is
/// written beside it, the migrations it holds are recorded as applied (sqlx's own
/// bookkeeping: [`Migrator::skip`]), and only then is it linked into place: a store file is
/// either absent or whole with its bookkeeping, and a store another process created
/// meanwhile is never replaced. Where a file is there, the directory is missing or the file
/// system has no hard links, it does nothing, and the store is migrated as before.
pub(super) async fn create(path: &Path, migrator: &Migrator) -> Result<()> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    let tmp = path.with_file_name(format!(".{name}.template-{}", std::process::id()));
    let placed = match std::fs::write(&tmp, TEMPLATE) {
        Ok(()) => record_and_link(&tmp, path, migrator).await,
        Err(_) => Ok(()),
    };
    let _ = std::fs::remove_file(&tmp);
    placed
}

async fn record_and_link(tmp: &Path, path: &Path, migrator: &Migrator) -> Result<()> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(tmp)
                // No journal and no syncs while recording: until it is linked into place the
                // file is nobody's store (a crash leaves a stray temporary, never a store),
                // and it is synced once, whole, before the link.
                .journal_mode(SqliteJournalMode::Memory)
                .synchronous(SqliteSynchronous::Off),
        )
        .await?;
    migrator.skip(&pool, Some(VERSION)).await?;
    pool.close().await;
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(sqlx::Error::Io)?;
    // A link, not a rename: it fails if a store appeared meanwhile, which is then used.
    let _ = std::fs::hard_link(tmp, path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use crate::store::Db;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ew-template-{name}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Everything a store holds, as text: each schema object's SQL, and each table's rows
    /// sorted. Left out: when and how long each migration took (sqlx's bookkeeping) and the
    /// statistics of that bookkeeping table, which no query reads.
    fn contents(path: &Path) -> BTreeMap<String, Vec<String>> {
        let db = rusqlite::Connection::open(path).unwrap();
        let mut out = BTreeMap::new();
        let mut objects = db
            .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master")
            .unwrap();
        let objects: Vec<(String, String, String, Option<String>)> = objects
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for (kind, name, table, sql) in &objects {
            out.insert(
                format!("{kind} {name}"),
                vec![table.clone(), format!("{sql:?}")],
            );
            if kind != "table" || sql.as_deref().is_some_and(|s| s.contains("VIRTUAL TABLE")) {
                continue;
            }
            let columns = match name.as_str() {
                "_sqlx_migrations" => "version, description, success, hex(checksum)",
                _ => "*",
            };
            let mut q = db
                .prepare(&format!("SELECT {columns} FROM \"{name}\""))
                .unwrap();
            let n = q.column_count();
            let mut rows: Vec<String> = q
                .query_map([], |r| {
                    (0..n)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap()
                .map(|r| format!("{:?}", r.unwrap()))
                .filter(|row| {
                    !(name.starts_with("sqlite_stat") && row.contains("\"_sqlx_migrations\""))
                })
                .collect();
            rows.sort();
            out.insert(format!("rows {name}"), rows);
        }
        let version: i64 = db
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        out.insert("user_version".into(), vec![version.to_string()]);
        out
    }

    #[tokio::test]
    async fn a_store_from_the_template_equals_one_migrated() {
        let (a, b) = (scratch("a"), scratch("b"));
        let (fresh, migrated) = (a.join("store.sqlite"), b.join("store.sqlite"));
        // A file already there (empty) is migrated as before.
        std::fs::write(&migrated, b"").unwrap();
        for path in [&fresh, &migrated] {
            let db = Db::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            db.pool().close().await;
        }
        // The fresh store was made from the template (sqlx records a skipped migration's
        // time as −1), the other migrated.
        let times = |path: &Path| -> Vec<i64> {
            let db = rusqlite::Connection::open(path).unwrap();
            let mut q = db
                .prepare("SELECT execution_time FROM _sqlx_migrations")
                .unwrap();
            q.query_map([], |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        assert!(times(&fresh).iter().all(|&t| t == -1));
        assert!(times(&migrated).iter().all(|&t| t > 0));
        let (x, y) = (contents(&fresh), contents(&migrated));
        assert!(
            x.contains_key("rows _sqlx_migrations") && x.len() > 100,
            "{:?}",
            x.keys()
        );
        for key in x.keys().chain(y.keys()) {
            assert_eq!(x.get(key), y.get(key), "{key}");
        }
        // Nothing is left beside the store.
        let left: Vec<_> = std::fs::read_dir(&a)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains("template"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        // And it opens again as any store does.
        Db::connect(&format!("sqlite://{}", fresh.display()))
            .await
            .unwrap();
        let _ = std::fs::remove_dir_all(&a);
        let _ = std::fs::remove_dir_all(&b);
    }
}
