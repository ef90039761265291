use chrono::Utc;

use crate::timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Store, StoreError};

impl Store {
    /// A setting's value, `None` when it was never set.
    pub async fn setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|(json,)| {
            serde_json::from_str(&json).map_err(|source| StoreError::BadValue {
                key: key.to_string(),
                source,
            })
        })
        .transpose()
    }

    pub async fn set_setting<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
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
        .execute(&self.pool)
        .await?;
        Ok(())
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
