//! `quantdesk-keys` end to end, as the platform's back end and a person's computer run it:
//! keygen, issue, list, inspect, revoke, revocations, store-key (kernel keyring), status, scopes
//! and remove-key. Every key pair is made here, at run time.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn keys() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quantdesk-keys"));
    for var in [
        "QUANTDESK_PUBLIC_KEY",
        "QUANTDESK_REVOCATIONS",
        "QUANTDESK_DATA_DIR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("QUANTDESK_KEYCHAIN", "keyutils");
    cmd
}

fn run(cmd: &mut Command, stdin: Option<&str>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn ok(cmd: &mut Command, stdin: Option<&str>) -> String {
    let out = run(cmd, stdin);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(cmd: &mut Command, stdin: Option<&str>) -> String {
    let out = run(cmd, stdin);
    assert!(!out.status.success(), "{cmd:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

fn keygen(dir: &Path) -> String {
    ok(keys().arg("keygen").arg("--out").arg(dir), None)
        .trim()
        .to_string()
}

fn issue(dir: &Path, scopes: &str, extra: &[&str]) -> String {
    ok(
        keys()
            .arg("issue")
            .arg("--signing-key")
            .arg(dir.join("signing-key"))
            .args(["--account", "acct_cli", "--scopes", scopes])
            .args(extra),
        None,
    )
    .trim()
    .to_string()
}

/// Every file under `dir`, read as bytes, must not contain `needle`.
fn assert_nowhere_under(dir: &Path, needle: &str) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            assert_nowhere_under(&path, needle);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} holds the key",
                path.display()
            );
        }
    }
}

#[test]
fn help_lists_every_command() {
    let text = ok(keys().arg("--help"), None);
    for command in [
        "keygen",
        "issue",
        "list",
        "revoke",
        "revocations",
        "inspect",
        "store-key",
        "remove-key",
        "status",
        "scopes",
        "format",
    ] {
        assert!(text.contains(command), "--help lacks {command}:\n{text}");
    }
    assert!(ok(keys().arg("format"), None).contains("quantdesk/account-key/v1"));
}

#[test]
fn keygen_writes_an_owner_only_signing_key_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let public = keygen(tmp.path());
    assert_eq!(public.len(), 43, "{public}");
    let secret = std::fs::read_to_string(tmp.path().join("signing-key")).unwrap();
    assert!(secret.starts_with("qdsk_"));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("public-key"))
            .unwrap()
            .trim(),
        public
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(tmp.path().join("signing-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let err = fails(keys().arg("keygen").arg("--out").arg(tmp.path()), None);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        ok(
            keys()
                .arg("public-key")
                .arg("--signing-key")
                .arg(tmp.path().join("signing-key")),
            None
        )
        .trim(),
        public
    );
}

#[test]
fn issue_inspect_revoke_and_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = tmp.path().join("platform");
    let public = keygen(&issuer);
    let key = issue(
        &issuer,
        "market:read,analysis",
        &["--expires-in", "30d", "--rate", "market:read=5/min,*=100/h"],
    );
    assert!(key.starts_with("qdk_"), "{key}");

    let claims = ok(
        keys().arg("inspect").args(["--public-key", &public]),
        Some(&key),
    );
    let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
    assert_eq!(claims["account_id"], "acct_cli");
    assert_eq!(
        claims["scopes"],
        serde_json::json!(["market:read", "analysis"])
    );
    assert_eq!(claims["rate"]["market:read"], "5/min");
    let key_id = claims["key_id"].as_str().unwrap().to_string();

    // The compiled-in platform key did not sign it.
    let err = fails(keys().arg("inspect"), Some(&key));
    assert!(err.contains("another key pair"), "{err}");

    // The ledger lists it, with its hash and never the key.
    let ledger = issuer.join("ledger.json");
    let listed = ok(keys().arg("list").arg("--ledger").arg(&ledger), None);
    assert!(
        listed.contains(&key_id) && listed.contains("valid"),
        "{listed}"
    );
    assert_nowhere_under(&issuer, &key);

    ok(
        keys()
            .arg("revoke")
            .arg(&key_id)
            .arg("--ledger")
            .arg(&ledger),
        None,
    );
    let revocations = tmp.path().join("revoked.txt");
    ok(
        keys()
            .arg("revocations")
            .arg("--signing-key")
            .arg(issuer.join("signing-key"))
            .arg("--out")
            .arg(&revocations),
        None,
    );
    let err = fails(
        keys()
            .arg("inspect")
            .args(["--public-key", &public])
            .arg("--revocations")
            .arg(&revocations),
        Some(&key),
    );
    assert!(err.contains("revoked") && err.contains(&key_id), "{err}");
    assert!(ok(keys().arg("list").arg("--ledger").arg(&ledger), None).contains("revoked"));

    let err = fails(
        keys()
            .arg("issue")
            .arg("--signing-key")
            .arg(issuer.join("signing-key"))
            .args(["--account", "a", "--scopes", "market:read,admin"]),
        None,
    );
    assert!(err.contains("unknown scope 'admin'"), "{err}");
}

/// store-key puts the key in the kernel keyring and only its id and hash in the store; status,
/// scopes and remove-key work on it.
#[cfg(target_os = "linux")]
#[test]
fn store_key_status_scopes_and_remove_key() {
    let tmp = tempfile::tempdir().unwrap();
    let issuer = tmp.path().join("platform");
    let data = tmp.path().join("data");
    let public = keygen(&issuer);
    let key = issue(
        &issuer,
        "market:read,analysis,account:read",
        &["--rate", "market:read=60/min"],
    );
    let local = |cmd: &str| {
        let mut c = keys();
        c.arg(cmd)
            .arg("--data-dir")
            .arg(&data)
            .env("QUANTDESK_PUBLIC_KEY", &public);
        c
    };

    let err = fails(&mut local("store-key"), Some("qdk_garbage.garbage"));
    assert!(err.contains("damaged"), "{err}");
    let other_issuer = tmp.path().join("other");
    keygen(&other_issuer);
    let foreign = issue(&other_issuer, "market:read", &[]);
    let err = fails(&mut local("store-key"), Some(&foreign));
    assert!(err.contains("another key pair"), "{err}");

    ok(&mut local("store-key"), Some(&format!("{key}\n")));
    let status: serde_json::Value = serde_json::from_str(&ok(&mut local("status"), None)).unwrap();
    assert_eq!(status["mode"], "key", "{status}");
    assert_eq!(
        status["effective_scopes"],
        serde_json::json!(["market:read", "analysis", "account:read"])
    );

    // Narrowing keeps only what both allow; asking for more grants nothing.
    ok(
        local("scopes").args(["--narrow", "market:read,trade:live"]),
        None,
    );
    let status: serde_json::Value = serde_json::from_str(&ok(&mut local("status"), None)).unwrap();
    assert_eq!(
        status["effective_scopes"],
        serde_json::json!(["market:read"])
    );
    ok(local("scopes").arg("--clear"), None);

    // The store holds the id and the hash, never the key (nor its signature part).
    assert_nowhere_under(&data, &key);
    let signature = key.rsplit('.').next().unwrap();
    assert_nowhere_under(&data, signature);

    // Without the keychain entry the key is unusable, not guest.
    ok(&mut local("remove-key"), None);
    let status: serde_json::Value = serde_json::from_str(&ok(&mut local("status"), None)).unwrap();
    assert_eq!(status["mode"], "guest", "{status}");
}
