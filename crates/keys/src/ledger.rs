//! The issuance ledger the platform's back end keeps: one JSON file listing every key issued
//! (id, account, scopes, limits, validity, SHA-256 of the key, revocation), never a key itself.
//! It is what `list`, `revoke` and `revocations` work from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::key::{Claims, RevocationList};
use crate::rate::RateLimit;
use crate::scope::Scopes;

#[derive(Debug, Error)]
pub enum LedgerError {
    #[error("cannot read the ledger {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write the ledger {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("the ledger has no key '{0}'")]
    UnknownKey(String),
    #[error("the ledger belongs to the signing key {ledger}, not {given}")]
    OtherSigner { ledger: String, given: String },
}

/// One issued key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub key_id: String,
    pub account_id: String,
    pub scopes: Scopes,
    #[serde(default)]
    pub rate: BTreeMap<String, RateLimit>,
    pub issued_at: i64,
    pub expires_at: i64,
    /// Hex SHA-256 of the key's text.
    pub key_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl LedgerEntry {
    pub fn from_claims(claims: &Claims, key_sha256: String) -> Self {
        Self {
            key_id: claims.key_id.clone(),
            account_id: claims.account_id.clone(),
            scopes: claims.scopes.clone(),
            rate: claims.rate.clone(),
            issued_at: claims.iat,
            expires_at: claims.exp,
            key_sha256,
            revoked_at: None,
        }
    }
}

/// The ledger file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// The public key of the signing key that issued these keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    pub keys: Vec<LedgerEntry>,
}

impl Ledger {
    /// Reads `path`; a missing file is an empty ledger.
    pub fn load(path: &Path) -> Result<Self, LedgerError> {
        let read_err = |reason: String| LedgerError::Read {
            path: path.to_path_buf(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| read_err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(read_err(e.to_string())),
        }
    }

    /// Writes `path` atomically (a temporary file beside it, then a rename).
    pub fn save(&self, path: &Path) -> Result<(), LedgerError> {
        let write_err = |reason: String| LedgerError::Write {
            path: path.to_path_buf(),
            reason,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| write_err(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, format!("{text}\n")).map_err(|e| write_err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| write_err(e.to_string()))
    }

    /// Checks that this ledger was kept for `public_key`, adopting it if the ledger is new.
    pub fn bind_to(&mut self, public_key: &str) -> Result<(), LedgerError> {
        match &self.public_key {
            Some(existing) if existing != public_key => Err(LedgerError::OtherSigner {
                ledger: existing.clone(),
                given: public_key.to_string(),
            }),
            Some(_) => Ok(()),
            None => {
                self.public_key = Some(public_key.to_string());
                Ok(())
            }
        }
    }

    pub fn record(&mut self, entry: LedgerEntry) {
        self.keys.push(entry);
    }

    /// Marks `key_id` revoked at `now` (keeping an earlier revocation time).
    pub fn revoke(&mut self, key_id: &str, now: i64) -> Result<&LedgerEntry, LedgerError> {
        let entry = self
            .keys
            .iter_mut()
            .find(|e| e.key_id == key_id)
            .ok_or_else(|| LedgerError::UnknownKey(key_id.to_string()))?;
        entry.revoked_at.get_or_insert(now);
        Ok(entry)
    }

    /// The revocation list for every revoked key, dated `now`.
    pub fn revocation_list(&self, now: i64) -> RevocationList {
        RevocationList {
            iat: now,
            revoked: self
                .keys
                .iter()
                .filter(|e| e.revoked_at.is_some())
                .map(|e| e.key_id.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> LedgerEntry {
        LedgerEntry {
            key_id: id.into(),
            account_id: "acct_1".into(),
            scopes: Scopes::guest(),
            rate: BTreeMap::new(),
            issued_at: 1,
            expires_at: 2,
            key_sha256: "00".repeat(32),
            revoked_at: None,
        }
    }

    #[test]
    fn the_ledger_round_trips_and_revokes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        let mut ledger = Ledger::load(&path).unwrap();
        assert!(ledger.keys.is_empty());
        ledger.bind_to("PUB").unwrap();
        ledger.record(entry("k_1"));
        ledger.record(entry("k_2"));
        ledger.revoke("k_2", 100).unwrap();
        ledger.revoke("k_2", 200).unwrap();
        assert!(matches!(
            ledger.revoke("k_3", 1),
            Err(LedgerError::UnknownKey(_))
        ));
        ledger.save(&path).unwrap();
        let again = Ledger::load(&path).unwrap();
        assert_eq!(again, ledger);
        assert_eq!(again.keys[1].revoked_at, Some(100));
        let list = again.revocation_list(300);
        assert_eq!(list.revoked.into_iter().collect::<Vec<_>>(), ["k_2"]);
        let mut other = again.clone();
        assert!(other.bind_to("OTHER").is_err());
    }
}
