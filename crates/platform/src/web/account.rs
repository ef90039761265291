//! Accounts on the website: sign up, verify the email, sign in (throttled per account and per
//! client address, in the database), sign out, reset the password by mail, delete the account.
//! Sign-in, sign-up and reset answer in the same words whether or not an email has an account.

use maud::{Markup, html};
use serde::Deserialize;

use crate::db::throttle::Failures;
use crate::mail::Mail;
use crate::password;
use crate::{AppState, WebError};

mod manage;
mod reset;
mod signin;
mod signup;

pub use manage::{account_page, delete_account};
pub use reset::{reset, reset_confirm, reset_confirm_form, reset_form};
pub use signin::{signin, signin_form, signout};
pub use signup::{resend_verification, signup, signup_form, verify};

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

#[cfg(test)]
mod tests;
