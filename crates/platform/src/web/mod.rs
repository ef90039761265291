//! The website: server-rendered HTML (maud, escaped by construction) that works without
//! JavaScript; `site.js` only adds a copy button. Every form POST carries the CSRF token, every
//! field is checked before it is used, and anything a visitor types comes back as a form error —
//! never a 500.

pub mod account;
pub mod device;
pub mod downloads;
pub mod keys;
mod layout;
pub mod session;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;

use crate::AppState;
pub use layout::page;
use session::Visitor;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(downloads::landing))
        .route("/downloads", get(downloads::downloads))
        .route("/downloads/{version}/{name}", get(downloads::file))
        .route("/signup", get(account::signup_form).post(account::signup))
        .route("/verify", get(account::verify))
        .route("/verify/resend", post(account::resend_verification))
        .route("/signin", get(account::signin_form).post(account::signin))
        .route("/signout", post(account::signout))
        .route("/reset", get(account::reset_form).post(account::reset))
        .route(
            "/reset/confirm",
            get(account::reset_confirm_form).post(account::reset_confirm),
        )
        .route("/account", get(account::account_page))
        .route("/account/delete", post(account::delete_account))
        .route("/keys", get(keys::keys_page).post(keys::create_key))
        .route("/keys/{key_id}/revoke", post(keys::revoke_key))
        .route("/device", get(device::device_page).post(device::lookup))
        .route("/device/decide", post(device::decide))
        .route("/static/site.css", get(css))
        .route("/static/site.js", get(js))
        .fallback(not_found)
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/site.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/site.js"),
    )
        .into_response()
}

async fn not_found(visitor: Visitor) -> Response {
    page(
        &visitor,
        StatusCode::NOT_FOUND,
        "Not found",
        maud::html! { h1 { "Not found" } p { "There is no page here. " a href="/" { "Home" } } },
    )
}

/// The fields of a urlencoded form, in order, duplicates kept.
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Result<Self, serde_urlencoded::de::Error> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).map(Fields)
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A one-line text field: trimmed, 1 to `max` characters, no control characters (NUL included).
pub fn clean_text(value: Option<&str>, what: &str, max: usize) -> Result<String, String> {
    let value = value.unwrap_or_default().trim();
    if value.is_empty() {
        return Err(format!("Enter {what}."));
    }
    if value.chars().count() > max {
        return Err(format!(
            "{} must be at most {max} characters.",
            capital(what)
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{} must not contain control characters.",
            capital(what)
        ));
    }
    Ok(value.to_string())
}

fn capital(what: &str) -> String {
    let what = what
        .strip_prefix("a ")
        .or_else(|| what.strip_prefix("an "))
        .or_else(|| what.strip_prefix("the "))
        .or_else(|| what.strip_prefix("your "))
        .unwrap_or(what);
    let mut chars = what.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// An email address as stored: trimmed and lower-case, checked for a plausible shape (ASCII,
/// one `@`, a dot in the domain, at most 254 characters).
pub fn clean_email(value: Option<&str>) -> Result<String, String> {
    let email = value.unwrap_or_default().trim().to_ascii_lowercase();
    if email.is_empty() {
        return Err("Enter your email address.".into());
    }
    let ok = email.len() <= 254
        && email.is_ascii()
        && email.chars().all(|c| c.is_ascii_graphic())
        && !email.contains(['<', '>', '"', '\'', '\\', ',', ';', '(', ')', '[', ']'])
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && local.len() <= 64 && !domain.contains('@')
            && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            && !domain.contains(".."));
    if ok {
        Ok(email)
    } else {
        Err("That is not an email address we can send to (name@example.com).".into())
    }
}

/// A local path to go to after sign-in: only `/…` paths on this site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() <= 512
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/keys".to_string(),
    }
}

/// Percent-encodes a query value.
pub fn encode_query(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .map(|s| s.trim_start_matches("v=").to_string())
        .unwrap_or_default()
}

/// Sends a visitor who is not signed in to the sign-in page, back here afterwards.
pub fn sign_in_first(here: &str) -> Response {
    Redirect::to(&format!("/signin?next={}", encode_query(here))).into_response()
}

/// The page for a form that could not be read or whose CSRF token does not match.
pub fn form_refused(visitor: &Visitor, status: StatusCode, why: &str) -> Response {
    page(
        visitor,
        status,
        "Try again",
        maud::html! {
            h1 { "This form could not be used" }
            p.error { (why) }
            p { "Go back, reload the page and try again, or start from the " a href="/" { "home page" } "." }
        },
    )
}

/// Reads a form and checks its CSRF token, or answers with why not.
#[allow(clippy::result_large_err)] // the error is the page to answer with, returned at once
pub fn read_form(visitor: &Visitor, body: &[u8]) -> Result<Fields, Response> {
    let Ok(fields) = Fields::parse(body) else {
        return Err(form_refused(
            visitor,
            StatusCode::BAD_REQUEST,
            "The form's contents could not be read.",
        ));
    };
    if !visitor.csrf_ok(fields.get("csrf")) {
        return Err(form_refused(
            visitor,
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site.",
        ));
    }
    Ok(fields)
}

/// A form POST whose CSRF token matched: who sent it and its fields. A body that is not a form,
/// too large, or without the right token is answered with the refusal page before the handler
/// runs.
#[derive(Debug)]
pub struct Posted {
    pub visitor: Visitor,
    pub fields: Fields,
}

impl axum::extract::FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::FromRequestParts as _;
        let (mut parts, body) = req.into_parts();
        let visitor = Visitor::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let request = axum::extract::Request::from_parts(parts, body);
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields = read_form(&visitor, &bytes)?;
        Ok(Posted { visitor, fields })
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(visitor: &Visitor) -> Markup {
    maud::html! { input type="hidden" name="csrf" value=(visitor.csrf); }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            clean_email(Some(" Alice@Example.COM ")).unwrap(),
            "alice@example.com"
        );
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@b..co", "<a>@b.co", "a@b.co\0",
            "é@b.co",
        ] {
            assert!(clean_email(Some(bad)).is_err(), "{bad:?}");
        }
        assert!(clean_email(Some(&format!("{}@b.co", "a".repeat(300)))).is_err());
    }

    #[test]
    fn text_and_next() {
        assert_eq!(
            clean_text(Some(" laptop "), "a name", 10).unwrap(),
            "laptop"
        );
        assert!(
            clean_text(Some(""), "a name", 10)
                .unwrap_err()
                .contains("Enter a name")
        );
        assert!(
            clean_text(Some("x\0y"), "a name", 10)
                .unwrap_err()
                .contains("Name must not")
        );
        assert!(clean_text(Some(&"x".repeat(11)), "a name", 10).is_err());
        assert_eq!(
            safe_next(Some("/device?user_code=X")),
            "/device?user_code=X"
        );
        assert_eq!(safe_next(Some("//evil.example")), "/keys");
        assert_eq!(safe_next(Some("https://evil.example")), "/keys");
        assert_eq!(safe_next(None), "/keys");
        assert_eq!(
            encode_query("/device?user_code=AB"),
            "%2Fdevice%3Fuser_code%3DAB"
        );
    }

    #[test]
    fn duplicate_fields_are_kept() {
        let f = Fields::parse(b"scope=a&scope=b&name=x%00y").unwrap();
        assert_eq!(f.all("scope").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(f.get("name"), Some("x\0y"));
    }
}
