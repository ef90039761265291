//! Who is asking: the browser session (a ≥128-bit random id in an HttpOnly, SameSite=Lax cookie,
//! Secure over https, stored only as its SHA-256, with idle and absolute expiry), the CSRF token
//! every form carries (double-submit: a random HttpOnly cookie whose value each form repeats),
//! and the client's address for throttling.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::db::accounts::Account;
use crate::db::now;
use crate::{AppState, WebError};

/// Idle expiry of a browser session.
pub const SESSION_IDLE_SECS: i64 = 30 * 60;
/// Absolute expiry of a browser session.
pub const SESSION_MAX_SECS: i64 = 12 * 3600;

/// 32 random bytes, base64url: session ids, CSRF tokens, mail tokens, device codes.
pub fn random_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex SHA-256 a token is stored as.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The names of our cookies: `__Host-` prefixed over https, which pins them to this origin.
pub fn cookie_name(state: &AppState, base: &str) -> String {
    if state.secure_cookies() {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// A `Set-Cookie` value for one of our cookies; `max_age` 0 deletes it.
pub fn set_cookie(state: &AppState, base: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(state, base)
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// A cookie's value from the request, if it is there once and well formed.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| {
            v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The visitor: their signed-in account (if any), their CSRF token, and their address.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub account: Option<Account>,
    pub session_hash: Option<String>,
    /// The CSRF token forms must repeat; `new_csrf` says it must be set as a cookie.
    pub csrf: String,
    pub new_csrf: bool,
    /// The `Set-Cookie` for a new CSRF token.
    pub csrf_cookie: Option<HeaderValue>,
    pub ip: IpAddr,
}

impl Visitor {
    /// Does a form's `csrf` field match this visitor's cookie?
    pub fn csrf_ok(&self, form_value: Option<&str>) -> bool {
        !self.new_csrf
            && form_value.is_some_and(|v| {
                crate::password::constant_time_eq(v.as_bytes(), self.csrf.as_bytes())
            })
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let ip = if state.config.behind_proxy {
            forwarded_for(&parts.headers).unwrap_or(peer)
        } else {
            peer
        };
        let (csrf, new_csrf) = match cookie(&parts.headers, &cookie_name(state, "qd_csrf")) {
            Some(v) if v.len() >= 32 => (v, false),
            _ => (random_token()?, true),
        };
        let mut account = None;
        let mut session_hash = None;
        if let Some(id) = cookie(&parts.headers, &cookie_name(state, "qd_session")) {
            let hash = token_hash(&id);
            account = state
                .db
                .session_account(&hash, now(), SESSION_IDLE_SECS)
                .await?;
            if account.is_some() {
                session_hash = Some(hash);
            }
        }
        let csrf_cookie = new_csrf.then(|| set_cookie(state, "qd_csrf", &csrf, 30 * 86_400));
        Ok(Visitor {
            account,
            session_hash,
            csrf,
            new_csrf,
            csrf_cookie,
            ip,
        })
    }
}

/// The client address a trusted reverse proxy put last in `X-Forwarded-For`.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get("x-forwarded-for")?
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_strictly() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; qd_session=abc_DEF-9; b=<script>"),
        );
        assert_eq!(cookie(&h, "qd_session").as_deref(), Some("abc_DEF-9"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(cookie(&h, "missing"), None);
        assert_eq!(token_hash("x").len(), 64);
        assert_eq!(random_token().unwrap().len(), 43);
    }

    #[test]
    fn the_last_forwarded_address_counts() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 10.0.0.9"),
        );
        assert_eq!(forwarded_for(&h), Some(IpAddr::from([10, 0, 0, 9])));
    }
}
