//! The RFC 8628 device flow, with every error the RFC names, and an expired code.

use super::*;

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

pub(super) async fn the_device_flow_follows_rfc_8628(p: &Platform) {
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

pub(super) async fn an_expired_code_never_yields_a_key(db: Option<String>) {
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
