//! What the platform's tests share: the platform started in-process on 127.0.0.1 (a fresh data
//! dir, SQLite or a fresh PostgreSQL database), a small HTTP client that keeps cookies like a
//! browser, an SMTP catcher that speaks enough SMTP for `lettre`, and a throw-away PostgreSQL
//! cluster (`initdb` + `pg_ctl`, own port, stopped when dropped).
#![allow(dead_code, unused_imports)]

pub mod http;
pub mod pg;
pub mod smtp;

use quantdesk_platform::{Config, Running};

pub use http::{Client, Resp};
pub use pg::PgCluster;
pub use smtp::Catcher;

/// A running platform with its data dir and mail catcher.
pub struct Platform {
    pub running: Running,
    pub mail: Catcher,
    pub dir: tempfile::TempDir,
}

impl Platform {
    pub fn url(&self) -> String {
        self.running.url()
    }
}

/// Starts a platform on `database_url` (SQLite in its data dir when `None`).
pub async fn start(database_url: Option<String>) -> Platform {
    start_with(database_url, |_| {}).await
}

pub async fn start_with(database_url: Option<String>, tweak: impl FnOnce(&mut Config)) -> Platform {
    let dir = tempfile::tempdir().expect("temp dir");
    let mail = Catcher::start().await;
    let mut config = Config::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.database_url = database_url;
    config.smtp_url = Some(mail.url());
    config.device_poll_interval = 1;
    tweak(&mut config);
    let running = quantdesk_platform::spawn(config)
        .await
        .expect("platform starts");
    Platform { running, mail, dir }
}

/// The value of `name="…" value="…"` in a page (the first such field).
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + 7;
    let end = rest[v..].find('"')?;
    Some(rest[v..v + end].to_string())
}

/// Signs up `email` with `password`, verifies it through the mailed link, signs in.
pub async fn account(p: &Platform, email: &str, password: &str) -> Client {
    let mut c = Client::new(&p.url());
    c.get("/signup").await;
    let r = c
        .post_form("/signup", &[("email", email), ("password", password)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let link = p.mail.link_to(email, "/verify?token=").await;
    let r = c.get(&link).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Your email is verified"), "{}", r.body);
    let r = c
        .post_form("/signin", &[("email", email), ("password", password)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    c
}
