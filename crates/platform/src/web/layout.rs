//! The page frame: head, header with the account menu, footer; the CSRF cookie set on first
//! visit.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::session::Visitor;

/// A whole page. Sets the visitor's CSRF cookie if they had none.
pub fn page(visitor: &Visitor, status: StatusCode, title: &str, content: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · QuantDesk" }
                link rel="stylesheet" href="/static/site.css";
                script src="/static/site.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { span.logo { "Q" } "QuantDesk" }
                    nav {
                        a href="/downloads" { "Download" }
                        @if let Some(account) = &visitor.account {
                            a href="/keys" { "API keys" }
                            a href="/account" { (account.email) }
                            form.inline method="post" action="/signout" {
                                input type="hidden" name="csrf" value=(visitor.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        } @else {
                            a href="/signin" { "Sign in" }
                            a.button.small href="/signup" { "Sign up" }
                        }
                    }
                }
                main { (content) }
                footer { "QuantDesk — your personal quant in Claude Desktop. Strategies, orders and broker keys never leave your computer." }
            }
        }
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if visitor.new_csrf
        && let Some(cookie) = visitor.csrf_cookie.clone()
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
