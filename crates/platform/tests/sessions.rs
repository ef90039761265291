//! Browser sessions: the id is stored only as its SHA-256, a session idle for longer than
//! the idle expiry or older than the absolute expiry no longer signs anyone in, and over https
//! the cookies are `Secure` with the `__Host-` prefix.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

mod support;

use quantdesk_platform::web::session::{SESSION_IDLE_SECS, SESSION_MAX_SECS, token_hash};
use support::{Client, account, start, start_with};

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_age_limit() {
    let p = start(None).await;
    let db = p.running.state.db.clone();
    let c = account(&p, "sam@example.com", "violet kettle drums 9").await;
    let id = c.cookies.get("qd_session").cloned().unwrap();
    let now = quantdesk_platform::db::now();
    let hash = token_hash(&id);
    assert!(
        db.session_account(&id, now, SESSION_IDLE_SECS)
            .await
            .unwrap()
            .is_none(),
        "the raw id is not what is stored"
    );
    assert!(
        db.session_account(&hash, now, SESSION_IDLE_SECS)
            .await
            .unwrap()
            .is_some()
    );
    // Idle: not seen for longer than the idle expiry.
    assert!(
        db.session_account(&hash, now + SESSION_IDLE_SECS + 61, SESSION_IDLE_SECS)
            .await
            .unwrap()
            .is_none()
    );
    // Absolute: kept busy, it still ends at its age limit.
    let mut t = now;
    while t + SESSION_IDLE_SECS / 2 < now + SESSION_MAX_SECS {
        t += SESSION_IDLE_SECS / 2;
        assert!(
            db.session_account(&hash, t, SESSION_IDLE_SECS)
                .await
                .unwrap()
                .is_some(),
            "busy at {t}"
        );
    }
    assert!(
        db.session_account(&hash, now + SESSION_MAX_SECS + 1, SESSION_IDLE_SECS)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn over_https_the_cookies_are_secure_and_host_bound() {
    let p = start_with(None, |c| {
        c.public_url = Some("https://quantdesk.example".into())
    })
    .await;
    let mut c = Client::new(&p.url());
    let r = c.get("/").await;
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-qd_csrf="), "{cookie}");
    assert!(
        cookie.contains("; Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let plain = start(None).await;
    let cookie = Client::new(&plain.url())
        .get("/")
        .await
        .header("set-cookie")
        .unwrap();
    assert!(
        !cookie.contains("Secure") && cookie.starts_with("qd_csrf="),
        "{cookie}"
    );
}
