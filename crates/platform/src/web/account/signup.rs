//! Sign up, verify the email, resend the verification mail.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::super::session::{Visitor, random_token, token_hash};
use super::super::{Posted, clean_email, csrf_field, page, sign_in_first};
use super::{TokenQuery, error_box, hash_password, mail_note, send};
use crate::db::accounts::TokenPurpose;
use crate::db::now;
use crate::mail::Mail;
use crate::password;
use crate::{AppState, WebError};

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
