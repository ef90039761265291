//! The app's own platform client: sign in, refresh, sign out.

use super::*;

/// The desktop app's own platform client: stopped when denied or cancelled, a key for the
/// device when approved, installed by the app's code path into a store and the keychain; the
/// revocation list refreshed with its ETag into the store the sidecar reads; sign-out revoking
/// the key, after which the installed key is refused with what to do.
pub(super) async fn the_apps_client_signs_in_refreshes_and_signs_out(p: &Platform) {
    use quantdesk_keys::account;
    use quantdesk_keys::platform::{PlatformClient, PlatformError};
    let client = PlatformClient::new(&p.url()).unwrap();
    let mut browser = account(p, "lee@example.com", PASSWORD).await;
    let auth = client
        .start_device_sign_in("QuantDesk on lee-box", None)
        .await
        .unwrap();
    browser
        .post_form(
            "/device/decide",
            &[("user_code", &auth.user_code), ("decision", "deny")],
        )
        .await;
    assert_eq!(
        client.wait_for_approval(&auth, || false).await.unwrap_err(),
        PlatformError::Denied
    );
    let auth = client
        .start_device_sign_in("QuantDesk on lee-box", None)
        .await
        .unwrap();
    assert_eq!(
        client.wait_for_approval(&auth, || true).await.unwrap_err(),
        PlatformError::Cancelled
    );
    let scopes = quantdesk_keys::Scopes::from_names(["market:read", "account:read"]);
    let auth = client
        .start_device_sign_in("QuantDesk on lee-box", Some(&scopes))
        .await
        .unwrap();
    let poll = tokio::spawn({
        let (client, auth) = (client.clone(), auth.clone());
        async move { client.wait_for_approval(&auth, || false).await }
    });
    let r = browser
        .post_form(
            "/device/decide",
            &[("user_code", &auth.user_code), ("decision", "approve")],
        )
        .await;
    assert_eq!(r.status, 200);
    let issued = poll.await.unwrap().unwrap();
    assert_eq!(issued.scopes, ["market:read", "account:read"]);
    let dir = tempfile::tempdir().unwrap();
    let store = quantdesk_store::Store::open_in(dir.path()).await.unwrap();
    let service = format!("quantdesk-platform-test-{}", issued.key_id);
    let secrets = quantdesk_secrets::SecretStore::open(quantdesk_secrets::Backend::KernelKeyring)
        .unwrap()
        .with_service(service);
    let verifier = verifier(p);
    let installed = account::install(
        &store,
        &secrets,
        &verifier,
        &issued.access_token,
        account::now(),
    )
    .await
    .unwrap();
    assert_eq!(installed.claims.key_id, issued.key_id);
    let mut v = verifier.clone();
    let status = account::refresh_from_platform(&store, &mut v, &client).await;
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    let etag: Option<String> = store
        .setting(account::REVOCATIONS_ETAG_SETTING)
        .await
        .unwrap();
    assert!(etag.is_some(), "the ETag is kept for the next refresh");
    let status = account::refresh_from_platform(&store, &mut verifier.clone(), &client).await;
    assert!(
        status.problems.is_empty(),
        "a 304 is fine: {:?}",
        status.problems
    );
    client.revoke_self(&issued.access_token).await.unwrap();
    let mut v = verifier.clone();
    let status = account::refresh_from_platform(&store, &mut v, &client).await;
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    assert!(v.is_revoked(&issued.key_id));
    let mut fresh = verifier.clone();
    account::refresh_revocations(&store, &mut fresh, None).await;
    assert!(
        fresh.is_revoked(&issued.key_id),
        "the store holds a list that names it"
    );
    let keychain = secrets.clone();
    let state = account::load(&store, move || Ok(keychain), &fresh, account::now()).await;
    assert!(
        matches!(&state, account::KeyState::Unusable { reason, .. } if reason.contains("revoked on the QuantDesk platform")),
        "{state:?}"
    );
    account::remove(&store, &secrets).await.unwrap();
}
