//! The key on this computer: installing it (verify, keychain, id and hash into the store),
//! loading it when a sidecar starts, removing it, the person's narrowed scopes, and the
//! revocation lists this installation honours. The desktop app and `quantdesk-keys store-key`
//! install through here; the sidecar loads through here.

use quantdesk_secrets::{Backend, SecretError, SecretStore};
use quantdesk_store::{AccountKeyRecord, Store, StoreError};
use thiserror::Error;

use crate::KeyError;
use crate::key::{Claims, Verifier, key_hash};
use crate::platform::{
    DEFAULT_PLATFORM_URL, Fetched, PLATFORM_URL_ENV, PLATFORM_URL_SETTING, PlatformClient,
};
use crate::revocation::RevocationSource;
use crate::scope::Scopes;

/// The store setting holding the scopes the person narrowed the key to (a JSON list of scope
/// names; absent or `null` means "all the key allows").
pub const NARROWED_SCOPES_SETTING: &str = "scopes.narrowed";

/// The store setting caching the newest verified revocation list (its signed text).
pub const REVOCATIONS_SETTING: &str = "keys.revocations";

/// The store setting holding the platform's ETag of that list.
pub const REVOCATIONS_ETAG_SETTING: &str = "keys.revocations.etag";

/// The keychain entry a key is filed under.
pub fn keychain_name(key_id: &str) -> String {
    format!("account-key:{key_id}")
}

/// Seconds since 1970, now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[derive(Debug, Error)]
pub enum AccountError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keychain(#[from] SecretError),
    #[error("the keychain holds something else under {0} than the key just stored")]
    KeychainMismatch(String),
    #[error("the keychain could not be reached: {0}")]
    Task(String),
}

/// Which key this installation runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// No key installed: guest mode.
    Guest,
    /// A verified key.
    Active(Claims),
    /// A key is installed but cannot be used. This is never guest mode: every call is refused
    /// with `reason` until the key is replaced or removed.
    Unusable {
        key_id: Option<String>,
        reason: String,
    },
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub claims: Claims,
    pub backend: Backend,
    /// The key id it replaced, whose keychain entry was removed.
    pub replaced: Option<String>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AccountError> + Send + 'static,
) -> Result<T, AccountError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AccountError::Task(e.to_string()))?
}

/// Verifies `key_text`, puts it in the keychain and records its id and hash as the key in use.
/// The key it replaces leaves the keychain.
pub async fn install(
    store: &Store,
    secrets: &SecretStore,
    verifier: &Verifier,
    key_text: &str,
    now: i64,
) -> Result<Installed, AccountError> {
    let key_text = key_text.trim().to_string();
    let claims = verifier.verify(&key_text, now)?;
    let name = keychain_name(&claims.key_id);
    let hash = key_hash(&key_text);
    let backend = {
        let (secrets, name) = (secrets.clone(), name.clone());
        blocking(move || {
            let backend = secrets.set(&name, &key_text)?;
            match secrets.get(&name)? {
                Some(back) if back.expose() == key_text => Ok(backend),
                _ => Err(AccountError::KeychainMismatch(name)),
            }
        })
        .await?
    };
    let record = AccountKeyRecord {
        key_id: claims.key_id.clone(),
        account_id: claims.account_id.clone(),
        key_sha256: hash,
        scopes: claims.scopes.names(),
        issued_at: claims.issued_at(),
        expires_at: claims.expires_at(),
        installed_at: chrono::Utc::now(),
        active: true,
    };
    let replaced = store.install_account_key(&record).await?;
    if let Some(old) = &replaced {
        let (secrets, old_name) = (secrets.clone(), keychain_name(old));
        if let Err(err) = blocking(move || Ok(secrets.delete(&old_name)?)).await {
            tracing::warn!(key_id = %old, %err, "could not remove the replaced key from the keychain");
        }
    }
    Ok(Installed {
        claims,
        backend,
        replaced,
    })
}

/// Stops using the installed key and removes it from the keychain. Returns its id.
pub async fn remove(store: &Store, secrets: &SecretStore) -> Result<Option<String>, AccountError> {
    let Some(key_id) = store.deactivate_account_key().await? else {
        return Ok(None);
    };
    let (secrets, name) = (secrets.clone(), keychain_name(&key_id));
    blocking(move || Ok(secrets.delete(&name)?)).await?;
    Ok(Some(key_id))
}

/// The key this installation runs with. The keychain is opened (by `open_secrets`) only when the
/// store says a key is installed, so guest mode never touches it.
pub async fn load(
    store: &Store,
    open_secrets: impl FnOnce() -> Result<SecretStore, SecretError> + Send + 'static,
    verifier: &Verifier,
    now: i64,
) -> KeyState {
    let record = match store.active_account_key().await {
        Ok(None) => return KeyState::Guest,
        Ok(Some(record)) => record,
        Err(err) => {
            return KeyState::Unusable {
                key_id: None,
                reason: format!("the installed key could not be looked up: {err}"),
            };
        }
    };
    let key_id = record.key_id.clone();
    let unusable = |reason: String| KeyState::Unusable {
        key_id: Some(key_id.clone()),
        reason,
    };
    let name = keychain_name(&record.key_id);
    let read = blocking(move || {
        let secrets = open_secrets()?;
        let backends = secrets
            .backends()
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Ok((secrets.get(&name)?, backends))
    })
    .await;
    let text = match read {
        Ok((Some(secret), _)) => secret,
        Ok((None, backends)) => {
            return unusable(format!(
                "the API key {} is installed but not in the keychain ({backends}); install it again",
                record.key_id
            ));
        }
        Err(err) => {
            return unusable(format!(
                "the API key {} could not be read: {err}",
                record.key_id
            ));
        }
    };
    if key_hash(text.expose()) != record.key_sha256 {
        return unusable(format!(
            "the keychain entry for {} does not hold the key that was installed; install it again",
            record.key_id
        ));
    }
    match verifier.verify(text.expose(), now) {
        Ok(claims) if claims.key_id == record.key_id => KeyState::Active(claims),
        Ok(claims) => unusable(format!(
            "the keychain entry for {} holds the key {}; install it again",
            record.key_id, claims.key_id
        )),
        Err(err) => unusable(err.to_string()),
    }
}

/// The scopes the person narrowed the key to, if they did.
pub async fn narrowed_scopes(store: &Store) -> Result<Option<Scopes>, StoreError> {
    Ok(store
        .setting::<Option<Vec<String>>>(NARROWED_SCOPES_SETTING)
        .await?
        .flatten()
        .map(Scopes::from_names))
}

/// Narrows the scopes in use to `scopes` (which can only remove: see [`Scopes::narrow`]);
/// `None` lifts the narrowing.
pub async fn set_narrowed_scopes(store: &Store, scopes: Option<&Scopes>) -> Result<(), StoreError> {
    store
        .set_setting(NARROWED_SCOPES_SETTING, &scopes.map(Scopes::names))
        .await
}

/// What [`refresh_revocations`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationStatus {
    /// Key ids now refused.
    pub revoked: usize,
    /// Problems met (a source that could not be read, a list that did not verify); the lists
    /// that did verify are honoured all the same.
    pub problems: Vec<String>,
}

/// Honours the revocation list cached in the store and, when `source` is given, the one it
/// holds; a verified list newer than the cached one replaces it in the store.
pub async fn refresh_revocations(
    store: &Store,
    verifier: &mut Verifier,
    source: Option<&RevocationSource>,
) -> RevocationStatus {
    let mut status = RevocationStatus::default();
    let mut cached_iat = None;
    match store.setting::<String>(REVOCATIONS_SETTING).await {
        Ok(Some(text)) => match verifier.honour_text(&text) {
            Ok(list) => cached_iat = Some(list.iat),
            Err(err) => status
                .problems
                .push(format!("cached revocation list: {err}")),
        },
        Ok(None) => {}
        Err(err) => status.problems.push(err.to_string()),
    }
    if let Some(source) = source {
        let fetched = match source.fetch().await {
            Ok(text) => verifier.honour_text(&text).map(|list| (list, text)),
            Err(err) => Err(err),
        };
        match fetched {
            Ok((list, text)) if cached_iat.is_none_or(|t| list.iat > t) => {
                if let Err(err) = store.set_setting(REVOCATIONS_SETTING, &text).await {
                    status
                        .problems
                        .push(format!("caching the revocation list: {err}"));
                }
            }
            Ok(_) => {}
            Err(err) => status.problems.push(err.to_string()),
        }
    }
    status.revoked = verifier.revoked_count();
    status
}

/// The platform this installation talks to: the person's setting, else
/// `QUANTDESK_PLATFORM_URL`, else the production platform.
pub async fn platform_url(store: &Store) -> Result<String, StoreError> {
    if let Some(url) = store
        .setting::<String>(PLATFORM_URL_SETTING)
        .await?
        .filter(|u| !u.trim().is_empty())
    {
        return Ok(url);
    }
    Ok(std::env::var(PLATFORM_URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PLATFORM_URL.to_string()))
}

/// Honours the cached revocation list, then asks the platform for a newer one (sending the
/// cached list's ETag, so an unchanged list costs a 304); a verified newer list replaces the
/// cached one. What the sidecar honours at its next start is what this leaves in the store.
pub async fn refresh_from_platform(
    store: &Store,
    verifier: &mut Verifier,
    client: &PlatformClient,
) -> RevocationStatus {
    let mut status = refresh_revocations(store, verifier, None).await;
    let cached_ok = status.problems.is_empty() && verifier.revocations_issued_at().is_some();
    let etag = if cached_ok {
        store
            .setting::<String>(REVOCATIONS_ETAG_SETTING)
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    match client.fetch_revocations(etag.as_deref()).await {
        Ok(Fetched::NotModified) => {}
        Ok(Fetched::New { text, etag }) => match verifier.verify_revocations(&text) {
            Ok(list) => {
                // Lists only add revocations: one made in the same second as the cached one
                // still replaces it.
                let newer = verifier
                    .revocations_issued_at()
                    .is_none_or(|t| list.iat >= t);
                verifier.honour(&list);
                if newer {
                    let saved = store.set_setting(REVOCATIONS_SETTING, &text).await;
                    let tagged = match &etag {
                        Some(tag) => store.set_setting(REVOCATIONS_ETAG_SETTING, tag).await,
                        None => Ok(()),
                    };
                    if let Err(err) = saved.and(tagged) {
                        status
                            .problems
                            .push(format!("caching the revocation list: {err}"));
                    }
                }
            }
            Err(err) => status
                .problems
                .push(format!("{}: {err}", client.revocations_url())),
        },
        Err(err) => status.problems.push(err.to_string()),
    }
    status.revoked = verifier.revoked_count();
    status
}
