//! QuantDesk's desktop shell (Tauri 2): it opens the window, serves the web UI from `ui/dist`,
//! and turns each method of `quantdesk_desktop::Desktop` into a command of a few lines. It also
//! owns what only a shell can do: the tray icon with status, one instance at a time, desktop
//! notifications and the approval window when an order waits for approval, and remembering the
//! main window's size and place.
//!
//! It must never hold domain logic (that lives in `crates/desktop` and the crates under it, all
//! tested without a window), and never see a secret beyond handing it on to the keychain — no
//! logging, no files, no returning it to the web view.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency

mod commands;
mod shell;
mod updater;

use std::path::{Path, PathBuf};

use anyhow::Context;
use quantdesk_desktop::{Desktop, Options};
use serde::Serialize;
use tauri::Manager as _;

/// What the UI shows about the running app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
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

/// Environment overrides, for tests and unusual installs.
const SIDECAR_ENV: &str = "QUANTDESK_SIDECAR";
const CLAUDE_CONFIG_ENV: &str = "QUANTDESK_CLAUDE_CONFIG";

/// Where the data folder, Claude Desktop's config and the sidecar are.
fn options() -> anyhow::Result<Options> {
    let data_dir = quantdesk_store::resolve_data_dir(None).context("finding the data folder")?;
    let claude_config = match std::env::var_os(CLAUDE_CONFIG_ENV) {
        Some(p) => PathBuf::from(p),
        None => quantdesk_claude::ClaudeConfig::for_this_machine()
            .context("finding Claude Desktop's configuration")?
            .path()
            .to_path_buf(),
    };
    // The sidecar ships next to the app's own binary (Tauri `externalBin`, or target/<profile>).
    let sidecar = match std::env::var_os(SIDECAR_ENV) {
        Some(p) => PathBuf::from(p),
        None => {
            let exe = std::env::current_exe().context("locating the app's binary")?;
            let dir = exe.parent().context("the app's binary has no folder")?;
            dir.join(format!("quantdesk-mcp{}", std::env::consts::EXE_SUFFIX))
        }
    };
    let sidecar = std::path::absolute(&sidecar).unwrap_or(sidecar);
    Ok(Options {
        data_dir,
        claude_config,
        sidecar,
    })
}

/// The header of the generated bindings.
const BINDINGS_HEADER: &str = "// Generated from src-tauri/src/commands.rs and crates/desktop/src/views.rs (tauri-specta).\n\
// Do not edit: run `QUANTDESK_WRITE_BINDINGS=1 cargo test -p quantdesk-app --test bindings`.";

/// Writes the UI's bindings (`ui/src/bindings.ts`): a typed wrapper of every command and every
/// type the commands take or return.
pub fn write_ui_bindings(path: &Path) -> anyhow::Result<()> {
    commands::specta()
        .export(
            specta_typescript::Typescript::default().header(BINDINGS_HEADER),
            path,
        )
        .with_context(|| format!("writing {}", path.display()))
}

/// Fetches the platform's revocation list at start and every hour after (by ETag), so a key
/// revoked on the website is refused by the sidecars started after the next refresh.
fn refresh_revocations_hourly(desktop: Desktop) {
    tauri::async_runtime::spawn(async move {
        loop {
            match desktop.refresh_revocations().await {
                Ok(r) if r.problems.is_empty() => {
                    tracing::info!(revoked = r.revoked_keys, platform = %r.platform_url, "revocation list refreshed")
                }
                Ok(r) => tracing::warn!(problems = ?r.problems, "revocation list"),
                Err(err) => tracing::warn!(%err, "revocation list not refreshed"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
}

/// Builds and runs the app until it is quit.
pub fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QUANTDESK_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let options = options()?;
    let desktop = tauri::async_runtime::block_on(Desktop::open(options))
        .context("opening QuantDesk's store")?;
    let (updater, update) = updater::plugins();
    tauri::Builder::default()
        // First: a second launch only brings the running window forward.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            shell::show_main(app);
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(
            tauri_plugin_window_state::Builder::default()
                // The approval window opens centred each time, on top.
                .with_denylist(&[shell::APPROVAL_WINDOW])
                .build(),
        )
        .plugin(updater)
        .plugin(update)
        .manage(desktop)
        .setup(|app| {
            shell::setup(app)?;
            refresh_revocations_hourly(app.state::<Desktop>().inner().clone());
            Ok(())
        })
        .on_window_event(shell::on_window_event)
        .invoke_handler(commands::specta().invoke_handler())
        .run(tauri::generate_context!())
        .context("running the window")
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
