//! Device codes of the OAuth 2.0 device authorization grant (RFC 8628). The device code is kept
//! hashed; the user code in clear (it is short-lived, single use, and guessing it is throttled).
//! A code moves `pending` → `approved` | `denied`, and `approved` → `redeemed` exactly once, in
//! the same transaction that records the key issued for it.

use sqlx::Row as _;

use super::keys::{NewKey, insert_key};
use super::{Db, DbError};

/// A device code's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode {
    pub user_code: String,
    pub client_id: String,
    pub device_name: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub interval_secs: i64,
    pub last_poll_ms: Option<i64>,
    pub status: DeviceStatus,
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Redeemed,
}

impl DeviceStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Redeemed => "redeemed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "approved" => DeviceStatus::Approved,
            "denied" => DeviceStatus::Denied,
            "redeemed" => DeviceStatus::Redeemed,
            _ => DeviceStatus::Pending,
        }
    }
}

/// A new device code to record.
#[derive(Debug, Clone)]
pub struct NewDeviceCode<'a> {
    pub device_code_hash: &'a str,
    pub user_code: &'a str,
    pub client_id: &'a str,
    pub device_name: &'a str,
    pub scopes: &'a [String],
    pub created_at: i64,
    pub expires_at: i64,
    pub interval_secs: i64,
}

fn device_code(row: &sqlx::any::AnyRow) -> Result<DeviceCode, sqlx::Error> {
    let scopes: String = row.try_get("scopes")?;
    let status: String = row.try_get("status")?;
    Ok(DeviceCode {
        user_code: row.try_get("user_code")?,
        client_id: row.try_get("client_id")?,
        device_name: row.try_get("device_name")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        interval_secs: row.try_get("interval_secs")?,
        last_poll_ms: row.try_get("last_poll_ms")?,
        status: DeviceStatus::parse(&status),
        account_id: row.try_get("account_id")?,
    })
}

const COLUMNS: &str = "user_code, client_id, device_name, scopes, created_at, expires_at, \
                       interval_secs, last_poll_ms, status, account_id";

impl Db {
    /// Records a device code; `Ok(false)` if the user code is already taken (draw another).
    pub async fn create_device_code(&self, code: &NewDeviceCode<'_>) -> Result<bool, DbError> {
        // Expired codes are cleared on the way, so their user codes can be drawn again.
        sqlx::query("DELETE FROM device_codes WHERE expires_at < $1")
            .bind(code.created_at - 3600)
            .execute(self.pool())
            .await?;
        let done = sqlx::query(
            "INSERT INTO device_codes (device_code_hash, user_code, client_id, device_name, scopes,
                 created_at, expires_at, interval_secs, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')
             ON CONFLICT DO NOTHING",
        )
        .bind(code.device_code_hash)
        .bind(code.user_code)
        .bind(code.client_id)
        .bind(code.device_name)
        .bind(code.scopes.join(" "))
        .bind(code.created_at)
        .bind(code.expires_at)
        .bind(code.interval_secs)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn device_code_by_user_code(
        &self,
        user_code: &str,
    ) -> Result<Option<DeviceCode>, DbError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM device_codes WHERE user_code = $1"
        )))
        .bind(user_code)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(device_code).transpose()?)
    }

    /// Records the person's decision on a pending, unexpired code. `Ok(false)` when the code is
    /// no longer pending or has expired.
    pub async fn decide_device_code(
        &self,
        user_code: &str,
        account_id: &str,
        approve: bool,
        now: i64,
    ) -> Result<bool, DbError> {
        let status = if approve {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        let done = sqlx::query(
            "UPDATE device_codes SET status = $1, account_id = $2, decided_at = $3
             WHERE user_code = $4 AND status = 'pending' AND expires_at > $3",
        )
        .bind(status.as_str())
        .bind(account_id)
        .bind(now)
        .bind(user_code)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A poll of the token endpoint: returns the code as it was before this poll, and records
    /// the poll (growing the interval by 5 s when it came too early, as RFC 8628 §3.5 asks).
    pub async fn poll_device_code(
        &self,
        device_code_hash: &str,
        now_ms: i64,
        too_early: impl Fn(&DeviceCode) -> bool,
    ) -> Result<Option<DeviceCode>, DbError> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM device_codes WHERE device_code_hash = $1"
        )))
        .bind(device_code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(code) = row.as_ref().map(device_code).transpose()? else {
            return Ok(None);
        };
        let grow = if too_early(&code) { 5 } else { 0 };
        sqlx::query(
            "UPDATE device_codes SET last_poll_ms = $1, interval_secs = interval_secs + $2
             WHERE device_code_hash = $3",
        )
        .bind(now_ms)
        .bind(grow)
        .bind(device_code_hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(code))
    }

    /// Redeems an approved code and records the key issued for it, in one transaction: `Ok(false)`
    /// (and nothing recorded) when another poll redeemed it first.
    pub async fn redeem_device_code(
        &self,
        device_code_hash: &str,
        key: &NewKey<'_>,
    ) -> Result<bool, DbError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE device_codes SET status = 'redeemed'
             WHERE device_code_hash = $1 AND status = 'approved'",
        )
        .bind(device_code_hash)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_key(&mut *tx, key).await?;
        tx.commit().await?;
        Ok(true)
    }
}
