//! `ui/src/bindings.ts` is generated (tauri-specta) from the commands in src/commands.rs and the
//! view types in crates/desktop: each command's typed wrapper and every type it uses. This test
//! rewrites the file when `QUANTDESK_WRITE_BINDINGS=1` and otherwise fails if it is stale, so
//! neither the UI's calls nor its types are written by hand. It also holds the command list in
//! build.rs and the grants in capabilities/ to the commands the bindings call, and the approval
//! window to the few commands it needs (only it may approve or reject).
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

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
        "export type UpdateInfo =",
        "export type UpdateProgress =",
        "export type Decision =",
        "export type ClaudeRestart =",
    ] {
        assert!(b.contains(ty), "missing `{ty}` in the bindings:\n{b}");
    }
    // Arguments keep Tauri's camelCase keys.
    assert!(b.contains("signIn: (apiKey: string) =>"), "{b}");
    assert!(b.contains("(\"sign_in\", { apiKey })"), "{b}");
    assert!(
        b.contains("checkForUpdate: () => __TAURI_INVOKE<UpdateInfo | null>(\"check_for_update\")"),
        "{b}"
    );
    assert_eq!(invoked(&b).len(), 42, "{:?}", invoked(&b));
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

    let grants = |file: &str| -> (Vec<String>, BTreeSet<String>) {
        let cap: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root().join("src-tauri/capabilities").join(file)).unwrap(),
        )
        .unwrap();
        let windows = cap["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect();
        let granted = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .filter_map(|p| p.strip_prefix("allow-"))
            .map(|p| p.replace('-', "_"))
            .collect();
        (windows, granted)
    };
    let mut files: Vec<String> = std::fs::read_dir(root().join("src-tauri/capabilities"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["approval.json", "default.json"]);

    let (main_windows, main) = grants("default.json");
    let (approval_windows, approval) = grants("approval.json");
    assert_eq!(main_windows, ["main"]);
    assert_eq!(approval_windows, ["approval"]);
    let only_approval: BTreeSet<String> = ["approve", "reject", "close_approval_window"]
        .map(String::from)
        .into();
    assert_eq!(
        approval,
        [
            "pending_approvals",
            "approve",
            "reject",
            "close_approval_window"
        ]
        .map(String::from)
        .into(),
        "the approval window gets exactly what it needs"
    );
    assert!(
        main.is_disjoint(&only_approval),
        "only the approval window decides: {main:?}"
    );
    let all: BTreeSet<String> = main.union(&approval).cloned().collect();
    assert_eq!(
        all, commands,
        "capabilities/ grants differ from the commands"
    );
}
