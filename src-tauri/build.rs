//! Runs tauri-build: reads tauri.conf.json and capabilities/, checks the icons, and generates
//! the permission schemas. `tauri::generate_context!` in lib.rs also needs `../ui/dist` to
//! exist, so build the UI first (`cargo xtask ui`).

fn main() {
    tauri_build::build()
}
