//! The updater end to end on this machine: throw-away keypairs made with the real Tauri CLI
//! (`tauri signer generate`, the tool releases are signed with), `latest.json` and a signed
//! AppImage-style artifact served from 127.0.0.1, Tauri's updater plugin in a mock-runtime app
//! with the test key as its configured public key, and an "installed" AppImage in a temp dir as
//! the install target. A good update installs; a tampered artifact, a signature made by another
//! key, or an order waiting for approval leave the installed file untouched.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use quantdesk_broker::{PaperBroker, PaperConfig};
use quantdesk_desktop::{Desktop, Options, UpdateProgress};
use quantdesk_domain::{OrderRequest, Side, Symbol};
use quantdesk_market::BundledProvider;
use quantdesk_trading::Desk;
use serde_json::json;
use tauri::test::{MockRuntime, mock_builder, mock_context, noop_assets};
use tauri_plugin_updater::UpdaterExt;

use super::{download_and_install, find};

const TARGET: &str = "linux-x86_64-appimage";
const INSTALLED: &[u8] = b"\x7fELF QuantDesk 0.1.0 (installed)";

/// The Tauri CLI that `npm ci` in ui/ installs (cargo xtask test does it first).
fn tauri_cli() -> Command {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/node_modules/.bin/tauri");
    assert!(
        bin.is_file(),
        "{} is missing: run `npm ci` in ui/ (cargo xtask ui does)",
        bin.display()
    );
    Command::new(bin)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("running the Tauri CLI");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A throw-away keypair (no password): returns (private key file, public key as tauri.conf.json
/// holds it).
fn keypair(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    run(tauri_cli()
        .args(["signer", "generate", "--ci", "-p", "", "-w"])
        .arg(&key));
    let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).expect("public key");
    (key, public.trim().to_owned())
}

/// Signs `file` for `version` as `cargo xtask release` does; returns the `.sig` contents.
fn sign(key: &Path, file: &Path, version: &str) -> String {
    run(tauri_cli()
        .args(["signer", "sign", "-p", "", "--app-version", version, "-f"])
        .arg(key)
        .arg(file));
    let sig = PathBuf::from(format!("{}.sig", file.display()));
    std::fs::read_to_string(sig)
        .expect("signature")
        .trim()
        .to_owned()
}

/// A new "AppImage": an ELF header (what the installer checks for) and a payload.
fn new_release() -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01".to_vec();
    bytes.resize(64, 0);
    bytes.extend(b"QuantDesk 0.2.0 ".repeat(20_000));
    bytes
}

/// An HTTP server on 127.0.0.1 serving the files put in it; stops when dropped.
struct Server {
    addr: std::net::SocketAddr,
    files: Files,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let files = Files::default();
        let (stopping, served) = (stop.clone(), files.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve(stream, &served);
                }
            }
        });
        Server {
            addr,
            files,
            stop,
            thread: Some(thread),
        }
    }

    fn put(&self, path: &str, body: Vec<u8>) {
        self.files.lock().unwrap().insert(path.into(), body);
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }
}

fn serve(mut stream: TcpStream, files: &Files) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let path = request
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_owned();
    let body = files.lock().unwrap().get(&path).cloned();
    let (status, body) = match body {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not found".to_vec()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A mock-runtime app whose updater trusts `pubkey` and asks `endpoint`.
fn app(pubkey: &str, endpoint: &str) -> tauri::App<MockRuntime> {
    let mut context = mock_context(noop_assets());
    context.config_mut().plugins.0.insert(
        "updater".into(),
        json!({
            "pubkey": pubkey,
            "endpoints": [endpoint],
            // Plain http only because the test server is on 127.0.0.1; the app's own config
            // has an https endpoint and no such flag.
            "dangerousInsecureTransportProtocol": true,
            "requireSignedVersion": true,
        }),
    );
    mock_builder()
        .plugin(tauri_plugin_updater::Builder::new().build())
        .build(context)
        .expect("mock app")
}

async fn desktop(dir: &Path) -> Desktop {
    Desktop::open(Options {
        data_dir: dir.join("data"),
        claude_config: dir.join("Claude").join("claude_desktop_config.json"),
        sidecar: dir.join("bin").join("quantdesk-mcp"),
    })
    .await
    .expect("desktop")
}

struct Outcome {
    /// What `download_and_install` returned.
    result: Result<(), String>,
    /// The installed AppImage afterwards.
    installed: Vec<u8>,
    /// The last progress report.
    progress: Option<UpdateProgress>,
}

/// The app trusts `trusted` (a public key); the server offers 0.2.0 as `served` bytes with
/// `signature`; with `pending_order`, an order waits for approval when the person clicks.
async fn update(trusted: &str, served: Vec<u8>, signature: &str, pending_order: bool) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let appimage = dir.path().join("QuantDesk.AppImage");
    std::fs::write(&appimage, INSTALLED).unwrap();
    let desktop = desktop(dir.path()).await;
    if pending_order {
        place_order_needing_approval(&desktop).await;
    }

    let server = Server::start();
    let artifact = "QuantDesk_0.2.0_amd64.AppImage";
    server.put(artifact, served);
    server.put(
        "latest.json",
        serde_json::to_vec(&json!({
            "version": "0.2.0",
            "notes": "Faster backtests and a clearer approval window.",
            "pub_date": "2026-12-01T00:00:00Z",
            "platforms": {
                TARGET: { "url": server.url(artifact), "signature": signature }
            }
        }))
        .unwrap(),
    );

    let app = app(trusted, &server.url("latest.json"));
    let builder = app
        .updater_builder()
        .executable_path(&appimage)
        .target(TARGET)
        .no_proxy();
    let (info, found) = find(builder)
        .await
        .expect("the check reaches the server")
        .expect("0.2.0 is newer than 0.1.0");
    assert_eq!(
        (info.current_version.as_str(), info.version.as_str()),
        ("0.1.0", "0.2.0")
    );
    assert_eq!(
        info.notes,
        "Faster backtests and a clearer approval window."
    );
    assert_eq!(info.date.as_deref(), Some("2026-12-01T00:00:00Z"));

    let mut progress = None;
    let result = download_and_install(&desktop, &found, |p| progress = Some(p)).await;
    Outcome {
        result,
        installed: std::fs::read(&appimage).unwrap(),
        progress,
    }
}

async fn place_order_needing_approval(desktop: &Desktop) {
    let always = quantdesk_desktop::views::ApprovalForm::from_policy(
        &quantdesk_guard::ApprovalPolicy::Always,
    );
    desktop.save_approval_policy(&always).await.unwrap();
    let store = desktop.store().clone();
    let paper = Arc::new(PaperBroker::new(
        store.clone(),
        Arc::new(BundledProvider::new()),
        PaperConfig::default(),
    ));
    let placed = Desk::new(store, paper, "mcp:test")
        .with_seal(desktop.seal_check())
        .place(
            &OrderRequest::market(
                Symbol::parse("GOOG").unwrap(),
                Side::Buy,
                quantdesk_domain::Decimal::ONE,
            ),
            Some("ask-during-update"),
        )
        .await
        .unwrap();
    assert_eq!(placed.outcome, "pending_approval");
}

/// Everything the scenarios share: our key, another key, and 0.2.0 signed with each.
struct Release {
    _dir: tempfile::TempDir,
    ours: String,
    bytes: Vec<u8>,
    signed_by_us: String,
    signed_by_other: String,
}

fn release() -> Release {
    let dir = tempfile::tempdir().unwrap();
    let (our_key, ours) = keypair(dir.path(), "ours.key");
    let (other_key, other) = keypair(dir.path(), "other.key");
    assert_ne!(ours, other);
    let bytes = new_release();
    let file = dir.path().join("QuantDesk_0.2.0_amd64.AppImage");
    std::fs::write(&file, &bytes).unwrap();
    let signed_by_us = sign(&our_key, &file, "0.2.0");
    let signed_by_other = sign(&other_key, &file, "0.2.0");
    Release {
        _dir: dir,
        ours,
        bytes,
        signed_by_us,
        signed_by_other,
    }
}

#[tokio::test]
async fn a_signed_update_installs_and_anything_else_is_refused_untouched() {
    let r = release();

    // Tampered: one byte of the artifact changed after signing.
    let mut tampered = r.bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let out = update(&r.ours, tampered, &r.signed_by_us, false).await;
    let err = out.result.expect_err("a tampered artifact must be refused");
    assert!(err.contains("signature does not match"), "{err}");
    assert!(err.contains("Nothing was installed"), "{err}");
    assert_eq!(out.installed, INSTALLED, "the installed app was touched");

    // The manifest carries a signature made by another key.
    let out = update(&r.ours, r.bytes.clone(), &r.signed_by_other, false).await;
    let err = out
        .result
        .expect_err("another key's signature must be refused");
    assert!(err.contains("signature does not match"), "{err}");
    assert_eq!(out.installed, INSTALLED, "the installed app was touched");

    // Good signature, but an order waits for the person's approval.
    let out = update(&r.ours, r.bytes.clone(), &r.signed_by_us, true).await;
    let err = out
        .result
        .expect_err("no update while an approval is pending");
    assert!(err.contains("waiting for your approval"), "{err}");
    assert_eq!(out.installed, INSTALLED, "the installed app was touched");
    assert!(out.progress.is_none(), "nothing may be downloaded either");

    // Signed by our key, nothing pending: installed, with progress up to the full size.
    let out = update(&r.ours, r.bytes.clone(), &r.signed_by_us, false).await;
    out.result.expect("a good update installs");
    assert_eq!(out.installed, r.bytes, "the new release is installed");
    let p = out.progress.expect("progress was reported");
    assert_eq!(p.downloaded, r.bytes.len() as u64);
    assert_eq!(p.total, Some(r.bytes.len() as u64));
}
