//! Two `quantdesk-platform` processes on one PostgreSQL.

use super::*;

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
