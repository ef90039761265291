//! Accounts on the website: sign up, verify the email, sign in (throttled per account and per
//! client address, in the database), sign out, reset the password by mail, delete the account.
//! Sign-in, sign-up and reset answer in the same words whether or not an email has an account.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::session::{SESSION_MAX_SECS, Visitor, random_token, set_cookie, token_hash};
use super::{Posted, clean_email, csrf_field, page, safe_next, sign_in_first};
use crate::db::accounts::TokenPurpose;
use crate::db::now;
use crate::db::throttle::Failures;
use crate::mail::Mail;
use crate::password;
use crate::{AppState, WebError};

/// Failed sign-ins to one account allowed before the delay starts.
pub const FREE_FAILURES: i64 = 5;
/// Failed sign-ins from one client address (to any accounts) allowed before the delay starts:
/// more than for one account, since many people can share an address.
pub const FREE_FAILURES_PER_ADDRESS: i64 = 20;
/// A throttle bucket quiet this long starts again.
pub const FORGET_AFTER: i64 = 3600;

/// Seconds still to wait before another attempt, if any: after [`FREE_FAILURES`] failures the
/// wait doubles with each one (2 s, 4 s, 8 s, … up to an hour).
pub fn wait_secs(failures: Failures, now: i64) -> Option<i64> {
    wait_secs_after(failures, FREE_FAILURES, now)
}

/// [`wait_secs`] with `free` failures allowed before the delay.
pub fn wait_secs_after(failures: Failures, free: i64, now: i64) -> Option<i64> {
    if failures.count < free {
        return None;
    }
    let exponent = u32::try_from((failures.count - free + 1).min(12)).unwrap_or(12);
    let wait = 2i64.pow(exponent).min(3600);
    let left = failures.last_at + wait - now;
    (left > 0).then_some(left)
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

fn error_box(error: Option<&str>) -> Markup {
    html! { @if let Some(e) = error { p.error role="alert" { (e) } } }
}

fn mail_note(state: &AppState) -> Markup {
    html! {
        @if state.mailer.logs_only() {
            p.note { "This platform has no mail server configured: the message was written to the platform's log instead." }
        }
    }
}

async fn hash_password(
    state: &AppState,
    password: String,
) -> Result<Result<String, password::PasswordError>, WebError> {
    let _slot = state
        .hash_slots
        .acquire()
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let memory = state.hash_memory.clone();
    tokio::task::spawn_blocking(move || password::hash_in(&memory, &password))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))
}

async fn verify_password(
    state: &AppState,
    password: String,
    hash: String,
) -> Result<bool, WebError> {
    let _slot = state
        .hash_slots
        .acquire()
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let memory = state.hash_memory.clone();
    tokio::task::spawn_blocking(move || password::verify_in(&memory, &password, &hash))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))
}

async fn send(state: &AppState, mail: Mail) {
    if let Err(err) = state.mailer.send(&mail).await {
        tracing::error!(%err, "mail not sent");
    }
}

fn signup_markup(visitor: &Visitor, email: &str, error: Option<&str>) -> Markup {
    html! {
        section.card.narrow {
            h1 { "Create your QuantDesk account" }
            p.muted { "One account gives you API keys for the desktop app. Your strategies, orders and broker keys stay on your computer." }
            (error_box(error))
            form method="post" action="/signup" {
                (csrf_field(visitor))
                label { "Email" input type="email" name="email" value=(email) autocomplete="email" required; }
                label { "Password" input type="password" name="password" autocomplete="new-password" minlength="12" required; }
                p.hint { "At least 12 characters; not one of the most common passwords." }
                button type="submit" { "Create account" }
            }
            p.muted { "Already have an account? " a href="/signin" { "Sign in" } }
        }
    }
}

pub async fn signup_form(visitor: Visitor) -> Response {
    page(
        &visitor,
        StatusCode::OK,
        "Sign up",
        signup_markup(&visitor, "", None),
    )
}

pub async fn signup(
    State(state): State<AppState>,
    Posted { visitor, fields }: Posted,
) -> Result<Response, WebError> {
    let typed = fields.get("email").unwrap_or_default();
    let refuse = |e: &str| {
        page(
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Sign up",
            signup_markup(&visitor, typed, Some(e)),
        )
    };
    let email = match clean_email(Some(typed)) {
        Ok(e) => e,
        Err(e) => return Ok(refuse(&e)),
    };
    let pass = fields.get("password").unwrap_or_default().to_string();
    if let Err(e) = password::check_new(&pass, &email) {
        return Ok(refuse(&e.to_string()));
    }
    let hash = match hash_password(&state, pass).await? {
        Ok(h) => h,
        Err(e) => return Err(WebError::Internal(e.to_string())),
    };
    let id = format!("acct_{}", &random_token()?.replace(['-', '_'], "")[..20]);
    let now = now();
    if state.db.create_account(&id, &email, &hash, now).await? {
        let token = random_token()?;
        state
            .db
            .create_mail_token(
                &token_hash(&token),
                &id,
                TokenPurpose::Verify,
                now,
                now + 86_400,
            )
            .await?;
        let link = state.url(&format!("/verify?token={token}"));
        send(&state, Mail {
            to: email.clone(),
            subject: "Verify your email for QuantDesk".into(),
            body: format!("Welcome to QuantDesk.\n\nOpen this link to verify your email address (valid for 24 hours):\n{link}\n\nIf you did not sign up, ignore this message."),
        })
        .await;
        tracing::info!(account = %id, "account created");
    } else {
        send(&state, Mail {
            to: email.clone(),
            subject: "Someone tried to sign up with your email".into(),
            body: format!("Someone tried to create a QuantDesk account with this address, which already has one.\n\nIf it was you, sign in at {} or reset your password at {}.\nIf not, ignore this message.", state.url("/signin"), state.url("/reset")),
        })
        .await;
    }
    Ok(page(
        &visitor,
        StatusCode::OK,
        "Check your inbox",
        html! {
            section.card.narrow {
                h1 { "Check your inbox" }
                p { "We sent a message to " strong { (email) } ". Open the link in it to verify your address, then sign in." }
                (mail_note(&state))
            }
        },
    ))
}

pub async fn verify(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(query): Query<TokenQuery>,
) -> Result<Response, WebError> {
    let token = query.token.unwrap_or_default();
    let account = if token.is_empty() || token.len() > 128 {
        None
    } else {
        state
            .db
            .use_mail_token(&token_hash(&token), TokenPurpose::Verify, now())
            .await?
    };
    let Some(account) = account else {
        return Ok(page(
            &visitor,
            StatusCode::BAD_REQUEST,
            "Link not valid",
            html! { section.card.narrow { h1 { "This link is not valid" } p { "It may have expired or been used already. Sign in to send a new one." } } },
        ));
    };
    state.db.mark_verified(&account, now()).await?;
    Ok(page(
        &visitor,
        StatusCode::OK,
        "Email verified",
        html! { section.card.narrow { h1 { "Your email is verified" } p { "You can now create API keys and sign the desktop app in." } p { a.button href="/keys" { "Continue" } } } },
    ))
}

pub async fn resend_verification(
    State(state): State<AppState>,
    Posted { visitor, .. }: Posted,
) -> Result<Response, WebError> {
    let Some(account) = visitor.account.clone() else {
        return Ok(sign_in_first("/keys"));
    };
    if !account.email_verified {
        let token = random_token()?;
        let now = now();
        state
            .db
            .create_mail_token(
                &token_hash(&token),
                &account.id,
                TokenPurpose::Verify,
                now,
                now + 86_400,
            )
            .await?;
        let link = state.url(&format!("/verify?token={token}"));
        send(
            &state,
            Mail {
                to: account.email.clone(),
                subject: "Verify your email for QuantDesk".into(),
                body: format!(
                    "Open this link to verify your email address (valid for 24 hours):\n{link}"
                ),
            },
        )
        .await;
    }
    Ok(page(
        &visitor,
        StatusCode::OK,
        "Check your inbox",
        html! { section.card.narrow { h1 { "Check your inbox" } p { "We sent a new link to " strong { (account.email) } "." } (mail_note(&state)) } },
    ))
}

fn signin_markup(visitor: &Visitor, email: &str, next: &str, error: Option<&str>) -> Markup {
    html! {
        section.card.narrow {
            h1 { "Sign in to QuantDesk" }
            (error_box(error))
            form method="post" action="/signin" {
                (csrf_field(visitor))
                input type="hidden" name="next" value=(next);
                label { "Email" input type="email" name="email" value=(email) autocomplete="email" required; }
                label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "Sign in" }
            }
            p.muted { a href="/reset" { "Forgot your password?" } " · " a href="/signup" { "Create an account" } }
        }
    }
}

pub async fn signin_form(visitor: Visitor, Query(query): Query<NextQuery>) -> Response {
    let next = safe_next(query.next.as_deref());
    if visitor.account.is_some() {
        return Redirect::to(&next).into_response();
    }
    page(
        &visitor,
        StatusCode::OK,
        "Sign in",
        signin_markup(&visitor, "", &next, None),
    )
}

pub async fn signin(
    State(state): State<AppState>,
    Posted { visitor, fields }: Posted,
) -> Result<Response, WebError> {
    let next = safe_next(fields.get("next"));
    let typed = fields.get("email").unwrap_or_default();
    let wrong = "Email or password is wrong.";
    let refuse = |status, e: &str| {
        page(
            &visitor,
            status,
            "Sign in",
            signin_markup(&visitor, typed, &next, Some(e)),
        )
    };
    let Ok(email) = clean_email(Some(typed)) else {
        return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, wrong));
    };
    let now = now();
    let account_bucket = format!("signin:acct:{email}");
    let ip_bucket = format!("signin:ip:{}", visitor.ip);
    for (bucket, free) in [
        (&account_bucket, FREE_FAILURES),
        (&ip_bucket, FREE_FAILURES_PER_ADDRESS),
    ] {
        if let Some(wait) = wait_secs_after(state.db.failures(bucket).await?, free, now) {
            let text = format!("Too many failed sign-ins. Wait {wait} seconds and try again.");
            return Ok(refuse(StatusCode::TOO_MANY_REQUESTS, &text));
        }
    }
    let pass = fields.get("password").unwrap_or_default().to_string();
    let found = state.db.account_by_email(&email).await?;
    let hash = found
        .as_ref()
        .map_or_else(|| password::dummy_hash().to_string(), |(_, h)| h.clone());
    let matches = verify_password(&state, pass, hash).await?;
    let Some((account, _)) = found.filter(|_| matches) else {
        state
            .db
            .add_failure(&account_bucket, now, FORGET_AFTER)
            .await?;
        state.db.add_failure(&ip_bucket, now, FORGET_AFTER).await?;
        return Ok(refuse(StatusCode::UNAUTHORIZED, wrong));
    };
    state.db.clear_failures(&account_bucket).await?;
    let session = random_token()?;
    state
        .db
        .create_session(
            &token_hash(&session),
            &account.id,
            now,
            now + SESSION_MAX_SECS,
        )
        .await?;
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, "qd_session", &session, SESSION_MAX_SECS),
    );
    Ok(response)
}

pub async fn signout(
    State(state): State<AppState>,
    Posted { visitor, .. }: Posted,
) -> Result<Response, WebError> {
    if let Some(hash) = &visitor.session_hash {
        state.db.delete_session(hash).await?;
    }
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(&state, "qd_session", "", 0));
    Ok(response)
}

fn reset_markup(visitor: &Visitor, email: &str, error: Option<&str>) -> Markup {
    html! {
        section.card.narrow {
            h1 { "Reset your password" }
            (error_box(error))
            form method="post" action="/reset" {
                (csrf_field(visitor))
                label { "Email" input type="email" name="email" value=(email) autocomplete="email" required; }
                button type="submit" { "Send a reset link" }
            }
        }
    }
}

pub async fn reset_form(visitor: Visitor) -> Response {
    page(
        &visitor,
        StatusCode::OK,
        "Reset password",
        reset_markup(&visitor, "", None),
    )
}

pub async fn reset(
    State(state): State<AppState>,
    Posted { visitor, fields }: Posted,
) -> Result<Response, WebError> {
    let typed = fields.get("email").unwrap_or_default();
    let email = match clean_email(Some(typed)) {
        Ok(e) => e,
        Err(e) => {
            return Ok(page(
                &visitor,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Reset password",
                reset_markup(&visitor, typed, Some(&e)),
            ));
        }
    };
    if let Some((account, _)) = state.db.account_by_email(&email).await? {
        let token = random_token()?;
        let now = now();
        state
            .db
            .create_mail_token(
                &token_hash(&token),
                &account.id,
                TokenPurpose::Reset,
                now,
                now + 3600,
            )
            .await?;
        let link = state.url(&format!("/reset/confirm?token={token}"));
        send(&state, Mail {
            to: email.clone(),
            subject: "Reset your QuantDesk password".into(),
            body: format!("Open this link to choose a new password (valid for one hour):\n{link}\n\nIf you did not ask for this, ignore this message: your password stays as it is."),
        })
        .await;
    }
    Ok(page(
        &visitor,
        StatusCode::OK,
        "Check your inbox",
        html! { section.card.narrow { h1 { "Check your inbox" } p { "If an account exists for " strong { (email) } ", we sent it a link to reset the password." } (mail_note(&state)) } },
    ))
}

fn new_password_markup(visitor: &Visitor, token: &str, error: Option<&str>) -> Markup {
    html! {
        section.card.narrow {
            h1 { "Choose a new password" }
            (error_box(error))
            form method="post" action="/reset/confirm" {
                (csrf_field(visitor))
                input type="hidden" name="token" value=(token);
                label { "New password" input type="password" name="password" autocomplete="new-password" minlength="12" required; }
                button type="submit" { "Set password" }
            }
        }
    }
}

fn link_not_valid(visitor: &Visitor) -> Response {
    page(
        visitor,
        StatusCode::BAD_REQUEST,
        "Link not valid",
        html! { section.card.narrow { h1 { "This link is not valid" } p { "It may have expired or been used already. " a href="/reset" { "Ask for a new one" } "." } } },
    )
}

pub async fn reset_confirm_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(query): Query<TokenQuery>,
) -> Result<Response, WebError> {
    let token = query.token.unwrap_or_default();
    if token.len() > 128
        || !state
            .db
            .mail_token_valid(&token_hash(&token), TokenPurpose::Reset, now())
            .await?
    {
        return Ok(link_not_valid(&visitor));
    }
    Ok(page(
        &visitor,
        StatusCode::OK,
        "New password",
        new_password_markup(&visitor, &token, None),
    ))
}

pub async fn reset_confirm(
    State(state): State<AppState>,
    Posted { visitor, fields }: Posted,
) -> Result<Response, WebError> {
    let token = fields.get("token").unwrap_or_default();
    let pass = fields.get("password").unwrap_or_default().to_string();
    if let Err(e) = password::check_new(&pass, "") {
        return Ok(page(
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            "New password",
            new_password_markup(&visitor, token, Some(&e.to_string())),
        ));
    }
    let now = now();
    let account = if token.len() > 128 {
        None
    } else {
        state
            .db
            .use_mail_token(&token_hash(token), TokenPurpose::Reset, now)
            .await?
    };
    let Some(account) = account else {
        return Ok(link_not_valid(&visitor));
    };
    let hash = hash_password(&state, pass)
        .await?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    state.db.set_password(&account, &hash).await?;
    state.db.mark_verified(&account, now).await?;
    state.db.delete_sessions_of(&account).await?;
    Ok(page(
        &visitor,
        StatusCode::OK,
        "Password changed",
        html! { section.card.narrow { h1 { "Your password is changed" } p { "Every browser signed in to this account was signed out. " a href="/signin" { "Sign in" } " with the new password." } } },
    ))
}

pub async fn account_page(visitor: Visitor) -> Response {
    let Some(account) = visitor.account.clone() else {
        return sign_in_first("/account");
    };
    page(
        &visitor,
        StatusCode::OK,
        "Your account",
        html! {
            section.card {
                h1 { "Your account" }
                dl {
                    dt { "Email" } dd { (account.email) @if !account.email_verified { " (not verified yet)" } }
                    dt { "Account id" } dd { code { (account.id) } }
                    dt { "Created" } dd { (quantdesk_keys::show_time(account.created_at)) }
                }
            }
            section.card.danger {
                h2 { "Delete this account" }
                p { "Every API key of this account is revoked at once (apps using them stop working at their next check), then the account, its keys, sessions and pending sign-ins are deleted. This cannot be undone." }
                form method="post" action="/account/delete" {
                    (csrf_field(&visitor))
                    label { "Your password, to confirm" input type="password" name="password" autocomplete="current-password" required; }
                    button.danger type="submit" { "Delete my account" }
                }
            }
        },
    )
}

pub async fn delete_account(
    State(state): State<AppState>,
    Posted { visitor, fields }: Posted,
) -> Result<Response, WebError> {
    let Some(account) = visitor.account.clone() else {
        return Ok(sign_in_first("/account"));
    };
    let Some((_, hash)) = state.db.account_by_id(&account.id).await? else {
        return Ok(sign_in_first("/account"));
    };
    let pass = fields.get("password").unwrap_or_default().to_string();
    if !verify_password(&state, pass, hash).await? {
        return Ok(page(
            &visitor,
            StatusCode::UNAUTHORIZED,
            "Your account",
            html! { section.card.narrow { h1 { "Not deleted" } p.error { "The password is wrong; nothing was deleted." } p { a href="/account" { "Back" } } } },
        ));
    }
    let deleted = state.db.delete_account(&account.id, now()).await?;
    tracing::info!(account = %account.id, ?deleted, "account deleted");
    let mut response = page(
        &visitor,
        StatusCode::OK,
        "Account deleted",
        html! {
            section.card.narrow {
                h1 { "Your account is deleted" }
                ul {
                    li { (deleted.keys_revoked) " API keys revoked (they are in the signed revocation list until they would have expired)" }
                    li { (deleted.keys_deleted) " API key records deleted" }
                    li { (deleted.sessions) " browser sessions ended" }
                    li { (deleted.device_codes) " app sign-ins deleted" }
                    li { "the account " code { (account.id) } " and its email address " (account.email) " deleted" }
                }
            }
        },
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(&state, "qd_session", "", 0));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_after_five_failures() {
        let at = |count| Failures {
            count,
            last_at: 1000,
        };
        assert_eq!(wait_secs(at(4), 1000), None);
        assert_eq!(wait_secs(at(5), 1000), Some(2));
        assert_eq!(wait_secs(at(6), 1000), Some(4));
        assert_eq!(wait_secs(at(7), 1003), Some(5));
        assert_eq!(wait_secs(at(5), 1002), None);
        assert_eq!(wait_secs(at(40), 1000), Some(3600));
    }
}
