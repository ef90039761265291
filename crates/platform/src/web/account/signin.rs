//! Sign in (throttled per account and per client address) and sign out.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::super::session::{SESSION_MAX_SECS, Visitor, random_token, set_cookie, token_hash};
use super::super::{Posted, clean_email, csrf_field, page, safe_next};
use super::{
    FORGET_AFTER, FREE_FAILURES, FREE_FAILURES_PER_ADDRESS, NextQuery, error_box, verify_password,
    wait_secs_after,
};
use crate::db::now;
use crate::password;
use crate::{AppState, WebError};

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
