//! The master key file: one key per line (64 hex digits or base64 of 32 bytes), the first
//! seals, every one opens. A rotation writes the new key first and keeps the previous one on
//! the next line, so that running servers, which re-read the file when it changes, open
//! values sealed under either while the rotation runs.

use super::{parse_key, SecretError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// The most keys a ring holds: an open tries each, so the ring stays short.
pub const MAX_KEYS: usize = 4;

/// The keys a file (or `HUNDI_MASTER_KEY`) lists: one per line or comma, `#` comments.
pub fn parse_ring(text: &str) -> Result<Vec<[u8; 32]>, SecretError> {
    let keys = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(parse_key)
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() || keys.len() > MAX_KEYS {
        return Err(SecretError::BadKey);
    }
    Ok(keys)
}

pub fn read(path: &Path) -> Result<Vec<[u8; 32]>, SecretError> {
    let text = std::fs::read_to_string(path).map_err(|e| SecretError::File(path.into(), e))?;
    parse_ring(&text)
}

/// Writes a new key file; never replaces one.
pub fn create(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    write_new(path, &[*key])
}

/// Replaces the key file with `keys` (the first seals), atomically: a crash leaves the old
/// file or the new one, never a part.
pub fn replace(path: &Path, keys: &[[u8; 32]]) -> std::io::Result<()> {
    let partial = PathBuf::from(format!("{}.new", path.display()));
    let _ = std::fs::remove_file(&partial);
    write_new(&partial, keys)?;
    std::fs::rename(&partial, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn write_new(path: &Path, keys: &[[u8; 32]]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    for (i, key) in keys.iter().enumerate() {
        if i == 1 {
            file.write_all(b"# previous keys: they still open values sealed before a rotation\n")?;
        }
        file.write_all(hex::encode(key).as_bytes())?;
        file.write_all(b"\n")?;
    }
    file.sync_all()
}

/// A key file a running server follows: looked at no more than once a second, and read again
/// when its modification time or length changed.
pub struct Watch {
    pub path: PathBuf,
    state: Mutex<Seen>,
}

struct Seen {
    checked: Instant,
    stamp: Option<(SystemTime, u64)>,
}

impl Watch {
    pub fn new(path: PathBuf) -> Watch {
        let stamp = stamp(&path);
        Watch {
            path,
            state: Mutex::new(Seen {
                checked: Instant::now(),
                stamp,
            }),
        }
    }

    /// The file's keys when it changed since the last look (at most one look a second).
    pub fn changed(&self) -> Option<Vec<[u8; 32]>> {
        let mut seen = self.state.lock().ok()?;
        if seen.checked.elapsed() < Duration::from_secs(1) {
            return None;
        }
        seen.checked = Instant::now();
        let now = stamp(&self.path);
        if now == seen.stamp {
            return None;
        }
        match read(&self.path) {
            Ok(keys) => {
                seen.stamp = now;
                tracing::info!(path = %self.path.display(), keys = keys.len(), "read the changed master key file");
                Some(keys)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the master key file changed but cannot be read; keeping the keys in use");
                None
            }
        }
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_lists_up_to_four_keys_first_to_last() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let text = format!("{}\n# previous\n{}\n", hex::encode(a), hex::encode(b));
        assert_eq!(parse_ring(&text).unwrap(), vec![a, b]);
        assert_eq!(
            parse_ring(&format!("{}, {}", hex::encode(b), hex::encode(a))).unwrap(),
            vec![b, a]
        );
        assert!(parse_ring("# nothing\n").is_err());
        assert!(parse_ring(&vec![hex::encode(a); 5].join("\n")).is_err());
    }

    #[test]
    fn a_replaced_file_reads_back_and_a_created_one_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hundi.key");
        create(&path, &[3u8; 32]).unwrap();
        assert!(create(&path, &[4u8; 32]).is_err());
        replace(&path, &[[4u8; 32], [3u8; 32]]).unwrap();
        assert_eq!(read(&path).unwrap(), vec![[4u8; 32], [3u8; 32]]);
    }
}
