//! The QuantDesk platform: the website where a person signs up, verifies their email and gets
//! account API keys; the API the desktop app signs in through (OAuth 2.0 device authorization
//! grant, RFC 8628), the signed revocation list and public keys it trusts, the downloads and the
//! updater's feed. One binary, `quantdesk-platform`, on SQLite by default or PostgreSQL behind
//! several stateless instances.
//!
//! This crate must never see a strategy, an order or a broker credential; never store a
//! password, a session id, a mail token, a device code or an API key other than as a hash; never
//! let the signing key's secret half leave its owner-only file and this process; and never answer
//! a request with a 500 for anything a visitor typed.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

// The `quantdesk-platform` binary's own dependencies (Cargo has no per-binary dependencies).
use anyhow as _;
use clap as _;
use directories as _;
use tracing_subscriber as _;

pub mod api;
pub mod db;
pub mod mail;
pub mod password;
pub mod publish;
pub mod signing;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quantdesk_keys::Issuer;
use thiserror::Error;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::db::{Db, DbError};
use crate::mail::Mailer;
use crate::signing::PublicKey;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY: usize = 64 * 1024;

/// How the platform runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the signing key (and the SQLite database, by default) live.
    pub data_dir: PathBuf,
    /// `None`: SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub listen: SocketAddr,
    /// The URL people reach the platform at (links in mail, the device flow's verification
    /// page, download URLs); default `http://<listen>`.
    pub public_url: Option<String>,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Trust the last `X-Forwarded-For` entry as the client address (behind a load balancer).
    pub behind_proxy: bool,
    /// The device flow's polling interval, seconds (RFC 8628 default 5).
    pub device_poll_interval: i64,
    /// How long a device code is valid, seconds (at most 900).
    pub device_code_ttl: i64,
    /// How long keys issued to a device are valid, days.
    pub device_key_days: i64,
}

impl Config {
    /// The defaults: 127.0.0.1:8787 on SQLite in `data_dir`, mail to the log.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            public_url: None,
            smtp_url: None,
            mail_from: "QuantDesk <no-reply@quantdesk.app>".into(),
            behind_proxy: false,
            device_poll_interval: 5,
            device_code_ttl: 900,
            device_key_days: 365,
        }
    }
}

#[derive(Debug, Error)]
pub enum PlatformError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Signing(#[from] signing::SigningError),
    #[error(transparent)]
    Mail(#[from] mail::MailError),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
}

/// Why a request could not be answered as asked. Only `Internal` and `Db` become a 500, and
/// only for faults on our side (the database is down), never for what a visitor sent.
#[derive(Debug, Error)]
pub enum WebError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "request failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "QuantDesk could not answer this request; try again in a moment.",
        )
            .into_response()
    }
}

/// What every request handler shares. Holds nothing an instance alone knows, except caches of
/// what the database says (the signed revocation list, by the database's revocation counter).
#[derive(Debug)]
pub struct Inner {
    pub config: Config,
    pub db: Db,
    pub issuer: Issuer,
    pub public_keys: Vec<PublicKey>,
    pub mailer: Mailer,
    pub public_url: String,
    pub revocations: api::RevocationCache,
    /// Password hashes computed at once: each takes 19 MiB, so 50 sign-ins at once would take
    /// about 1 GB without this bound; the others queue.
    pub hash_slots: tokio::sync::Semaphore,
    /// Their working memory, reused.
    pub hash_memory: Arc<password::Memory>,
}

pub type AppState = Arc<Inner>;

impl Inner {
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// An absolute URL on this platform.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

/// How many password hashes run at once: one per core, at least two.
fn hash_slots() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

/// Opens the database and the signing key, ready to serve.
pub async fn prepare(config: Config) -> Result<AppState, PlatformError> {
    let keys = signing::load_or_create(&config.data_dir)?;
    if keys.created {
        tracing::info!(dir = %config.data_dir.display(), "made a new signing key");
    }
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| Db::sqlite_url(&config.data_dir));
    let db = Db::open(&url).await?;
    let mailer = Mailer::new(config.smtp_url.as_deref(), &config.mail_from)?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen))
        .trim_end_matches('/')
        .to_string();
    Ok(Arc::new(Inner {
        db,
        issuer: keys.issuer,
        public_keys: keys.public,
        mailer,
        public_url,
        revocations: api::RevocationCache::default(),
        hash_slots: tokio::sync::Semaphore::new(hash_slots()),
        hash_memory: Arc::default(),
        config,
    }))
}

/// The whole site and API.
pub fn router(state: AppState) -> Router {
    let headers = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    let mut app = web::routes()
        .merge(api::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY));
    for (name, value) in headers {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    app.with_state(state)
}

/// A platform serving on its listener; stops when dropped or on [`Running::stop`].
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The base URL it serves at.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `config.listen` (port 0 picks one; `public_url` then defaults to the bound address)
/// and serves in the background.
pub async fn spawn(mut config: Config) -> Result<Running, PlatformError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| PlatformError::Listen {
            addr: config.listen,
            reason: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| PlatformError::Listen {
        addr: config.listen,
        reason: e.to_string(),
    })?;
    config.listen = addr;
    let state = prepare(config).await?;
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%err, "the platform stopped serving");
        }
    });
    Ok(Running {
        addr,
        state,
        stop: Some(stop),
        task,
    })
}
