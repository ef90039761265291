//! Keys: created once, shown once, revoked into the signed list; an account's deletion
//! revokes its keys.

use super::*;

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

pub(super) async fn keys_are_created_once_and_revoked_into_the_list(p: &Platform) {
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

pub(super) async fn deleting_an_account_revokes_its_keys(p: &Platform) {
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
