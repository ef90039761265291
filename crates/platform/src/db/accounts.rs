//! Accounts, their browser sessions and the one-time tokens sent by mail (verify, reset).
//! Session ids and mail tokens are stored only as SHA-256 hashes.

use sqlx::Row as _;

use super::{Db, DbError};

/// One account as the website shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub created_at: i64,
}

/// What a mail token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    Verify,
    Reset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Verify => "verify",
            TokenPurpose::Reset => "reset",
        }
    }
}

/// What deleting an account removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    pub keys_revoked: u64,
    pub keys_deleted: u64,
    pub sessions: u64,
    pub device_codes: u64,
}

fn account(row: &sqlx::any::AnyRow) -> Result<Account, sqlx::Error> {
    Ok(Account {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        email_verified: row
            .try_get::<Option<i64>, _>("email_verified_at")?
            .is_some(),
        created_at: row.try_get("created_at")?,
    })
}

impl Db {
    /// Creates an account; `Ok(false)` when the email is taken.
    pub async fn create_account(
        &self,
        id: &str,
        email: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(id)
        .bind(email)
        .bind(password_hash)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The account and its password hash, by email.
    pub async fn account_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(Account, String)>, DbError> {
        let row = sqlx::query(
            "SELECT id, email, email_verified_at, created_at, password_hash FROM accounts WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(row) => Some((account(&row)?, row.try_get("password_hash")?)),
            None => None,
        })
    }

    pub async fn account_by_id(&self, id: &str) -> Result<Option<(Account, String)>, DbError> {
        let row = sqlx::query(
            "SELECT id, email, email_verified_at, created_at, password_hash FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(row) => Some((account(&row)?, row.try_get("password_hash")?)),
            None => None,
        })
    }

    pub async fn set_password(&self, account_id: &str, hash: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(account_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        account_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(id_hash)
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The session's account if the session is neither past its absolute expiry nor idle for
    /// longer than `idle_secs`; marks it seen (at most once a minute, to spare writes).
    pub async fn session_account(
        &self,
        id_hash: &str,
        now: i64,
        idle_secs: i64,
    ) -> Result<Option<Account>, DbError> {
        let row = sqlx::query(
            "SELECT a.id, a.email, a.email_verified_at, a.created_at, s.last_seen_at
             FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3",
        )
        .bind(id_hash)
        .bind(now)
        .bind(now - idle_secs)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_seen: i64 = row.try_get("last_seen_at")?;
        if now - last_seen >= 60 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(id_hash)
                .execute(self.pool())
                .await?;
        }
        Ok(Some(account(&row)?))
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends every session of an account (after a password reset).
    pub async fn delete_sessions_of(&self, account_id: &str) -> Result<u64, DbError> {
        let done = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(account_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn create_mail_token(
        &self,
        token_hash: &str,
        account_id: &str,
        purpose: TokenPurpose,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, account_id, purpose, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(purpose.as_str())
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Uses a mail token once: the account it belongs to, if it is unused, unexpired and for
    /// `purpose`.
    pub async fn use_mail_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<String>, DbError> {
        let row = sqlx::query(
            "UPDATE email_tokens SET used_at = $1
             WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
             RETURNING account_id",
        )
        .bind(now)
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("account_id")?),
            None => None,
        })
    }

    /// Is this mail token usable (without using it)?
    pub async fn mail_token_valid(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<bool, DbError> {
        let row = sqlx::query(
            "SELECT 1 FROM email_tokens
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    pub async fn mark_verified(&self, account_id: &str, now: i64) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE accounts SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL",
        )
        .bind(now)
        .bind(account_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Deletes an account: every key it holds is revoked first (the revocation outlives the
    /// account), then its rows go.
    pub async fn delete_account(&self, account_id: &str, now: i64) -> Result<Deleted, DbError> {
        let mut tx = self.pool().begin().await?;
        let revoked = sqlx::query(
            "INSERT INTO revocations (key_id, revoked_at, expires_at)
             SELECT key_id, $1, expires_at FROM api_keys
             WHERE account_id = $2 AND revoked_at IS NULL AND expires_at > $1
             ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(now)
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if revoked > 0 {
            sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'revocations'")
                .execute(&mut *tx)
                .await?;
        }
        let mut deleted = Deleted {
            keys_revoked: revoked,
            ..Deleted::default()
        };
        for (table, count) in [
            ("api_keys", &mut deleted.keys_deleted),
            ("sessions", &mut deleted.sessions),
            ("device_codes", &mut deleted.device_codes),
            ("email_tokens", &mut 0),
        ] {
            *count = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE account_id = $1"
            )))
            .bind(account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted)
    }
}
