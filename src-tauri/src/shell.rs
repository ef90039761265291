//! What only the shell does: the tray icon and its status line, bringing the window forward,
//! serving the approval channel (`ipc/app.sock`) and watching for orders that wait for the
//! person's approval (a desktop notification, the window shown on the Approvals screen).
//! Pending orders live in the store, so the watcher finds them whether they were announced on
//! the channel, arrived while the app was closed, or came from a sidecar that could not connect.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use quantdesk_desktop::Desktop;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Emitter, Manager, Runtime, Window, WindowEvent, Wry};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::Notify;

const TRAY_ID: &str = "quantdesk";
/// How often the watcher looks for new approval requests.
const WATCH_EVERY: Duration = Duration::from_millis(750);

/// The tray menu items whose text changes.
struct TrayItems {
    status: MenuItem<Wry>,
    kill: MenuItem<Wry>,
}

pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

pub fn setup(app: &mut tauri::App) -> tauri::Result<()> {
    if let Some(main) = app.get_webview_window("main") {
        lighten_webview(&main);
    }
    let status = MenuItem::with_id(app, "status", "QuantDesk", false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open QuantDesk", true, None::<&str>)?;
    let kill = MenuItem::with_id(app, "kill", "Turn kill switch on", true, None::<&str>)?;
    let update = MenuItem::with_id(app, "update", "Check for updates…", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit QuantDesk", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&status, &open, &kill, &update, &quit])?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("QuantDesk")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => show_main(app),
            "quit" => app.exit(0),
            "update" => check_for_update(app),
            "kill" => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    let desktop = app.state::<Desktop>();
                    let on = !desktop.shell_status().await.is_ok_and(|s| s.kill_switch);
                    if let Err(err) = desktop.set_kill_switch(on).await {
                        tracing::error!(%err, "kill switch from the tray");
                    }
                    let _ = app.emit("settings-changed", ());
                    refresh_tray(&app).await;
                });
            }
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_main(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    // A desktop without a tray host still gets the app; the tray is a convenience.
    if let Err(err) = tray.build(app) {
        tracing::warn!(%err, "no tray icon");
    }
    app.manage(TrayItems { status, kill });

    // Sidecars announce pending orders on the app's socket; the watcher also reads the journal,
    // so requests made while the app was closed (or by a sidecar that could not connect) appear.
    let announced = Arc::new(Notify::new());
    {
        let (handle, announced) = (app.handle().clone(), announced.clone());
        tauri::async_runtime::spawn(async move {
            let desktop = handle.state::<Desktop>().inner().clone();
            if let Err(err) = desktop.serve_sidecars(announced).await {
                tracing::error!(%err, "approval channel");
            }
        });
    }
    tauri::async_runtime::spawn(watch_approvals(app.handle().clone(), announced));
    Ok(())
}

/// WebKit settings for an app that shows a few local screens of text and tables: the "document
/// viewer" cache model (the smallest caches; nothing is fetched from the network), no
/// back/forward page cache (the UI is one page), no WebGL or Web Audio (it draws neither), and
/// no GPU compositing (plain CPU drawing is plenty for it and keeps GL buffers out of memory).
#[cfg(target_os = "linux")]
fn lighten_webview<R: Runtime>(window: &tauri::WebviewWindow<R>) {
    use webkit2gtk::{
        CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
    };
    let done = window.with_webview(|webview| {
        let view = webview.inner();
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_enable_page_cache(false);
            settings.set_enable_webgl(false);
            settings.set_enable_webaudio(false);
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    });
    if let Err(err) = done {
        tracing::warn!(%err, "web view settings");
    }
}

#[cfg(not(target_os = "linux"))]
fn lighten_webview<R: Runtime>(_window: &tauri::WebviewWindow<R>) {}

/// Closing the window keeps QuantDesk in the tray, so approval requests still reach the person.
/// (Quit is in the tray menu.) Without a tray host, closing quits.
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event
        && window.app_handle().tray_by_id(TRAY_ID).is_some()
        && std::env::var_os("QUANTDESK_CLOSE_QUITS").is_none()
    {
        api.prevent_close();
        let _ = window.hide();
    }
}

/// The tray's "Check for updates…": a newer release opens the window on its banner; otherwise
/// a notification says QuantDesk is current (or why the check failed).
fn check_for_update(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let body = match crate::updater::check_and_announce(&app).await {
            Ok(true) => return show_main(&app),
            Ok(false) => "You have the latest version of QuantDesk.".to_owned(),
            Err(err) => err,
        };
        let _ = app
            .notification()
            .builder()
            .title("QuantDesk updates")
            .body(body)
            .show();
    });
}

pub async fn refresh_tray(app: &AppHandle) {
    let Ok(status) = app.state::<Desktop>().shell_status().await else {
        return;
    };
    if let Some(items) = app.try_state::<TrayItems>() {
        let _ = items.status.set_text(&status.line);
        let _ = items.kill.set_text(if status.kill_switch {
            "Turn kill switch off"
        } else {
            "Turn kill switch on (stop all trading)"
        });
    }
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_tooltip(Some(format!("QuantDesk — {}", status.line)));
    }
}

/// Polls the order journal for new approval requests: each new one raises a notification,
/// brings the window forward and tells the UI, which opens the Approvals screen.
async fn watch_approvals(app: AppHandle, announced: Arc<Notify>) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut first = true;
    loop {
        let desktop = app.state::<Desktop>();
        match desktop.pending_approval_ids().await {
            Ok(ids) => {
                let fresh: Vec<String> = ids
                    .iter()
                    .filter(|id| !seen.contains(*id))
                    .cloned()
                    .collect();
                let changed = !fresh.is_empty() || ids.len() != seen.len();
                seen = ids.into_iter().collect();
                if !fresh.is_empty() {
                    announce(&app, &desktop, &fresh).await;
                }
                if changed || first {
                    let _ = app.emit("approvals-changed", seen.len());
                    refresh_tray(&app).await;
                }
            }
            Err(err) => tracing::warn!(%err, "reading pending approvals"),
        }
        first = false;
        tokio::select! {
            _ = tokio::time::sleep(WATCH_EVERY) => {}
            _ = announced.notified() => {}
        }
    }
}

async fn announce(app: &AppHandle, desktop: &Desktop, fresh: &[String]) {
    let requests = desktop.pending_approvals().await.unwrap_or_default();
    for r in requests
        .iter()
        .filter(|r| fresh.contains(&r.client_order_id))
    {
        let size = r
            .qty
            .clone()
            .or_else(|| r.notional.as_ref().map(|n| format!("${n} of")))
            .unwrap_or_default();
        let body = format!(
            "{} {} {} ({}, {}). Approve or reject it in QuantDesk.",
            capitalise(&r.side),
            size,
            r.symbol,
            r.order_type.replace('_', " "),
            r.mode
        );
        if let Err(err) = app
            .notification()
            .builder()
            .title("An order is waiting for your approval")
            .body(body)
            .show()
        {
            tracing::warn!(%err, "notification");
        }
    }
    show_main(app);
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
