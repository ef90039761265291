//! The keys page: list an account's keys (name, id, scopes, created, expires, revoked), create
//! one (shown exactly once, with a copy button), revoke one (in the next signed revocation list
//! at once).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use quantdesk_keys::{Scope, Scopes, key_hash, show_time};

use super::session::Visitor;
use super::{Posted, clean_text, csrf_field, page, sign_in_first};
use crate::api::sign_key;
use crate::db::keys::NewKey;
use crate::db::now;
use crate::{AppState, WebError};

/// What a key may be valid for, in days.
pub const EXPIRY_DAYS: [i64; 3] = [30, 90, 365];

/// What a scope allows, in words.
pub fn scope_label(scope: Scope) -> &'static str {
    match scope {
        Scope::MarketRead => "Market data: quotes, bars, options chains, crypto",
        Scope::Analysis => "Analysis: indicators, patterns, screens, risk",
        Scope::Backtest => "Backtests and optimisation",
        Scope::TradePaper => "Paper trading (simulated account)",
        Scope::TradeLive => "Live trading (a real brokerage account)",
        Scope::AccountRead => "Read positions, balances and orders",
    }
}

/// What the page shows above the list.
enum Notice<'a> {
    None,
    Created { key: &'a str, key_id: &'a str },
    Revoked(&'a str),
    Error(&'a str),
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    notice: Notice<'_>,
) -> Result<Response, WebError> {
    let Some(account) = visitor.account.as_ref() else {
        return Ok(sign_in_first("/keys"));
    };
    let keys = state.db.keys_of(&account.id).await?;
    let now = now();
    let content: Markup = html! {
        h1 { "API keys" }
        p.muted { "A key lets the QuantDesk app on one computer use the scopes you choose. The easiest way to get one is " strong { "Sign in with your browser" } " in the app; you can also create one here and paste it." }
        @match notice {
            Notice::Created { key, key_id } => {
                section.card.success #new-key {
                    h2 { "Your new key " code { (key_id) } }
                    p { strong { "Copy it now: it is shown only this once." } " Paste it into the QuantDesk app's sign-in step or Settings." }
                    div.keybox {
                        code #key-text { (key) }
                        button.copy type="button" data-copy="key-text" hidden { "Copy" }
                    }
                }
            }
            Notice::Revoked(key_id) => { p.success role="status" { "Key " code { (key_id) } " is revoked. It is in the signed revocation list now; apps refuse it at their next check." } }
            Notice::Error(e) => { p.error role="alert" { (e) } }
            Notice::None => {}
        }
        @if !account.email_verified {
            section.card.warn {
                p { "Verify your email address to create keys: open the link we sent to " strong { (account.email) } "." }
                form method="post" action="/verify/resend" { (csrf_field(visitor)) button.secondary type="submit" { "Send the link again" } }
            }
        } @else {
            section.card {
                h2 { "Create a key" }
                form method="post" action="/keys" {
                    (csrf_field(visitor))
                    label { "Name" input type="text" name="name" maxlength="100" placeholder="e.g. work laptop" required; }
                    fieldset {
                        legend { "What it may do" }
                        @for scope in Scope::ALL {
                            label.check {
                                input type="checkbox" name="scope" value=(scope.as_str()) checked[Scope::GUEST.contains(&scope) || scope == Scope::AccountRead];
                                span { code { (scope.as_str()) } " — " (scope_label(scope)) }
                            }
                        }
                    }
                    label { "Valid for"
                        select name="days" {
                            @for days in EXPIRY_DAYS { option value=(days) selected[days == 90] { (days) " days" } }
                        }
                    }
                    button type="submit" { "Create key" }
                }
            }
        }
        section.card {
            h2 { "Your keys" }
            @if keys.is_empty() {
                p.muted { "No keys yet." }
            } @else {
                table.keys {
                    thead { tr { th { "Name" } th { "Id" } th { "Scopes" } th { "Created" } th { "Expires" } th { "Status" } th {} } }
                    tbody {
                        @for key in &keys {
                            tr data-key-id=(key.key_id) {
                                td { (key.name) br; span.muted { (key.origin) } }
                                td { code { (key.key_id) } }
                                td { @for s in &key.scopes { code.scope { (s) } " " } }
                                td { (show_time(key.created_at)) }
                                td { (show_time(key.expires_at)) }
                                td {
                                    @if let Some(at) = key.revoked_at { span.bad { "revoked " (show_time(at)) } }
                                    @else if key.expires_at <= now { span.muted { "expired" } }
                                    @else { span.good { "active" } }
                                }
                                td {
                                    @if key.revoked_at.is_none() && key.expires_at > now {
                                        form method="post" action={ "/keys/" (key.key_id) "/revoke" } {
                                            (csrf_field(visitor))
                                            button.danger.small type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(visitor, status, "API keys", content))
}

pub async fn keys_page(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, WebError> {
    render(&state, &visitor, StatusCode::OK, Notice::None).await
}

pub async fn create_key(
    State(state): State<AppState>,
    Posted { visitor, fields }: Posted,
) -> Result<Response, WebError> {
    let Some(account) = visitor.account.clone() else {
        return Ok(sign_in_first("/keys"));
    };
    let (name, scopes, days) = match validate(&account, &fields) {
        Ok(v) => v,
        Err(e) => {
            return render(
                &state,
                &visitor,
                StatusCode::UNPROCESSABLE_ENTITY,
                Notice::Error(&e),
            )
            .await;
        }
    };
    let (text, claims) = sign_key(&state, &account.id, &scopes, days)?;
    let names = claims.scopes.names();
    state
        .db
        .record_key(&NewKey {
            key_id: &claims.key_id,
            account_id: &account.id,
            name: &name,
            scopes: &names,
            origin: "created on the website",
            key_sha256: &key_hash(&text),
            created_at: claims.iat,
            expires_at: claims.exp,
        })
        .await?;
    tracing::info!(key_id = %claims.key_id, account = %account.id, "key issued on the website");
    render(
        &state,
        &visitor,
        StatusCode::OK,
        Notice::Created {
            key: &text,
            key_id: &claims.key_id,
        },
    )
    .await
}

/// The new key's name, scopes and validity as the form gives them, or why not.
fn validate(
    account: &crate::db::accounts::Account,
    fields: &super::Fields,
) -> Result<(String, Scopes, i64), String> {
    if !account.email_verified {
        return Err("Verify your email address first.".into());
    }
    let name = clean_text(fields.get("name"), "a name", 100)?;
    let mut scopes = Vec::new();
    for text in fields.all("scope") {
        let scope = text
            .parse::<Scope>()
            .map_err(|_| "One of the scopes is not one QuantDesk knows.".to_string())?;
        scopes.push(scope.as_str());
    }
    if scopes.is_empty() {
        return Err("Choose at least one thing the key may do.".into());
    }
    match fields
        .get("days")
        .and_then(|d| d.trim().parse::<i64>().ok())
    {
        Some(d) if EXPIRY_DAYS.contains(&d) => Ok((name, Scopes::from_names(scopes), d)),
        _ => Err("Choose how long the key is valid: 30, 90 or 365 days.".into()),
    }
}

pub async fn revoke_key(
    State(state): State<AppState>,
    Path(key_id): Path<String>,
    Posted { visitor, .. }: Posted,
) -> Result<Response, WebError> {
    let Some(account) = visitor.account.clone() else {
        return Ok(sign_in_first("/keys"));
    };
    match state
        .db
        .revoke_key(&key_id, Some(&account.id), now())
        .await?
    {
        Some(_) => {
            tracing::info!(%key_id, account = %account.id, "key revoked on the website");
            render(&state, &visitor, StatusCode::OK, Notice::Revoked(&key_id)).await
        }
        None => {
            render(
                &state,
                &visitor,
                StatusCode::NOT_FOUND,
                Notice::Error("This account has no such key."),
            )
            .await
        }
    }
}
