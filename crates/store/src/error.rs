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

    #[error(
        "{path} is not a database this key opens{hint}",
        hint = if *keyed { " (a different key encrypted it, or the file is damaged)" } else { " (it is encrypted: open it through the keychain's store key)" }
    )]
    NotADatabase { path: PathBuf, keyed: bool },

    #[error(
        "{path} is encrypted and its key ('{key}') is not in the {keychain}; without it the store \
         cannot be read (nothing was changed)",
        key = crate::STORE_KEY
    )]
    KeyMissing { path: PathBuf, keychain: String },

    #[error("the store key could not be read from the keychain: {0}")]
    Keychain(#[from] quantdesk_secrets::SecretError),

    #[error("the store key: {0}")]
    Key(String),

    #[error("the plaintext store could not be encrypted (it is unchanged): {0}")]
    Encrypt(sqlx::Error),

    #[error("the store holds an unreadable value: {0}")]
    Corrupt(String),

    #[error("the stored value for '{key}' is not valid: {source}")]
    BadValue {
        key: String,
        source: serde_json::Error,
    },
}
