//! Installing and loading a key through the library, against the kernel keyring: guest without
//! a key, the key's claims with one, and "unusable" — never guest — when the keychain entry is
//! gone or is not the key that was installed.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies
#![cfg(target_os = "linux")]

use quantdesk_keys::account::{self, KeyState};
use quantdesk_keys::{Claims, Issuer, KeyError, Scopes, Verifier, new_key_id};
use quantdesk_secrets::{Backend, SecretStore};
use quantdesk_store::Store;

fn keychain(service: &str) -> SecretStore {
    SecretStore::open(Backend::KernelKeyring)
        .unwrap()
        .with_service(service)
}

fn claims(exp_in: i64) -> Claims {
    let now = account::now();
    Claims {
        key_id: new_key_id().unwrap(),
        account_id: "acct_lib".into(),
        iat: now - 10,
        exp: now + exp_in,
        scopes: Scopes::parse_list("market:read,backtest").unwrap(),
        rate: Default::default(),
    }
}

#[tokio::test]
async fn install_load_replace_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let service = format!("QuantDesk-test-account-{}", std::process::id());
    let secrets = keychain(&service);
    let issuer = Issuer::generate().unwrap();
    let verifier = Verifier::new(issuer.public_key());
    let load = |secrets_service: String| {
        let verifier = verifier.clone();
        let store = store.clone();
        async move {
            account::load(
                &store,
                move || Ok(keychain(&secrets_service)),
                &verifier,
                account::now(),
            )
            .await
        }
    };

    assert_eq!(load(service.clone()).await, KeyState::Guest);

    let first = claims(3600);
    let key = issuer.issue(&first).unwrap();
    let installed = account::install(&store, &secrets, &verifier, &key, account::now())
        .await
        .unwrap();
    assert_eq!(installed.backend, Backend::KernelKeyring);
    assert_eq!(load(service.clone()).await, KeyState::Active(first.clone()));

    // A key from another signer is refused and changes nothing.
    let other = Issuer::generate().unwrap().issue(&claims(3600)).unwrap();
    assert!(matches!(
        account::install(&store, &secrets, &verifier, &other, account::now()).await,
        Err(account::AccountError::Key(KeyError::UnknownSigner))
    ));
    assert_eq!(load(service.clone()).await, KeyState::Active(first.clone()));

    // Another keychain (here: another service name) lacks the key: unusable, not guest.
    let KeyState::Unusable { key_id, reason } = load(format!("{service}-elsewhere")).await else {
        panic!("a key missing from the keychain became something else");
    };
    assert_eq!(key_id.as_deref(), Some(first.key_id.as_str()));
    assert!(reason.contains("not in the keychain"), "{reason}");

    // A second key replaces the first, whose keychain entry goes.
    let second = claims(7200);
    let installed = account::install(
        &store,
        &secrets,
        &verifier,
        &issuer.issue(&second).unwrap(),
        account::now(),
    )
    .await
    .unwrap();
    assert_eq!(installed.replaced.as_deref(), Some(first.key_id.as_str()));
    assert_eq!(
        secrets.get(&account::keychain_name(&first.key_id)).unwrap(),
        None
    );
    assert_eq!(
        load(service.clone()).await,
        KeyState::Active(second.clone())
    );

    // A keychain entry that is not the installed key is unusable.
    secrets
        .set(&account::keychain_name(&second.key_id), &key)
        .unwrap();
    let KeyState::Unusable { reason, .. } = load(service.clone()).await else {
        panic!("a swapped keychain entry was accepted");
    };
    assert!(
        reason.contains("does not hold the key that was installed"),
        "{reason}"
    );

    assert_eq!(
        account::remove(&store, &secrets).await.unwrap(),
        Some(second.key_id.clone())
    );
    assert_eq!(load(service).await, KeyState::Guest);
}
