//! `quantdesk-platform publish DIR`: takes what `cargo xtask release` made — `latest.json` (the
//! updater manifest: version, notes, date, and per platform the artifact's URL and signature)
//! and the installers beside it — and publishes them as a release: every installer and `.mcpb`
//! in DIR with its size and SHA-256, the update artifacts with their signatures.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::db::releases::{NewFile, Release, ReleaseFile};
use crate::db::{Db, DbError, now};

#[derive(Debug, Error)]
pub enum PublishError {
    #[error("{path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path} is not an update manifest: {reason}")]
    Manifest { path: PathBuf, reason: String },
    #[error("latest.json names {name} for {platform}, but DIR has no file of that name")]
    Missing { name: String, platform: String },
    #[error("the version '{0}' is not a semantic version")]
    Version(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Debug, Deserialize)]
struct Manifest {
    version: String,
    #[serde(default)]
    notes: String,
    pub_date: String,
    platforms: std::collections::BTreeMap<String, Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    url: String,
    signature: String,
}

fn published(name: &str) -> bool {
    [
        ".deb",
        ".rpm",
        ".AppImage",
        ".dmg",
        ".app.tar.gz",
        ".msi",
        ".exe",
        ".mcpb",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), PublishError> {
    let read = std::fs::read_dir(dir).map_err(|e| PublishError::Read {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    for entry in read.flatten() {
        let path = entry.path();
        if path.is_dir() && depth > 0 {
            collect(&path, depth - 1, out)?;
        } else if path.is_file()
            && path
                .file_name()
                .is_some_and(|n| published(&n.to_string_lossy()))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The updater's `{os}-{arch}` for a manifest key (`linux-x86_64-deb` → `linux-x86_64`).
fn os_arch(key: &str) -> String {
    key.splitn(3, '-').take(2).collect::<Vec<_>>().join("-")
}

/// Publishes DIR's release into `db`; returns it.
pub async fn publish(db: &Db, dir: &Path) -> Result<Release, PublishError> {
    let manifest_path = dir.join("latest.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| PublishError::Read {
        path: manifest_path.clone(),
        reason: e.to_string(),
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| PublishError::Manifest {
        path: manifest_path.clone(),
        reason: e.to_string(),
    })?;
    semver::Version::parse(&manifest.version)
        .map_err(|_| PublishError::Version(manifest.version.clone()))?;
    let mut paths = Vec::new();
    collect(dir, 3, &mut paths)?;
    let mut files: Vec<NewFile> = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if files.iter().any(|f| f.meta.name == name) {
            continue;
        }
        let content = std::fs::read(&path).map_err(|e| PublishError::Read {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        files.push(NewFile {
            meta: ReleaseFile {
                name,
                platform: None,
                signature: None,
                size: i64::try_from(content.len()).unwrap_or(i64::MAX),
                sha256: hex::encode(Sha256::digest(&content)),
            },
            content,
        });
    }
    // The plain `{os}-{arch}` keys first, so they decide which file the feed serves.
    let mut entries: Vec<_> = manifest.platforms.iter().collect();
    entries.sort_by_key(|(key, _)| key.matches('-').count());
    for (key, entry) in entries {
        let name = entry.url.rsplit('/').next().unwrap_or_default().to_string();
        let file = files
            .iter_mut()
            .find(|f| f.meta.name == name)
            .ok_or_else(|| PublishError::Missing {
                name: name.clone(),
                platform: key.clone(),
            })?;
        if file.meta.platform.is_none() {
            file.meta.platform = Some(os_arch(key));
            file.meta.signature = Some(entry.signature.clone());
        }
    }
    let release = Release {
        version: manifest.version,
        pub_date: manifest.pub_date,
        notes: manifest.notes,
        files: files.iter().map(|f| f.meta.clone()).collect(),
    };
    db.publish_release(&release, &files, now()).await?;
    Ok(release)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_keys_map_to_the_feed() {
        assert_eq!(os_arch("linux-x86_64-deb"), "linux-x86_64");
        assert_eq!(os_arch("darwin-aarch64"), "darwin-aarch64");
        assert!(published("QuantDesk_0.2.0_amd64.deb"));
        assert!(published("quantdesk.mcpb"));
        assert!(!published("latest.json"));
    }
}
