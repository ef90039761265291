use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot use the data folder {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("no data folder: set {var} or pass --data-dir", var = crate::DATA_DIR_ENV)]
    NoDataDir,

    #[error("the store could not be read or written: {0}")]
    Database(#[from] sqlx::Error),

    #[error("the store's schema could not be brought up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("the stored value for '{key}' is not valid: {source}")]
    BadValue {
        key: String,
        source: serde_json::Error,
    },
}
