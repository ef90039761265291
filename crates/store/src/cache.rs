use chrono::{Duration, Utc};

use crate::timestamp;

use crate::{Store, StoreError};

impl Store {
    /// A cached provider answer, unless it has expired.
    pub async fn cached(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT body FROM market_cache WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
        )
        .bind(key)
        .bind(timestamp(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(body,)| body))
    }

    /// Caches a provider answer; `ttl: None` keeps it until replaced (closed history never changes).
    pub async fn cache(
        &self,
        key: &str,
        provider: &str,
        body: &str,
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO market_cache (key, provider, body, fetched_at, expires_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET provider = excluded.provider, body = excluded.body,
                 fetched_at = excluded.fetched_at, expires_at = excluded.expires_at",
        )
        .bind(key)
        .bind(provider)
        .bind(body)
        .bind(timestamp(now))
        .bind(ttl.map(|ttl| timestamp(now + ttl)))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
