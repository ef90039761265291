//! Runs tauri-build: reads tauri.conf.json and capabilities/, checks the icons, and generates
//! the permission schemas. Listing the app's commands here makes each one need an explicit
//! `allow-<command>` in a capability, so the web view gets only what capabilities/ grants.
//! `tauri::generate_context!` in lib.rs also needs `../ui/dist` to exist, so build the UI first
//! (`cargo xtask ui`).

/// Every command in src/commands.rs.
const COMMANDS: &[&str] = &[
    "app_info",
    "onboarding",
    "onboarding_go",
    "sign_in",
    "continue_as_guest",
    "sign_out",
    "start_browser_sign_in",
    "browser_sign_in",
    "cancel_browser_sign_in",
    "platform_url",
    "set_platform_url",
    "refresh_revocations",
    "choose_paper_broker",
    "link_alpaca",
    "unlink_alpaca",
    "home",
    "settings",
    "save_limits",
    "save_approval_policy",
    "set_kill_switch",
    "set_live_trading",
    "set_scopes",
    "claude_status",
    "connect_claude",
    "disconnect_claude",
    "restart_claude",
    "pending_approvals",
    "approve",
    "reject",
    "open_approval_window",
    "close_approval_window",
    "audit_page",
    "verify_audit",
    "export_audit_csv",
    "check_for_update",
    "install_update",
    "watchlist",
    "watch_pairs",
    "unwatch_pairs",
    "alerts_page",
    "create_alert",
    "cancel_alert",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
