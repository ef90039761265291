//! The `settings` table: every read and write of it is here (the guard's sealed settings, the
//! paper broker's replay mark, the app's preferences all come through these functions).

use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::SqliteConnection;

use crate::timestamp;
use crate::{Store, StoreError};

/// A setting's value inside the caller's transaction, `None` when it was never set.
pub async fn setting_in<T: DeserializeOwned>(
    conn: &mut SqliteConnection,
    key: &str,
) -> Result<Option<T>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = ?")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|(json,)| {
        serde_json::from_str(&json).map_err(|source| StoreError::BadValue {
            key: key.to_string(),
            source,
        })
    })
    .transpose()
}

/// Writes a setting inside the caller's transaction.
pub async fn set_setting_in<T: Serialize>(
    conn: &mut SqliteConnection,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(value).map_err(|source| StoreError::BadValue {
        key: key.to_string(),
        source,
    })?;
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(json)
    .bind(timestamp(Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// A setting's value, `None` when it was never set.
    pub async fn setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        setting_in(&mut conn, key).await
    }

    pub async fn set_setting<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        set_setting_in(&mut conn, key, value).await
    }

    /// Reads `key` (its default when never set), lets `change` edit it and writes it back, in
    /// one immediate transaction: read-modify-writes from other processes wait their turn
    /// instead of overwriting each other. When `change` fails nothing is written.
    pub async fn update_setting<T, R, E>(
        &self,
        key: &str,
        change: impl FnOnce(&mut T) -> Result<R, E>,
    ) -> Result<Result<R, E>, StoreError>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut value: T = setting_in(&mut tx, key).await?.unwrap_or_default();
        let out = change(&mut value);
        if out.is_ok() {
            set_setting_in(&mut tx, key, &value).await?;
            tx.commit().await?;
        }
        Ok(out)
    }

    /// Several settings as stored JSON text, written in one transaction: all or none.
    pub async fn set_settings_text(&self, rows: &[(&str, String)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = timestamp(Utc::now());
        for (key, json) in rows {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(key)
            .bind(json)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
