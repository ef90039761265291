//! Issued API keys (never the key itself: its id, scopes, times and SHA-256) and the
//! revocations the signed list is made from. A revocation bumps the `revocations` counter in the
//! same transaction, so every instance can tell cheaply whether its cached list is current.

use sqlx::Row as _;

use super::{Db, DbError};

/// One issued key as the keys page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub key_id: String,
    pub account_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub origin: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// What the key table needs to record a key.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    pub key_id: &'a str,
    pub account_id: &'a str,
    pub name: &'a str,
    pub scopes: &'a [String],
    pub origin: &'a str,
    pub key_sha256: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

fn key_row(row: &sqlx::any::AnyRow) -> Result<KeyRow, sqlx::Error> {
    let scopes: String = row.try_get("scopes")?;
    Ok(KeyRow {
        key_id: row.try_get("key_id")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        origin: row.try_get("origin")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(crate) async fn insert_key<'c, E>(executor: E, key: &NewKey<'_>) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO api_keys (key_id, account_id, name, scopes, origin, key_sha256, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(key.key_id)
    .bind(key.account_id)
    .bind(key.name)
    .bind(key.scopes.join(" "))
    .bind(key.origin)
    .bind(key.key_sha256)
    .bind(key.created_at)
    .bind(key.expires_at)
    .execute(executor)
    .await?;
    Ok(())
}

impl Db {
    pub async fn record_key(&self, key: &NewKey<'_>) -> Result<(), DbError> {
        insert_key(self.pool(), key).await?;
        Ok(())
    }

    /// An account's keys, newest first.
    pub async fn keys_of(&self, account_id: &str) -> Result<Vec<KeyRow>, DbError> {
        let rows = sqlx::query(
            "SELECT key_id, account_id, name, scopes, origin, created_at, expires_at, revoked_at
             FROM api_keys WHERE account_id = $1 ORDER BY created_at DESC, key_id",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(key_row).collect::<Result<_, _>>()?)
    }

    pub async fn key(&self, key_id: &str) -> Result<Option<KeyRow>, DbError> {
        let row = sqlx::query(
            "SELECT key_id, account_id, name, scopes, origin, created_at, expires_at, revoked_at
             FROM api_keys WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(key_row).transpose()?)
    }

    /// Revokes `key_id` if it belongs to `account_id` (any account when `None`); returns when it
    /// was revoked (the first time, if it already was), or `None` for a key that is not there.
    pub async fn revoke_key(
        &self,
        key_id: &str,
        account_id: Option<&str>,
        now: i64,
    ) -> Result<Option<i64>, DbError> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(
            "SELECT account_id, expires_at, revoked_at FROM api_keys WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let owner: String = row.try_get("account_id")?;
        if account_id.is_some_and(|a| a != owner) {
            return Ok(None);
        }
        if let Some(at) = row.try_get::<Option<i64>, _>("revoked_at")? {
            return Ok(Some(at));
        }
        let expires_at: i64 = row.try_get("expires_at")?;
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2")
            .bind(now)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO revocations (key_id, revoked_at, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(key_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'revocations'")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(now))
    }

    /// Adds revocations of keys this database did not issue (keys issued offline by
    /// `quantdesk-keys`, imported from its ledger): `(key_id, revoked_at, expires_at)`.
    /// Returns how many were new.
    pub async fn record_revocations(&self, entries: &[(String, i64, i64)]) -> Result<u64, DbError> {
        let mut tx = self.pool().begin().await?;
        let mut added = 0;
        for (key_id, revoked_at, expires_at) in entries {
            added += sqlx::query(
                "INSERT INTO revocations (key_id, revoked_at, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key_id) DO NOTHING",
            )
            .bind(key_id)
            .bind(revoked_at)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        if added > 0 {
            sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'revocations'")
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// The revocation counter: changes whenever the list's contents may have changed.
    pub async fn revocations_version(&self) -> Result<i64, DbError> {
        let row = sqlx::query("SELECT value FROM counters WHERE name = 'revocations'")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("value")?)
    }

    /// Ids of revoked keys that have not expired yet (an expired key is refused anyway), with
    /// the counter they were read at, in one snapshot.
    pub async fn revoked_key_ids(&self, now: i64) -> Result<(i64, Vec<String>), DbError> {
        let mut tx = self.pool().begin().await?;
        let version: i64 = sqlx::query("SELECT value FROM counters WHERE name = 'revocations'")
            .fetch_one(&mut *tx)
            .await?
            .try_get("value")?;
        let rows =
            sqlx::query("SELECT key_id FROM revocations WHERE expires_at > $1 ORDER BY key_id")
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let ids = rows
            .iter()
            .map(|r| r.try_get::<String, _>("key_id"))
            .collect::<Result<_, _>>()?;
        Ok((version, ids))
    }
}
