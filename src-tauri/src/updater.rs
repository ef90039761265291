//! Self-update over `tauri-plugin-updater`: look for a newer release at the endpoint in
//! tauri.conf.json (`plugins.updater`), tell the UI what's new, and on the person's click
//! download it (progress to the UI), verify its minisign signature against the public key in
//! tauri.conf.json, install it and restart. The sidecar is inside every installer, so it is
//! updated with the app.
//!
//! Never installs while an order waits for the person's approval
//! ([`quantdesk_desktop::Desktop::update_allowed`]); never installs anything whose signature
//! does not verify (the plugin refuses before writing a byte). The automatic check on start runs
//! only in an installed copy (a bundle), so development builds and tests never reach the network.
//!
//! The UI reaches this through two of the app's commands, `check_for_update` and
//! `install_update` (src/commands.rs: typed in the generated bindings like every other command,
//! granted one by one in the capability), and two events: `update-available` ([`UpdateInfo`])
//! and `update-progress` ([`UpdateProgress`]; both types are in the bindings too). An app-local
//! plugin `update` holds what the last check found and runs the check on start.

use std::time::{Duration, Instant};

use quantdesk_desktop::{Desktop, UiError, UpdateInfo, UpdateProgress};
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_updater::{Update, UpdaterBuilder, UpdaterExt};
use tokio::sync::Mutex;

/// Sent when a check (on start or from the tray) finds a newer release.
pub const AVAILABLE_EVENT: &str = "update-available";
/// Sent while an update downloads.
pub const PROGRESS_EVENT: &str = "update-progress";
/// Set to skip the check on start (e.g. on a machine that must not call out).
const NO_CHECK_ENV: &str = "QUANTDESK_NO_UPDATE_CHECK";
/// Give the window time to open before the first check.
const FIRST_CHECK_AFTER: Duration = Duration::from_secs(5);

/// The release the last check found, waiting for the person's click.
#[derive(Default)]
struct Found(Mutex<Option<Update>>);

/// The two plugins: Tauri's updater (config from `plugins.updater`) and ours, which keeps what
/// a check found for the install and runs the check on start.
pub fn plugins<R: Runtime>() -> (TauriPlugin<R, tauri_plugin_updater::Config>, TauriPlugin<R>) {
    let ours = tauri::plugin::Builder::new("update")
        .setup(|app, _api| {
            app.manage(Found::default());
            if tauri::utils::platform::bundle_type().is_some()
                && std::env::var_os(NO_CHECK_ENV).is_none()
            {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    tokio::time::sleep(FIRST_CHECK_AFTER).await;
                    if let Err(err) = check_and_announce(&app).await {
                        tracing::info!(%err, "update check on start");
                    }
                });
            }
            Ok(())
        })
        .build();
    (tauri_plugin_updater::Builder::new().build(), ours)
}

/// Looks for an update with `builder`; keeps what it finds for [`install`].
pub async fn find(builder: UpdaterBuilder) -> Result<Option<(UpdateInfo, Update)>, String> {
    let updater = builder.build().map_err(|e| sentence(&e))?;
    let found = updater.check().await.map_err(|e| sentence(&e))?;
    Ok(found.map(|u| (info(&u), u)))
}

fn info(u: &Update) -> UpdateInfo {
    UpdateInfo {
        current_version: u.current_version.clone(),
        version: u.version.clone(),
        notes: u.body.clone().unwrap_or_default(),
        date: u
            .raw_json
            .get("pub_date")
            .and_then(|d| d.as_str())
            .map(str::to_owned),
    }
}

/// Downloads `update`, verifies its signature and installs it, unless an order waits for the
/// person's approval. `progress` sees the download advance (at most every 100 ms, and at the
/// end). Nothing is written unless the signature verifies.
pub async fn download_and_install(
    desktop: &Desktop,
    update: &Update,
    mut progress: impl FnMut(UpdateProgress),
) -> Result<(), String> {
    desktop
        .update_allowed()
        .await
        .map_err(|e| UiError::from(e).message)?;
    let mut downloaded = 0u64;
    let mut last = Instant::now();
    let mut total_seen = None;
    let bytes = update
        .download(
            |chunk, total| {
                downloaded += chunk as u64;
                total_seen = total;
                if last.elapsed() >= Duration::from_millis(100) {
                    last = Instant::now();
                    progress(UpdateProgress { downloaded, total });
                }
            },
            || {},
        )
        .await
        .map_err(|e| sentence(&e))?;
    progress(UpdateProgress {
        downloaded,
        total: total_seen,
    });
    // The approval gate again: an order may have arrived during the download.
    desktop
        .update_allowed()
        .await
        .map_err(|e| UiError::from(e).message)?;
    update.install(&bytes).map_err(|e| sentence(&e))
}

/// The plugin's errors, in words a person can act on.
fn sentence(err: &tauri_plugin_updater::Error) -> String {
    use tauri_plugin_updater::Error as E;
    match err {
        E::Minisign(_) | E::Base64(_) | E::SignatureUtf8(_) => format!(
            "The update was refused: its signature does not match QuantDesk's signing key, so it \
             may not come from us. Nothing was installed. ({err})"
        ),
        E::SignedVersionMismatch { .. } | E::MissingSignedVersion => format!(
            "The update was refused: the signed version does not match the version announced. \
             Nothing was installed. ({err})"
        ),
        E::InvalidUpdaterFormat => {
            "The update was refused: the download is not a QuantDesk installer. Nothing was installed."
                .into()
        }
        E::Reqwest(_) | E::Network(_) | E::ReleaseNotFound => {
            format!("Could not reach the update server; check the network and try again. ({err})")
        }
        E::TargetNotFound(_) | E::TargetsNotFound(_) => {
            format!("The new release has no installer for this system yet. ({err})")
        }
        E::AuthenticationFailed | E::DebInstallFailed | E::PackageInstallFailed => format!(
            "The update could not be installed (the system asked for permission and it was not \
             given, or the package manager failed). ({err})"
        ),
        _ => format!("Updating failed: {err}"),
    }
}

/// The updater pointed at the platform's feed (`{platform}/v1/releases/…`, the platform the
/// app is set to); the endpoint in tauri.conf.json if that URL cannot be used (the updater takes
/// only https in release builds).
async fn platform_builder<R: Runtime>(app: &AppHandle<R>) -> UpdaterBuilder {
    let Some(desktop) = app.try_state::<quantdesk_desktop::Desktop>() else {
        return app.updater_builder();
    };
    let Ok(base) = desktop.platform_url().await else {
        return app.updater_builder();
    };
    let feed = format!(
        "{}/v1/releases/{{{{target}}}}/{{{{arch}}}}/{{{{current_version}}}}",
        base.trim_end_matches('/')
    );
    match feed
        .parse::<tauri::Url>()
        .map_err(|e| e.to_string())
        .and_then(|url| {
            app.updater_builder()
                .endpoints(vec![url])
                .map_err(|e| e.to_string())
        }) {
        Ok(builder) => builder,
        Err(err) => {
            tracing::info!(%feed, %err, "the platform's update feed cannot be used; using the configured one");
            app.updater_builder()
        }
    }
}

/// Checks and, if there is a newer release, tells the UI and brings the window forward.
/// Returns whether an update was found.
pub async fn check_and_announce<R: Runtime>(app: &AppHandle<R>) -> Result<bool, String> {
    let Some((info, update)) = find(platform_builder(app).await).await? else {
        return Ok(false);
    };
    *app.state::<Found>().0.lock().await = Some(update);
    let _ = app.emit(AVAILABLE_EVENT, &info);
    Ok(true)
}

/// The UI's "Check for updates": what's new, or nothing when this is the latest.
pub async fn check<R: Runtime>(app: AppHandle<R>) -> Result<Option<UpdateInfo>, UiError> {
    let found = find(platform_builder(&app).await).await.map_err(message)?;
    let Some((info, update)) = found else {
        return Ok(None);
    };
    *app.state::<Found>().0.lock().await = Some(update);
    Ok(Some(info))
}

/// The person's click on "Install and restart".
pub async fn install<R: Runtime>(app: AppHandle<R>) -> Result<(), UiError> {
    if tauri::utils::platform::bundle_type().is_none() {
        return Err(message(
            "This copy of QuantDesk was not installed from a QuantDesk installer, so it cannot \
             update itself. Install the latest release from the website."
                .into(),
        ));
    }
    let update = app
        .state::<Found>()
        .0
        .lock()
        .await
        .take()
        .ok_or_else(|| message("No update was found; check for updates first.".into()))?;
    let desktop = app.state::<Desktop>().inner().clone();
    let progress_app = app.clone();
    let result = download_and_install(&desktop, &update, |p| {
        let _ = progress_app.emit(PROGRESS_EVENT, &p);
    })
    .await;
    if let Err(err) = result {
        // Keep the offer: the person may approve the waiting order and click again.
        *app.state::<Found>().0.lock().await = Some(update);
        return Err(message(err));
    }
    tracing::info!("update installed; restarting");
    app.restart()
}

fn message(message: String) -> UiError {
    UiError {
        message,
        field: None,
    }
}

// The install target in the test is an AppImage, which only Linux installs.
#[cfg(all(test, target_os = "linux"))]
mod tests;
