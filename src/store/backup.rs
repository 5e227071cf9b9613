//! Online backup of the SQLite database: a consistent snapshot taken while a server keeps
//! reading and writing it. (PostgreSQL has `pg_dump` for this.)
//!
//! `VACUUM INTO` reads the database in one read transaction, so the copy holds every commit
//! made before it began and none after; WAL lets the server's writer go on meanwhile. SQLite
//! does not flush the copy to disk, and a crash can leave it half-written: so it is written
//! beside its final name, checked, flushed, and only then renamed.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already; a backup never overwrites a file")]
    Exists(PathBuf),
    #[error("the backup's integrity check failed: {0}")]
    Damaged(String),
    #[error("the database could not be read or the copy written")]
    Database(#[from] sqlx::Error),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub payments: i64,
}

/// Writes a snapshot of the SQLite database `url` names to `to`, which must not exist.
pub async fn backup_sqlite(url: &str, to: &Path) -> Result<BackupReport, BackupError> {
    if to.exists() {
        return Err(BackupError::Exists(to.to_path_buf()));
    }
    let partial = PathBuf::from(format!("{}.partial", to.display()));
    // A partial copy is only ever left by a backup that died; it is not a backup.
    let _ = std::fs::remove_file(&partial);
    // Not created when missing: a backup of nothing is a mistake, not an empty file.
    let mut source = options(url)?.connect().await?;
    sqlx::query("VACUUM INTO $1")
        .bind(partial.to_string_lossy().as_ref())
        .execute(&mut source)
        .await?;
    source.close().await?;
    let payments = check(&partial).await.inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    let io = |e| BackupError::Io(partial.clone(), e);
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    let bytes = std::fs::metadata(&partial).map_err(io)?.len();
    std::fs::rename(&partial, to).map_err(io)?;
    // The rename itself is durable once the folder is flushed.
    let folder = to.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder {
        if let Ok(dir) = std::fs::File::open(folder) {
            let _ = dir.sync_all();
        }
    }
    Ok(BackupReport {
        path: to.to_path_buf(),
        bytes,
        payments,
    })
}

fn options(url: &str) -> Result<SqliteConnectOptions, BackupError> {
    Ok(SqliteConnectOptions::from_str(&super::sqlite_url(url))?
        .busy_timeout(Duration::from_secs(10))
        .disable_statement_logging())
}

/// Opens the copy as a database and checks it whole; returns how many payments it holds.
async fn check(copy: &Path) -> Result<i64, BackupError> {
    let mut db = options(&copy.to_string_lossy())?
        .read_only(true)
        .connect()
        .await?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut db)
        .await?;
    if verdict != "ok" {
        return Err(BackupError::Damaged(verdict));
    }
    let payments = sqlx::query_scalar("SELECT COUNT(*) FROM payments")
        .fetch_one(&mut db)
        .await?;
    db.close().await?;
    Ok(payments)
}
