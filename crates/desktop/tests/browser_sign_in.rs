//! "Sign in with your browser" against the real platform (started here on 127.0.0.1): the app
//! starts the device sign-in, the person approves it (here straight in the platform's database,
//! which its web page writes — the page itself is driven in Chromium by the platform's tests),
//! the app's background poll installs the key in the keychain, and its identity shows the key's
//! scopes; signing out removes the key and revokes it on the platform, and the app's revocation
//! refresh leaves a list in the store that names it. One test in its own binary: it sets the
//! environment (platform URL, trusted public key, keychain) before anything runs.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::time::Duration;

use quantdesk_desktop::views::{BrowserSignIn, OnboardingStep};
use quantdesk_desktop::{Desktop, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_signs_in_through_the_browser_and_signs_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = quantdesk_platform::Config::new(dir.path().join("platform"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.device_poll_interval = 1;
    let platform = quantdesk_platform::spawn(config).await.unwrap();
    let db = platform.state.db.clone();
    // The one audited unsafe block: `set_var` races with threads reading the environment.
    // SAFETY: this binary's only test sets it before any thread reads it.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("QUANTDESK_PLATFORM_URL", platform.url());
        std::env::set_var(
            "QUANTDESK_PUBLIC_KEY",
            platform.state.issuer.public_key_text(),
        );
        std::env::set_var("QUANTDESK_KEYCHAIN", "kernel");
        std::env::set_var(quantdesk_desktop::OPEN_BROWSER_ENV, "0");
    }
    let app = Desktop::open(Options {
        data_dir: dir.path().join("data"),
        claude_config: dir.path().join("claude_desktop_config.json"),
        sidecar: dir.path().join("quantdesk-mcp"),
    })
    .await
    .unwrap();
    app.onboarding_go(OnboardingStep::SignIn).await.unwrap();
    assert_eq!(app.platform_url().await.unwrap(), platform.url());

    let BrowserSignIn::Waiting {
        user_code,
        verification_uri_complete,
        browser_opened,
        ..
    } = app.start_browser_sign_in().await.unwrap()
    else {
        panic!("not waiting");
    };
    assert!(!browser_opened, "QUANTDESK_OPEN_BROWSER=0");
    assert!(
        verification_uri_complete.starts_with(&format!("{}/device?user_code=", platform.url()))
    );
    // The person, signed in on the website, approves the code the app shows.
    let hash = quantdesk_platform::password::hash("violet kettle drums 9").unwrap();
    let now = quantdesk_platform::db::now();
    assert!(
        db.create_account("acct_desktoptest", "desk@example.com", &hash, now)
            .await
            .unwrap()
    );
    db.mark_verified("acct_desktoptest", now).await.unwrap();
    let code = quantdesk_platform::api::normalise_user_code(&user_code).unwrap();
    let pending = db.device_code_by_user_code(&code).await.unwrap().unwrap();
    assert!(
        pending.device_name.starts_with("QuantDesk on "),
        "{}",
        pending.device_name
    );
    assert!(
        db.decide_device_code(&code, "acct_desktoptest", true, now)
            .await
            .unwrap()
    );

    let mut state = app.browser_sign_in();
    for _ in 0..100 {
        if !matches!(state, BrowserSignIn::Waiting { .. }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        state = app.browser_sign_in();
    }
    let BrowserSignIn::SignedIn { identity } = state else {
        panic!("not signed in: {state:?}");
    };
    assert!(!identity.guest);
    assert_eq!(identity.account_id.as_deref(), Some("acct_desktoptest"));
    assert!(
        identity.scopes.contains(&"account:read".to_string()),
        "{:?}",
        identity.scopes
    );
    assert!(!identity.scopes.contains(&"trade:live".to_string()));
    let key_id = identity.key_id.clone().unwrap();
    assert_eq!(
        app.onboarding().await.unwrap().step,
        OnboardingStep::Broker,
        "onboarding moved on"
    );
    let r = app.refresh_revocations().await.unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);

    // Sign out: keychain entry gone, key revoked on the platform, the store's list names it.
    let out = app.sign_out().await.unwrap();
    assert!(out.revoked_on_platform, "{}", out.message);
    assert!(out.identity.guest);
    let keychain =
        quantdesk_secrets::SecretStore::open(quantdesk_secrets::Backend::KernelKeyring).unwrap();
    assert!(
        keychain
            .get(&quantdesk_keys::account::keychain_name(&key_id))
            .unwrap()
            .is_none()
    );
    let r = app.refresh_revocations().await.unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let mut verifier = quantdesk_keys::Verifier::from_env().unwrap();
    quantdesk_keys::account::refresh_revocations(app.store(), &mut verifier, None).await;
    assert!(
        verifier.is_revoked(&key_id),
        "a sidecar started now refuses it"
    );

    // A cancelled sign-in stays idle; a bad platform URL is a form error.
    app.start_browser_sign_in().await.unwrap();
    assert_eq!(app.cancel_browser_sign_in(), BrowserSignIn::Idle);
    assert!(app.set_platform_url("not a url").await.is_err());
    platform.stop().await;
}
