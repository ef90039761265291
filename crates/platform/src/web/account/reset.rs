//! Reset the password by mail.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::super::session::{Visitor, random_token, token_hash};
use super::super::{Posted, clean_email, csrf_field, page};
use super::{TokenQuery, error_box, hash_password, mail_note, send};
use crate::db::accounts::TokenPurpose;
use crate::db::now;
use crate::mail::Mail;
use crate::password;
use crate::{AppState, WebError};

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
