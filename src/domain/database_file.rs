//! Files that go with a database (the master key, the certificates) are kept beside a SQLite
//! database's file; with PostgreSQL, whose data lives elsewhere, in the working directory.

use std::path::{Path, PathBuf};

/// `name` in the directory of the SQLite file `database_url` names, else `name` itself.
pub fn beside_database(database_url: &str, name: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|p| !p.is_empty() && *p != ":memory:");
    match file.and_then(|f| Path::new(f).parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        _ => PathBuf::from(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beside_a_sqlite_file_else_here() {
        let at = |url| beside_database(url, "certs");
        assert_eq!(
            at("sqlite:///var/lib/hundi/hundi.db"),
            PathBuf::from("/var/lib/hundi/certs")
        );
        assert_eq!(
            at("sqlite://data/h.db?mode=rwc"),
            PathBuf::from("data/certs")
        );
        assert_eq!(at("sqlite://hundi.db"), PathBuf::from("certs"));
        assert_eq!(at("sqlite::memory:"), PathBuf::from("certs"));
        assert_eq!(
            at("postgres://postgres@127.0.0.1/hundi"),
            PathBuf::from("certs")
        );
    }
}
