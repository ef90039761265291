//! The device page of the app's browser sign-in (RFC 8628): the person signs in, enters (or
//! finds filled in) the code the app shows, sees the device's name and the scopes it asks for,
//! and approves or denies. Wrong codes count against the client address and the account, so
//! guessing is throttled.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::account::{FORGET_AFTER, wait_secs};
use super::session::Visitor;
use super::{Posted, csrf_field, encode_query, page, sign_in_first};
use crate::api::{normalise_user_code, show_user_code};
use crate::db::device::{DeviceCode, DeviceStatus};
use crate::db::now;
use crate::{AppState, WebError};

#[derive(Debug, Deserialize)]
pub struct CodeQuery {
    user_code: Option<String>,
}

fn entry_markup(visitor: &Visitor, typed: &str, error: Option<&str>) -> Markup {
    html! {
        section.card.narrow {
            h1 { "Sign in the QuantDesk app" }
            p.muted { "Enter the code the app shows." }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/device" {
                (csrf_field(visitor))
                label { "Code" input.code type="text" name="user_code" value=(typed) placeholder="XXXX-XXXX" autocomplete="off" autocapitalize="characters" maxlength="20" required; }
                button type="submit" { "Continue" }
            }
        }
    }
}

fn confirm_markup(visitor: &Visitor, code: &DeviceCode) -> Markup {
    html! {
        section.card.narrow #device-confirm {
            h1 { "Sign in this app?" }
            p { strong.device-name { (code.device_name) } " asks to use your QuantDesk account with code " code.user-code { (show_user_code(&code.user_code)) } "." }
            p { "Check that this is the code your app shows. If you did not start this sign-in, deny it." }
            p { "It will get a new API key with these scopes:" }
            ul.scopes {
                @for s in &code.scopes {
                    li { code { (s) } @if let Ok(scope) = s.parse::<quantdesk_keys::Scope>() { " — " (super::keys::scope_label(scope)) } }
                }
            }
            div.actions {
                form.inline method="post" action="/device/decide" {
                    (csrf_field(visitor))
                    input type="hidden" name="user_code" value=(code.user_code);
                    input type="hidden" name="decision" value="approve";
                    button #approve type="submit" { "Approve" }
                }
                form.inline method="post" action="/device/decide" {
                    (csrf_field(visitor))
                    input type="hidden" name="user_code" value=(code.user_code);
                    input type="hidden" name="decision" value="deny";
                    button.secondary #deny type="submit" { "Deny" }
                }
            }
        }
    }
}

/// Looks the typed code up, counting a miss against the address and the account.
async fn find(
    state: &AppState,
    visitor: &Visitor,
    account_id: &str,
    typed: &str,
) -> Result<Result<DeviceCode, (StatusCode, String)>, WebError> {
    let now = now();
    let buckets = [
        format!("device:ip:{}", visitor.ip),
        format!("device:acct:{account_id}"),
    ];
    for bucket in &buckets {
        if let Some(wait) = wait_secs(state.db.failures(bucket).await?, now) {
            return Ok(Err((
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many wrong codes. Wait {wait} seconds and try again."),
            )));
        }
    }
    let found = match normalise_user_code(typed) {
        Some(code) => state.db.device_code_by_user_code(&code).await?,
        None => None,
    };
    match found {
        Some(code) if code.status == DeviceStatus::Pending && code.expires_at > now => Ok(Ok(code)),
        _ => {
            for bucket in &buckets {
                state.db.add_failure(bucket, now, FORGET_AFTER).await?;
            }
            Ok(Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "That code is not valid or has expired. Check the code in the app, or start the sign-in again there.".into(),
            )))
        }
    }
}

async fn show(state: &AppState, visitor: Visitor, typed: &str) -> Result<Response, WebError> {
    let Some(account) = visitor.account.clone() else {
        return Ok(sign_in_first(&format!(
            "/device?user_code={}",
            encode_query(typed)
        )));
    };
    if typed.trim().is_empty() {
        return Ok(page(
            &visitor,
            StatusCode::OK,
            "Sign in the app",
            entry_markup(&visitor, "", None),
        ));
    }
    Ok(match find(state, &visitor, &account.id, typed).await? {
        Ok(code) => page(
            &visitor,
            StatusCode::OK,
            "Sign in the app",
            confirm_markup(&visitor, &code),
        ),
        Err((status, e)) => page(
            &visitor,
            status,
            "Sign in the app",
            entry_markup(&visitor, typed, Some(&e)),
        ),
    })
}

pub async fn device_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(query): Query<CodeQuery>,
) -> Result<Response, WebError> {
    let typed: String = query
        .user_code
        .unwrap_or_default()
        .chars()
        .take(20)
        .collect();
    show(&state, visitor, &typed).await
}

pub async fn lookup(
    State(state): State<AppState>,
    Posted { visitor, fields }: Posted,
) -> Result<Response, WebError> {
    let typed: String = fields
        .get("user_code")
        .unwrap_or_default()
        .chars()
        .take(20)
        .collect();
    show(&state, visitor, &typed).await
}

pub async fn decide(
    State(state): State<AppState>,
    Posted { visitor, fields }: Posted,
) -> Result<Response, WebError> {
    let Some(account) = visitor.account.clone() else {
        return Ok(sign_in_first("/device"));
    };
    let approve = match fields.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return Ok(page(
                &visitor,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Sign in the app",
                entry_markup(&visitor, "", Some("Choose Approve or Deny.")),
            ));
        }
    };
    if approve && !account.email_verified {
        return Ok(page(
            &visitor,
            StatusCode::FORBIDDEN,
            "Verify your email",
            html! { section.card.narrow { h1 { "Verify your email first" } p { "Open the link we sent to " strong { (account.email) } ", then enter the code again." } } },
        ));
    }
    let code = fields.get("user_code").and_then(normalise_user_code);
    let decided = match &code {
        Some(code) => {
            state
                .db
                .decide_device_code(code, &account.id, approve, now())
                .await?
        }
        None => false,
    };
    if !decided {
        return Ok(page(
            &visitor,
            StatusCode::CONFLICT,
            "Sign in the app",
            entry_markup(
                &visitor,
                "",
                Some(
                    "That code is no longer waiting: it expired or was already used. Start the sign-in again in the app.",
                ),
            ),
        ));
    }
    tracing::info!(account = %account.id, approve, "device sign-in decided");
    Ok(page(
        &visitor,
        StatusCode::OK,
        if approve {
            "App signed in"
        } else {
            "Sign-in denied"
        },
        html! {
            section.card.narrow #device-done {
                @if approve {
                    h1 { "The app is signed in" }
                    p { "QuantDesk now has its key; you can close this window and go back to the app." }
                } @else {
                    h1 { "Sign-in denied" }
                    p { "The app gets no key. You can close this window." }
                }
            }
        },
    ))
}
