//! Encryption at rest through real SQLCipher files and the real kernel keyring (each test under
//! a service name of its own, removed at the end).
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::path::Path;

use quantdesk_secrets::{Backend, SecretStore};
use quantdesk_store::{
    AtRest, AuditRecord, DB_FILE, Encryption, STORE_KEY, Store, StoreError, StoreKey,
};

fn record(kind: &str, detail: serde_json::Value) -> AuditRecord {
    AuditRecord {
        actor: "test".into(),
        kind: kind.into(),
        tool: None,
        symbol: None,
        args: serde_json::json!({}),
        outcome: "ok".into(),
        detail,
    }
}

/// A marker that must never appear in the database's bytes once it is encrypted.
const MARKER: &str = "MARKER-visible-only-in-plaintext-4f1c";

struct Keychain(SecretStore);

impl Keychain {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let service = format!(
            "QuantDesk-test-at-rest-{tag}-{}-{nanos}",
            std::process::id()
        );
        Self(
            SecretStore::open(Backend::KernelKeyring)
                .expect("the kernel keyring")
                .with_service(service),
        )
    }
}

impl Drop for Keychain {
    fn drop(&mut self) {
        let _ = self.0.delete(STORE_KEY);
    }
}

fn file_bytes(dir: &Path) -> Vec<u8> {
    let mut all = std::fs::read(dir.join(DB_FILE)).unwrap();
    if let Ok(wal) = std::fs::read(dir.join(format!("{DB_FILE}-wal"))) {
        all.extend(wal);
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn write_marker(store: &Store) {
    store.set_setting("marker", &MARKER).await.unwrap();
    store
        .append_audit(&record("marker", serde_json::json!({ "note": MARKER })))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_encrypted_store_opens_only_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::generate().unwrap();
    let store = Store::open_in_with_key(dir.path(), &key).await.unwrap();
    write_marker(&store).await;
    store.close().await;

    let bytes = file_bytes(dir.path());
    assert!(
        !bytes.starts_with(b"SQLite format 3\0"),
        "the header is not plaintext"
    );
    assert!(!contains(&bytes, MARKER), "no row is readable in the file");

    match Store::open_in(dir.path()).await {
        Err(StoreError::NotADatabase { keyed: false, .. }) => {}
        other => panic!("opened without the key: {other:?}"),
    }
    let other = StoreKey::generate().unwrap();
    let err = Store::open_in_with_key(dir.path(), &other)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotADatabase { keyed: true, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("a different key"), "{err}");

    let again = Store::open_in_with_key(dir.path(), &key).await.unwrap();
    assert_eq!(
        again.setting::<String>("marker").await.unwrap().as_deref(),
        Some(MARKER)
    );
    assert!(again.verify_audit().await.unwrap().intact());
}

#[tokio::test]
async fn the_desk_makes_its_key_once_and_keeps_it_in_the_keychain() {
    let dir = tempfile::tempdir().unwrap();
    let keychain = Keychain::new("once");
    let store = Store::open_desk_with(dir.path(), keychain.0.clone(), Encryption::Always)
        .await
        .unwrap();
    assert_eq!(
        store.at_rest(),
        &AtRest::Encrypted {
            keychain: Backend::KernelKeyring.to_string()
        }
    );
    write_marker(&store).await;
    store.close().await;
    let kept = keychain
        .0
        .get(STORE_KEY)
        .unwrap()
        .expect("the key is in the keychain");
    assert_eq!(kept.expose().len(), 64);
    assert!(!contains(&file_bytes(dir.path()), MARKER));

    // Reopened through the keychain: the same key, the same rows.
    let again = Store::open_desk_with(dir.path(), keychain.0.clone(), Encryption::Always)
        .await
        .unwrap();
    assert_eq!(
        again.setting::<String>("marker").await.unwrap().as_deref(),
        Some(MARKER)
    );
    again.close().await;
    assert_eq!(
        keychain.0.get(STORE_KEY).unwrap().unwrap().expose(),
        kept.expose(),
        "no second key"
    );

    // The key gone: the store is not replaced by a new empty one, and it is left as it was.
    let before = std::fs::read(dir.path().join(DB_FILE)).unwrap();
    keychain.0.delete(STORE_KEY).unwrap();
    let err = Store::open_desk_with(dir.path(), keychain.0.clone(), Encryption::Always)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::KeyMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("store-key"), "{err}");
    assert_eq!(
        keychain.0.get(STORE_KEY).unwrap(),
        None,
        "no key was made for it"
    );
    assert_eq!(std::fs::read(dir.path().join(DB_FILE)).unwrap(), before);
}

#[tokio::test]
async fn a_kernel_keyring_alone_leaves_the_store_plaintext_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let keychain = Keychain::new("durable");
    let store = Store::open_desk_with(dir.path(), keychain.0.clone(), Encryption::WhenKeyIsDurable)
        .await
        .unwrap();
    match store.at_rest() {
        AtRest::Plain { reason } => assert!(reason.contains("kernel keyring"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        keychain.0.get(STORE_KEY).unwrap(),
        None,
        "no key made that a reboot erases"
    );
    write_marker(&store).await;
    store.close().await;
    assert!(
        std::fs::read(dir.path().join(DB_FILE))
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    );
}

#[tokio::test]
async fn a_plaintext_store_is_encrypted_in_place_with_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let plain = Store::open_in(dir.path()).await.unwrap();
    write_marker(&plain).await;
    for i in 0..50 {
        plain
            .append_audit(&record("row", serde_json::json!({ "i": i })))
            .await
            .unwrap();
    }
    let before = plain.verify_audit().await.unwrap();
    plain.close().await;
    assert!(
        contains(&file_bytes(dir.path()), MARKER),
        "plaintext to begin with"
    );

    let keychain = Keychain::new("migrate");
    let store = Store::open_desk_with(dir.path(), keychain.0.clone(), Encryption::Always)
        .await
        .unwrap();
    assert!(store.at_rest().is_encrypted());
    assert_eq!(
        store.setting::<String>("marker").await.unwrap().as_deref(),
        Some(MARKER)
    );
    let after = store.verify_audit().await.unwrap();
    assert!(after.intact(), "{after:?}");
    assert_eq!(
        after.entries, before.entries,
        "every audit entry came across"
    );
    store.close().await;

    assert!(
        !contains(&file_bytes(dir.path()), MARKER),
        "nothing left in plaintext"
    );
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("encrypting"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    match Store::open_in(dir.path()).await {
        Err(StoreError::NotADatabase { .. }) => {}
        other => panic!("the old plaintext is still readable: {other:?}"),
    }
}

#[tokio::test]
async fn two_processes_opening_a_new_desk_together_agree_on_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let keychain = Keychain::new("race");
    let (a, b) = tokio::join!(
        Store::open_desk_with(dir.path(), keychain.0.clone(), Encryption::Always),
        Store::open_desk_with(dir.path(), keychain.0.clone(), Encryption::Always),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    write_marker(&a).await;
    assert_eq!(
        b.setting::<String>("marker").await.unwrap().as_deref(),
        Some(MARKER)
    );
    a.close().await;
    b.close().await;
    let key = StoreKey::from_hex(keychain.0.get(STORE_KEY).unwrap().unwrap().expose()).unwrap();
    let reopened = Store::open_in_with_key(dir.path(), &key).await.unwrap();
    assert!(reopened.verify_audit().await.unwrap().intact());
}
