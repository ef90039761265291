//! The platform's speed targets, measured against the release binary in its own process (so its
//! memory is its own): cold start to the first 200 on SQLite (≤ 200 ms); `GET /v1/revocations`
//! with 10,000 revoked keys under a Rust load generator (≥ 5,000 requests/s on 2 cores, p99 ≤
//! 10 ms), full lists and 304s; sign-in cost per attempt at the argon2id parameters, and 50
//! concurrent sign-ins (no error, the server's peak RSS ≤ 200 MB). Prints PASS/MISS per target.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type Http = Client<HttpConnector, Full<Bytes>>;

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn spawn(dir: tempfile::TempDir) -> (Server, Instant) {
    let port = free_port();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_quantdesk-platform"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--listen", &format!("127.0.0.1:{port}"), "--log", "warn"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the platform starts");
    (
        Server {
            child,
            port,
            _dir: dir,
        },
        started,
    )
}

fn http() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn request(
    client: &Http,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: String,
) -> (u16, hyper::HeaderMap, Bytes) {
    let mut req = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body))).expect("request"))
        .await
        .expect("an answer");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, body)
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

async fn cold_start() {
    let mut times = Vec::new();
    for _ in 0..5 {
        let (server, started) = spawn(tempfile::tempdir().expect("dir"));
        let client = http();
        let url = format!("http://127.0.0.1:{}/healthz", server.port);
        loop {
            let req = hyper::Request::get(&url)
                .body(Full::new(Bytes::new()))
                .expect("req");
            if let Ok(r) = client.request(req).await
                && r.status() == 200
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no answer in 10 s"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "platform cold start to first 200 (SQLite, fresh data dir: key made, migrations run): median {median:.1} ms, max {:.1} ms  target <= 200 ms  {}",
        times[times.len() - 1],
        verdict(median <= 200.0)
    );
}

async fn load(url: &str, connections: usize, secs: f64, etag: Option<String>) -> (f64, f64, usize) {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let url = url.to_string();
        let etag = etag.clone();
        tasks.push(tokio::spawn(async move {
            let client = http();
            let headers: Vec<(&str, String)> =
                etag.into_iter().map(|e| ("if-none-match", e)).collect();
            let mut lat = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let (status, _, _) = request(&client, "GET", &url, &headers, String::new()).await;
                lat.push(t.elapsed().as_micros() as u32);
                if status != 200 && status != 304 {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.expect("load task");
        all.extend(lat);
        errors += e;
    }
    all.sort_unstable();
    let p99 = all.get(all.len() * 99 / 100).copied().unwrap_or(0) as f64 / 1e3;
    (all.len() as f64 / secs, p99, errors)
}

async fn revocations() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let db =
            quantdesk_platform::db::Db::open(&quantdesk_platform::db::Db::sqlite_url(dir.path()))
                .await
                .expect("db");
        let now = quantdesk_platform::db::now();
        let entries: Vec<_> = (0..10_000)
            .map(|i| {
                (
                    format!("k_{:020x}", i * 7_919 + 1),
                    now - 60,
                    now + 365 * 86_400,
                )
            })
            .collect();
        db.record_revocations(&entries).await.expect("seed");
        db.close().await;
    }
    let (server, _) = spawn(dir);
    let url = format!("http://127.0.0.1:{}/v1/revocations", server.port);
    let client = http();
    let mut body = Bytes::new();
    let mut etag = String::new();
    for _ in 0..200 {
        if let Ok(req) = hyper::Request::get(&url).body(Full::new(Bytes::new()))
            && let Ok(r) = client.request(req).await
        {
            etag = r
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            body = r.into_body().collect().await.expect("body").to_bytes();
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "revocation list: 10,000 revoked keys, {} KB signed; {cores} cores shared by the server and the load generator",
        body.len() / 1024
    );
    let (rps, p99, errors) = load(&url, 16, 3.0, None).await;
    println!(
        "GET /v1/revocations (full list): {rps:.0} requests/s, p99 {p99:.2} ms, {errors} errors  target >= 5000/s, p99 <= 10 ms  {}",
        verdict(rps >= 5000.0 && p99 <= 10.0 && errors == 0)
    );
    let (rps, p99, errors) = load(&url, 16, 2.0, Some(etag)).await;
    println!(
        "GET /v1/revocations (If-None-Match, 304): {rps:.0} requests/s, p99 {p99:.2} ms, {errors} errors  {}",
        verdict(rps >= 5000.0 && p99 <= 10.0 && errors == 0)
    );
}

async fn sign_in() {
    let hash = quantdesk_platform::password::hash("violet kettle drums 9").expect("hash");
    let mut times = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        assert!(quantdesk_platform::password::verify(
            "violet kettle drums 9",
            &hash
        ));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "argon2id m=19456 KiB, t=2, p=1: {:.1} ms per sign-in attempt (median of 15)",
        times[7]
    );

    let (server, _) = spawn(tempfile::tempdir().expect("dir"));
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = http();
    // Fifty accounts, each with its CSRF cookie.
    let mut people = Vec::new();
    for i in 0..50 {
        let mut csrf = String::new();
        for _ in 0..200 {
            if let Ok(req) = hyper::Request::get(format!("{base}/")).body(Full::new(Bytes::new()))
                && let Ok(r) = client.request(req).await
            {
                let cookie = r
                    .headers()
                    .get("set-cookie")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                csrf = cookie
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("qd_csrf=")
                    .to_string();
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let email = format!("person{i}@example.com");
        let form = serde_urlencoded::to_string([
            ("csrf", csrf.as_str()),
            ("email", &email),
            ("password", "violet kettle drums 9"),
        ])
        .expect("form");
        let headers = [
            ("cookie", format!("qd_csrf={csrf}")),
            (
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            ),
        ];
        let (status, _, _) =
            request(&client, "POST", &format!("{base}/signup"), &headers, form).await;
        assert_eq!(status, 200, "sign-up");
        people.push((email, csrf));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (email, csrf) in people {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let client = http();
            let form = serde_urlencoded::to_string([
                ("csrf", csrf.as_str()),
                ("email", &email),
                ("password", "violet kettle drums 9"),
            ])
            .expect("form");
            let headers = [
                ("cookie", format!("qd_csrf={csrf}")),
                (
                    "content-type",
                    "application/x-www-form-urlencoded".to_string(),
                ),
            ];
            let t = Instant::now();
            let (status, _, _) =
                request(&client, "POST", &format!("{base}/signin"), &headers, form).await;
            (status, t.elapsed().as_secs_f64() * 1e3)
        }));
    }
    let mut errors = 0;
    let mut slowest: f64 = 0.0;
    for t in tasks {
        let (status, ms) = t.await.expect("sign-in task");
        if status != 303 {
            errors += 1;
        }
        slowest = slowest.max(ms);
    }
    let rss = peak_rss_mb(server.child.id());
    println!(
        "50 concurrent sign-ins: all done in {:.0} ms (slowest {slowest:.0} ms), {errors} errors, server peak RSS {rss:.1} MB  target 0 errors, <= 200 MB  {}",
        started.elapsed().as_secs_f64() * 1e3,
        verdict(errors == 0 && rss <= 200.0)
    );
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| "platform".contains(f.as_str())) {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!(
            "== platform ({} cores)",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        );
        cold_start().await;
        revocations().await;
        sign_in().await;
    });
}
