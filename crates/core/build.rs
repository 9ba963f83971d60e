//! Two things the store needs from its SQLite migrations at build time:
//! - `sqlx::migrate!` embeds them, but on stable Rust cargo does not know it read them:
//!   without the `rerun-if-changed` a new migration alone would not rebuild the crate.
//! - A fresh store starts as a copy of `template.sqlite`: an empty database with every
//!   migration applied here, once, instead of by each new store (see `store::template`).
//!   Applying them costs a new store ~36 ms, most of it SQLite re-reading the whole schema
//!   after each `ALTER TABLE`; copying the result costs a few.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let version = sqlite_template(Path::new("migrations/sqlite"), &out.join("template.sqlite"));
    std::fs::write(out.join("template_version.rs"), format!("{version}\n"))
        .expect("OUT_DIR is writable");
}

/// Applies the migrations in `dir` in version order, each in its own transaction as sqlx
/// applies them, to a new database at `path`; returns the last version.
fn sqlite_template(dir: &Path, path: &Path) -> i64 {
    let _ = std::fs::remove_file(path);
    let mut migrations: Vec<(i64, PathBuf)> = std::fs::read_dir(dir)
        .expect("the SQLite migrations")
        .map(|e| e.expect("a migration").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let version = name
                .split('_')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name}: a migration is named VERSION_description.sql"));
            (version, p)
        })
        .collect();
    migrations.sort();
    let mut db = rusqlite::Connection::open(path).expect("a new database");
    // As the store's connections have it when sqlx migrates.
    db.execute_batch("PRAGMA foreign_keys=ON;").expect("pragma");
    for (version, file) in &migrations {
        let sql = std::fs::read_to_string(file).expect("a readable migration");
        let tx = db.transaction().expect("a transaction");
        tx.execute_batch(&sql)
            .unwrap_or_else(|e| panic!("migration {version}: {e}"));
        tx.commit().expect("commit");
    }
    db.close().expect("the template closes");
    migrations.last().map_or(0, |(v, _)| *v)
}
