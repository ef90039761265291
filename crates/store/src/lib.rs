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
pub mod alerts;
pub mod at_rest;
mod audit;
mod cache;
mod error;
pub mod models;
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
// SQLite as sqlx links it, built with SQLCipher (see `at_rest`): a dependency for its features.
use libsqlite3_sys as _;

pub use account::AccountKeyRecord;
pub use at_rest::{AtRest, Encryption, STORE_KEY, StoreKey};
pub use audit::{AuditEntry, AuditFilter, AuditRecord, BrokenLink, ChainReport, GENESIS_HASH};
pub use error::StoreError;
pub use paths::{DATA_DIR_ENV, DB_FILE, default_data_dir, resolve_data_dir};
pub use pending::{AuditWrite, DeferError, PendingAudit};
pub use ratelimit::{BucketLimit, Take};
pub use settings::{set_setting_in, setting_in};

/// How long a writer waits for another process's write to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Connections per process. One: in WAL mode a connection drops its whole page cache whenever
/// another connection has written, and on an encrypted store every page read back costs a
/// decryption and an HMAC check. With four connections taking turns, the order path paid that
/// on almost every statement (+30–45% per order, `cargo xtask bench`); with one, the cache stays
/// warm across this process's own writes and encryption costs a few percent. SQLite runs one
/// writer at a time anyway, and each statement here is short; other processes (the app beside a
/// sidecar) have their own.
const CONNECTIONS: u32 = 1;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A handle on the store. Cheap to clone (a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
    at_rest: AtRest,
}

impl Store {
    /// Opens (creating if needed) `quantdesk.db` in `data_dir` *without a key* and brings its
    /// schema up to date: tests, and tools handed a plaintext store. The desk's processes use
    /// [`Store::open_desk`], which encrypts. The folder is made (or tightened to) 0700 on Unix,
    /// the database files 0600 ([`private`]).
    pub async fn open_in(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_in_as(data_dir, None, unkeyed()).await
    }

    /// Opens `quantdesk.db` in `data_dir` with `key` (the store is SQLCipher-encrypted with it,
    /// or created so). A wrong key is [`StoreError::NotADatabase`].
    pub async fn open_in_with_key(data_dir: &Path, key: &StoreKey) -> Result<Self, StoreError> {
        let at_rest = AtRest::Encrypted {
            keychain: "caller".into(),
        };
        Self::open_in_as(data_dir, Some(key), at_rest).await
    }

    pub(crate) async fn open_in_as(
        data_dir: &Path,
        key: Option<&StoreKey>,
        at_rest: AtRest,
    ) -> Result<Self, StoreError> {
        private::create_private_dir(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        Self::open_file(&data_dir.join(DB_FILE), key, at_rest).await
    }

    /// Opens the database file at `path` without a key (see [`Store::open_in`]).
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_file(path, None, unkeyed()).await
    }

    /// Opens `path` (created 0600; an existing one, its `-wal` and `-shm` tightened to 0600 —
    /// SQLite gives the `-wal` and `-shm` it creates the database's mode), keyed with `key`.
    async fn open_file(
        path: &Path,
        key: Option<&StoreKey>,
        at_rest: AtRest,
    ) -> Result<Self, StoreError> {
        private::create_private_file(path).map_err(|source| StoreError::DataDir {
            path: path.to_path_buf(),
            source,
        })?;
        for suffix in ["-wal", "-shm"] {
            private::tighten(&at_rest::side_file(path, suffix));
        }
        quiet_sqlcipher().await;
        let mut options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(StoreError::from)?
            .filename(path)
            .create_if_missing(true);
        if let Some(key) = key {
            options = at_rest::keyed(options, key);
        }
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let unreadable = |err: sqlx::Error| match &err {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("26") => {
                StoreError::NotADatabase {
                    path: path.to_path_buf(),
                    keyed: key.is_some(),
                }
            }
            _ => StoreError::Database(err),
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(CONNECTIONS)
            .min_connections(0)
            .connect_with(options)
            .await
            .map_err(unreadable)?;
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .fetch_one(&pool)
            .await
            .map_err(unreadable)?;
        let store = Self {
            pool,
            path: path.to_path_buf(),
            at_rest,
        };
        store.migrate().await?;
        // Page 1 into the main file now, so the file itself says plaintext or encrypted
        // (see `at_rest`) even if this process stops before SQLite would checkpoint.
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&store.pool)
            .await
        {
            tracing::debug!(%err, "checkpoint after opening");
        }
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

    /// Whether the store is encrypted at rest, and if not, why not.
    pub fn at_rest(&self) -> &AtRest {
        &self.at_rest
    }

    /// The pool, for crates that keep their own tables in this store.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLCipher writes its own errors (a wrong key's "hmac check failed") to stderr, which is the
/// sidecar's log in Claude Desktop; they reach the caller as [`StoreError`]s instead. The level
/// is process-wide, set once on a throw-away in-memory connection.
async fn quiet_sqlcipher() {
    static QUIET: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    QUIET
        .get_or_init(|| async {
            let Ok(options) = SqliteConnectOptions::from_str("sqlite::memory:") else {
                return;
            };
            if let Ok(mut conn) = sqlx::ConnectOptions::connect(&options).await {
                if let Err(err) = sqlx::query("PRAGMA cipher_log_level = NONE")
                    .execute(&mut conn)
                    .await
                {
                    tracing::debug!(%err, "SQLCipher's log level");
                }
                let _ = sqlx::Connection::close(conn).await;
            }
        })
        .await;
}

fn unkeyed() -> AtRest {
    AtRest::Plain {
        reason: "opened without a key".into(),
    }
}

/// Timestamps are stored as fixed-width RFC 3339 UTC text (microseconds, `Z`), so text order is
/// time order.
pub(crate) fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
