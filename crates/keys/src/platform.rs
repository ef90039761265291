//! The desktop app's client of the QuantDesk platform (`docs/platform-api.md`): the browser
//! sign-in (OAuth 2.0 device authorization grant, RFC 8628, with the client's rules: wait the
//! interval, add 5 s on `slow_down`, stop at `expires_in`), a key revoking itself on sign-out,
//! and the signed revocation list fetched with its ETag.
//!
//! It must never log or show a key or a device code (both are redacted from `Debug`), and it
//! trusts nothing the platform sends: a key it hands over is verified by [`crate::account::install`]
//! before anything keeps it, and a revocation list by [`crate::Verifier`].

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use serde::Deserialize;
use thiserror::Error;

use crate::scope::Scopes;

/// Environment variable naming the platform (tests, self-hosting).
pub const PLATFORM_URL_ENV: &str = "QUANTDESK_PLATFORM_URL";
/// The store setting naming the platform (Settings in the app).
pub const PLATFORM_URL_SETTING: &str = "platform.url";
/// The production platform.
pub const DEFAULT_PLATFORM_URL: &str = "https://quantdesk.app";
/// The device flow's client id.
pub const CLIENT_ID: &str = "quantdesk-app";

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const MAX_BYTES: usize = 8 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlatformError {
    #[error("'{0}' is not a platform URL: use http:// or https:// and a host")]
    BadUrl(String),
    #[error("the QuantDesk platform at {url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the QuantDesk platform answered {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("the sign-in was denied in the browser")]
    Denied,
    #[error("the sign-in code expired before it was approved; start the sign-in again")]
    Expired,
    #[error("the platform no longer knows this sign-in (it was used or cancelled); start again")]
    InvalidGrant,
    #[error("the sign-in was cancelled")]
    Cancelled,
    #[error("the platform's answer could not be read: {0}")]
    BadAnswer(String),
}

/// Checks a platform URL as a person types it in Settings: http(s), a host, no trailing slash.
pub fn normalise_url(text: &str) -> Result<String, PlatformError> {
    let url = text.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| PlatformError::BadUrl(text.to_string()))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PlatformError::BadUrl(text.to_string()));
    }
    url.parse::<hyper::Uri>()
        .map_err(|_| PlatformError::BadUrl(text.to_string()))?;
    Ok(url.to_string())
}

/// What the platform answers to `POST /v1/device/code`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct DeviceAuthorization {
    /// Secret: what the app polls with. Never shown.
    pub device_code: String,
    /// What the person checks in the browser, `XXXX-XXXX`.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    #[serde(default = "five")]
    pub interval: u64,
}

fn five() -> u64 {
    5
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri_complete", &self.verification_uri_complete)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// The key the platform issued for this device. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct IssuedKey {
    pub access_token: String,
    pub key_id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedKey")
            .field("key_id", &self.key_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// One poll's outcome that is not final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    Pending,
    SlowDown,
    Approved(IssuedKey),
}

/// A revocation list fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The list is the one with the ETag sent.
    NotModified,
    New {
        text: String,
        etag: Option<String>,
    },
}

/// The platform at one base URL.
#[derive(Debug, Clone)]
pub struct PlatformClient {
    base: String,
}

#[derive(Deserialize)]
struct OauthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

impl PlatformClient {
    pub fn new(base_url: &str) -> Result<Self, PlatformError> {
        Ok(Self {
            base: normalise_url(base_url)?,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The platform's `/v1/revocations` URL.
    pub fn revocations_url(&self) -> String {
        format!("{}/v1/revocations", self.base)
    }

    /// The updater feed in tauri-plugin-updater's template form.
    pub fn updates_url(&self) -> String {
        format!(
            "{}/v1/releases/{{{{target}}}}/{{{{arch}}}}/{{{{current_version}}}}",
            self.base
        )
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Result<(u16, hyper::HeaderMap, String), PlatformError> {
        let url = format!("{}{path}", self.base);
        let unreachable = |reason: String| PlatformError::Unreachable {
            url: self.base.clone(),
            reason,
        };
        let mut request = hyper::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let body = match form {
            Some(fields) => {
                request = request.header("content-type", "application/x-www-form-urlencoded");
                Bytes::from(
                    serde_urlencoded::to_string(fields)
                        .map_err(|e| PlatformError::BadAnswer(e.to_string()))?,
                )
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(body))
            .map_err(|e| unreachable(e.to_string()))?;
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, Full<Bytes>>(hyper_tls::HttpsConnector::new());
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = Limited::new(response.into_body(), MAX_BYTES)
                .collect()
                .await
                .map_err(|e| unreachable(e.to_string()))?
                .to_bytes();
            let text = String::from_utf8(body.to_vec())
                .map_err(|_| PlatformError::BadAnswer("the answer is not text".into()))?;
            Ok((status, headers, text))
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer within {TIMEOUT:?}")))?
    }

    fn refused(status: u16, body: &str) -> PlatformError {
        let message = serde_json::from_str::<OauthError>(body)
            .map(|e| {
                if e.error_description.is_empty() {
                    e.error
                } else {
                    e.error_description
                }
            })
            .unwrap_or_else(|_| body.chars().take(200).collect());
        PlatformError::Refused { status, message }
    }

    /// Starts a browser sign-in for `device_name`, asking for `scopes` (the platform's default
    /// when `None`).
    pub async fn start_device_sign_in(
        &self,
        device_name: &str,
        scopes: Option<&Scopes>,
    ) -> Result<DeviceAuthorization, PlatformError> {
        let names = scopes.map(|s| s.names().join(" "));
        let mut form = vec![("client_id", CLIENT_ID), ("device_name", device_name)];
        if let Some(names) = &names {
            form.push(("scope", names));
        }
        let (status, _, body) = self
            .send("POST", "/v1/device/code", &[], Some(&form))
            .await?;
        if status != 200 {
            return Err(Self::refused(status, &body));
        }
        serde_json::from_str(&body).map_err(|e| PlatformError::BadAnswer(e.to_string()))
    }

    /// One poll of the token endpoint.
    pub async fn poll(&self, auth: &DeviceAuthorization) -> Result<Poll, PlatformError> {
        let form = [
            ("grant_type", DEVICE_GRANT),
            ("device_code", auth.device_code.as_str()),
            ("client_id", CLIENT_ID),
        ];
        let (status, _, body) = self
            .send("POST", "/v1/device/token", &[], Some(&form))
            .await?;
        if status == 200 {
            return serde_json::from_str(&body)
                .map(Poll::Approved)
                .map_err(|e| PlatformError::BadAnswer(e.to_string()));
        }
        match serde_json::from_str::<OauthError>(&body).map(|e| e.error) {
            Ok(e) if e == "authorization_pending" => Ok(Poll::Pending),
            Ok(e) if e == "slow_down" => Ok(Poll::SlowDown),
            Ok(e) if e == "access_denied" => Err(PlatformError::Denied),
            Ok(e) if e == "expired_token" => Err(PlatformError::Expired),
            Ok(e) if e == "invalid_grant" => Err(PlatformError::InvalidGrant),
            _ => Err(Self::refused(status, &body)),
        }
    }

    /// Polls as RFC 8628 §3.5 asks until the person approves or denies, the code expires, or
    /// `cancelled` says stop.
    pub async fn wait_for_approval(
        &self,
        auth: &DeviceAuthorization,
        cancelled: impl Fn() -> bool,
    ) -> Result<IssuedKey, PlatformError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(auth.expires_in);
        let mut interval = Duration::from_secs(auth.interval.max(1));
        loop {
            let wake = tokio::time::Instant::now() + interval;
            while tokio::time::Instant::now() < wake {
                if cancelled() {
                    return Err(PlatformError::Cancelled);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if cancelled() {
                return Err(PlatformError::Cancelled);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PlatformError::Expired);
            }
            match self.poll(auth).await? {
                Poll::Approved(key) => return Ok(key),
                Poll::Pending => {}
                Poll::SlowDown => interval += Duration::from_secs(5),
            }
        }
    }

    /// Revokes `key_text` on the platform (the key proves itself). Returns when it was revoked.
    pub async fn revoke_self(&self, key_text: &str) -> Result<i64, PlatformError> {
        let auth = format!("Bearer {}", key_text.trim());
        let (status, _, body) = self
            .send(
                "POST",
                "/v1/keys/self/revoke",
                &[("authorization", &auth)],
                None,
            )
            .await?;
        if status != 200 {
            return Err(Self::refused(status, &body));
        }
        serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["revoked_at"].as_i64())
            .ok_or_else(|| PlatformError::BadAnswer("no revoked_at".into()))
    }

    /// The signed revocation list, unless it is still the one with `etag`. The text is not
    /// verified here.
    pub async fn fetch_revocations(&self, etag: Option<&str>) -> Result<Fetched, PlatformError> {
        let headers: Vec<(&str, &str)> = etag.map(|e| ("if-none-match", e)).into_iter().collect();
        let (status, headers, body) = self.send("GET", "/v1/revocations", &headers, None).await?;
        match status {
            304 => Ok(Fetched::NotModified),
            200 => Ok(Fetched::New {
                text: body,
                etag: headers
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            }),
            _ => Err(Self::refused(status, &body)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            normalise_url(" https://quantdesk.app/ ").unwrap(),
            "https://quantdesk.app"
        );
        assert_eq!(
            normalise_url("http://127.0.0.1:8787").unwrap(),
            "http://127.0.0.1:8787"
        );
        for bad in ["quantdesk.app", "ftp://x", "https://", "http://a b", ""] {
            assert!(normalise_url(bad).is_err(), "{bad}");
        }
        let c = PlatformClient::new("http://127.0.0.1:8787").unwrap();
        assert_eq!(
            c.updates_url(),
            "http://127.0.0.1:8787/v1/releases/{{target}}/{{arch}}/{{current_version}}"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let auth = DeviceAuthorization {
            device_code: "SECRET-DEVICE-CODE".into(),
            user_code: "BCDF-GHJK".into(),
            verification_uri: "u".into(),
            verification_uri_complete: "u".into(),
            expires_in: 900,
            interval: 5,
        };
        assert!(!format!("{auth:?}").contains("SECRET"));
        let key = IssuedKey {
            access_token: "qdk_SECRET".into(),
            key_id: "k_1".into(),
            scopes: vec![],
        };
        assert!(!format!("{key:?}").contains("SECRET"));
    }
}
