//! The platform end to end over HTTP, on SQLite and on a real PostgreSQL cluster: sign-up,
//! email verification by mail (SMTP catcher), keys created, shown once and revoked into the
//! signed list (ETag / 304), the RFC 8628 device flow with every error the RFC names,
//! throttling, CSRF, headers, account deletion, the updater feed and downloads; and two
//! `quantdesk-platform` processes on one PostgreSQL sharing sign-ups, revocations and throttles.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

#[path = "../support/mod.rs"]
mod support;

mod client;
mod device;
mod keys;
mod processes;
mod web;

use client::*;
use device::*;
use keys::*;
use web::*;

use std::time::Duration;

use quantdesk_keys::{Verifier, parse_public_key};
use support::{Client, PgCluster, Platform, account, start, start_with};

const PASSWORD: &str = "violet kettle drums 9";

fn verifier(p: &Platform) -> Verifier {
    Verifier::new(p.running.state.issuer.public_key())
}

fn key_in(body: &str) -> String {
    let start = body.find("qdk_").expect("a key on the page");
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect()
}

async fn all_scenarios(
    db: impl Fn(&'static str) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>>>>,
) {
    let p = start(db("keys").await).await;
    keys_are_created_once_and_revoked_into_the_list(&p).await;
    let p = start(db("device").await).await;
    the_device_flow_follows_rfc_8628(&p).await;
    an_expired_code_never_yields_a_key(db("expiry").await).await;
    let p = start(db("throttle").await).await;
    sign_in_is_throttled_and_says_the_same_for_every_email(&p).await;
    let p = start(db("security").await).await;
    forms_need_csrf_and_pages_carry_security_headers(&p).await;
    deleting_an_account_revokes_its_keys(&p).await;
    releases_feed_the_updater_and_the_downloads_page(&p).await;
    let p = start(db("client").await).await;
    the_apps_client_signs_in_refreshes_and_signs_out(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    all_scenarios(|_| Box::pin(async { None })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    let Some(pg) = PgCluster::start() else { return };
    let pg = std::sync::Arc::new(pg);
    all_scenarios(|name| {
        let pg = pg.clone();
        Box::pin(async move { Some(pg.database(name).await) })
    })
    .await;
}
