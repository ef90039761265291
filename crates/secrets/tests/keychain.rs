//! Round trips through real keychains. The kernel keyring (keyutils) is always there on Linux, so
//! CI runs that one; the Secret Service test runs when a session bus with a Secret Service
//! answers (e.g. inside `dbus-run-session` with an unlocked gnome-keyring-daemon).
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use quantdesk_secrets::{Backend, SecretError, SecretStore};

/// A service name of this test run's own, so parallel runs and a developer's real entries never
/// meet.
fn service(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("QuantDesk-test-{tag}-{}-{nanos}", std::process::id())
}

fn round_trip(store: &SecretStore) {
    let name = "account-key:k_roundtrip";
    assert_eq!(store.get(name).unwrap(), None, "a fresh name is empty");
    assert_eq!(store.set(name, "qdk_first.value").unwrap(), store.backend());
    assert_eq!(
        store.get(name).unwrap().unwrap().expose(),
        "qdk_first.value"
    );
    store.set(name, "qdk_second.value").unwrap();
    assert_eq!(
        store.get(name).unwrap().unwrap().expose(),
        "qdk_second.value",
        "set replaces"
    );
    assert!(store.delete(name).unwrap());
    assert_eq!(store.get(name).unwrap(), None, "delete removes");
    assert!(
        !store.delete(name).unwrap(),
        "a second delete finds nothing"
    );
    assert!(matches!(store.set(name, ""), Err(SecretError::EmptySecret)));
}

#[cfg(target_os = "linux")]
#[test]
fn kernel_keyring_round_trip() {
    let store = SecretStore::open(Backend::KernelKeyring)
        .expect("the kernel keyring must be usable (keyutils syscalls allowed)")
        .with_service(service("keyutils"));
    assert_eq!(store.backend(), Backend::KernelKeyring);
    round_trip(&store);
}

#[cfg(target_os = "linux")]
#[test]
fn auto_falls_back_to_the_kernel_keyring_without_a_session_bus() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        eprintln!("skipped: a session bus is configured, Auto may pick the Secret Service");
        return;
    }
    let store = SecretStore::open(Backend::Auto)
        .unwrap()
        .with_service(service("auto"));
    assert_eq!(store.backends().last(), Some(&Backend::KernelKeyring));
    round_trip(&store);
}

#[test]
fn secret_service_round_trip_when_one_answers() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        eprintln!("skipped: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset)");
        return;
    }
    let store = match SecretStore::open(Backend::SecretService) {
        Ok(store) => store.with_service(service("secret-service")),
        Err(err) => {
            eprintln!("skipped: {err}");
            return;
        }
    };
    round_trip(&store);
}

/// What one thread stores, a fresh thread reads (the sidecar reads the keychain from tokio's
/// blocking threads, and the kernel keyring keeps session keyrings per thread).
#[cfg(target_os = "linux")]
#[test]
fn kernel_keyring_entries_cross_threads() {
    let service = service("threads");
    let open = {
        let service = service.clone();
        move || {
            SecretStore::open(Backend::KernelKeyring)
                .unwrap()
                .with_service(service.clone())
        }
    };
    let (o1, o2, o3) = (open.clone(), open.clone(), open);
    std::thread::spawn(move || {
        o1().set("account-key:k_threads", "qdk_from.thread")
            .unwrap()
    })
    .join()
    .unwrap();
    let read = std::thread::spawn(move || o2().get("account-key:k_threads").unwrap())
        .join()
        .unwrap();
    assert_eq!(read.unwrap().expose(), "qdk_from.thread");
    assert!(
        std::thread::spawn(move || o3().delete("account-key:k_threads").unwrap())
            .join()
            .unwrap()
    );
}
