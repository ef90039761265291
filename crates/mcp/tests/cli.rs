//! `quantdesk-mcp`'s command line: --help, --version, --data-dir, --provider, verify-audit, and
//! a clean stdout (it is the MCP protocol; a stray log line there breaks Claude Desktop).
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::io::Write;
use std::process::{Command, Stdio};

fn sidecar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_quantdesk-mcp"))
}

#[test]
fn help_and_version_describe_the_program() {
    let help = sidecar().arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--data-dir", "--provider", "--log", "verify-audit"] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
    let version = sidecar().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("quantdesk-mcp {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unknown_provider_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = sidecar()
        .args(["--provider", "yahoo", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("yahoo"));
}

#[test]
fn alpaca_without_a_key_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = sidecar()
        .args(["--provider", "alpaca", "--data-dir"])
        .arg(dir.path())
        .env_remove("APCA_API_KEY_ID")
        .env_remove("APCA_API_SECRET_KEY")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("APCA_API_KEY_ID"));
    assert!(
        out.stdout.is_empty(),
        "nothing but protocol may reach stdout"
    );
}

/// A whole session: every stdout line is a JSON-RPC message; logs land in the data folder.
#[test]
fn stdout_carries_only_the_protocol_and_logs_go_to_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = sidecar()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--log", "debug"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for msg in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_stock_price","arguments":{"symbol":"SPX"}}}"#,
    ] {
        writeln!(stdin, "{msg}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON-RPC: {l}")))
        .collect();
    assert!(lines.iter().all(|m| m["jsonrpc"] == "2.0"));
    // Whether the reply to id 2 was flushed before stdin closed depends on timing; when it was,
    // it must be the SPX price.
    if let Some(reply) = lines.iter().find(|m| m["id"] == 2) {
        assert_eq!(reply["result"]["structuredContent"]["symbol"], "SPX");
    }
    assert!(
        !String::from_utf8_lossy(&out.stderr).is_empty(),
        "logs should reach stderr"
    );
    let logs: Vec<_> = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .collect();
    assert_eq!(logs.len(), 1, "one rotating log file");
    let verify = sidecar()
        .arg("--data-dir")
        .arg(dir.path())
        .arg("verify-audit")
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// The data folder, the store, its `-wal`/`-shm` and the log file are the user's alone.
#[cfg(unix)]
#[test]
fn everything_the_sidecar_creates_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut child = sidecar()
        .arg("--data-dir")
        .arg(&dir)
        .env("QUANTDESK_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"t","version":"0"}}}}}}"#
    )
    .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert!(line.contains("\"result\""), "{line}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("logs")), 0o700);
    let mut files = vec![dir.join("quantdesk.db"), dir.join("quantdesk.db-wal")];
    for entry in std::fs::read_dir(dir.join("logs")).unwrap() {
        files.push(entry.unwrap().path());
    }
    assert!(files.len() > 2, "no log file");
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    drop(stdin);
    child.wait().unwrap();
}
