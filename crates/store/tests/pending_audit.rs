//! An audit record the store cannot take waits in the pending file (0600) and is appended, once,
//! when the store is next opened; the chain stays intact.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use quantdesk_store::{AuditFilter, AuditRecord, AuditWrite, Store};

fn record(n: u32) -> AuditRecord {
    AuditRecord {
        actor: "test".into(),
        kind: "order".into(),
        tool: None,
        symbol: Some("GOOG".into()),
        args: serde_json::json!({}),
        outcome: "filled".into(),
        detail: serde_json::json!({ "n": n }),
    }
}

/// Makes every audit append fail, as a broken store would.
async fn break_audit(store: &Store) {
    sqlx::query(
        "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END",
    )
    .execute(store.pool())
    .await
    .unwrap();
}

async fn mend_audit(store: &Store) {
    sqlx::query("DROP TRIGGER fail_audit")
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_record_the_store_refuses_waits_and_is_written_on_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    store.append_audit(&record(0)).await.unwrap();
    break_audit(&store).await;
    for n in 1..=2 {
        match store.append_audit_or_defer(&record(n)).await.unwrap() {
            AuditWrite::Deferred(p) => {
                assert!(p.error.contains("disk I/O error (test)"), "{}", p.error)
            }
            other => panic!("{other:?}"),
        }
    }
    let waiting = store.pending_audit().unwrap();
    assert_eq!(waiting.len(), 2);
    assert_eq!(waiting[0].record, record(1));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.pending_audit_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Still broken at the next open: the entries keep waiting.
    let second = Store::open_in(dir.path()).await.unwrap();
    assert_eq!(second.pending_audit().unwrap().len(), 2);
    second.close().await;
    mend_audit(&store).await;
    store.close().await;

    let reopened = Store::open_in(dir.path()).await.unwrap();
    assert!(reopened.pending_audit().unwrap().is_empty());
    assert!(!reopened.pending_audit_path().exists());
    let entries = reopened
        .audit_entries(&AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(entries.len(), 3, "{entries:#?}");
    let newest = &entries[0];
    assert_eq!(newest.detail["n"], 2);
    assert_eq!(newest.detail["deferred"]["id"], waiting[1].id);
    assert!(reopened.verify_audit().await.unwrap().intact());
    // Opening again appends nothing twice.
    reopened.close().await;
    let again = Store::open_in(dir.path()).await.unwrap();
    assert_eq!(
        again
            .audit_entries(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn an_interrupted_flush_is_finished_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    break_audit(&store).await;
    let AuditWrite::Deferred(p) = store.append_audit_or_defer(&record(1)).await.unwrap() else {
        panic!("not deferred")
    };
    mend_audit(&store).await;
    // A process appended it, then died before removing its claimed copy (left over a minute ago).
    store.flush_pending_audit().await.unwrap();
    let mut claimed = store.pending_audit_path().into_os_string();
    claimed.push(".999999.flushing");
    let line = serde_json::to_string(&p).unwrap() + "\n";
    std::fs::write(&claimed, line).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    std::fs::File::options()
        .write(true)
        .open(&claimed)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(store.flush_pending_audit().await.unwrap(), 0);
    assert!(!std::path::Path::new(&claimed).exists());
    assert_eq!(
        store
            .audit_entries(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}
