//! Audit entries that could not be appended when they happened, kept until they can.
//!
//! Some things cannot be undone by an error: once a broker has filled an order, the answer must
//! say so even if the audit log cannot be written at that moment. [`Store::append_audit_or_defer`]
//! retries the append, and if the store still fails, writes the record as one JSON line to a
//! plain file beside the database (`quantdesk.db-pending-audit.jsonl`, 0600) — a different
//! mechanism from SQLite's, so a locked, corrupt or read-only database does not also stop it.
//! [`Store::open`] appends whatever that file holds (the next start of the sidecar or the app),
//! each entry marked `detail.deferred` with its id, when it happened and why it waited, and
//! skips any an interrupted earlier flush already appended. [`Store::pending_audit`] lists what
//! still waits, for the app to show.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{AuditEntry, AuditRecord};
use crate::{Store, StoreError, private};

/// How many times an append is tried before the record is deferred, and the pauses between.
const RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(250)];

/// An audit record waiting to be appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingAudit {
    /// Unique per deferral; the appended entry carries it as `detail.deferred.id`.
    pub id: String,
    /// When it happened (the entry's own time is when it was finally appended).
    pub at: DateTime<Utc>,
    /// Why the append failed.
    pub error: String,
    pub record: AuditRecord,
}

/// Where an audit record went.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditWrite {
    /// Into the audit log.
    Written(AuditEntry),
    /// Into the pending file, to be appended on the next start.
    Deferred(PendingAudit),
}

/// Neither the audit log nor the pending file could take a record.
#[derive(Debug, thiserror::Error)]
#[error("the audit log failed ({store}) and so did the pending-audit file ({file})")]
pub struct DeferError {
    pub store: StoreError,
    pub file: std::io::Error,
}

impl Store {
    /// The file deferred audit records wait in, beside the database.
    pub fn pending_audit_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push("-pending-audit.jsonl");
        PathBuf::from(name)
    }

    /// Appends `record`, retrying; if the store still fails, defers it to the pending file.
    pub async fn append_audit_or_defer(
        &self,
        record: &AuditRecord,
    ) -> Result<AuditWrite, DeferError> {
        let error = match self.append_audit_retried(record).await {
            Ok(entry) => return Ok(AuditWrite::Written(entry)),
            Err(e) => e,
        };
        tracing::error!(%error, kind = %record.kind, "audit append failed; deferring the entry");
        match self.defer_audit(record, &error.to_string()) {
            Ok(pending) => Ok(AuditWrite::Deferred(pending)),
            Err(file) => Err(DeferError { store: error, file }),
        }
    }

    /// Appends `record`, trying again after short pauses if the store fails.
    pub async fn append_audit_retried(
        &self,
        record: &AuditRecord,
    ) -> Result<AuditEntry, StoreError> {
        let mut pauses = RETRY_PAUSES.iter();
        loop {
            match self.append_audit(record).await {
                Ok(entry) => return Ok(entry),
                Err(err) => match pauses.next() {
                    Some(pause) => {
                        tracing::warn!(%err, "audit append failed; retrying");
                        tokio::time::sleep(*pause).await;
                    }
                    None => return Err(err),
                },
            }
        }
    }

    /// Writes `record` to the pending file (created 0600), synced to disk.
    pub fn defer_audit(&self, record: &AuditRecord, error: &str) -> std::io::Result<PendingAudit> {
        let at = Utc::now();
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(record).unwrap_or_default());
        h.update(at.to_rfc3339().as_bytes());
        h.update(std::process::id().to_be_bytes());
        let pending = PendingAudit {
            id: hex::encode(&h.finalize()[..12]),
            at,
            error: error.to_string(),
            record: record.clone(),
        };
        append_lines(&self.pending_audit_path(), std::slice::from_ref(&pending))?;
        Ok(pending)
    }

    /// Records waiting to be appended (the pending file, and any flush a process left
    /// unfinished), oldest first. Unreadable lines are skipped with a warning.
    pub fn pending_audit(&self) -> Result<Vec<PendingAudit>, StoreError> {
        let mut out = Vec::new();
        for file in self.pending_files().map_err(|e| self.io_error(e))? {
            out.extend(read_lines(&file).map_err(|e| self.io_error(e))?);
        }
        out.sort_by_key(|p| p.at);
        Ok(out)
    }

    /// Appends every deferred record (see the module docs); returns how many were appended.
    /// The file is claimed by renaming it first, so two processes starting together do not
    /// both append it; records an interrupted flush already appended are skipped by id.
    pub async fn flush_pending_audit(&self) -> Result<usize, StoreError> {
        let main = self.pending_audit_path();
        if main.exists() {
            let claimed = self.claimed_path();
            match std::fs::rename(&main, &claimed) {
                Ok(()) => {}
                // Another process claimed it first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
        let mut appended = 0;
        for file in self.pending_files().map_err(|e| self.io_error(e))? {
            if file == main || !self.ours_to_flush(&file) {
                continue;
            }
            let entries = read_lines(&file).map_err(|e| self.io_error(e))?;
            for (i, p) in entries.iter().enumerate() {
                match self.append_deferred(p).await {
                    Ok(true) => appended += 1,
                    Ok(false) => {}
                    Err(err) => {
                        // Put back what is left and stop: the store is failing again.
                        append_lines(&main, &entries[i..]).map_err(|e| self.io_error(e))?;
                        let _ = std::fs::remove_file(&file);
                        return Err(err);
                    }
                }
            }
            std::fs::remove_file(&file).map_err(|e| self.io_error(e))?;
        }
        if appended > 0 {
            tracing::info!(appended, "deferred audit entries written");
        }
        Ok(appended)
    }

    /// Appends one deferred record unless an earlier flush did; `true` if it was appended now.
    async fn append_deferred(&self, p: &PendingAudit) -> Result<bool, StoreError> {
        let seen: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM audit_log WHERE json_extract(detail, '$.deferred.id') = ? LIMIT 1",
        )
        .bind(&p.id)
        .fetch_optional(&self.pool)
        .await?;
        if seen.is_some() {
            return Ok(false);
        }
        let mut record = p.record.clone();
        let deferred = serde_json::json!({ "id": p.id, "at": p.at, "error": p.error });
        match &mut record.detail {
            serde_json::Value::Object(d) => {
                d.insert("deferred".into(), deferred);
            }
            other => {
                *other = serde_json::json!({ "value": other.clone(), "deferred": deferred });
            }
        }
        self.append_audit(&record).await?;
        Ok(true)
    }

    /// The pending file and any claimed ones (`…-pending-audit.jsonl.<pid>.flushing`).
    fn pending_files(&self) -> std::io::Result<Vec<PathBuf>> {
        let main = self.pending_audit_path();
        let (Some(dir), Some(name)) = (main.parent(), main.file_name()) else {
            return Ok(Vec::new());
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let name = name.to_string_lossy().into_owned();
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if file == name || (file.starts_with(&name) && file.ends_with(".flushing")) {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    }

    fn claimed_path(&self) -> PathBuf {
        let mut name = self.pending_audit_path().into_os_string();
        name.push(format!(".{}.flushing", std::process::id()));
        PathBuf::from(name)
    }

    /// A claimed file is this process's, or one a process left behind over a minute ago (it
    /// died mid-flush).
    fn ours_to_flush(&self, file: &Path) -> bool {
        if file == self.claimed_path() {
            return true;
        }
        std::fs::metadata(file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(60))
    }

    fn io_error(&self, source: std::io::Error) -> StoreError {
        StoreError::DataDir {
            path: self.pending_audit_path(),
            source,
        }
    }
}

fn append_lines(path: &Path, entries: &[PendingAudit]) -> std::io::Result<()> {
    let mut text = Vec::new();
    for p in entries {
        serde_json::to_writer(&mut text, p)?;
        text.push(b'\n');
    }
    private::create_private_file(path)?;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(&text)?;
    file.sync_data()
}

fn read_lines(path: &Path) -> std::io::Result<Vec<PendingAudit>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(p) => Some(p),
            Err(err) => {
                tracing::warn!(%err, file = %path.display(), "unreadable pending audit entry");
                None
            }
        })
        .collect())
}
