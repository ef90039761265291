//! The config writer against real files in a temporary folder: each case of the desktop-app issue
//! (no file, empty file, other servers present, invalid JSON, a stale entry, removal, concurrent
//! writers).
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::fs;
use std::path::{Path, PathBuf};

use quantdesk_claude::{ClaudeConfig, ClaudeError, ENTRY_NAME, ServerEntry, Status};
use serde_json::{Value, json};

fn sidecar() -> ServerEntry {
    ServerEntry::new("/opt/QuantDesk/quantdesk-mcp")
}

fn config_in(dir: &Path) -> (ClaudeConfig, PathBuf) {
    let path = dir.join("Claude").join("claude_desktop_config.json");
    (ClaudeConfig::at(&path), path)
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn backups(path: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".quantdesk-backup-"))
        .collect();
    found.sort();
    found
}

#[test]
fn with_no_file_connect_creates_it_with_only_our_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = config_in(dir.path());
    assert_eq!(config.status(&sidecar()).unwrap(), Status::NoConfigFile);

    let change = config.connect(&sidecar()).unwrap();
    assert!(change.changed && change.created);
    assert_eq!(change.backup, None, "nothing to back up");
    assert_eq!(
        read(&path),
        json!({"mcpServers": {"quantdesk": {"command": "/opt/QuantDesk/quantdesk-mcp", "args": []}}})
    );
    assert_eq!(config.status(&sidecar()).unwrap(), Status::Connected);
}

#[test]
fn an_empty_file_is_treated_as_an_empty_config_and_backed_up() {
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = config_in(dir.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, "").unwrap();
    assert_eq!(config.status(&sidecar()).unwrap(), Status::NotConnected);

    let change = config.connect(&sidecar()).unwrap();
    assert!(change.changed && !change.created);
    let backup = change
        .backup
        .expect("the previous (empty) file is backed up");
    assert_eq!(fs::read_to_string(backup).unwrap(), "");
    assert_eq!(config.status(&sidecar()).unwrap(), Status::Connected);
}

#[test]
fn other_servers_and_keys_are_kept_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = config_in(dir.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let original = r#"{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/ann"],
      "env": {"DEBUG": "1"}
    },
    "weather": {"command": "/usr/bin/weather-mcp", "args": []}
  },
  "preferences": {"theme": "dark", "scale": 1.25}
}
"#;
    fs::write(&path, original).unwrap();

    let change = config.connect(&sidecar()).unwrap();
    assert!(change.changed);
    assert_eq!(
        fs::read_to_string(change.backup.unwrap()).unwrap(),
        original,
        "the backup is the file as it was"
    );
    let text = fs::read_to_string(&path).unwrap();
    let after: Value = serde_json::from_str(&text).unwrap();
    let before: Value = serde_json::from_str(original).unwrap();
    for key in ["globalShortcut", "preferences"] {
        assert_eq!(after[key], before[key], "{key} kept");
    }
    for server in ["filesystem", "weather"] {
        assert_eq!(
            after["mcpServers"][server], before["mcpServers"][server],
            "{server} kept"
        );
    }
    assert_eq!(after["mcpServers"].as_object().unwrap().len(), 3);
    // Byte for byte, not just equal values: the other entries' text is untouched.
    assert!(text.contains(r#"{"command": "/usr/bin/weather-mcp", "args": []}"#));
    assert!(text.contains(r#""preferences": {"theme": "dark", "scale": 1.25}"#));

    // Connecting again changes nothing and writes nothing.
    let again = config.connect(&sidecar()).unwrap();
    assert!(!again.changed);
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn invalid_json_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = config_in(dir.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let broken = "{\"mcpServers\": {\"a\": {\"command\": \"x\",}}"; // trailing comma, no close
    fs::write(&path, broken).unwrap();

    for result in [
        config.connect(&sidecar()).map(|_| ()),
        config.disconnect().map(|_| ()),
        config.status(&sidecar()).map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, ClaudeError::InvalidJson { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "says where the file is: {message}"
        );
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), broken, "untouched");
    assert!(backups(&path).is_empty(), "no backup of a refused file");

    // Valid JSON of the wrong shape is refused the same way.
    fs::write(&path, r#"{"mcpServers": ["not", "an", "object"]}"#).unwrap();
    let err = config.connect(&sidecar()).unwrap_err();
    assert!(
        err.to_string().contains("\"mcpServers\" is a list"),
        "{err}"
    );
}

#[test]
fn a_stale_entry_is_detected_and_replaced_without_its_env() {
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = config_in(dir.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(
        &path,
        r#"{"mcpServers": {"quantdesk": {"command": "/old/quantdesk-mcp", "env": {"APCA_API_SECRET_KEY": "s3cret"}}, "other": {"command": "o"}}}"#,
    )
    .unwrap();

    match config.status(&sidecar()).unwrap() {
        Status::Stale { found } => assert_eq!(found["command"], "/old/quantdesk-mcp"),
        other => panic!("expected stale, got {other:?}"),
    }
    config.connect(&sidecar()).unwrap();
    let after = read(&path);
    assert_eq!(after["mcpServers"][ENTRY_NAME], sidecar().to_json());
    assert_eq!(after["mcpServers"]["other"], json!({"command": "o"}));
    assert!(
        !fs::read_to_string(&path).unwrap().contains("s3cret"),
        "no secret survives in the file"
    );
    assert_eq!(config.status(&sidecar()).unwrap(), Status::Connected);
}

#[test]
fn disconnect_removes_only_our_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = config_in(dir.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(
        &path,
        r#"{"mcpServers": {"a": {"command": "a"}, "quantdesk": {"command": "/q"}, "z": {"command": "z"}}, "k": 1}"#,
    )
    .unwrap();

    let change = config.disconnect().unwrap();
    assert!(change.changed);
    assert_eq!(
        read(&path),
        json!({"mcpServers": {"a": {"command": "a"}, "z": {"command": "z"}}, "k": 1})
    );
    assert_eq!(config.status(&sidecar()).unwrap(), Status::NotConnected);
    assert!(
        !config.disconnect().unwrap().changed,
        "a second disconnect is a no-op"
    );

    let missing = ClaudeConfig::at(dir.path().join("nowhere/claude_desktop_config.json"));
    assert!(!missing.disconnect().unwrap().changed);
    assert!(!dir.path().join("nowhere").exists(), "nothing created");
}

#[test]
fn a_relative_sidecar_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = config_in(dir.path());
    let err = config
        .connect(&ServerEntry::new("quantdesk-mcp"))
        .unwrap_err();
    assert!(matches!(err, ClaudeError::RelativeCommand(_)), "{err}");
    assert!(!path.exists());
}

#[test]
fn backups_are_kept_to_a_few() {
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = config_in(dir.path());
    for i in 0..12 {
        config
            .connect(&ServerEntry::new(format!("/opt/v{i}/quantdesk-mcp")))
            .unwrap();
    }
    assert_eq!(backups(&path).len(), quantdesk_claude::BACKUPS_KEPT);
    assert_eq!(
        read(&path)["mcpServers"]["quantdesk"]["command"],
        "/opt/v11/quantdesk-mcp"
    );
}

/// Many writers at once (threads here; the lock is an OS file lock, so processes behave the
/// same), each rewriting our entry ten times, while a reader keeps reading: the reader never sees
/// a torn file, and the result is one writer's last entry, whole.
#[test]
fn concurrent_writers_never_lose_an_entry_or_tear_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (config, path) = config_in(dir.path());
    config.connect(&sidecar()).unwrap();

    let readers_saw_bad = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..8 {
            let path = path.clone();
            s.spawn(move || {
                let config = ClaudeConfig::at(&path);
                for round in 0..10 {
                    let entry = ServerEntry {
                        command: PathBuf::from(format!("/opt/t{t}/quantdesk-mcp")),
                        args: vec![format!("--round={round}")],
                    };
                    config.connect(&entry).unwrap();
                }
            });
        }
        // A reader (Claude Desktop) never sees a half-written file.
        let readers_saw_bad = &readers_saw_bad;
        let path = path.clone();
        s.spawn(move || {
            for _ in 0..400 {
                if let Ok(text) = fs::read_to_string(&path)
                    && serde_json::from_str::<Value>(&text).is_err()
                {
                    readers_saw_bad.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
    });
    assert!(!readers_saw_bad.load(std::sync::atomic::Ordering::SeqCst));
    let last = read(&path);
    let command = last["mcpServers"]["quantdesk"]["command"].as_str().unwrap();
    assert!(command.starts_with("/opt/t"), "{command}");
    assert_eq!(
        last["mcpServers"]["quantdesk"]["args"],
        json!(["--round=9"]),
        "the last write of some writer, whole"
    );
}

#[test]
fn the_restart_hint_says_plainly_that_linux_has_no_official_claude_desktop() {
    use quantdesk_claude::{Os, restart_hint};
    assert!(restart_hint(Os::Linux).contains("does not publish Claude Desktop for Linux"));
    assert!(restart_hint(Os::MacOs).contains("Cmd+Q"));
    assert!(restart_hint(Os::Windows).contains("tray icon"));
}
