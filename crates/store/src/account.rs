//! Which account API key this installation uses. Only the key's id, its account, its scopes, its
//! validity and a SHA-256 of its text are kept here; the key itself lives in the OS keychain.
//! The schema refuses anything in the hash column but 64 lowercase hex digits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Store, StoreError, timestamp};

/// One installed key, as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountKeyRecord {
    pub key_id: String,
    pub account_id: String,
    /// Hex SHA-256 of the key text: enough to recognise the key, useless to use it.
    pub key_sha256: String,
    pub scopes: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub installed_at: DateTime<Utc>,
    pub active: bool,
}

const COLUMNS: &str =
    "key_id, account_id, key_sha256, scopes, issued_at, expires_at, installed_at, active";

impl Store {
    /// Records `record` as the key in use, retiring the one used before. Returns the previous
    /// key's id when it was a different key.
    pub async fn install_account_key(
        &self,
        record: &AccountKeyRecord,
    ) -> Result<Option<String>, StoreError> {
        let scopes =
            serde_json::to_string(&record.scopes).map_err(|source| StoreError::BadValue {
                key: "account_keys.scopes".into(),
                source,
            })?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let previous: Option<(String,)> =
            sqlx::query_as("SELECT key_id FROM account_keys WHERE active = 1")
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query("UPDATE account_keys SET active = 0 WHERE active = 1")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO account_keys (key_id, account_id, key_sha256, scopes, issued_at, expires_at, installed_at, active)
             VALUES (?, ?, ?, ?, ?, ?, ?, 1)
             ON CONFLICT (key_id) DO UPDATE SET
               account_id = excluded.account_id, key_sha256 = excluded.key_sha256,
               scopes = excluded.scopes, issued_at = excluded.issued_at,
               expires_at = excluded.expires_at, installed_at = excluded.installed_at, active = 1",
        )
        .bind(&record.key_id)
        .bind(&record.account_id)
        .bind(&record.key_sha256)
        .bind(scopes)
        .bind(timestamp(record.issued_at))
        .bind(timestamp(record.expires_at))
        .bind(timestamp(record.installed_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(previous.map(|(id,)| id).filter(|id| *id != record.key_id))
    }

    /// The key in use, if any.
    pub async fn active_account_key(&self) -> Result<Option<AccountKeyRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM account_keys WHERE active = 1"
        )))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| decode(&row)).transpose()
    }

    /// Stops using the active key (the app's "sign out"). Returns its id.
    pub async fn deactivate_account_key(&self) -> Result<Option<String>, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let previous: Option<(String,)> =
            sqlx::query_as("SELECT key_id FROM account_keys WHERE active = 1")
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query("UPDATE account_keys SET active = 0 WHERE active = 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(previous.map(|(id,)| id))
    }

    /// Every key this installation has used, newest first.
    pub async fn account_keys(&self) -> Result<Vec<AccountKeyRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM account_keys ORDER BY installed_at DESC"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode).collect()
    }
}

fn decode(row: &sqlx::sqlite::SqliteRow) -> Result<AccountKeyRecord, StoreError> {
    let time = |col: &str| -> Result<DateTime<Utc>, StoreError> {
        let text: String = row.try_get(col)?;
        Ok(DateTime::parse_from_rfc3339(&text)
            .map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc)))
    };
    let scopes: String = row.try_get("scopes")?;
    Ok(AccountKeyRecord {
        key_id: row.try_get("key_id")?,
        account_id: row.try_get("account_id")?,
        key_sha256: row.try_get("key_sha256")?,
        scopes: serde_json::from_str(&scopes).map_err(|source| StoreError::BadValue {
            key: "account_keys.scopes".into(),
            source,
        })?,
        issued_at: time("issued_at")?,
        expires_at: time("expires_at")?,
        installed_at: time("installed_at")?,
        active: row.try_get::<i64, _>("active")? == 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn record(id: &str) -> AccountKeyRecord {
        let now = Utc::now();
        AccountKeyRecord {
            key_id: id.into(),
            account_id: "acct_1".into(),
            key_sha256: "ab".repeat(32),
            scopes: vec!["market:read".into(), "analysis".into()],
            issued_at: now - Duration::days(1),
            expires_at: now + Duration::days(30),
            installed_at: now,
            active: true,
        }
    }

    #[tokio::test]
    async fn one_key_is_active_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        assert_eq!(store.active_account_key().await.unwrap(), None);
        assert_eq!(
            store.install_account_key(&record("k_1")).await.unwrap(),
            None
        );
        let active = store.active_account_key().await.unwrap().unwrap();
        assert_eq!(active.key_id, "k_1");
        assert_eq!(active.scopes, ["market:read", "analysis"]);
        assert_eq!(
            store.install_account_key(&record("k_2")).await.unwrap(),
            Some("k_1".into())
        );
        assert_eq!(
            store.install_account_key(&record("k_2")).await.unwrap(),
            None,
            "reinstalling the same key retires nothing"
        );
        let all = store.account_keys().await.unwrap();
        assert_eq!(all.iter().filter(|r| r.active).count(), 1);
        assert_eq!(
            store.deactivate_account_key().await.unwrap(),
            Some("k_2".into())
        );
        assert_eq!(store.active_account_key().await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_schema_refuses_anything_but_a_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        let mut bad = record("k_1");
        bad.key_sha256 = "qdk_eyJraWQiOiJrXzEifQ.c2lnbmF0dXJl".into();
        assert!(store.install_account_key(&bad).await.is_err());
        let mut bad = record("qdk_looks-like-a-key");
        bad.key_sha256 = "00".repeat(32);
        assert!(store.install_account_key(&bad).await.is_err());
    }
}
