//! The audit log: every tool call, decision, approval and order, appended by whichever process
//! made it, each entry sealed with SHA-256 over its content and the previous entry's hash.
//! Changing, removing or reordering any entry breaks the chain at that entry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Store, StoreError, timestamp};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What to append. `args` and `detail` are JSON values; they are stored as compact JSON text and
/// the hash covers exactly that text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Who acted: `mcp:<pid>`, `app`, `xtask`.
    pub actor: String,
    /// `tool_call`, `decision`, `approval`, `order`, `settings`, …
    pub kind: String,
    pub tool: Option<String>,
    pub symbol: Option<String>,
    pub args: serde_json::Value,
    /// `ok`, `error`, `refused`, …
    pub outcome: String,
    pub detail: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub ts: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub tool: Option<String>,
    pub symbol: Option<String>,
    pub args: serde_json::Value,
    pub outcome: String,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Which entries to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub kind: Option<String>,
    pub tool: Option<String>,
    pub symbol: Option<String>,
    pub limit: Option<i64>,
}

/// Where the chain first fails and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    pub entries: i64,
    pub first_broken: Option<BrokenLink>,
}

impl ChainReport {
    pub fn intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

struct Sealed<'a> {
    seq: i64,
    ts: &'a str,
    actor: &'a str,
    kind: &'a str,
    tool: Option<&'a str>,
    symbol: Option<&'a str>,
    args: &'a str,
    outcome: &'a str,
    detail: &'a str,
    prev_hash: &'a str,
}

impl Sealed<'_> {
    /// SHA-256 over every field, each length-prefixed so no two different entries can encode
    /// to the same bytes.
    fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.seq.to_be_bytes());
        for field in [
            Some(self.ts),
            Some(self.actor),
            Some(self.kind),
            self.tool,
            self.symbol,
            Some(self.args),
            Some(self.outcome),
            Some(self.detail),
            Some(self.prev_hash),
        ] {
            match field {
                Some(text) => {
                    h.update([1u8]);
                    h.update((text.len() as u64).to_be_bytes());
                    h.update(text.as_bytes());
                }
                None => h.update([0u8]),
            }
        }
        hex::encode(h.finalize())
    }
}

impl Store {
    /// Appends one entry. The read of the chain's head and the insert happen in one immediate
    /// transaction, so entries from several processes form one unbroken chain.
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<AuditEntry, StoreError> {
        let args = record.args.to_string();
        let detail = record.detail.to_string();
        let now = Utc::now();
        let ts = timestamp(now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let (seq, prev_hash) = head.map_or((1, GENESIS_HASH.to_string()), |(s, h)| (s + 1, h));
        let sealed = Sealed {
            seq,
            ts: &ts,
            actor: &record.actor,
            kind: &record.kind,
            tool: record.tool.as_deref(),
            symbol: record.symbol.as_deref(),
            args: &args,
            outcome: &record.outcome,
            detail: &detail,
            prev_hash: &prev_hash,
        };
        let hash = sealed.hash();
        sqlx::query(
            "INSERT INTO audit_log (seq, ts, actor, kind, tool, symbol, args, outcome, detail, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(seq)
        .bind(&ts)
        .bind(&record.actor)
        .bind(&record.kind)
        .bind(&record.tool)
        .bind(&record.symbol)
        .bind(&args)
        .bind(&record.outcome)
        .bind(&detail)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AuditEntry {
            seq,
            ts: now,
            actor: record.actor.clone(),
            kind: record.kind.clone(),
            tool: record.tool.clone(),
            symbol: record.symbol.clone(),
            args: record.args.clone(),
            outcome: record.outcome.clone(),
            detail: record.detail.clone(),
            prev_hash,
            hash,
        })
    }

    /// Every kind of entry the log holds, sorted (for the audit viewer's filter).
    pub async fn audit_kinds(&self) -> Result<Vec<String>, StoreError> {
        let kinds: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT kind FROM audit_log ORDER BY kind")
                .fetch_all(self.pool())
                .await?;
        Ok(kinds.into_iter().map(|(k,)| k).collect())
    }

    /// Entries matching `filter`, newest first.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, ts, actor, kind, tool, symbol, args, outcome, detail, prev_hash, hash
             FROM audit_log
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR tool = ?2) AND (?3 IS NULL OR symbol = ?3)
             ORDER BY seq DESC LIMIT ?4",
        )
        .bind(&filter.kind)
        .bind(&filter.tool)
        .bind(&filter.symbol)
        .bind(filter.limit.unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let json = |col: &str| -> Result<serde_json::Value, StoreError> {
                    let text: String = row.try_get(col)?;
                    // A tampered entry may no longer be JSON; show it as the text it is.
                    Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
                };
                let ts: String = row.try_get("ts")?;
                Ok(AuditEntry {
                    seq: row.try_get("seq")?,
                    ts: DateTime::parse_from_rfc3339(&ts)
                        .map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc)),
                    actor: row.try_get("actor")?,
                    kind: row.try_get("kind")?,
                    tool: row.try_get("tool")?,
                    symbol: row.try_get("symbol")?,
                    args: json("args")?,
                    outcome: row.try_get("outcome")?,
                    detail: json("detail")?,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                })
            })
            .collect()
    }

    /// Walks the whole chain from the first entry and reports the first entry whose sequence,
    /// link or content does not match.
    pub async fn verify_audit(&self) -> Result<ChainReport, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, ts, actor, kind, tool, symbol, args, outcome, detail, prev_hash, hash
             FROM audit_log ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut expected_prev = GENESIS_HASH.to_string();
        for (expected_seq, row) in (1_i64..).zip(rows.iter()) {
            let seq: i64 = row.try_get("seq")?;
            let text = |col: &str| -> Result<String, sqlx::Error> { row.try_get(col) };
            let opt = |col: &str| -> Result<Option<String>, sqlx::Error> { row.try_get(col) };
            let (ts, actor, kind, args, outcome, detail, prev_hash, hash) = (
                text("ts")?,
                text("actor")?,
                text("kind")?,
                text("args")?,
                text("outcome")?,
                text("detail")?,
                text("prev_hash")?,
                text("hash")?,
            );
            let (tool, symbol) = (opt("tool")?, opt("symbol")?);
            let broken = |reason: String| ChainReport {
                entries: rows.len() as i64,
                first_broken: Some(BrokenLink { seq, reason }),
            };
            if seq != expected_seq {
                return Ok(broken(format!(
                    "entry {expected_seq} is missing (found {seq} next)"
                )));
            }
            if prev_hash != expected_prev {
                return Ok(broken(format!(
                    "entry {seq} does not link to entry {}",
                    seq - 1
                )));
            }
            let sealed = Sealed {
                seq,
                ts: &ts,
                actor: &actor,
                kind: &kind,
                tool: tool.as_deref(),
                symbol: symbol.as_deref(),
                args: &args,
                outcome: &outcome,
                detail: &detail,
                prev_hash: &prev_hash,
            };
            if sealed.hash() != hash {
                return Ok(broken(format!(
                    "entry {seq} was changed after it was written"
                )));
            }
            expected_prev = hash;
        }
        Ok(ChainReport {
            entries: rows.len() as i64,
            first_broken: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        (dir, store)
    }

    fn record(i: usize) -> AuditRecord {
        AuditRecord {
            actor: "test".into(),
            kind: "tool_call".into(),
            tool: Some("get_stock_price".into()),
            symbol: Some("GOOG".into()),
            args: json!({ "symbol": "GOOG", "n": i }),
            outcome: "ok".into(),
            detail: json!({ "price": 806.19 }),
        }
    }

    #[tokio::test]
    async fn a_fresh_chain_verifies() {
        let (_dir, store) = store().await;
        assert_eq!(
            store.verify_audit().await.unwrap(),
            ChainReport {
                entries: 0,
                first_broken: None
            }
        );
        for i in 0..5 {
            let e = store.append_audit(&record(i)).await.unwrap();
            assert_eq!(e.seq, i as i64 + 1);
        }
        let report = store.verify_audit().await.unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.entries, 5);
        let listed = store
            .audit_entries(&AuditFilter {
                limit: Some(2),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(listed.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 4]);
        assert_eq!(listed[0].args["n"], 4);
    }

    #[tokio::test]
    async fn the_database_refuses_edits() {
        let (_dir, store) = store().await;
        store.append_audit(&record(0)).await.unwrap();
        let err = sqlx::query("UPDATE audit_log SET outcome = 'refused'")
            .execute(store.pool())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        assert!(
            sqlx::query("DELETE FROM audit_log")
                .execute(store.pool())
                .await
                .is_err()
        );
    }

    /// Flip one byte of one column of one entry, going around the triggers as an attacker
    /// with the file would: verify names exactly that entry.
    #[tokio::test]
    async fn a_flipped_byte_is_found_at_its_entry() {
        for column in ["args", "outcome", "detail", "ts", "actor", "hash"] {
            let (_dir, store) = store().await;
            for i in 0..6 {
                store.append_audit(&record(i)).await.unwrap();
            }
            sqlx::query("DROP TRIGGER audit_log_no_update")
                .execute(store.pool())
                .await
                .unwrap();
            let (text,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {column} FROM audit_log WHERE seq = 4"
            )))
            .fetch_one(store.pool())
            .await
            .unwrap();
            let mut bytes = text.into_bytes();
            bytes[1] ^= 0x01;
            let tampered = String::from_utf8(bytes).unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE audit_log SET {column} = ? WHERE seq = 4"
            )))
            .bind(tampered)
            .execute(store.pool())
            .await
            .unwrap();
            let report = store.verify_audit().await.unwrap();
            let broken = report.first_broken.expect("tampering not found");
            assert_eq!(broken.seq, 4, "{column}: {broken:?}");
        }
    }

    #[tokio::test]
    async fn a_removed_entry_is_found() {
        let (_dir, store) = store().await;
        for i in 0..4 {
            store.append_audit(&record(i)).await.unwrap();
        }
        sqlx::query("DROP TRIGGER audit_log_no_delete")
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_log WHERE seq = 2")
            .execute(store.pool())
            .await
            .unwrap();
        let broken = store.verify_audit().await.unwrap().first_broken.unwrap();
        assert_eq!(broken.seq, 3);
        assert!(
            broken.reason.contains("entry 2 is missing"),
            "{}",
            broken.reason
        );
    }

    /// Writers in several connections at once still form one chain.
    #[tokio::test]
    async fn concurrent_appends_keep_one_chain() {
        let (dir, store) = store().await;
        let other = Store::open_in(dir.path()).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = if i % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            tasks.push(tokio::spawn(async move {
                s.append_audit(&record(i)).await.unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let report = store.verify_audit().await.unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.entries, 40);
    }
}
