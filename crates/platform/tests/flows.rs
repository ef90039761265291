//! The platform end to end over HTTP, on SQLite and on a real PostgreSQL cluster: sign-up,
//! email verification by mail (SMTP catcher), keys created, shown once and revoked into the
//! signed list (ETag / 304), the RFC 8628 device flow with every error the RFC names,
//! throttling, CSRF, headers, account deletion, the updater feed and downloads; and two
//! `quantdesk-platform` processes on one PostgreSQL sharing sign-ups, revocations and throttles.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

mod support;

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

async fn revoked_ids(p: &Platform, c: &mut Client) -> (String, Vec<String>) {
    let r = c.get("/v1/revocations").await;
    assert_eq!(r.status, 200);
    let list = verifier(p)
        .verify_revocations(&r.body)
        .expect("signed by the platform");
    (
        r.header("etag").expect("etag"),
        list.revoked.into_iter().collect(),
    )
}

async fn keys_are_created_once_and_revoked_into_the_list(p: &Platform) {
    let mut c = account(p, "alice@example.com", PASSWORD).await;
    let page = c.get("/keys").await;
    assert!(page.body.contains("Create a key"), "{}", page.body);
    let r = c
        .post_form(
            "/keys",
            &[
                ("name", "work laptop"),
                ("scope", "market:read"),
                ("scope", "backtest"),
                ("days", "90"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("shown only this once"));
    let key = key_in(&r.body);
    let claims = verifier(p)
        .verify(&key, quantdesk_keys::account::now())
        .expect("a valid key");
    assert_eq!(claims.scopes.names(), ["market:read", "backtest"]);
    assert!(claims.exp - claims.iat >= 89 * 86_400);
    let listed = c.get("/keys").await;
    assert!(listed.body.contains(&claims.key_id) && listed.body.contains("work laptop"));
    assert!(!listed.body.contains(&key), "the key is shown exactly once");

    let mut anon = Client::new(&p.url());
    let (etag, ids) = revoked_ids(p, &mut anon).await;
    assert!(!ids.contains(&claims.key_id));
    anon.headers.push(("if-none-match".into(), etag.clone()));
    let r = anon.get("/v1/revocations").await;
    assert_eq!(r.status, 304, "unchanged list: 304");
    assert!(r.body.is_empty());

    let r = c
        .post_form(&format!("/keys/{}/revoke", claims.key_id), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("is revoked"));
    let r = anon.get("/v1/revocations").await;
    assert_eq!(r.status, 200, "a revocation changes the ETag");
    let list = verifier(p).verify_revocations(&r.body).unwrap();
    assert!(list.revoked.contains(&claims.key_id));
    let mut v = verifier(p);
    v.honour(&list);
    assert!(v.verify(&key, quantdesk_keys::account::now()).is_err());
    // Someone else's key cannot be revoked from this account.
    let mut bob = account(p, "bob@example.com", PASSWORD).await;
    let r = bob
        .post_form(&format!("/keys/{}/revoke", claims.key_id), &[])
        .await;
    assert_eq!(r.status, 404);
}

async fn poll(c: &mut Client, device_code: &str) -> support::Resp {
    c.post_raw_form(
        "/v1/device/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", "quantdesk-app"),
        ],
    )
    .await
}

async fn start_device(c: &mut Client) -> serde_json::Value {
    let r = c
        .post_raw_form(
            "/v1/device/code",
            &[
                ("client_id", "quantdesk-app"),
                ("scope", "market:read trade:paper"),
                ("device_name", "QuantDesk on test-box"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn the_device_flow_follows_rfc_8628(p: &Platform) {
    let mut app = Client::new(&p.url());
    let code = start_device(&mut app).await;
    let user_code = code["user_code"].as_str().unwrap().to_string();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .replace('-', "")
            .bytes()
            .all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b))
    );
    assert_eq!(code["verification_uri"], format!("{}/device", p.url()));
    assert_eq!(code["interval"], 1);
    assert!(code["expires_in"].as_i64().unwrap() <= 900);
    let device_code = code["device_code"].as_str().unwrap().to_string();

    let r = poll(&mut app, &device_code).await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, "authorization_pending".into())
    );
    let r = poll(&mut app, &device_code).await;
    assert_eq!(r.json()["error"], "slow_down", "polled at once again");

    // The person: signs in (sent there first), sees the device and the scopes, approves.
    let mut browser = Client::new(&p.url());
    let complete = code["verification_uri_complete"]
        .as_str()
        .unwrap()
        .to_string();
    let r = browser.get(&complete).await;
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().starts_with("/signin?next="));
    let mut browser = account(p, "carol@example.com", PASSWORD).await;
    let r = browser.get(&complete).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("QuantDesk on test-box") && r.body.contains("trade:paper"),
        "{}",
        r.body
    );
    let r = browser
        .post_form(
            "/device/decide",
            &[
                ("user_code", &user_code.replace('-', "").to_lowercase()),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("The app is signed in"));

    // The interval grew to 6 s with the slow_down.
    tokio::time::sleep(Duration::from_millis(6100)).await;
    let r = poll(&mut app, &device_code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json();
    assert_eq!(token["token_type"], "Bearer");
    let key = token["access_token"].as_str().unwrap();
    let claims = verifier(p)
        .verify(key, quantdesk_keys::account::now())
        .unwrap();
    assert_eq!(claims.scopes.names(), ["market:read", "trade:paper"]);
    assert_eq!(token["key_id"], claims.key_id);
    let keys = browser.get("/keys").await;
    assert!(
        keys.body.contains(&claims.key_id) && keys.body.contains("device: QuantDesk on test-box")
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = poll(&mut app, &device_code).await;
    assert_eq!(r.json()["error"], "invalid_grant", "a key is given once");
    let r = browser
        .post_form(
            "/device/decide",
            &[("user_code", &user_code), ("decision", "approve")],
        )
        .await;
    assert_eq!(r.status, 409, "a used code cannot be approved again");

    // Denied: never a key.
    let code = start_device(&mut app).await;
    let user_code = code["user_code"].as_str().unwrap();
    let r = browser
        .post_form(
            "/device/decide",
            &[("user_code", user_code), ("decision", "deny")],
        )
        .await;
    assert!(r.body.contains("Sign-in denied"));
    let r = poll(&mut app, code["device_code"].as_str().unwrap()).await;
    assert_eq!(r.json()["error"], "access_denied");

    // Malformed requests.
    let r = app
        .post_raw_form(
            "/v1/device/token",
            &[("grant_type", "password"), ("client_id", "quantdesk-app")],
        )
        .await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    let r = app
        .post_raw_form("/v1/device/code", &[("client_id", "someone-else")])
        .await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (401, "invalid_client".into())
    );
    let r = poll(&mut app, "not-a-code").await;
    assert_eq!(r.json()["error"], "invalid_grant");
    let r = app
        .post_raw_form(
            "/v1/device/code",
            &[("client_id", "quantdesk-app"), ("scope", "root")],
        )
        .await;
    assert_eq!(r.json()["error"], "invalid_scope");

    // Guessing user codes is throttled.
    let mut guesser = account(p, "mallory@example.com", PASSWORD).await;
    for _ in 0..5 {
        let r = guesser
            .post_form("/device", &[("user_code", "BBBB-BBBB")])
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
    }
    let r = guesser
        .post_form("/device", &[("user_code", "CCCC-CCCC")])
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Too many wrong codes"));
}

async fn an_expired_code_never_yields_a_key(db: Option<String>) {
    let p = start_with(db, |c| c.device_code_ttl = 2).await;
    let mut app = Client::new(&p.url());
    let code = start_device(&mut app).await;
    let mut browser = account(&p, "dave@example.com", PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = browser
        .post_form(
            "/device/decide",
            &[
                ("user_code", code["user_code"].as_str().unwrap()),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(r.status, 409);
    let r = poll(&mut app, code["device_code"].as_str().unwrap()).await;
    assert_eq!(r.json()["error"], "expired_token");
}

async fn sign_in_is_throttled_and_says_the_same_for_every_email(p: &Platform) {
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

async fn forms_need_csrf_and_pages_carry_security_headers(p: &Platform) {
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

async fn deleting_an_account_revokes_its_keys(p: &Platform) {
    let mut c = account(p, "ivy@example.com", PASSWORD).await;
    let r = c
        .post_form(
            "/keys",
            &[("name", "k"), ("scope", "analysis"), ("days", "30")],
        )
        .await;
    let key = key_in(&r.body);
    let key_id = verifier(p)
        .verify(&key, quantdesk_keys::account::now())
        .unwrap()
        .key_id;
    let r = c
        .post_form("/account/delete", &[("password", "wrong")])
        .await;
    assert_eq!(r.status, 401);
    let r = c
        .post_form("/account/delete", &[("password", PASSWORD)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("1 API keys revoked"), "{}", r.body);
    let (_, ids) = revoked_ids(p, &mut Client::new(&p.url())).await;
    assert!(ids.contains(&key_id), "the revocation outlives the account");
    let r = c
        .post_form(
            "/signin",
            &[("email", "ivy@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 401);
    // The app's sign-out: a key revokes itself.
    let mut d = account(p, "jack@example.com", PASSWORD).await;
    let key = key_in(
        &d.post_form(
            "/keys",
            &[("name", "k"), ("scope", "analysis"), ("days", "30")],
        )
        .await
        .body,
    );
    let mut app = Client::new(&p.url());
    let r = app
        .send("POST", "/v1/keys/self/revoke", None, Vec::new())
        .await;
    assert_eq!(r.status, 401);
    app.headers
        .push(("authorization".into(), format!("Bearer {key}")));
    let r = app
        .send("POST", "/v1/keys/self/revoke", None, Vec::new())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()["key_id"].as_str().unwrap().to_string();
    assert!(
        revoked_ids(p, &mut Client::new(&p.url()))
            .await
            .1
            .contains(&id)
    );
}

async fn releases_feed_the_updater_and_the_downloads_page(p: &Platform) {
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

/// The desktop app's own platform client: stopped when denied or cancelled, a key for the
/// device when approved, installed by the app's code path into a store and the keychain; the
/// revocation list refreshed with its ETag into the store the sidecar reads; sign-out revoking
/// the key, after which the installed key is refused with what to do.
async fn the_apps_client_signs_in_refreshes_and_signs_out(p: &Platform) {
    use quantdesk_keys::account;
    use quantdesk_keys::platform::{PlatformClient, PlatformError};
    let client = PlatformClient::new(&p.url()).unwrap();
    let mut browser = account(p, "lee@example.com", PASSWORD).await;
    let auth = client
        .start_device_sign_in("QuantDesk on lee-box", None)
        .await
        .unwrap();
    browser
        .post_form(
            "/device/decide",
            &[("user_code", &auth.user_code), ("decision", "deny")],
        )
        .await;
    assert_eq!(
        client.wait_for_approval(&auth, || false).await.unwrap_err(),
        PlatformError::Denied
    );
    let auth = client
        .start_device_sign_in("QuantDesk on lee-box", None)
        .await
        .unwrap();
    assert_eq!(
        client.wait_for_approval(&auth, || true).await.unwrap_err(),
        PlatformError::Cancelled
    );
    let scopes = quantdesk_keys::Scopes::from_names(["market:read", "account:read"]);
    let auth = client
        .start_device_sign_in("QuantDesk on lee-box", Some(&scopes))
        .await
        .unwrap();
    let poll = tokio::spawn({
        let (client, auth) = (client.clone(), auth.clone());
        async move { client.wait_for_approval(&auth, || false).await }
    });
    let r = browser
        .post_form(
            "/device/decide",
            &[("user_code", &auth.user_code), ("decision", "approve")],
        )
        .await;
    assert_eq!(r.status, 200);
    let issued = poll.await.unwrap().unwrap();
    assert_eq!(issued.scopes, ["market:read", "account:read"]);
    let dir = tempfile::tempdir().unwrap();
    let store = quantdesk_store::Store::open_in(dir.path()).await.unwrap();
    let service = format!("quantdesk-platform-test-{}", issued.key_id);
    let secrets = quantdesk_secrets::SecretStore::open(quantdesk_secrets::Backend::KernelKeyring)
        .unwrap()
        .with_service(service);
    let verifier = verifier(p);
    let installed = account::install(
        &store,
        &secrets,
        &verifier,
        &issued.access_token,
        account::now(),
    )
    .await
    .unwrap();
    assert_eq!(installed.claims.key_id, issued.key_id);
    let mut v = verifier.clone();
    let status = account::refresh_from_platform(&store, &mut v, &client).await;
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    let etag: Option<String> = store
        .setting(account::REVOCATIONS_ETAG_SETTING)
        .await
        .unwrap();
    assert!(etag.is_some(), "the ETag is kept for the next refresh");
    let status = account::refresh_from_platform(&store, &mut verifier.clone(), &client).await;
    assert!(
        status.problems.is_empty(),
        "a 304 is fine: {:?}",
        status.problems
    );
    client.revoke_self(&issued.access_token).await.unwrap();
    let mut v = verifier.clone();
    let status = account::refresh_from_platform(&store, &mut v, &client).await;
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    assert!(v.is_revoked(&issued.key_id));
    let mut fresh = verifier.clone();
    account::refresh_revocations(&store, &mut fresh, None).await;
    assert!(
        fresh.is_revoked(&issued.key_id),
        "the store holds a list that names it"
    );
    let keychain = secrets.clone();
    let state = account::load(&store, move || Ok(keychain), &fresh, account::now()).await;
    assert!(
        matches!(&state, account::KeyState::Unusable { reason, .. } if reason.contains("revoked on the QuantDesk platform")),
        "{state:?}"
    );
    account::remove(&store, &secrets).await.unwrap();
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

/// A `quantdesk-platform` process (the real binary), killed on drop.
struct Process {
    child: std::process::Child,
    url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn process(data_dir: &std::path::Path, database_url: &str, smtp: &str) -> Process {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_quantdesk-platform"))
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "--database-url",
            database_url,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--smtp-url",
            smtp,
            "--log",
            "warn",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("quantdesk-platform starts");
    let p = Process {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let mut c = Client::new(&p.url);
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && c.get("/healthz").await.status == 200
        {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the platform process did not answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgres() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.database("shared").await;
    let mail = support::Catcher::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a = process(dir.path(), &url, &mail.url()).await;
    let b = process(dir.path(), &url, &mail.url()).await;
    let mut anon = Client::new(&a.url);
    let well_known =
        |j: serde_json::Value| j["keys"][0]["public_key"].as_str().unwrap().to_string();
    let key_a = well_known(anon.get("/.well-known/quantdesk.json").await.json());
    let key_b = well_known(
        Client::new(&b.url)
            .get("/.well-known/quantdesk.json")
            .await
            .json(),
    );
    assert_eq!(key_a, key_b, "one signing key");
    let verifier = Verifier::new(parse_public_key(&key_a).unwrap());
    // Signed up on A, verified and signed in on B.
    let mut on_a = Client::new(&a.url);
    on_a.get("/signup").await;
    let r = on_a
        .post_form(
            "/signup",
            &[("email", "kim@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200);
    let link = mail.link_to("kim@example.com", "/verify?token=").await;
    let mut on_b = Client::new(&b.url);
    let path = &link[link.find("/verify").unwrap()..];
    assert!(on_b.get(path).await.body.contains("Your email is verified"));
    let r = on_b
        .post_form(
            "/signin",
            &[("email", "kim@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = on_b
        .post_form(
            "/keys",
            &[("name", "k"), ("scope", "analysis"), ("days", "30")],
        )
        .await;
    let key_id = verifier
        .verify(&key_in(&r.body), quantdesk_keys::account::now())
        .unwrap()
        .key_id;
    // Revoked through B: in A's next list, and A's old ETag no longer matches.
    let r = anon.get("/v1/revocations").await;
    let etag_before = r.header("etag").unwrap();
    assert!(
        !verifier
            .verify_revocations(&r.body)
            .unwrap()
            .revoked
            .contains(&key_id)
    );
    on_b.post_form(&format!("/keys/{key_id}/revoke"), &[]).await;
    anon.headers.push(("if-none-match".into(), etag_before));
    let r = anon.get("/v1/revocations").await;
    assert_eq!(r.status, 200, "A sees B's revocation at once");
    assert!(
        verifier
            .verify_revocations(&r.body)
            .unwrap()
            .revoked
            .contains(&key_id)
    );
    // Failures on A and on B add up.
    let mut ca = Client::new(&a.url);
    ca.get("/").await;
    let mut cb = Client::new(&b.url);
    cb.get("/").await;
    for i in 0..5 {
        let c = if i % 2 == 0 { &mut ca } else { &mut cb };
        let r = c
            .post_form(
                "/signin",
                &[("email", "kim@example.com"), ("password", "wrong password")],
            )
            .await;
        assert_eq!(r.status, 401);
    }
    let r = cb
        .post_form(
            "/signin",
            &[("email", "kim@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 429, "the throttle counts across instances");
    let r = ca
        .post_form(
            "/signin",
            &[("email", "kim@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 429);
}
