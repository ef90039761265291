//! The website: sign-in throttling, CSRF and security headers, oversized bodies, the updater
//! feed and the downloads page.

use super::*;

pub(super) async fn sign_in_is_throttled_and_says_the_same_for_every_email(p: &Platform) {
    let mut c = account(p, "erin@example.com", PASSWORD).await;
    c.post_form("/signout", &[]).await;
    assert!(c.get("/keys").await.status == 303, "signed out");
    let wrong_known = c
        .post_form(
            "/signin",
            &[
                ("email", "erin@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    let wrong_unknown = c
        .post_form(
            "/signin",
            &[
                ("email", "nobody@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong_known.status, 401);
    assert_eq!(wrong_unknown.status, 401);
    assert!(
        wrong_known.body.contains("Email or password is wrong.")
            && wrong_unknown.body.contains("Email or password is wrong.")
    );
    for _ in 0..4 {
        let r = c
            .post_form(
                "/signin",
                &[("email", "erin@example.com"), ("password", "still wrong")],
            )
            .await;
        assert_eq!(r.status, 401);
    }
    let r = c
        .post_form(
            "/signin",
            &[("email", "erin@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        r.status, 429,
        "throttled even with the right password: {}",
        r.body
    );
    assert!(r.body.contains("Too many failed sign-ins"));

    // Sign-up and reset answer alike for taken and free addresses.
    let mut d = Client::new(&p.url());
    d.get("/signup").await;
    let taken = d
        .post_form(
            "/signup",
            &[
                ("email", "erin@example.com"),
                ("password", "another good phrase"),
            ],
        )
        .await;
    let free = d
        .post_form(
            "/signup",
            &[
                ("email", "frank@example.com"),
                ("password", "another good phrase"),
            ],
        )
        .await;
    let strip = |b: &str| {
        b.replace("erin@example.com", "X")
            .replace("frank@example.com", "X")
    };
    assert_eq!(strip(&taken.body), strip(&free.body));
    let known = d
        .post_form("/reset", &[("email", "erin@example.com")])
        .await;
    let unknown = d
        .post_form("/reset", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(
        known.body.replace("erin@example.com", "X"),
        unknown.body.replace("nobody@example.com", "X")
    );
    // The reset link works once and ends the old sessions.
    let link = p
        .mail
        .link_to("erin@example.com", "/reset/confirm?token=")
        .await;
    let form = d.get(&link).await;
    assert_eq!(form.status, 200);
    let token = support::field_value(&form.body, "token").unwrap();
    let r = d
        .post_form(
            "/reset/confirm",
            &[("token", &token), ("password", "short")],
        )
        .await;
    assert_eq!(r.status, 422, "a bad new password keeps the link usable");
    let r = d
        .post_form(
            "/reset/confirm",
            &[("token", &token), ("password", "a brand new phrase 7")],
        )
        .await;
    assert!(r.body.contains("Your password is changed"), "{}", r.body);
    let r = d
        .post_form(
            "/reset/confirm",
            &[("token", &token), ("password", "a brand new phrase 8")],
        )
        .await;
    assert_eq!(r.status, 400, "used once");
    // Common and short passwords are refused at sign-up.
    for bad in ["password1234", "short"] {
        let r = d
            .post_form(
                "/signup",
                &[("email", "gina@example.com"), ("password", bad)],
            )
            .await;
        assert_eq!(r.status, 422, "{bad}");
    }
}

pub(super) async fn forms_need_csrf_and_pages_carry_security_headers(p: &Platform) {
    let mut c = Client::new(&p.url());
    let home = c.get("/").await;
    assert_eq!(home.status, 200);
    let csp = home.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
    );
    assert_eq!(
        home.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(home.header("referrer-policy").is_some());
    let set = home.header("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let r = c
        .post_form(
            "/signin",
            &[("csrf", "forged"), ("email", "a@b.co"), ("password", "x")],
        )
        .await;
    assert_eq!(r.status, 403);
    let mut fresh = Client::new(&p.url());
    let r = fresh
        .post_form("/signup", &[("email", "a@b.co"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, 403, "no CSRF cookie, no form");
    // Announced bodies over 64 KB are refused before they are read. (Raw TCP: a client still
    // writing the body would meet a closed socket.)
    for path in ["/signin", "/v1/device/code", "/keys"] {
        assert_eq!(oversized(&p.url(), path).await, 413, "{path}");
    }
    // A session cookie holds 256 random bits; signing out ends it on the server too.
    let mut s = account(p, "hank@example.com", PASSWORD).await;
    let session = s.cookies.get("qd_session").cloned().unwrap();
    assert!(session.len() >= 43);
    s.post_form("/signout", &[]).await;
    s.cookies.insert("qd_session".into(), session);
    assert_eq!(
        s.get("/keys").await.status,
        303,
        "the old session id no longer works"
    );
    let well_known = c.get("/.well-known/quantdesk.json").await.json();
    assert_eq!(
        well_known["keys"][0]["public_key"],
        p.running.state.issuer.public_key_text()
    );
    assert!(parse_public_key(well_known["keys"][0]["public_key"].as_str().unwrap()).is_ok());
    assert!(
        well_known["keys"][0]["kid"]
            .as_str()
            .unwrap()
            .starts_with("ed25519:")
    );
}

/// The status line's code for a POST announcing a 70 KB body (headers only).
async fn oversized(base: &str, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
        70 * 1024
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("an answer before the body")
        .unwrap();
    let line = String::from_utf8_lossy(&answer[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

pub(super) async fn releases_feed_the_updater_and_the_downloads_page(p: &Platform) {
    let dir = tempfile::tempdir().unwrap();
    let deb = b"not really a deb, but bytes are bytes".to_vec();
    std::fs::create_dir_all(dir.path().join("deb")).unwrap();
    std::fs::write(dir.path().join("deb/QuantDesk_0.2.0_amd64.deb"), &deb).unwrap();
    std::fs::write(dir.path().join("quantdesk.mcpb"), b"mcpb").unwrap();
    std::fs::write(
        dir.path().join("latest.json"),
        serde_json::json!({
            "version": "0.2.0", "notes": "QuantDesk 0.2.0", "pub_date": "2026-12-05T12:00:00Z",
            "platforms": {
                "linux-x86_64-deb": {"url": "https://example.invalid/QuantDesk_0.2.0_amd64.deb", "signature": "SIG"},
                "linux-x86_64": {"url": "https://example.invalid/QuantDesk_0.2.0_amd64.deb", "signature": "SIG"}
            }
        })
        .to_string(),
    )
    .unwrap();
    let mut c = Client::new(&p.url());
    assert_eq!(
        c.get("/v1/releases/linux/x86_64/0.1.0").await.status,
        204,
        "nothing published yet"
    );
    quantdesk_platform::publish::publish(&p.running.state.db, dir.path())
        .await
        .unwrap();
    let r = c.get("/v1/releases/linux/x86_64/0.1.0").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let update = r.json();
    assert_eq!(update["version"], "0.2.0");
    assert_eq!(update["signature"], "SIG");
    let url = update["url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("{}/downloads/0.2.0/QuantDesk_0.2.0_amd64.deb", p.url())
    );
    assert_eq!(c.get(url).await.body.as_bytes(), deb.as_slice());
    assert_eq!(
        c.get("/v1/releases/linux/x86_64/0.2.0").await.status,
        204,
        "up to date"
    );
    assert_eq!(
        c.get("/v1/releases/windows/x86_64/0.1.0").await.status,
        204,
        "nothing for Windows"
    );
    assert_eq!(
        c.get("/v1/releases/linux/x86_64/not-a-version")
            .await
            .status,
        400
    );
    let page = c.get("/downloads").await;
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&deb));
    assert!(
        page.body.contains(&sha)
            && page.body.contains("quantdesk.mcpb")
            && page.body.contains("/usr/bin/quantdesk-mcp")
    );
    c.headers.push((
        "user-agent".into(),
        "Mozilla/5.0 (X11; Linux x86_64)".into(),
    ));
    let home = c.get("/").await;
    assert!(
        home.body.contains("Download QuantDesk 0.2.0 for Linux"),
        "{}",
        home.body
    );
}
