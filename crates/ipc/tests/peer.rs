//! Only this user reaches the channel: the socket's folder is 0700 and the socket 0600, and a
//! process running as another user is refused by uid even when the folder lets it reach the
//! socket.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use quantdesk_ipc::{AppListener, IpcError, app_socket_path};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_socket_and_its_folder_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let app = AppListener::bind(dir.path()).await.unwrap();
    assert_eq!(mode(app.path()), 0o600);
    assert_eq!(mode(app.path().parent().unwrap()), 0o700);
}

/// Needs root (to start a process as `nobody`) and python3 (the foreign client); says so and
/// passes without them.
#[tokio::test]
async fn another_user_is_refused_by_uid() {
    if !is_root() {
        eprintln!("skipped: starting a process as another user needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = AppListener::bind(dir.path()).await.unwrap();
    // As if the folders had been left open: only the uid check stands in the way.
    let open =
        |p: &std::path::Path, m| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    open(dir.path(), 0o755).unwrap();
    open(app.path().parent().unwrap(), 0o755).unwrap();
    open(app.path(), 0o666).unwrap();
    let socket = app_socket_path(dir.path());
    let script = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"v":1,"type":"hello","version":1,"role":"sidecar","pid":1}\n')
s.settimeout(10)
print("answer:" + s.recv(4096).decode(errors="replace").strip())
"#;
    let child = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&socket)
        .uid(65534)
        .gid(65534)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(child) = child else {
        eprintln!("skipped: no python3 to play the other user");
        return;
    };
    let refused = tokio::time::timeout(Duration::from_secs(20), app.accept())
        .await
        .expect("no connection came");
    match refused {
        Err(IpcError::OtherUser { uid }) => assert_eq!(uid, 65534),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The app closed the connection without a word: no hello came back.
    assert!(
        stdout.trim() == "answer:" || !out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}
