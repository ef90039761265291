//! The platform's database: one SQLite file by default, PostgreSQL when it outgrows one machine.
//! The same SQL runs on both (sqlx's `Any` driver, `$n` placeholders, times as integers); each has
//! its own migrations, applied at start. Everything an instance knows lives here — sessions,
//! throttles, device codes — so several instances can serve one PostgreSQL.
//!
//! Queries are grouped by table owner: [`accounts`], [`keys`], [`device`], [`releases`],
//! [`throttle`]. No SQL lives outside this module.

pub mod accounts;
pub mod device;
pub mod keys;
pub mod releases;
pub mod throttle;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor as _};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DbError {
    #[error("the database {url} cannot be opened: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("the database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("unsupported database URL '{0}': use sqlite://FILE or postgres://…")]
    Scheme(String),
}

/// Which engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// A URL with its password hidden, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Db {
    /// The default database: `platform.db` in `data_dir`.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("platform.db").display()
        )
    }

    /// Connects and applies the migrations.
    pub async fn open(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(DbError::Scheme(redact_url(url)));
        };
        let open_err = |source| DbError::Open {
            url: redact_url(url),
            source,
        };
        let options: AnyConnectOptions = url.parse().map_err(open_err)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(open_err)?;
        let db = Self { pool, backend };
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&db.pool).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&db.pool).await?,
        }
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A cheap query: is the database there?
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Seconds since 1970, now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Milliseconds since 1970, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_in_urls() {
        assert_eq!(
            redact_url("postgres://qd:hunter2@127.0.0.1:5432/qd"),
            "postgres://qd:***@127.0.0.1:5432/qd"
        );
        assert_eq!(redact_url("postgres://qd@h/db"), "postgres://qd@h/db");
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
