//! Limits only the app can set: the app seals them with its key (the secret half in the OS
//! keychain); a row another program rewrites makes the real sidecar refuse every order under
//! the rule `settings_seal`, the app shows why, and the person's save in the app seals them
//! again.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use quantdesk_desktop::{Desktop, Options};
use quantdesk_guard::Limits;
use quantdesk_store::Store;
use serde_json::Value;

/// One sidecar session: initialize, then one `place_order`; its structured answer.
fn place(data_dir: &Path, client_order_id: &str) -> Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quantdesk-mcp"))
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("QUANTDESK_BROKER")
        .env_remove("QUANTDESK_PROVIDER")
        .env("QUANTDESK_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let call = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "place_order",
        "arguments": {"symbol": "GOOG", "side": "buy", "qty": 1, "client_order_id": client_order_id}}});
    let mut stdin = child.stdin.take().unwrap();
    for msg in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#.to_string(),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_string(),
        call.to_string(),
    ] {
        writeln!(stdin, "{msg}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reply = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["id"] == 2)
        .unwrap_or_else(|| panic!("no answer to place_order; stderr: {stderr}"));
    let result = &reply["result"];
    assert_ne!(result["isError"], true, "{result}");
    result["structuredContent"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_rewritten_outside_the_app_stop_every_order_until_the_person_saves_them() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let app = Desktop::open(Options {
        data_dir: data_dir.clone(),
        claude_config: dir.path().join("Claude").join("claude_desktop_config.json"),
        sidecar: dir.path().join("bin").join("quantdesk-mcp"),
    })
    .await
    .unwrap();
    assert_eq!(
        app.home().await.unwrap().settings_problem,
        None,
        "a fresh desk is sealed by the app"
    );
    let first = place(&data_dir, "sealed-1");
    assert_ne!(first["rule"], "settings_seal", "{first}");

    // Another program loosens the limits in the store, as a shell tool could.
    let other = Store::open_in(&data_dir).await.unwrap();
    let loose = Limits {
        max_order_value: None,
        max_position_value: None,
        ..Limits::default()
    };
    quantdesk_guard::set_limits(&other, &loose).await.unwrap();

    let refused = place(&data_dir, "sealed-2");
    assert_eq!(refused["outcome"], "refused", "{refused}");
    assert_eq!(refused["rule"], "settings_seal", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("changed outside the QuantDesk app"),
        "{refused}"
    );
    let problem = app.home().await.unwrap().settings_problem.unwrap();
    assert!(problem.contains("Orders are refused"), "{problem}");

    // The person reviews the limits in the app and saves them: sealed again, orders flow.
    let mut form = app.settings().await.unwrap().limits;
    form.max_order_value = "10000".into();
    form.max_position_value = "25000".into();
    app.save_limits(&form).await.unwrap();
    assert_eq!(app.home().await.unwrap().settings_problem, None);
    let again = place(&data_dir, "sealed-3");
    assert_ne!(again["rule"], "settings_seal", "{again}");
    assert_ne!(again["outcome"], "refused", "{again}");
}
