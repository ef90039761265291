//! `ui/src/bindings.ts` is generated (tauri-specta) from the commands in src/commands.rs and the
//! view types in crates/desktop: each command's typed wrapper and every type it uses. This test
//! rewrites the file when `QUANTDESK_WRITE_BINDINGS=1` and otherwise fails if it is stale, so
//! neither the UI's calls nor its types are written by hand. It also holds the command list in
//! build.rs and the grants in capabilities/default.json to the commands the bindings call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn generated() -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bindings.ts");
    quantdesk_app_lib::write_ui_bindings(&path).unwrap();
    std::fs::read_to_string(path).unwrap()
}

/// The command names the bindings invoke.
fn invoked(bindings: &str) -> BTreeSet<String> {
    bindings
        .split("__TAURI_INVOKE")
        .skip(1)
        .filter_map(|rest| rest.split_once("(\"")?.1.split('"').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn ui_bindings_are_up_to_date() {
    let path = root().join("ui/src/bindings.ts");
    let want = generated();
    if std::env::var_os("QUANTDESK_WRITE_BINDINGS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: run QUANTDESK_WRITE_BINDINGS=1 cargo test -p quantdesk-app --test bindings",
        path.display()
    );
}

#[test]
fn the_bindings_carry_every_command_and_type() {
    let b = generated();
    for ty in [
        "export type Home =",
        "export type ApprovalRequest =",
        "export type UiError =",
        "export type AppInfo =",
        "export type OnboardingStep = \"welcome\" | \"sign_in\"",
    ] {
        assert!(b.contains(ty), "missing `{ty}` in the bindings:\n{b}");
    }
    // Arguments keep Tauri's camelCase keys.
    assert!(b.contains("signIn: (apiKey: string) =>"), "{b}");
    assert!(b.contains("(\"sign_in\", { apiKey })"), "{b}");
    assert_eq!(invoked(&b).len(), 25, "{:?}", invoked(&b));
}

#[test]
fn build_rs_and_the_capability_grant_exactly_the_commands_the_bindings_call() {
    let commands = invoked(&generated());
    let build_rs = std::fs::read_to_string(root().join("src-tauri/build.rs")).unwrap();
    let listed: BTreeSet<String> = build_rs
        .split("const COMMANDS: &[&str] = &[")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .unwrap()
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert_eq!(
        listed, commands,
        "build.rs COMMANDS differ from the commands"
    );

    let cap: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("src-tauri/capabilities/default.json")).unwrap(),
    )
    .unwrap();
    let granted: BTreeSet<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    assert_eq!(
        granted, commands,
        "capabilities/default.json grants differ from the commands"
    );
}
