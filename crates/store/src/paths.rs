use std::path::PathBuf;

use crate::StoreError;

/// Environment variable that moves the data folder (tests, portable installs).
pub const DATA_DIR_ENV: &str = "QUANTDESK_DATA_DIR";

/// The database's file name inside the data folder.
pub const DB_FILE: &str = "quantdesk.db";

/// The per-user data folder: `~/.local/share/quantdesk` on Linux,
/// `~/Library/Application Support/app.quantdesk.desktop` on macOS, `%APPDATA%\QuantDesk\data` on
/// Windows. The app and the sidecar must agree on it, so both call this.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("app", "quantdesk", "QuantDesk")
        .map(|d| d.data_dir().to_path_buf())
}

/// The data folder to use: an explicit choice (a `--data-dir` flag) wins over
/// `QUANTDESK_DATA_DIR`, which wins over the per-user default.
pub fn resolve_data_dir(explicit: Option<PathBuf>) -> Result<PathBuf, StoreError> {
    explicit
        .or_else(|| {
            std::env::var_os(DATA_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(default_data_dir)
        .ok_or(StoreError::NoDataDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_folder_wins() {
        let dir = resolve_data_dir(Some(PathBuf::from("/tmp/qd"))).unwrap();
        assert_eq!(dir, PathBuf::from("/tmp/qd"));
    }
}
