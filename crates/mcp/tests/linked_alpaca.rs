//! An Alpaca account linked in the app is where the sidecar Claude Desktop starts trades: the
//! sidecar reads the link from the shared store and the key from the OS keychain, with no key
//! in its command line or environment (the Claude Desktop entry carries none).
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use quantdesk_alpaca_standin::StandIn;
use quantdesk_desktop::views::AlpacaLink;
use quantdesk_desktop::{Desktop, DesktopError, Options};
use serde_json::Value;

/// One sidecar session as Claude Desktop runs it: initialize, then `get_account_balance`.
/// Returns the server's instructions and the account answer.
fn ask_account(data_dir: &Path, data_url: &str) -> (String, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quantdesk-mcp"))
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("APCA_API_KEY_ID")
        .env_remove("APCA_API_SECRET_KEY")
        .env_remove("QUANTDESK_BROKER")
        .env_remove("QUANTDESK_PROVIDER")
        .env("QUANTDESK_ALPACA_DATA_URL", data_url)
        .env("QUANTDESK_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for msg in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_account_balance","arguments":{}}}"#,
    ] {
        writeln!(stdin, "{msg}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the sidecar failed: {stderr}");
    let replies: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_id = |id: i64| {
        replies
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no reply {id} in {replies:?}; stderr: {stderr}"))
    };
    let instructions = by_id(1)["result"]["instructions"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let result = &by_id(2)["result"];
    assert_ne!(result["isError"], true, "{result}");
    (instructions, result["structuredContent"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sidecar_trades_through_the_account_the_app_linked() {
    let standin = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let app = Desktop::open(Options {
        data_dir: data_dir.clone(),
        claude_config: dir.path().join("Claude").join("claude_desktop_config.json"),
        sidecar: dir.path().join("bin").join("quantdesk-mcp"),
    })
    .await
    .unwrap()
    .with_alpaca_url(standin.base_url())
    .await;

    // Before any link: the built-in paper broker.
    let (_, account) = ask_account(&data_dir, &standin.base_url());
    assert_eq!(account["broker"], "paper", "{account}");

    let link = AlpacaLink {
        key_id: StandIn::KEY_ID.into(),
        secret: StandIn::SECRET.into(),
        live: false,
    };
    match app.link_alpaca(&link).await {
        Ok(_) => {}
        Err(DesktopError::Keychain(err)) => {
            // Without any keychain nothing can be linked; the secrets crate's own tests say why.
            eprintln!("skipped: no keychain here: {err}");
            return;
        }
        Err(other) => panic!("{other}"),
    }
    let before = standin.requests().len();
    let (instructions, account) = ask_account(&data_dir, &standin.base_url());
    assert!(instructions.contains("'alpaca'"), "{instructions}");
    assert_eq!(
        (
            account["broker"].as_str(),
            account["mode"].as_str(),
            account["cash"].as_f64()
        ),
        (Some("alpaca"), Some("paper"), Some(100_000.0)),
        "{account}"
    );
    assert!(
        standin.requests()[before..]
            .iter()
            .any(|r| r.path == "/v2/account"),
        "the balance came from Alpaca"
    );

    // A link whose key left the keychain: the sidecar does not quietly trade elsewhere.
    let keychain = quantdesk_secrets::SecretStore::from_env().unwrap();
    let key_id = keychain
        .get(quantdesk_broker::ALPACA_KEY_ID_ENTRY)
        .unwrap()
        .unwrap();
    keychain
        .delete(quantdesk_broker::ALPACA_KEY_ID_ENTRY)
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_quantdesk-mcp"))
        .arg("--data-dir")
        .arg(&data_dir)
        .env_remove("QUANTDESK_BROKER")
        .env_remove("QUANTDESK_PROVIDER")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("link it again"), "{stderr}");
    keychain
        .set(quantdesk_broker::ALPACA_KEY_ID_ENTRY, key_id.expose())
        .unwrap();

    // Unlinked: back on the paper broker, and the key is gone from the keychain.
    app.unlink_alpaca().await.unwrap();
    let (_, account) = ask_account(&data_dir, &standin.base_url());
    assert_eq!(account["broker"], "paper", "{account}");
    assert!(
        keychain
            .get(quantdesk_broker::ALPACA_SECRET_ENTRY)
            .unwrap()
            .is_none()
    );
}
