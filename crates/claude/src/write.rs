//! Changing the file safely: one QuantDesk writer at a time (a lock file beside it), a backup of
//! what was there, the new text written to a temporary file and renamed over the old one (a
//! reader — Claude Desktop — sees the old file or the new one, never half of one), and a
//! re-read just before the rename so a change someone else made meanwhile is never overwritten.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::document::Document;
use crate::{BACKUPS_KEPT, Change, ClaudeError, read_if_exists};

/// How often an edit starts over when the file changed under it before giving up.
const ATTEMPTS: usize = 5;

const BACKUP_MARK: &str = ".quantdesk-backup-";

/// Applies `change` (which says whether it changed anything) to the file at `path`.
pub(crate) fn edit(
    path: &Path,
    change: impl FnMut(&mut Document) -> Result<bool, ClaudeError>,
) -> Result<Change, ClaudeError> {
    edit_with(path, change, || {})
}

/// [`edit`], with `before_check` run between writing the temporary file and the re-read (tests
/// use it to play another program writing at the worst moment).
fn edit_with(
    path: &Path,
    mut change: impl FnMut(&mut Document) -> Result<bool, ClaudeError>,
    mut before_check: impl FnMut(),
) -> Result<Change, ClaudeError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(ClaudeError::io("create the folder", dir))?;
    let _lock = lock(path)?;
    for _ in 0..ATTEMPTS {
        let before = read_if_exists(path)?;
        let mut doc = Document::parse(path, before.as_deref().unwrap_or(""))?;
        if !change(&mut doc)? {
            return Ok(Change {
                path: path.to_path_buf(),
                changed: false,
                created: false,
                backup: None,
            });
        }
        let text = doc.render();
        let temp = write_temp(path, &text)?;
        before_check();
        // Someone outside QuantDesk (Claude Desktop, an editor) may have written meanwhile.
        if read_if_exists(path)? != before {
            let _ = fs::remove_file(&temp);
            continue;
        }
        let backup = match &before {
            Some(old) => Some(backup(path, old)?),
            None => None,
        };
        fs::rename(&temp, path).map_err(|e| {
            let _ = fs::remove_file(&temp);
            ClaudeError::io("replace", path)(e)
        })?;
        sync_dir(dir);
        prune_backups(path);
        return Ok(Change {
            path: path.to_path_buf(),
            changed: true,
            created: before.is_none(),
            backup,
        });
    }
    Err(ClaudeError::Busy(path.to_path_buf()))
}

/// Held for the whole edit; released when dropped (the OS releases it if the process dies).
fn lock(path: &Path) -> Result<File, ClaudeError> {
    let lock_path = sibling(path, ".quantdesk.lock", true);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(ClaudeError::io("open the lock file", &lock_path))?;
    file.lock().map_err(ClaudeError::io("lock", &lock_path))?;
    Ok(file)
}

fn write_temp(path: &Path, text: &str) -> Result<PathBuf, ClaudeError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = sibling(path, &format!(".{}-{n}.tmp", std::process::id()), true);
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        if let Ok(meta) = fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.sync_all()
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&temp);
        ClaudeError::io("write", &temp)(e)
    })?;
    Ok(temp)
}

fn backup(path: &Path, old: &str) -> Result<PathBuf, ClaudeError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
    let mut target = sibling(path, &format!("{BACKUP_MARK}{stamp}"), false);
    let mut n = 1;
    while target.exists() {
        target = sibling(path, &format!("{BACKUP_MARK}{stamp}-{n}"), false);
        n += 1;
    }
    fs::write(&target, old).map_err(ClaudeError::io("back up to", &target))?;
    Ok(target)
}

/// Keeps our newest backups only (their names sort by time).
fn prune_backups(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!("{}{BACKUP_MARK}", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut backups: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(BACKUPS_KEPT);
    for old in &backups[..excess] {
        let _ = fs::remove_file(old);
    }
}

/// `dir/<name><suffix>`, hidden (leading dot) if asked.
fn sibling(path: &Path, suffix: &str, hidden: bool) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dot = if hidden { "." } else { "" };
    path.with_file_name(format!("{dot}{name}{suffix}"))
}

/// Makes the rename durable (Unix; a no-op elsewhere).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn add_ours(doc: &mut Document) -> Result<bool, ClaudeError> {
        doc.set_server("quantdesk", &json!({"command": "/q", "args": []}))?;
        Ok(true)
    }

    #[test]
    fn a_change_made_by_someone_else_meanwhile_is_re_read_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claude_desktop_config.json");
        fs::write(&path, r#"{"mcpServers": {"a": {"command": "a"}}}"#).unwrap();
        let mut interfered = false;
        let change = edit_with(&path, add_ours, || {
            if !interfered {
                interfered = true;
                fs::write(
                    &path,
                    r#"{"mcpServers": {"a": {"command": "a2"}}, "new": 1}"#,
                )
                .unwrap();
            }
        })
        .unwrap();
        assert!(change.changed);
        let after: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            after["mcpServers"]["a"]["command"], "a2",
            "their change kept"
        );
        assert_eq!(after["new"], 1);
        assert_eq!(after["mcpServers"]["quantdesk"]["command"], "/q");
        let backup = fs::read_to_string(change.backup.unwrap()).unwrap();
        assert!(backup.contains("a2"), "the backup is what we replaced");
        let leftovers = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .count();
        assert_eq!(leftovers, 0, "no temporary file left behind");
    }

    #[test]
    fn a_file_that_never_stops_changing_is_busy_and_untouched_by_us() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claude_desktop_config.json");
        fs::write(&path, "{}").unwrap();
        let mut n = 0;
        let err = edit_with(&path, add_ours, || {
            n += 1;
            fs::write(&path, format!("{{\"n\": {n}}}")).unwrap();
        })
        .unwrap_err();
        assert!(matches!(err, ClaudeError::Busy(_)), "{err}");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{{\"n\": {n}}}")
        );
    }
}
