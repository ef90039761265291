//! This computer's side: inspecting a key, installing it (OS keychain, store), signing in
//! through the platform, refreshing and the account's status.

use std::io::Read as _;

use anyhow::{Context as _, bail};
use quantdesk_keys::account::{self, KeyState};
use quantdesk_keys::{Claims, Scopes, Verifier, show_time};
use quantdesk_secrets::SecretStore;
use quantdesk_store::Store;

use crate::{Local, Trust};

fn read_key_from_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .context("reading the key from stdin")?;
    let key = text.trim().to_string();
    if key.is_empty() {
        bail!("no key on stdin (pipe it in: `quantdesk-keys store-key < key.txt`)");
    }
    Ok(key)
}

async fn verifier_with_revocations(trust: &Trust) -> anyhow::Result<Verifier> {
    let mut verifier = trust.verifier()?;
    if let Some(source) = trust.source() {
        let text = source.fetch().await?;
        verifier.honour_text(&text)?;
    }
    Ok(verifier)
}

fn describe(claims: &Claims) -> serde_json::Value {
    serde_json::json!({
        "key_id": claims.key_id,
        "account_id": claims.account_id,
        "issued_at": show_time(claims.iat),
        "expires_at": show_time(claims.exp),
        "scopes": claims.scopes,
        "rate": claims.rate,
    })
}

pub(crate) async fn inspect(trust: &Trust) -> anyhow::Result<()> {
    let key = read_key_from_stdin()?;
    let verifier = verifier_with_revocations(trust).await?;
    let claims = verifier.verify(&key, account::now())?;
    println!("{}", serde_json::to_string_pretty(&describe(&claims))?);
    Ok(())
}

pub(crate) async fn store_key(local: &Local, trust: &Trust) -> anyhow::Result<()> {
    let key = read_key_from_stdin()?;
    let store = local.store().await?;
    let mut verifier = trust.verifier()?;
    let status = account::refresh_revocations(&store, &mut verifier, trust.source().as_ref()).await;
    for problem in &status.problems {
        eprintln!("warning: {problem}");
    }
    let secrets = local.secrets()?;
    let installed = account::install(&store, &secrets, &verifier, &key, account::now()).await?;
    store.close().await;
    eprintln!(
        "installed the API key {} for account {} ({}) in the {}{}",
        installed.claims.key_id,
        installed.claims.account_id,
        installed.claims.scopes,
        installed.backend,
        installed
            .replaced
            .map(|old| format!("; it replaces {old}"))
            .unwrap_or_default()
    );
    Ok(())
}

async fn platform_client(
    store: &Store,
    platform: Option<String>,
) -> anyhow::Result<quantdesk_keys::platform::PlatformClient> {
    let url = match platform {
        Some(url) => url,
        None => account::platform_url(store).await?,
    };
    Ok(quantdesk_keys::platform::PlatformClient::new(&url)?)
}

pub(crate) async fn sign_in(
    local: &Local,
    trust: &Trust,
    platform: Option<String>,
    scopes: Option<String>,
    device_name: &str,
) -> anyhow::Result<()> {
    let store = local.store().await?;
    let client = platform_client(&store, platform).await?;
    let scopes = scopes.map(|s| Scopes::from_names(s.split(',').map(str::trim)));
    let auth = client
        .start_device_sign_in(device_name, scopes.as_ref())
        .await?;
    eprintln!(
        "open {} and approve the code {} (valid {} s)",
        auth.verification_uri_complete, auth.user_code, auth.expires_in
    );
    println!(
        "{}",
        serde_json::json!({"user_code": auth.user_code, "verification_uri_complete": auth.verification_uri_complete})
    );
    let issued = client.wait_for_approval(&auth, || false).await?;
    let verifier = trust.verifier()?;
    let secrets = local.secrets()?;
    let installed = account::install(
        &store,
        &secrets,
        &verifier,
        &issued.access_token,
        account::now(),
    )
    .await?;
    store.close().await;
    eprintln!(
        "signed in: the API key {} for account {} ({}) is in the {}",
        installed.claims.key_id,
        installed.claims.account_id,
        installed.claims.scopes,
        installed.backend
    );
    Ok(())
}

pub(crate) async fn refresh(
    local: &Local,
    trust: &Trust,
    platform: Option<String>,
) -> anyhow::Result<()> {
    let store = local.store().await?;
    let client = platform_client(&store, platform).await?;
    let mut verifier = trust.verifier()?;
    let status = account::refresh_from_platform(&store, &mut verifier, &client).await;
    store.close().await;
    for problem in &status.problems {
        eprintln!("warning: {problem}");
    }
    println!("{} revoked keys honoured", status.revoked);
    if status.problems.is_empty() {
        Ok(())
    } else {
        bail!("the revocation list could not be refreshed")
    }
}

pub(crate) async fn status(local: &Local, trust: &Trust) -> anyhow::Result<()> {
    let store = local.store().await?;
    let mut verifier = trust.verifier()?;
    let revocations =
        account::refresh_revocations(&store, &mut verifier, trust.source().as_ref()).await;
    let backend = local.backend()?;
    let state = account::load(
        &store,
        move || SecretStore::open(backend),
        &verifier,
        account::now(),
    )
    .await;
    let narrowed = account::narrowed_scopes(&store).await?;
    let (mode, granted, detail) = match &state {
        KeyState::Guest => ("guest", Scopes::guest(), serde_json::Value::Null),
        KeyState::Active(claims) => ("key", claims.scopes.clone(), describe(claims)),
        KeyState::Unusable { key_id, reason } => (
            "unusable",
            Scopes::default(),
            serde_json::json!({ "key_id": key_id, "reason": reason }),
        ),
    };
    let effective = match &narrowed {
        Some(n) => granted.narrow(n),
        None => granted,
    };
    let report = serde_json::json!({
        "mode": mode,
        "key": detail,
        "narrowed_to": narrowed,
        "effective_scopes": effective,
        "revoked_keys_known": revocations.revoked,
        "problems": revocations.problems,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    store.close().await;
    Ok(())
}
