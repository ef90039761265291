//! QuantDesk's desktop shell (Tauri 2): it opens the window, serves the web UI from `ui/dist`,
//! and exposes a few thin commands to it. It is the place for settings, onboarding and, later,
//! storing broker keys. It must never hold domain logic: market data, analytics, backtests and
//! orders live in the crates under `crates/` and reach Claude Desktop through the
//! `quantdesk-mcp` sidecar. It must never see a secret in plain text beyond handing it straight
//! to the OS keychain — no logging, no files, no returning it to the web view.
//!
//! Commands stay thin: parse, call into a domain crate, map the result. Anything more belongs in
//! a crate that can be tested without a window.

use serde::Serialize;

/// What the UI shows about the running app. Mirrored by `AppInfo` in `ui/src/app-info.ts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppInfo {
    /// Product name from tauri.conf.json (`QuantDesk`).
    pub name: String,
    /// The app's version (the workspace version, from Cargo.toml).
    pub version: String,
}

impl AppInfo {
    fn from_package(package: &tauri::PackageInfo) -> Self {
        Self {
            name: package.name.clone(),
            version: package.version.to_string(),
        }
    }
}

/// `invoke("app_info")`: the app's name and version.
#[tauri::command]
fn app_info(app: tauri::AppHandle) -> AppInfo {
    AppInfo::from_package(app.package_info())
}

/// Builds and runs the app until its last window closes.
pub fn run() -> tauri::Result<()> {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![app_info])
        .run(tauri::generate_context!())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_info_serializes_to_the_shape_the_ui_expects() {
        let info = AppInfo {
            name: "QuantDesk".into(),
            version: "1.2.3".into(),
        };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "name": "QuantDesk", "version": "1.2.3" })
        );
    }
}
