//! What only the shell does: the tray icon and its status line, bringing the window forward,
//! serving the approval channel (`ipc/app.sock`) and watching for orders that wait for the
//! person's approval (a desktop notification, and the approval window).
//! Pending orders live in the store, so the watcher finds them whether they were announced on
//! the channel, arrived while the app was closed, or came from a sidecar that could not connect.
//!
//! The approval window (label `approval`, `ui/approval.html`) is its own small, always-on-top
//! window, created when a request arrives and destroyed once nothing waits any more: it holds
//! no memory while idle. Its capability (`capabilities/approval.json`) grants it only the
//! pending list, Approve, Reject and closing itself. It cannot be closed while an order waits:
//! Approve and Reject are the only ways out. Were it gone anyway, the request stays pending in
//! the journal, and the tray, Home and the Approvals screen open the window again.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use quantdesk_desktop::Desktop;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{
    AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder, Window, WindowEvent,
    Wry,
};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::Notify;

const TRAY_ID: &str = "quantdesk";
/// The approval window's label (capabilities/approval.json grants this label its commands).
pub const APPROVAL_WINDOW: &str = "approval";
/// How often the watcher looks for new approval requests.
const WATCH_EVERY: Duration = Duration::from_millis(750);

/// The tray menu items whose text changes.
struct TrayItems {
    status: MenuItem<Wry>,
    review: MenuItem<Wry>,
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
    let review = MenuItem::with_id(app, "review", "No orders waiting", false, None::<&str>)?;
    let kill = MenuItem::with_id(app, "kill", "Turn kill switch on", true, None::<&str>)?;
    let update = MenuItem::with_id(app, "update", "Check for updates…", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit QuantDesk", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&status, &open, &review, &kill, &update, &quit])?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("QuantDesk")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => show_main(app),
            "review" => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move { review_approvals(&app).await });
            }
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
    app.manage(TrayItems {
        status,
        review,
        kill,
    });

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
    tauri::async_runtime::spawn(notify_alerts(app.handle().clone()));
    Ok(())
}

/// Shows each alert firing as a desktop notification (the app's alert engine, or a sidecar's
/// while the app was closed, recorded it) and tells the UI (`alerts-changed`).
async fn notify_alerts(app: AppHandle) {
    loop {
        let desktop = app.state::<Desktop>();
        match desktop.alert_notices().await {
            Ok(notices) => {
                for n in &notices {
                    if let Err(err) = app
                        .notification()
                        .builder()
                        .title(&n.title)
                        .body(&n.body)
                        .show()
                    {
                        tracing::warn!(%err, "alert notification");
                    }
                }
                if !notices.is_empty() {
                    let _ = app.emit("alerts-changed", notices.len());
                }
            }
            Err(err) => tracing::warn!(%err, "reading alert firings"),
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
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

/// Closing the main window keeps QuantDesk in the tray, so approval requests still reach the
/// person. (Quit is in the tray menu.) Without a tray host, closing quits.
/// The approval window does not close while an order waits: it comes forward instead.
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    if window.label() == APPROVAL_WINDOW {
        api.prevent_close();
        let app = window.app_handle().clone();
        tauri::async_runtime::spawn(async move {
            if let Err(err) = close_approval_window(&app).await {
                tracing::info!(%err, "approval window stays open");
                if let Some(w) = app.get_webview_window(APPROVAL_WINDOW) {
                    let _ = w.set_focus();
                }
            }
        });
        return;
    }
    if window.app_handle().tray_by_id(TRAY_ID).is_some()
        && std::env::var_os("QUANTDESK_CLOSE_QUITS").is_none()
    {
        api.prevent_close();
        let _ = window.hide();
    }
}

/// Opens the approval window (or brings it forward) on the oldest waiting order. Returns false,
/// opening nothing, when no order waits.
pub async fn open_approval_window(app: &AppHandle) -> Result<bool, String> {
    let waiting = app
        .state::<Desktop>()
        .pending_approval_ids()
        .await
        .map_err(|e| e.to_string())?;
    if waiting.is_empty() {
        return Ok(false);
    }
    if let Some(w) = app.get_webview_window(APPROVAL_WINDOW) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        return Ok(true);
    }
    let window = WebviewWindowBuilder::new(
        app,
        APPROVAL_WINDOW,
        WebviewUrl::App("approval.html".into()),
    )
    .title("Approve an order — QuantDesk")
    .inner_size(560.0, 740.0)
    .min_inner_size(480.0, 560.0)
    .center()
    .always_on_top(true)
    .focused(true)
    .minimizable(false)
    .maximizable(false)
    .closable(false)
    .build()
    .map_err(|e| format!("could not open the approval window: {e}"))?;
    lighten_webview(&window);
    Ok(true)
}

/// Destroys the approval window once no order waits (its web view and memory go with it);
/// while one waits, refuses with a sentence saying so.
pub async fn close_approval_window(app: &AppHandle) -> Result<(), String> {
    let waiting = app
        .state::<Desktop>()
        .pending_approval_ids()
        .await
        .map_err(|e| e.to_string())?
        .len();
    match waiting {
        0 => {
            if let Some(w) = app.get_webview_window(APPROVAL_WINDOW) {
                w.destroy().map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        1 => Err("An order is still waiting: approve or reject it first.".into()),
        n => Err(format!(
            "{n} orders are still waiting: approve or reject each first."
        )),
    }
}

/// The tray's "Review …": the approval window, or the main window when nothing waits.
async fn review_approvals(app: &AppHandle) {
    match open_approval_window(app).await {
        Ok(true) => {}
        Ok(false) => show_main(app),
        Err(err) => {
            tracing::error!(%err, "approval window");
            show_main(app);
        }
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
        let (text, enabled) = match status.pending_approvals {
            0 => ("No orders waiting".to_string(), false),
            1 => ("Review the waiting order…".to_string(), true),
            n => (format!("Review {n} waiting orders…"), true),
        };
        let _ = items.review.set_text(text);
        let _ = items.review.set_enabled(enabled);
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

/// Polls the order journal for new approval requests: each new one raises a notification and
/// opens the approval window; every change is told to the UI (`approvals-changed`). On start,
/// requests left from before (the app was closed or restarted) count as new.
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
    if let Err(err) = open_approval_window(app).await {
        tracing::error!(%err, "approval window");
        show_main(app);
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
