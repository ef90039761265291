//! Alerts and their firings (tables `alerts`, `alert_firings`). Evaluation lives in
//! `quantdesk-live`; this is only what is kept, written so that one crossing fires once:
//! a firing's key is (alert, bar), and an evaluation is recorded only for a bar newer than the
//! last one recorded.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row as _;

use crate::{Store, StoreError, timestamp};

/// A new alert, as the tool or the app asks for it.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub symbol: String,
    pub product: String,
    pub condition: String,
    pub timeframe: String,
    pub repeat: bool,
    pub created_by: String,
}

/// A kept alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRow {
    pub id: String,
    pub symbol: String,
    pub product: String,
    pub condition: String,
    pub timeframe: String,
    pub repeat: bool,
    /// `active`, `done` or `cancelled`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub last_bar: Option<DateTime<Utc>>,
    pub last_value: Option<bool>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// One firing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FiringRow {
    pub alert_id: String,
    pub symbol: String,
    pub condition: String,
    pub timeframe: String,
    /// The start of the bar whose close made the condition true.
    pub bar_time: DateTime<Utc>,
    pub fired_at: DateTime<Utc>,
    /// That bar's close, exact decimal text.
    pub price: String,
    pub audited: bool,
    pub notified: bool,
}

/// What one evaluation found for one alert.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub bar: DateTime<Utc>,
    pub value: Option<bool>,
    /// The firing to record (bar start, close), if the condition became true at `bar`.
    pub fired: Option<(DateTime<Utc>, String)>,
}

fn time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("a stored alert time '{text}': {e}")))
}

fn alert(row: &sqlx::sqlite::SqliteRow) -> Result<AlertRow, StoreError> {
    let opt_time = |v: Option<String>| v.as_deref().map(time).transpose();
    Ok(AlertRow {
        id: row.try_get("id")?,
        symbol: row.try_get("symbol")?,
        product: row.try_get("product")?,
        condition: row.try_get("condition")?,
        timeframe: row.try_get("timeframe")?,
        repeat: row.try_get::<i64, _>("repeat")? != 0,
        status: row.try_get("status")?,
        created_at: time(&row.try_get::<String, _>("created_at")?)?,
        created_by: row.try_get("created_by")?,
        last_bar: opt_time(row.try_get("last_bar")?)?,
        last_value: row.try_get::<Option<i64>, _>("last_value")?.map(|v| v != 0),
        ended_at: opt_time(row.try_get("ended_at")?)?,
    })
}

fn firing(row: &sqlx::sqlite::SqliteRow) -> Result<FiringRow, StoreError> {
    Ok(FiringRow {
        alert_id: row.try_get("alert_id")?,
        symbol: row.try_get("symbol")?,
        condition: row.try_get("condition")?,
        timeframe: row.try_get("timeframe")?,
        bar_time: time(&row.try_get::<String, _>("bar_time")?)?,
        fired_at: time(&row.try_get::<String, _>("fired_at")?)?,
        price: row.try_get("price")?,
        audited: row.try_get::<i64, _>("audited")? != 0,
        notified: row.try_get::<i64, _>("notified")? != 0,
    })
}

/// The firings query with `$tail` (a literal: the SQL stays static).
macro_rules! firings {
    ($tail:literal) => {
        concat!(
            "SELECT f.alert_id, a.symbol, a.condition, a.timeframe, f.bar_time, f.fired_at, ",
            "f.price, f.audited, f.notified FROM alert_firings f JOIN alerts a ON a.id = f.alert_id ",
            $tail
        )
    };
}

/// A fresh alert id: `alt_` and 16 random hex digits.
fn new_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
    Ok(format!("alt_{}", hex::encode(bytes)))
}

impl Store {
    pub async fn insert_alert(&self, new: &NewAlert) -> Result<AlertRow, StoreError> {
        let id = new_id()?;
        sqlx::query(
            "INSERT INTO alerts (id, symbol, product, condition, timeframe, repeat, created_at, created_by) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&new.symbol)
        .bind(&new.product)
        .bind(&new.condition)
        .bind(&new.timeframe)
        .bind(i64::from(new.repeat))
        .bind(timestamp(Utc::now()))
        .bind(&new.created_by)
        .execute(&self.pool)
        .await?;
        self.alert(&id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("alert {id} vanished")))
    }

    pub async fn alert(&self, id: &str) -> Result<Option<AlertRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM alerts WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(alert).transpose()
    }

    /// Alerts, newest first: the active ones, or all.
    pub async fn alerts(&self, active_only: bool) -> Result<Vec<AlertRow>, StoreError> {
        let sql = if active_only {
            "SELECT * FROM alerts WHERE status = 'active' ORDER BY created_at DESC, id"
        } else {
            "SELECT * FROM alerts ORDER BY created_at DESC, id"
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(alert).collect()
    }

    /// Cancels an active alert; `None` when there is no such alert, the row as it is when it
    /// had already ended.
    pub async fn cancel_alert(&self, id: &str) -> Result<Option<AlertRow>, StoreError> {
        sqlx::query(
            "UPDATE alerts SET status = 'cancelled', ended_at = ? WHERE id = ? AND status = 'active'",
        )
        .bind(timestamp(Utc::now()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.alert(id).await
    }

    /// Records an evaluation of an active alert at a bar newer than the last one recorded, and
    /// its firing if any, in one transaction. `true` when this call recorded a new firing; an
    /// evaluation of a bar already seen (another process got there first) changes nothing.
    pub async fn record_evaluation(&self, id: &str, e: &Evaluation) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let bar = timestamp(e.bar);
        let updated = sqlx::query(
            "UPDATE alerts SET last_bar = ?, last_value = ? \
             WHERE id = ? AND status = 'active' AND (last_bar IS NULL OR last_bar < ?)",
        )
        .bind(&bar)
        .bind(e.value.map(i64::from))
        .bind(id)
        .bind(&bar)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let mut fired = false;
        if updated == 1
            && let Some((at, price)) = &e.fired
        {
            fired = sqlx::query(
                "INSERT OR IGNORE INTO alert_firings (alert_id, bar_time, fired_at, price) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(timestamp(*at))
            .bind(timestamp(Utc::now()))
            .bind(price)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if fired {
                sqlx::query(
                    "UPDATE alerts SET status = 'done', ended_at = ? WHERE id = ? AND repeat = 0",
                )
                .bind(timestamp(Utc::now()))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(fired)
    }

    /// Firings, newest first: of one alert, or of all.
    pub async fn alert_firings(&self, id: Option<&str>) -> Result<Vec<FiringRow>, StoreError> {
        let rows = match id {
            Some(id) => {
                sqlx::query(firings!("WHERE f.alert_id = ? ORDER BY f.bar_time DESC"))
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(firings!("ORDER BY f.bar_time DESC LIMIT 500"))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(firing).collect()
    }

    /// Firings not yet in the audit log, or not yet shown as a notification.
    pub async fn firings_pending(&self, notification: bool) -> Result<Vec<FiringRow>, StoreError> {
        let sql = if notification {
            firings!("WHERE f.notified = 0 ORDER BY f.bar_time")
        } else {
            firings!("WHERE f.audited = 0 ORDER BY f.bar_time")
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(firing).collect()
    }

    /// Marks a firing as audited or notified.
    pub async fn mark_firing(
        &self,
        alert_id: &str,
        bar_time: DateTime<Utc>,
        notification: bool,
    ) -> Result<(), StoreError> {
        let sql = if notification {
            "UPDATE alert_firings SET notified = 1 WHERE alert_id = ? AND bar_time = ?"
        } else {
            "UPDATE alert_firings SET audited = 1 WHERE alert_id = ? AND bar_time = ?"
        };
        sqlx::query(sql)
            .bind(alert_id)
            .bind(timestamp(bar_time))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
