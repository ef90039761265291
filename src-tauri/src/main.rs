//! `quantdesk-app`: the QuantDesk desktop executable. It only starts the Tauri shell defined in
//! the library (`quantdesk_app_lib::run`). Like the rest of this crate it must never hold domain
//! logic (that lives in the crates under `crates/` and is served to Claude by `quantdesk-mcp`),
//! and it must never see a secret in plain text beyond handing it to the OS keychain.
#![allow(unused_crate_dependencies)]
// the package's library uses the rest

// Release builds on Windows: no console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(err) = quantdesk_app_lib::run() {
        eprintln!("quantdesk-app: {err:#}");
        std::process::exit(1);
    }
}
