//! A stand-in for Coinbase Exchange's public market-data REST API, for QuantDesk's tests only: an
//! axum server on 127.0.0.1 that answers `GET /products`, `/products/{id}/ticker`,
//! `/products/{id}/stats` and `/products/{id}/candles` with bodies shaped like Coinbase's
//! (prices as strings in tickers and stats, candles as `[time, low, high, open, close, volume]`
//! arrays of numbers, newest first, at most 300 per request, `{"message": ...}` errors), from a
//! deterministic ground truth of one-minute candles ([`GroundTruth`]) that tests compare against.
//! Fault hooks make the next requests fail (`429` rate limit, `500`, a malformed body) so clients
//! can be tested against them; every request is counted. Its websocket feed (`feed`) replays
//! the same minutes as `match`, `ticker` and `heartbeat` messages, with its own fault hooks
//! (dropped connections, malformed frames, a stall) and a count of connections.
//!
//! It must never be used by the product (it is a dev-dependency only and `publish = false`) and
//! must never listen on anything but 127.0.0.1: its prices are made up.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dependency
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod feed;
mod routes;
mod truth;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;

pub use truth::{Candle, GroundTruth, Product, START};

/// What the next requests get instead of their answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `429 {"message":"Public rate limit exceeded"}`, as Coinbase answers a client that asks too often.
    RateLimited,
    /// `500 {"message":"Internal server error"}`.
    ServerError,
    /// `200` with a body that is not JSON.
    Malformed,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    queue: Vec<Fault>,
    pub requests: usize,
    /// Paths requested, in order (query strings included), for assertions on paging.
    pub log: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub truth: GroundTruth,
    pub faults: Mutex<Faults>,
    /// REST serves minutes that start before this (Unix seconds): the feed's replay clock when
    /// REST follows the feed, else everything.
    pub clock: Arc<AtomicI64>,
    /// The feed's counters, for the test-only `/_standin/feed`.
    pub feed: Arc<feed::FeedControl>,
}

impl Shared {
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        // A test that panicked while holding the lock must not hide the log from the next assertion.
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts the request and returns the fault it gets, if one is queued.
    pub fn arrive(&self, path: String) -> Option<Fault> {
        let mut f = self.faults();
        f.requests += 1;
        f.log.push(path);
        (!f.queue.is_empty()).then(|| f.queue.remove(0))
    }
}

/// How the websocket feed replays the ground truth.
#[derive(Debug, Clone, Copy)]
pub struct FeedConfig {
    /// The minute (counted from the first) the replay starts at.
    pub from_minute: usize,
    /// Time between two trades.
    pub tick: Duration,
    /// REST serves only the minutes the feed has finished (as the real Coinbase does: history
    /// ends now); otherwise all of the ground truth.
    pub rest_follows_feed: bool,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            from_minute: 0,
            tick: Duration::from_millis(5),
            rest_follows_feed: false,
        }
    }
}

/// A running stand-in; dropping it stops the server.
#[derive(Debug)]
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    ws_url: String,
    feed: Arc<feed::FeedControl>,
    feed_tasks: [tokio::task::JoinHandle<()>; 2],
}

impl StandIn {
    /// Starts a stand-in serving `truth` on free ports of 127.0.0.1, its feed replaying from
    /// the first minute.
    pub async fn start(truth: GroundTruth) -> std::io::Result<StandIn> {
        Self::start_with_feed(truth, FeedConfig::default()).await
    }

    /// Starts a stand-in whose websocket feed replays `truth` as `feed` says.
    pub async fn start_with_feed(truth: GroundTruth, feed: FeedConfig) -> std::io::Result<StandIn> {
        Self::start_inner(truth, feed, 65_536).await
    }

    /// A stand-in for benchmarks: its replay idles (a trade an hour) and frames sent with
    /// [`send_ticker`](Self::send_ticker) go out at once, through a buffer of 16,384 frames per
    /// connection (a connection further behind loses frames, which the benchmark counts).
    pub async fn start_firehose(truth: GroundTruth) -> std::io::Result<StandIn> {
        let feed = FeedConfig {
            from_minute: 0,
            tick: Duration::from_secs(3600),
            rest_follows_feed: false,
        };
        Self::start_inner(truth, feed, 16_384).await
    }

    async fn start_inner(
        truth: GroundTruth,
        feed: FeedConfig,
        buffer: usize,
    ) -> std::io::Result<StandIn> {
        let control = Arc::new(feed::FeedControl::default());
        control.clock.store(
            if feed.rest_follows_feed {
                i64::MIN
            } else {
                i64::MAX
            },
            Ordering::SeqCst,
        );
        control
            .follow
            .store(feed.rest_follows_feed, Ordering::SeqCst);
        let (ws_url, feed_tasks) = feed::start(
            truth.clone(),
            feed.from_minute,
            feed.tick,
            control.clone(),
            buffer,
        )
        .await?;
        let shared = Arc::new(Shared {
            truth,
            faults: Mutex::default(),
            clock: control.clock.clone(),
            feed: control.clone(),
        });
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let app = routes::router(shared.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender (the StandIn went away) stops the server just the same.
                    let _ = stopped.await;
                })
                .await;
            if let Err(err) = served {
                eprintln!("coinbase stand-in stopped: {err}");
            }
        });
        Ok(StandIn {
            addr,
            shared,
            shutdown: Some(shutdown),
            ws_url,
            feed: control,
            feed_tasks,
        })
    }

    /// `ws://127.0.0.1:<port>`, what `QUANTDESK_COINBASE_WS_URL` is set to.
    pub fn ws_url(&self) -> &str {
        &self.ws_url
    }

    /// Drops every open websocket connection, without a close frame.
    pub fn drop_connections(&self) {
        self.feed.generation.fetch_add(1, Ordering::SeqCst);
        self.feed.wake.notify_waiters();
    }

    /// Sends `n` malformed frames (a cut-off JSON object and an unknown type) before the next
    /// messages.
    pub fn send_garbage(&self, n: usize) {
        self.feed.garbage.fetch_add(n, Ordering::SeqCst);
    }

    /// Stops (or resumes) sending anything, heartbeats included, with connections left open.
    pub fn stall(&self, stalled: bool) {
        self.feed.stalled.store(stalled, Ordering::SeqCst);
    }

    /// Sends one ticker frame for `product` at `price` (stamped `secs`, Unix seconds) to every
    /// connection subscribed to it, now: a firehose for benchmarks. `false` if the frame could
    /// not be queued.
    pub fn send_ticker(
        &self,
        product: &str,
        price: rust_decimal::Decimal,
        secs: i64,
        sequence: u64,
    ) -> bool {
        self.feed.frames.get().is_some_and(|tx| {
            tx.send(feed::ticker(product, price, secs, sequence))
                .is_ok()
        })
    }

    /// Websocket connections accepted so far.
    pub fn connections_accepted(&self) -> usize {
        self.feed.accepted.load(Ordering::SeqCst)
    }

    /// Websocket connections open now.
    pub fn connections_open(&self) -> usize {
        self.feed.open.load(Ordering::SeqCst)
    }

    /// `http://127.0.0.1:<port>`, what `QUANTDESK_COINBASE_REST_URL` is set to.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The candles and products it serves.
    pub fn truth(&self) -> &GroundTruth {
        &self.shared.truth
    }

    /// The next `times` requests get `fault`, after any already queued.
    pub fn fail_next(&self, fault: Fault, times: usize) {
        self.shared
            .faults()
            .queue
            .extend(std::iter::repeat_n(fault, times));
    }

    /// Requests that reached it so far.
    pub fn requests(&self) -> usize {
        self.shared.faults().requests
    }

    /// Paths (with query strings) of the requests so far, in order.
    pub fn log(&self) -> Vec<String> {
        self.shared.faults().log.clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for task in &self.feed_tasks {
            task.abort();
        }
        self.drop_connections();
    }
}
