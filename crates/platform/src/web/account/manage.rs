//! The account page and deleting the account.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use maud::html;

use super::super::session::{Visitor, set_cookie};
use super::super::{Posted, csrf_field, page, sign_in_first};
use super::verify_password;
use crate::db::now;
use crate::{AppState, WebError};

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
