//! The data folder is 0700 and the database files 0600, whether the store creates them or finds
//! them made wider by an older version; a shared sticky folder is left alone.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use quantdesk_store::{AuditRecord, Store, private};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

async fn write_something(store: &Store) {
    store
        .append_audit(&AuditRecord {
            actor: "test".into(),
            kind: "test".into(),
            tool: None,
            symbol: None,
            args: serde_json::json!({}),
            outcome: "ok".into(),
            detail: serde_json::json!({}),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_new_data_folder_is_0700_and_its_database_files_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("data");
    let store = Store::open_in(&dir).await.unwrap();
    write_something(&store).await;
    assert_eq!(mode(&dir), 0o700);
    for name in ["quantdesk.db", "quantdesk.db-wal", "quantdesk.db-shm"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    store.close().await;
}

#[tokio::test]
async fn an_existing_wide_open_folder_and_database_are_tightened_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = Store::open_in(&dir).await.unwrap();
    write_something(&store).await;
    // As an older version left them: 0755 and 0644 (the store still open, so -wal/-shm stay).
    let wide = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    wide(&dir, 0o755).unwrap();
    for name in ["quantdesk.db", "quantdesk.db-wal", "quantdesk.db-shm"] {
        wide(&dir.join(name), 0o644).unwrap();
    }
    let again = Store::open_in(&dir).await.unwrap();
    write_something(&again).await;
    assert_eq!(mode(&dir), 0o700);
    for name in ["quantdesk.db", "quantdesk.db-wal", "quantdesk.db-shm"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    again.close().await;
    store.close().await;
}

#[test]
fn a_sticky_shared_folder_is_left_alone_and_private_folders_are_0700() {
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    private::tighten(&shared);
    assert_eq!(mode(&shared), 0o1777);
    let logs = tmp.path().join("data").join("logs");
    private::create_private_dir(&logs).unwrap();
    assert_eq!(mode(&logs), 0o700);
    let file = logs.join("pending");
    private::create_private_file(&file).unwrap();
    assert_eq!(mode(&file), 0o600);
}
