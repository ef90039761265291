//! Failure counters for throttling (sign-in per account and per client address, device-code
//! guesses per client address). Counted in the database with one upsert, so the count holds
//! across every instance serving it.

use sqlx::Row as _;

use super::{Db, DbError};

/// A bucket's count of recent failures and when the last one was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    pub count: i64,
    pub last_at: i64,
}

impl Db {
    pub async fn failures(&self, bucket: &str) -> Result<Failures, DbError> {
        let row = sqlx::query("SELECT failures, last_failure_at FROM throttle WHERE bucket = $1")
            .bind(bucket)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => Failures {
                count: row.try_get("failures")?,
                last_at: row.try_get("last_failure_at")?,
            },
            None => Failures::default(),
        })
    }

    /// Counts one failure in `bucket`; a bucket quiet for `forget_after` seconds starts again.
    pub async fn add_failure(
        &self,
        bucket: &str,
        now: i64,
        forget_after: i64,
    ) -> Result<Failures, DbError> {
        let row = sqlx::query(
            "INSERT INTO throttle (bucket, failures, last_failure_at) VALUES ($1, 1, $2)
             ON CONFLICT (bucket) DO UPDATE SET
                 failures = CASE WHEN throttle.last_failure_at < $3 THEN 1
                                 ELSE throttle.failures + 1 END,
                 last_failure_at = $2
             RETURNING failures, last_failure_at",
        )
        .bind(bucket)
        .bind(now)
        .bind(now - forget_after)
        .fetch_one(self.pool())
        .await?;
        Ok(Failures {
            count: row.try_get("failures")?,
            last_at: row.try_get("last_failure_at")?,
        })
    }

    pub async fn clear_failures(&self, bucket: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM throttle WHERE bucket = $1")
            .bind(bucket)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
