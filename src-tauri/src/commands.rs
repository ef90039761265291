//! The commands the web view may call: each a few lines over `quantdesk_desktop::Desktop`.
//! build.rs lists the same names, so the capability file must grant each one explicitly.
//! [`specta`] collects them with their types: the invoke handler comes from it, and so does
//! `ui/src/bindings.ts` (the UI's typed wrapper of every command, and every type they use).

use quantdesk_desktop::views::*;
use quantdesk_desktop::{Desktop, UiError, UpdateInfo, UpdateProgress};
use tauri::{AppHandle, Emitter, Manager, State};

use crate::AppInfo;

type Answer<T> = Result<T, UiError>;

/// Sent to the UI after each decision, with the [`Decision`].
const DECIDED_EVENT: &str = "approval-decided";

fn sentence(message: String) -> UiError {
    UiError {
        message,
        field: None,
    }
}

#[tauri::command]
#[specta::specta]
fn app_info(app: AppHandle) -> AppInfo {
    AppInfo::from_package(app.package_info())
}

#[tauri::command]
#[specta::specta]
async fn onboarding(d: State<'_, Desktop>) -> Answer<Onboarding> {
    Ok(d.onboarding().await?)
}

#[tauri::command]
#[specta::specta]
async fn onboarding_go(d: State<'_, Desktop>, step: OnboardingStep) -> Answer<Onboarding> {
    Ok(d.onboarding_go(step).await?)
}

#[tauri::command]
#[specta::specta]
async fn sign_in(d: State<'_, Desktop>, api_key: String) -> Answer<Onboarding> {
    Ok(d.sign_in(&api_key).await?)
}

#[tauri::command]
#[specta::specta]
async fn continue_as_guest(d: State<'_, Desktop>) -> Answer<Onboarding> {
    Ok(d.continue_as_guest().await?)
}

#[tauri::command]
#[specta::specta]
async fn sign_out(d: State<'_, Desktop>) -> Answer<SignedOut> {
    Ok(d.sign_out().await?)
}

#[tauri::command]
#[specta::specta]
async fn choose_paper_broker(d: State<'_, Desktop>) -> Answer<Onboarding> {
    Ok(d.choose_paper_broker().await?)
}

#[tauri::command]
#[specta::specta]
async fn link_alpaca(d: State<'_, Desktop>, link: AlpacaLink) -> Answer<LinkedBroker> {
    Ok(d.link_alpaca(&link).await?)
}

#[tauri::command]
#[specta::specta]
async fn unlink_alpaca(d: State<'_, Desktop>) -> Answer<Settings> {
    d.unlink_alpaca().await?;
    Ok(d.settings().await?)
}

#[tauri::command]
#[specta::specta]
async fn home(d: State<'_, Desktop>) -> Answer<Home> {
    Ok(d.home().await?)
}

#[tauri::command]
#[specta::specta]
async fn settings(d: State<'_, Desktop>) -> Answer<Settings> {
    Ok(d.settings().await?)
}

#[tauri::command]
#[specta::specta]
async fn save_limits(d: State<'_, Desktop>, form: LimitsForm) -> Answer<Settings> {
    Ok(d.save_limits(&form).await?)
}

#[tauri::command]
#[specta::specta]
async fn save_approval_policy(d: State<'_, Desktop>, form: ApprovalForm) -> Answer<Settings> {
    Ok(d.save_approval_policy(&form).await?)
}

#[tauri::command]
#[specta::specta]
async fn set_kill_switch(app: AppHandle, d: State<'_, Desktop>, on: bool) -> Answer<Settings> {
    let s = d.set_kill_switch(on).await?;
    crate::shell::refresh_tray(&app).await;
    Ok(s)
}

#[tauri::command]
#[specta::specta]
async fn set_live_trading(d: State<'_, Desktop>, on: bool, confirmed: bool) -> Answer<Settings> {
    Ok(d.set_live_trading(on, confirmed).await?)
}

#[tauri::command]
#[specta::specta]
async fn set_scopes(d: State<'_, Desktop>, scopes: Vec<String>) -> Answer<Settings> {
    Ok(d.set_scopes(&scopes).await?)
}

#[tauri::command]
#[specta::specta]
async fn claude_status(d: State<'_, Desktop>) -> Answer<ClaudeStatus> {
    Ok(d.claude_status())
}

#[tauri::command]
#[specta::specta]
async fn connect_claude(app: AppHandle, d: State<'_, Desktop>) -> Answer<ClaudeStatus> {
    let s = d.connect_claude().await?;
    crate::shell::refresh_tray(&app).await;
    Ok(s)
}

#[tauri::command]
#[specta::specta]
async fn disconnect_claude(app: AppHandle, d: State<'_, Desktop>) -> Answer<ClaudeStatus> {
    let s = d.disconnect_claude().await?;
    crate::shell::refresh_tray(&app).await;
    Ok(s)
}

#[tauri::command]
#[specta::specta]
async fn restart_claude(d: State<'_, Desktop>) -> Answer<ClaudeRestart> {
    Ok(d.restart_claude().await?)
}

#[tauri::command]
#[specta::specta]
async fn pending_approvals(d: State<'_, Desktop>) -> Answer<Vec<ApprovalRequest>> {
    Ok(d.pending_approvals().await?)
}

#[tauri::command]
#[specta::specta]
async fn approve(app: AppHandle, d: State<'_, Desktop>, id: String) -> Answer<Decision> {
    let decision = d.approve(&id).await?;
    crate::shell::refresh_tray(&app).await;
    let _ = app.emit(DECIDED_EVENT, &decision);
    Ok(decision)
}

#[tauri::command]
#[specta::specta]
async fn reject(app: AppHandle, d: State<'_, Desktop>, id: String) -> Answer<Decision> {
    let decision = d.reject(&id).await?;
    crate::shell::refresh_tray(&app).await;
    let _ = app.emit(DECIDED_EVENT, &decision);
    Ok(decision)
}

/// Opens the approval window on the oldest waiting order (false: nothing waits).
#[tauri::command]
#[specta::specta]
async fn open_approval_window(app: AppHandle) -> Answer<bool> {
    crate::shell::open_approval_window(&app)
        .await
        .map_err(sentence)
}

/// The approval window's "Close": only once nothing waits any more.
#[tauri::command]
#[specta::specta]
async fn close_approval_window(app: AppHandle) -> Answer<()> {
    crate::shell::close_approval_window(&app)
        .await
        .map_err(sentence)
}

#[tauri::command]
#[specta::specta]
async fn audit_page(d: State<'_, Desktop>, query: AuditQuery) -> Answer<AuditPage> {
    Ok(d.audit_page(&query).await?)
}

#[tauri::command]
#[specta::specta]
async fn verify_audit(d: State<'_, Desktop>) -> Answer<ChainCheck> {
    Ok(d.verify_audit().await?)
}

#[tauri::command]
#[specta::specta]
async fn export_audit_csv(
    app: AppHandle,
    d: State<'_, Desktop>,
    query: AuditQuery,
) -> Answer<Exported> {
    let dir = app
        .path()
        .download_dir()
        .ok()
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| d.data_dir().join("exports"));
    Ok(d.export_audit_csv(&query, &dir).await?)
}

#[tauri::command]
#[specta::specta]
async fn check_for_update(app: AppHandle) -> Answer<Option<UpdateInfo>> {
    crate::updater::check(app).await
}

#[tauri::command]
#[specta::specta]
async fn start_browser_sign_in(d: State<'_, Desktop>) -> Answer<BrowserSignIn> {
    Ok(d.start_browser_sign_in().await?)
}

#[tauri::command]
#[specta::specta]
fn browser_sign_in(d: State<'_, Desktop>) -> BrowserSignIn {
    d.browser_sign_in()
}

#[tauri::command]
#[specta::specta]
fn cancel_browser_sign_in(d: State<'_, Desktop>) -> BrowserSignIn {
    d.cancel_browser_sign_in()
}

#[tauri::command]
#[specta::specta]
async fn platform_url(d: State<'_, Desktop>) -> Answer<String> {
    Ok(d.platform_url().await?)
}

#[tauri::command]
#[specta::specta]
async fn set_platform_url(d: State<'_, Desktop>, url: String) -> Answer<String> {
    Ok(d.set_platform_url(&url).await?)
}

#[tauri::command]
#[specta::specta]
async fn refresh_revocations(d: State<'_, Desktop>) -> Answer<RevocationRefresh> {
    Ok(d.refresh_revocations().await?)
}

#[tauri::command]
#[specta::specta]
async fn watchlist(d: State<'_, Desktop>) -> Answer<Watchlist> {
    Ok(d.watchlist().await?)
}

#[tauri::command]
#[specta::specta]
async fn watch_pairs(d: State<'_, Desktop>, symbols: Vec<String>) -> Answer<Watchlist> {
    Ok(d.watch_pairs(symbols).await?)
}

#[tauri::command]
#[specta::specta]
async fn unwatch_pairs(d: State<'_, Desktop>, symbols: Vec<String>) -> Answer<Watchlist> {
    Ok(d.unwatch_pairs(symbols).await?)
}

#[tauri::command]
#[specta::specta]
async fn alerts_page(d: State<'_, Desktop>) -> Answer<AlertsPage> {
    Ok(d.alerts_page().await?)
}

#[tauri::command]
#[specta::specta]
async fn create_alert(d: State<'_, Desktop>, form: AlertForm) -> Answer<AlertsPage> {
    Ok(d.create_alert(form).await?)
}

#[tauri::command]
#[specta::specta]
async fn cancel_alert(d: State<'_, Desktop>, id: String) -> Answer<AlertsPage> {
    Ok(d.cancel_alert(id).await?)
}

#[tauri::command]
#[specta::specta]
async fn install_update(app: AppHandle) -> Answer<()> {
    crate::updater::install(app).await
}

/// Every command with its argument and result types: the invoke handler and the UI's bindings
/// both come from here. Keep in step with `COMMANDS` in build.rs (the `bindings` test checks
/// build.rs and the capability file against the generated bindings).
pub fn specta() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![
            app_info,
            onboarding,
            onboarding_go,
            sign_in,
            continue_as_guest,
            sign_out,
            start_browser_sign_in,
            browser_sign_in,
            cancel_browser_sign_in,
            platform_url,
            set_platform_url,
            refresh_revocations,
            choose_paper_broker,
            link_alpaca,
            unlink_alpaca,
            home,
            settings,
            save_limits,
            save_approval_policy,
            set_kill_switch,
            set_live_trading,
            set_scopes,
            claude_status,
            connect_claude,
            disconnect_claude,
            restart_claude,
            pending_approvals,
            approve,
            reject,
            open_approval_window,
            close_approval_window,
            audit_page,
            verify_audit,
            export_audit_csv,
            check_for_update,
            install_update,
            watchlist,
            watch_pairs,
            unwatch_pairs,
            alerts_page,
            create_alert,
            cancel_alert,
        ])
        // What a failed command rejects with.
        .typ::<UiError>()
        // The payloads of the `update-progress` and `approval-decided` events.
        .typ::<UpdateProgress>()
        .typ::<Decision>()
        // A failed command rejects its promise (with a `UiError`), as `invoke` does.
        .error_handling(tauri_specta::ErrorHandlingMode::Throw)
        // The views cross one way each (Rust to UI, or a form UI to Rust): one type per view.
        .disable_serde_phases()
        // Audit sequence numbers and entry counts (i64) stay far below 2^53.
        .dangerously_cast_bigints_to_number()
}
