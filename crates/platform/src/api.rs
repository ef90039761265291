//! The JSON API under `/v1/` and the discovery document (contract: `docs/platform-api.md`): the
//! signed revocation list with its ETag, the public keys, the device authorization grant
//! (RFC 8628) that signs the desktop app in, a key revoking itself, and the updater's feed.

use std::sync::Mutex;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use quantdesk_keys::{Claims, RevocationList, Scope, Scopes, Verifier, key_hash, new_key_id};
use serde_json::json;

use crate::db::device::{DeviceStatus, NewDeviceCode};
use crate::db::keys::NewKey;
use crate::db::{now, now_ms};
use crate::web::Fields;
use crate::web::session::{random_token, token_hash};
use crate::{AppState, WebError};

/// The only client the device flow knows.
pub const CLIENT_ID: &str = "quantdesk-app";
/// RFC 8628's grant type.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The user-code alphabet: consonants without look-alikes (RFC 8628 §6.1).
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/quantdesk.json", get(discovery))
        .route("/v1/revocations", get(revocations))
        .route("/v1/device/code", post(device_code))
        .route("/v1/device/token", post(device_token))
        .route("/v1/keys/self/revoke", post(revoke_self))
        .route(
            "/v1/releases/{target}/{arch}/{current_version}",
            get(update_feed),
        )
        .route("/healthz", get(health))
}

/// An OAuth-style JSON error.
pub fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

async fn health(State(state): State<AppState>) -> Result<&'static str, WebError> {
    state.db.ping().await?;
    Ok("ok")
}

async fn discovery(State(state): State<AppState>) -> Response {
    let keys: Vec<_> = state
        .public_keys
        .iter()
        .map(|k| json!({"kid": k.kid, "alg": "Ed25519", "public_key": k.public_key, "current": k.current}))
        .collect();
    Json(json!({
        "issuer": state.public_url,
        "keys": keys,
        "revocations_endpoint": state.url("/v1/revocations"),
        "device_authorization_endpoint": state.url("/v1/device/code"),
        "token_endpoint": state.url("/v1/device/token"),
        "updates_endpoint": state.url("/v1/releases/{{target}}/{{arch}}/{{current_version}}"),
    }))
    .into_response()
}

/// The last signed list this instance made, by the database's revocation counter.
#[derive(Debug, Default)]
pub struct RevocationCache {
    cached: Mutex<Option<(i64, String, Bytes)>>,
}

/// The signed revocation list and its ETag, made anew only when the counter moved.
pub async fn signed_revocations(state: &AppState) -> Result<(String, Bytes), WebError> {
    let version = state.db.revocations_version().await?;
    if let Ok(guard) = state.revocations.cached.lock()
        && let Some((v, etag, text)) = guard.as_ref()
        && *v == version
    {
        return Ok((etag.clone(), text.clone()));
    }
    let (version, ids) = state.db.revoked_key_ids(now()).await?;
    let list = RevocationList {
        iat: now(),
        revoked: ids.into_iter().collect(),
    };
    let text = state
        .issuer
        .sign_revocations(&list)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let etag = format!("\"r{version}\"");
    let body = Bytes::from(text);
    if let Ok(mut guard) = state.revocations.cached.lock() {
        *guard = Some((version, etag.clone(), body.clone()));
    }
    Ok((etag, body))
}

async fn revocations(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (etag, body) = signed_revocations(&state).await?;
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim() == etag || v.trim() == "*");
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, "no-cache".to_string()),
    ];
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response())
}

/// Issues a key for `account_id` and records it (its hash, never the key). Returns the key.
pub fn sign_key(
    state: &AppState,
    account_id: &str,
    scopes: &Scopes,
    days: i64,
) -> Result<(String, Claims), WebError> {
    let iat = now();
    let claims = Claims {
        key_id: new_key_id().map_err(|e| WebError::Internal(e.to_string()))?,
        account_id: account_id.to_string(),
        iat,
        exp: iat + days * 86_400,
        scopes: scopes.clone(),
        rate: Default::default(),
    };
    let text = state
        .issuer
        .issue(&claims)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((text, claims))
}

/// A user code: 8 characters of [`USER_CODE_ALPHABET`] (≈ 34 bits), unbiased.
pub fn new_user_code() -> Result<String, WebError> {
    let mut code = String::with_capacity(8);
    while code.len() < 8 {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte).map_err(|e| WebError::Internal(e.to_string()))?;
        // 240 = 12 × 20: bytes above it would favour the first letters.
        if byte[0] < 240 {
            code.push(USER_CODE_ALPHABET[usize::from(byte[0] % 20)] as char);
        }
    }
    Ok(code)
}

/// A user code as typed (any case, dashes and spaces) in its stored form, if it can be one.
pub fn normalise_user_code(text: &str) -> Option<String> {
    let code: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == 8 && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b))).then_some(code)
}

/// `BCDFGHJK` as people read it: `BCDF-GHJK`.
pub fn show_user_code(code: &str) -> String {
    if code.len() == 8 {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

/// The scopes a device may ask for: as asked, or the guest scopes plus `account:read`.
fn requested_scopes(text: Option<&str>) -> Result<Scopes, String> {
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            let mut names: Vec<&str> = Scope::GUEST.iter().map(|s| s.as_str()).collect();
            names.push(Scope::AccountRead.as_str());
            Ok(Scopes::from_names(names))
        }
        Some(text) => {
            let mut scopes = Vec::new();
            for name in text.split_whitespace() {
                let scope: Scope = name.parse().map_err(|_| {
                    format!(
                        "unknown scope '{}'",
                        name.chars().take(40).collect::<String>()
                    )
                })?;
                scopes.push(scope.as_str());
            }
            Ok(Scopes::from_names(scopes))
        }
    }
}

async fn device_code(State(state): State<AppState>, body: Bytes) -> Result<Response, WebError> {
    let Ok(fields) = Fields::parse(&body) else {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    };
    if fields.get("client_id") != Some(CLIENT_ID) {
        return Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id",
        ));
    }
    let scopes = match requested_scopes(fields.get("scope")) {
        Ok(s) => s,
        Err(e) => return Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", &e)),
    };
    let device_name = fields.get("device_name").unwrap_or("QuantDesk app").trim();
    if device_name.chars().count() > 100 || device_name.chars().any(char::is_control) {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "device_name must be at most 100 characters, without control characters",
        ));
    }
    let device_code = random_token()?;
    let created_at = now();
    let ttl = state.config.device_code_ttl.clamp(1, 900);
    let names = scopes.names();
    for _ in 0..8 {
        let user_code = new_user_code()?;
        let recorded = state
            .db
            .create_device_code(&NewDeviceCode {
                device_code_hash: &token_hash(&device_code),
                user_code: &user_code,
                client_id: CLIENT_ID,
                device_name,
                scopes: &names,
                created_at,
                expires_at: created_at + ttl,
                interval_secs: state.config.device_poll_interval,
            })
            .await?;
        if recorded {
            return Ok((
                [(header::CACHE_CONTROL, "no-store")],
                Json(json!({
                    "device_code": device_code,
                    "user_code": show_user_code(&user_code),
                    "verification_uri": state.url("/device"),
                    "verification_uri_complete": state.url(&format!("/device?user_code={user_code}")),
                    "expires_in": ttl,
                    "interval": state.config.device_poll_interval,
                })),
            )
                .into_response());
        }
    }
    Err(WebError::Internal("no free user code after 8 draws".into()))
}

async fn device_token(State(state): State<AppState>, body: Bytes) -> Result<Response, WebError> {
    let bad = |code: &str, text: &str| Ok(oauth_error(StatusCode::BAD_REQUEST, code, text));
    let Ok(fields) = Fields::parse(&body) else {
        return bad(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    };
    if fields.get("grant_type") != Some(DEVICE_GRANT) {
        return bad(
            "unsupported_grant_type",
            "grant_type must be the device_code grant",
        );
    }
    if fields.get("client_id") != Some(CLIENT_ID) {
        return Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id",
        ));
    }
    let Some(device_code) = fields.get("device_code").filter(|c| c.len() <= 128) else {
        return bad("invalid_request", "device_code is missing");
    };
    let hash = token_hash(device_code);
    let now_ms = now_ms();
    let polled = state
        .db
        .poll_device_code(&hash, now_ms, |code| {
            code.status == DeviceStatus::Pending
                && code
                    .last_poll_ms
                    .is_some_and(|last| now_ms - last < code.interval_secs * 1000 - 250)
        })
        .await?;
    let Some(code) = polled else {
        return bad("invalid_grant", "this device code is not known");
    };
    if code.status == DeviceStatus::Redeemed {
        return bad("invalid_grant", "this device code was already used");
    }
    if now_ms / 1000 >= code.expires_at {
        return bad("expired_token", "the code expired; start the sign-in again");
    }
    match code.status {
        DeviceStatus::Denied => {
            return bad("access_denied", "the sign-in was denied in the browser");
        }
        DeviceStatus::Pending => {
            let early = code
                .last_poll_ms
                .is_some_and(|last| now_ms - last < code.interval_secs * 1000 - 250);
            return if early {
                bad(
                    "slow_down",
                    "polling too fast: wait 5 more seconds between polls",
                )
            } else {
                bad(
                    "authorization_pending",
                    "waiting for the person to approve in the browser",
                )
            };
        }
        DeviceStatus::Approved | DeviceStatus::Redeemed => {}
    }
    let Some(account_id) = code.account_id.as_deref() else {
        return bad("invalid_grant", "this device code has no account");
    };
    let scopes = Scopes::from_names(code.scopes.iter().map(String::as_str));
    let (text, claims) = sign_key(&state, account_id, &scopes, state.config.device_key_days)?;
    let names = claims.scopes.names();
    let origin = format!("device: {}", code.device_name);
    let key = NewKey {
        key_id: &claims.key_id,
        account_id,
        name: &code.device_name,
        scopes: &names,
        origin: &origin,
        key_sha256: &key_hash(&text),
        created_at: claims.iat,
        expires_at: claims.exp,
    };
    if !state.db.redeem_device_code(&hash, &key).await? {
        return bad("invalid_grant", "this device code was already used");
    }
    tracing::info!(key_id = %claims.key_id, account = %account_id, "key issued to a device");
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": text,
            "token_type": "Bearer",
            "key_id": claims.key_id,
            "scopes": names,
            "expires_in": claims.exp - claims.iat,
            "account_id": account_id,
        })),
    )
        .into_response())
}

async fn revoke_self(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let invalid = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "send the key as Authorization: Bearer qdk_…",
        )
    };
    let Some(key) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Ok(invalid());
    };
    // Signed by this platform (with any key it has signed with), whatever its expiry: a key
    // proves itself.
    let mut key_id = None;
    for public in &state.public_keys {
        let Ok(trusted) = quantdesk_keys::parse_public_key(&public.public_key) else {
            continue;
        };
        match Verifier::new(trusted).verify(key, now()) {
            Ok(claims) => key_id = Some(claims.key_id),
            Err(
                quantdesk_keys::KeyError::Expired { key_id: id, .. }
                | quantdesk_keys::KeyError::NotYetValid { key_id: id, .. },
            ) => key_id = Some(id),
            Err(_) => continue,
        }
        break;
    }
    let Some(key_id) = key_id else {
        return Ok(invalid());
    };
    match state.db.revoke_key(&key_id, None, now()).await? {
        Some(at) => Ok(Json(json!({"key_id": key_id, "revoked_at": at})).into_response()),
        None => Ok(invalid()),
    }
}

async fn update_feed(
    State(state): State<AppState>,
    Path((target, arch, current)): Path<(String, String, String)>,
) -> Result<Response, WebError> {
    let Ok(current) = semver::Version::parse(current.trim_start_matches('v')) else {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "current_version must be a semantic version",
        ));
    };
    let platform = format!("{target}-{arch}");
    let releases = state.db.releases().await?;
    let newest = releases
        .iter()
        .filter_map(|r| Some((semver::Version::parse(&r.version).ok()?, r)))
        .filter(|(_, r)| {
            r.files
                .iter()
                .any(|f| f.platform.as_deref() == Some(&platform))
        })
        .max_by(|a, b| a.0.cmp(&b.0));
    let Some((version, release)) = newest.filter(|(v, _)| *v > current) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let Some(file) = release
        .files
        .iter()
        .find(|f| f.platform.as_deref() == Some(&platform))
    else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    Ok(Json(json!({
        "version": version.to_string(),
        "pub_date": release.pub_date,
        "notes": release.notes,
        "url": state.url(&format!("/downloads/{}/{}", release.version, file.name)),
        "signature": file.signature,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes() {
        for _ in 0..200 {
            let code = new_user_code().unwrap();
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
            assert_eq!(
                normalise_user_code(&show_user_code(&code).to_lowercase()),
                Some(code)
            );
        }
        assert_eq!(normalise_user_code("bcdf ghjk"), Some("BCDFGHJK".into()));
        assert_eq!(normalise_user_code("BCDF-GHJ0"), None, "no digits");
        assert_eq!(normalise_user_code("AEIOUBCD"), None, "no vowels");
        assert_eq!(normalise_user_code("BCDFGHJKL"), None);
    }

    #[test]
    fn scopes_requested() {
        let default = requested_scopes(None).unwrap().names();
        assert!(default.contains(&"account:read".to_string()));
        assert!(!default.contains(&"trade:live".to_string()));
        assert_eq!(
            requested_scopes(Some("market:read trade:live"))
                .unwrap()
                .names(),
            ["market:read", "trade:live"]
        );
        assert!(requested_scopes(Some("market:read root")).is_err());
    }
}
