//! QuantDesk's one SQLite store (sqlx, WAL), shared by the desktop app and every sidecar process:
//! settings, the market-data cache, the hash-chained audit log (and the entries waiting to join
//! it when the store could not take them: [`PendingAudit`]), the account key's id and hash,
//! and the rate-limit buckets; later the order journal, paper-broker state and pending approvals.
//!
//! Several processes open the same file at once, so every write that reads before it writes
//! runs in an immediate transaction. This crate must never hold a secret: keys and passwords
//! live in the OS keychain, and only ids and hashes of them may be stored here.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod account;
mod audit;
mod cache;
mod error;
mod paths;
mod pending;
pub mod private;
mod ratelimit;
mod settings;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use account::AccountKeyRecord;
pub use audit::{AuditEntry, AuditFilter, AuditRecord, BrokenLink, ChainReport, GENESIS_HASH};
pub use error::StoreError;
pub use paths::{DATA_DIR_ENV, DB_FILE, default_data_dir, resolve_data_dir};
pub use pending::{AuditWrite, DeferError, PendingAudit};
pub use ratelimit::{BucketLimit, Take};
pub use settings::{set_setting_in, setting_in};

/// How long a writer waits for another process's write to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A handle on the store. Cheap to clone (a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) `quantdesk.db` in `data_dir` and brings its schema up to date.
    /// The folder is made (or tightened to) 0700 on Unix, the database files 0600
    /// ([`private`]).
    pub async fn open_in(data_dir: &Path) -> Result<Self, StoreError> {
        private::create_private_dir(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        Self::open(&data_dir.join(DB_FILE)).await
    }

    /// Opens the database file at `path` (created 0600; an existing one, its `-wal` and `-shm`
    /// tightened to 0600 — SQLite gives the `-wal` and `-shm` it creates the database's mode).
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        private::create_private_file(path).map_err(|source| StoreError::DataDir {
            path: path.to_path_buf(),
            source,
        })?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            private::tighten(Path::new(&side));
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(StoreError::from)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .connect_with(options)
            .await?;
        let store = Self {
            pool,
            path: path.to_path_buf(),
        };
        store.migrate().await?;
        // Audit entries that waited for the store last time (see `pending`).
        if let Err(err) = store.flush_pending_audit().await {
            tracing::warn!(%err, "deferred audit entries could not be written yet");
        }
        Ok(store)
    }

    /// Applies pending migrations. Two processes starting together may race to apply the same
    /// migration; the loser's attempt fails once the winner commits, and its retry finds the
    /// schema current.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            match MIGRATOR.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(err) if attempt < 5 => {
                    attempt += 1;
                    tracing::debug!(%err, attempt, "migration raced another process; retrying");
                    tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                }
                Err(err) => return Err(StoreError::Migrate(err)),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pool, for crates that keep their own tables in this store.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Timestamps are stored as fixed-width RFC 3339 UTC text (microseconds, `Z`), so text order is
/// time order.
pub(crate) fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
