//! Rate limits as token buckets, one per (key, tool family), kept in the store so that every
//! sidecar process Claude Desktop starts draws from the same budget. A bucket holds at most
//! `capacity` tokens and refills `capacity` tokens per `period`; a call takes one. The read and
//! the write of a take happen in one `BEGIN IMMEDIATE` transaction, so two processes can never
//! both spend the last token.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{Store, StoreError};

/// `capacity` calls per `period`, with bursts of up to `capacity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketLimit {
    pub capacity: u32,
    pub period: Duration,
}

impl BucketLimit {
    /// Tokens added per second.
    fn rate(&self) -> f64 {
        let secs = self.period.as_secs_f64();
        if secs > 0.0 {
            f64::from(self.capacity) / secs
        } else {
            f64::INFINITY
        }
    }
}

/// The outcome of taking a token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Take {
    /// The call may go ahead; `remaining` whole tokens are left.
    Allowed { remaining: u32 },
    /// The bucket is empty; one token will be there after `retry_after`.
    Throttled { retry_after: Duration },
}

impl Store {
    /// Takes one token from the bucket of (`key_id`, `family`) now.
    pub async fn take_token(
        &self,
        key_id: &str,
        family: &str,
        limit: BucketLimit,
    ) -> Result<Take, StoreError> {
        self.take_token_at(key_id, family, limit, Utc::now()).await
    }

    /// Takes one token as of `now` (tests pass their own clock).
    pub async fn take_token_at(
        &self,
        key_id: &str,
        family: &str,
        limit: BucketLimit,
        now: DateTime<Utc>,
    ) -> Result<Take, StoreError> {
        let now_us = now.timestamp_micros();
        let capacity = f64::from(limit.capacity);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row: Option<(f64, i64)> = sqlx::query_as(
            "SELECT tokens, updated_us FROM rate_buckets WHERE key_id = ? AND family = ?",
        )
        .bind(key_id)
        .bind(family)
        .fetch_optional(&mut *tx)
        .await?;
        let level = match row {
            None => capacity,
            Some((tokens, updated_us)) => {
                // A clock that went backwards refills nothing (and takes nothing back).
                let elapsed = (now_us - updated_us).max(0) as f64 / 1e6;
                (tokens + elapsed * limit.rate()).min(capacity)
            }
        };
        let (level, take) = if level >= 1.0 {
            let left = level - 1.0;
            (
                left,
                Take::Allowed {
                    remaining: left.floor() as u32,
                },
            )
        } else {
            let rate = limit.rate();
            let retry_after = if rate > 0.0 && rate.is_finite() {
                Duration::from_secs_f64(((1.0 - level) / rate).max(0.0))
            } else {
                limit.period
            };
            (level.max(0.0), Take::Throttled { retry_after })
        };
        sqlx::query(
            "INSERT INTO rate_buckets (key_id, family, tokens, updated_us) VALUES (?, ?, ?, ?)
             ON CONFLICT (key_id, family) DO UPDATE SET tokens = excluded.tokens, updated_us = excluded.updated_us",
        )
        .bind(key_id)
        .bind(family)
        .bind(level)
        .bind(now_us)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_PER_MINUTE: BucketLimit = BucketLimit {
        capacity: 5,
        period: Duration::from_secs(60),
    };

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        (dir, store)
    }

    fn at(secs: f64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
            + chrono::Duration::microseconds((secs * 1e6) as i64)
            + chrono::Duration::days(20_000)
    }

    #[tokio::test]
    async fn the_sixth_call_in_a_minute_waits_twelve_seconds() {
        let (_dir, store) = store().await;
        for i in 0..5 {
            let take = store
                .take_token_at("k_1", "market:read", FIVE_PER_MINUTE, at(i as f64 * 0.1))
                .await
                .unwrap();
            assert_eq!(take, Take::Allowed { remaining: 4 - i });
        }
        let Take::Throttled { retry_after } = store
            .take_token_at("k_1", "market:read", FIVE_PER_MINUTE, at(0.5))
            .await
            .unwrap()
        else {
            panic!("the sixth call went through");
        };
        // Five tokens per minute: one every 12 s; 0.5 s have refilled 1/24 of one.
        let secs = retry_after.as_secs_f64();
        assert!((11.4..=12.0).contains(&secs), "{secs}");
        // After the wait, exactly one more call goes through.
        let later = 0.5 + secs + 0.01;
        assert!(matches!(
            store
                .take_token_at("k_1", "market:read", FIVE_PER_MINUTE, at(later))
                .await
                .unwrap(),
            Take::Allowed { remaining: 0 }
        ));
        assert!(matches!(
            store
                .take_token_at("k_1", "market:read", FIVE_PER_MINUTE, at(later + 0.01))
                .await
                .unwrap(),
            Take::Throttled { .. }
        ));
    }

    #[tokio::test]
    async fn buckets_are_per_key_and_family() {
        let (_dir, store) = store().await;
        let one = BucketLimit {
            capacity: 1,
            period: Duration::from_secs(3600),
        };
        assert!(matches!(
            store.take_token_at("k_1", "a", one, at(0.0)).await.unwrap(),
            Take::Allowed { .. }
        ));
        assert!(matches!(
            store.take_token_at("k_1", "a", one, at(0.0)).await.unwrap(),
            Take::Throttled { .. }
        ));
        for (key, family) in [("k_1", "b"), ("k_2", "a")] {
            assert!(matches!(
                store
                    .take_token_at(key, family, one, at(0.0))
                    .await
                    .unwrap(),
                Take::Allowed { .. }
            ));
        }
    }

    #[tokio::test]
    async fn a_full_bucket_never_overflows() {
        let (_dir, store) = store().await;
        store
            .take_token_at("k", "f", FIVE_PER_MINUTE, at(0.0))
            .await
            .unwrap();
        // A day later the bucket holds five, not thousands.
        for i in 0..5 {
            assert!(matches!(
                store
                    .take_token_at("k", "f", FIVE_PER_MINUTE, at(86_400.0 + i as f64))
                    .await
                    .unwrap(),
                Take::Allowed { .. }
            ));
        }
        assert!(matches!(
            store
                .take_token_at("k", "f", FIVE_PER_MINUTE, at(86_405.0))
                .await
                .unwrap(),
            Take::Throttled { .. }
        ));
    }

    /// Two handles on one file are two processes' worth of connections: 40 concurrent takes
    /// against a bucket of 5 let exactly 5 through.
    #[tokio::test]
    async fn two_handles_share_one_budget() {
        let (dir, first) = store().await;
        let second = Store::open_in(dir.path()).await.unwrap();
        let now = Utc::now();
        let limit = BucketLimit {
            capacity: 5,
            period: Duration::from_secs(3600),
        };
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tasks.push(tokio::spawn(async move {
                s.take_token_at("k_shared", "market:read", limit, now)
                    .await
                    .unwrap()
            }));
        }
        let mut allowed = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Take::Allowed { .. }) {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 5);
    }
}
