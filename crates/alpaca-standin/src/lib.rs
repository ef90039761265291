//! A stand-in for Alpaca's HTTP APIs, for QuantDesk's tests only: a small axum server on
//! 127.0.0.1 that answers the market-data requests QuantDesk makes with responses shaped exactly
//! like Alpaca's (field names, RFC 3339 UTC timestamps, numbers as JSON numbers, the same error
//! bodies), read from the JSON fixtures in `fixtures/` (see `fixtures/README.md` for where their
//! numbers come from). It checks the API key headers like Alpaca does and keeps a log of every
//! request that reached it, so tests can assert what was — and what was never — sent to the
//! broker.
//!
//! It must never be used by the product (it is a dev-dependency only and `publish = false`), and
//! must never listen on anything but 127.0.0.1: it holds canned data that must not be mistaken
//! for a market, and it accepts a well-known test key.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod fixtures;
mod market_data;
mod routes;
mod stream;
mod trading;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use thiserror::Error;
use tokio::sync::oneshot;

pub use routes::Route;

use fixtures::Fixtures;

/// `GET` here returns the request log as JSON, for cross-process tests. Not an Alpaca endpoint.
pub const REQUEST_LOG_PATH: &str = "/_standin/requests";
/// The market data stream's hooks for tests in another process (not Alpaca endpoints):
/// `GET` → `{"connections", "refused"}`; `POST …/quote` `{"symbol","bid","ask","time"}`,
/// `POST …/trade` `{"symbol","id","price","size","time"}` publish; `POST …/drop` drops every
/// connection.
pub const STREAM_HOOKS_PATH: &str = "/_standin/stream";

/// The header carrying the API key ID, as Alpaca names it.
pub const KEY_ID_HEADER: &str = "APCA-API-KEY-ID";
/// The header carrying the API secret, as Alpaca names it.
pub const SECRET_HEADER: &str = "APCA-API-SECRET-KEY";

/// Why the stand-in could not start.
#[derive(Debug, Error)]
pub enum StandInError {
    #[error("fixture {path}: {reason}")]
    Fixture { path: PathBuf, reason: String },
    #[error("could not listen on 127.0.0.1: {0}")]
    Bind(#[from] std::io::Error),
}

/// One request as it reached the stand-in. The secret header's value is replaced by
/// `<redacted>` so a log printed by a failing test never shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Query parameters in the order sent, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased, in the order received; the secret redacted.
    pub headers: Vec<(String, String)>,
    /// The body as text (empty for GET); kept for the trading endpoints to come.
    pub body: String,
    /// Whether the key headers matched the stand-in's credentials.
    pub authorized: bool,
}

impl RecordedRequest {
    /// The first value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The parsed request handed to the route tables.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
}

impl Incoming {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response body and status, always JSON like Alpaca's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            body: value.to_string(),
        }
    }

    /// Alpaca's error body: `{"code": <status><5 digits>, "message": ...}`.
    pub fn error(status: u16, code: u64, message: &str) -> Self {
        Self::json(
            status,
            &serde_json::json!({ "code": code, "message": message }),
        )
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        response
    }
}

struct Shared {
    key_id: String,
    secret: String,
    fixtures: Fixtures,
    stream: Arc<stream::StreamState>,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    trading: Mutex<trading::Trading>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the log must not hide the log from the next assertion.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Configures a stand-in before it starts: other credentials, extra canned routes (which take
/// precedence over the fixtures), or none of the shipped fixtures at all.
#[derive(Debug, Clone)]
pub struct StandInBuilder {
    key_id: String,
    secret: String,
    routes: Vec<Route>,
    with_fixtures: bool,
    prices: std::collections::BTreeMap<String, rust_decimal::Decimal>,
    market_open: bool,
    pattern_day_trader: bool,
    sip: bool,
}

impl StandInBuilder {
    /// The price orders for `symbol` fill at (default 100).
    pub fn price(mut self, symbol: impl Into<String>, price: rust_decimal::Decimal) -> Self {
        self.prices.insert(symbol.into(), price);
        self
    }

    /// What `GET /v2/clock` says (default: open).
    pub fn market_open(mut self, open: bool) -> Self {
        self.market_open = open;
        self
    }

    /// The account's market data plan includes SIP (default: the free plan, IEX only): recent
    /// `feed=sip` requests and the `/v2/sip` stream are refused without it.
    pub fn sip(mut self, sip: bool) -> Self {
        self.sip = sip;
        self
    }

    /// Flags the account as a pattern day trader: every new order gets Alpaca's PDT refusal.
    pub fn pattern_day_trader(mut self, pdt: bool) -> Self {
        self.pattern_day_trader = pdt;
        self
    }

    pub fn credentials(mut self, key_id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.key_id = key_id.into();
        self.secret = secret.into();
        self
    }

    /// Adds a canned response, checked before the shipped fixtures.
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// Serves only the routes added with [`route`](Self::route).
    pub fn without_fixtures(mut self) -> Self {
        self.with_fixtures = false;
        self
    }

    /// Loads the fixtures and starts listening on 127.0.0.1 on a free port.
    pub async fn start(self) -> Result<StandIn, StandInError> {
        let mut fixtures = if self.with_fixtures {
            Fixtures::load(&fixtures::dir())?
        } else {
            Fixtures::default()
        };
        fixtures.add_custom(self.routes);
        let log = Arc::new(Mutex::new(Vec::new()));
        let stream = Arc::new(stream::StreamState::new(&self.key_id, &self.secret));
        stream
            .sip
            .store(self.sip, std::sync::atomic::Ordering::SeqCst);
        let shared = Arc::new(Shared {
            key_id: self.key_id,
            secret: self.secret,
            fixtures,
            stream: stream.clone(),
            log: Arc::clone(&log),
            trading: Mutex::new(trading::Trading::new(
                self.prices,
                self.market_open,
                self.pattern_day_trader,
            )),
        });
        let (stream_url, stream_task) = stream::start(stream.clone()).await?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(handle).with_state(shared);
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender (the StandIn went away) stops the server just the same.
                    let _ = stopped.await;
                })
                .await;
            if let Err(err) = served {
                tracing::warn!(%err, "alpaca stand-in stopped with an error");
            }
        });
        Ok(StandIn {
            addr,
            log,
            shutdown: Some(shutdown),
            stream,
            stream_url,
            stream_task,
        })
    }
}

/// A running stand-in. Stops (gracefully) when dropped.
#[derive(Debug)]
pub struct StandIn {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    shutdown: Option<oneshot::Sender<()>>,
    stream: Arc<stream::StreamState>,
    stream_url: String,
    stream_task: tokio::task::JoinHandle<()>,
}

impl StandIn {
    /// The key ID the stand-in accepts unless told otherwise. Not a real Alpaca key.
    pub const KEY_ID: &'static str = "PKSTANDIN00000000000";
    /// The secret the stand-in accepts unless told otherwise. Not a real Alpaca secret.
    pub const SECRET: &'static str = "standin-secret-not-a-real-alpaca-secret0";

    /// Starts a stand-in with the shipped fixtures and the default test credentials.
    ///
    /// # Panics
    /// If the fixtures are broken or no port on 127.0.0.1 is free: a test cannot go on without
    /// its server, and the message says which fixture is wrong.
    pub async fn start() -> StandIn {
        match Self::builder().start().await {
            Ok(standin) => standin,
            Err(err) => panic!("alpaca stand-in failed to start: {err}"),
        }
    }

    pub fn builder() -> StandInBuilder {
        StandInBuilder {
            key_id: Self::KEY_ID.to_string(),
            secret: Self::SECRET.to_string(),
            routes: Vec::new(),
            with_fixtures: true,
            prices: std::collections::BTreeMap::new(),
            market_open: true,
            pattern_day_trader: false,
            sip: false,
        }
    }

    /// `ws://127.0.0.1:<port>`: the market data stream's base (apca's `data_stream_base_url`;
    /// the feed is the path, `/v2/iex` or `/v2/sip`).
    pub fn stream_url(&self) -> &str {
        &self.stream_url
    }

    /// Publishes a quote to every connection subscribed to `symbol`'s quotes.
    pub fn stream_quote(&self, symbol: &str, bid: &str, ask: &str, time: &str) {
        self.stream.publish_quote(symbol, bid, ask, time);
    }

    /// Publishes a trade to every connection subscribed to `symbol`'s trades, and puts it on
    /// the tape the REST minute bars of `symbol` are served from (the ground truth).
    pub fn stream_trade(&self, symbol: &str, id: u64, price: &str, size: u64, time: &str) {
        self.stream.publish_trade(symbol, id, price, size, time);
    }

    /// Fault hook: sends `text` as one frame, as it is (malformed, unknown types…), to every
    /// authenticated market data connection.
    pub fn stream_raw(&self, text: &str) {
        self.stream.publish_raw(text);
    }

    /// Fault hook: drops every open market data connection at once, without a close frame.
    pub fn stream_drop(&self) {
        let _ = self.stream.kick.send(());
    }

    /// Market data websocket connections accepted so far.
    pub fn stream_connections(&self) -> usize {
        self.stream
            .accepted
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Connections refused with "connection limit exceeded" (406) so far.
    pub fn stream_refused(&self) -> usize {
        self.stream
            .refused_limit
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `http://127.0.0.1:<port>`, to configure as the Alpaca base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request that reached the stand-in so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    /// Forgets the requests logged so far.
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.stream_task.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    if uri.path() == REQUEST_LOG_PATH {
        // For tests in another process: the log so far (not itself logged). Secrets are
        // already redacted in it.
        let log: Vec<serde_json::Value> = lock(&shared.log)
            .iter()
            .map(|r| {
                serde_json::json!({
                    "method": r.method, "path": r.path, "query": r.query, "body": r.body,
                    "authorized": r.authorized,
                })
            })
            .collect();
        return Reply::json(200, &serde_json::Value::Array(log));
    }
    if let Some(hook) = uri.path().strip_prefix(STREAM_HOOKS_PATH) {
        return stream_hook(&shared, hook, &body);
    }
    let query = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let authorized = header(KEY_ID_HEADER) == Some(shared.key_id.as_str())
        && header(SECRET_HEADER) == Some(shared.secret.as_str());
    let recorded_headers = headers
        .iter()
        .map(|(name, value)| {
            let value = if name.as_str().eq_ignore_ascii_case(SECRET_HEADER) {
                "<redacted>".to_string()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_string(), value)
        })
        .collect();
    lock(&shared.log).push(RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: query.clone(),
        headers: recorded_headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        authorized,
    });
    if !authorized {
        return Reply::error(401, 40110000, "request is not authorized");
    }
    let incoming = Incoming {
        method,
        path: uri.path().to_string(),
        query,
        body,
    };
    dispatch(&shared, &incoming)
}

/// The stream's test hooks (see [`STREAM_HOOKS_PATH`]).
fn stream_hook(shared: &Shared, hook: &str, body: &[u8]) -> Reply {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |k: &str| match &v[k] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let state = &shared.stream;
    match hook {
        "" => {
            let n =
                |c: &std::sync::atomic::AtomicUsize| c.load(std::sync::atomic::Ordering::SeqCst);
            Reply::json(
                200,
                &serde_json::json!({"connections": n(&state.accepted), "refused": n(&state.refused_limit)}),
            )
        }
        "/quote" => {
            state.publish_quote(&text("symbol"), &text("bid"), &text("ask"), &text("time"));
            Reply::json(200, &serde_json::json!({}))
        }
        "/trade" => {
            let id = v["id"].as_u64().unwrap_or(0);
            let size = v["size"].as_u64().unwrap_or(1);
            state.publish_trade(&text("symbol"), id, &text("price"), size, &text("time"));
            Reply::json(200, &serde_json::json!({}))
        }
        "/drop" => {
            let _ = state.kick.send(());
            Reply::json(200, &serde_json::json!({}))
        }
        _ => Reply::error(404, 40410000, "no such stand-in hook"),
    }
}

/// Exact canned routes first, then the endpoints computed from data (bars, and the trading
/// endpoints once they exist), then canned routes with a `{symbol}` placeholder, then Alpaca's
/// 404 for an unknown endpoint.
fn dispatch(shared: &Shared, request: &Incoming) -> Reply {
    let fixtures = &shared.fixtures;
    if let Some(reply) = fixtures.exact(request) {
        return reply;
    }
    if let Some(reply) = market_data::handle(fixtures, &shared.stream, request) {
        return reply;
    }
    if let Some(reply) = trading::handle(&mut lock(&shared.trading), request) {
        return reply;
    }
    if let Some(reply) = fixtures.pattern(request) {
        return reply;
    }
    Reply::error(404, 40410000, "endpoint not found")
}
