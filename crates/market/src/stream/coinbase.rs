//! Coinbase Exchange's websocket feed (`wss://ws-feed.exchange.coinbase.com`, overridden by
//! `QUANTDESK_COINBASE_WS_URL`): the `matches`, `ticker` and `heartbeat` channels for the
//! products asked for, no account needed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::{SinkExt as _, StreamExt as _};
use quantdesk_domain::Decimal;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::{LiveQuote, StreamEvent, Trade, backoff, jitter_seed};
use crate::coinbase::DEFAULT_WS_URL;

/// Where and how the feed connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    pub url: String,
    /// How often the venue sends a heartbeat; silence for twice this long is a stall.
    pub heartbeat: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            url: DEFAULT_WS_URL.to_string(),
            heartbeat: Duration::from_secs(1),
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
        }
    }
}

impl FeedConfig {
    /// The defaults, with `QUANTDESK_COINBASE_WS_URL` when it is set.
    pub fn from_env() -> Self {
        match std::env::var("QUANTDESK_COINBASE_WS_URL") {
            Ok(url) if !url.trim().is_empty() => Self {
                url: url.trim().to_string(),
                ..Self::default()
            },
            _ => Self::default(),
        }
    }
}

/// Counters of what the feed has been through.
#[derive(Debug, Default)]
pub struct FeedStats {
    pub connects: AtomicU64,
    pub disconnects: AtomicU64,
    pub stalls: AtomicU64,
    /// Frames that were not JSON or not the shape their type promises.
    pub malformed: AtomicU64,
    /// Frames of a type this client does not read (logged, skipped).
    pub unknown: AtomicU64,
    /// Trades dropped because their id was not newer than the last one seen.
    pub duplicates: AtomicU64,
}

enum Command {
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
}

/// A running feed: events come out of [`next`](Self::next); dropping it closes the connection.
#[derive(Debug)]
pub struct CoinbaseFeed {
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<(StreamEvent, Instant)>,
    stats: Arc<FeedStats>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Subscribe(p) => write!(f, "Subscribe({p:?})"),
            Command::Unsubscribe(p) => write!(f, "Unsubscribe({p:?})"),
        }
    }
}

impl CoinbaseFeed {
    /// Connects (and keeps reconnecting) to `config.url`, subscribed to `products`.
    pub fn start(config: FeedConfig, products: impl IntoIterator<Item = String>) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let (tx, events) = mpsc::channel(10_000);
        let stats = Arc::new(FeedStats::default());
        let products: BTreeSet<String> = products.into_iter().collect();
        let task = tokio::spawn(run(config, products, rx, tx, stats.clone()));
        Self {
            commands,
            events,
            stats,
            task,
        }
    }

    /// The next event; `None` once the feed has stopped.
    pub async fn next(&mut self) -> Option<StreamEvent> {
        self.events.recv().await.map(|(e, _)| e)
    }

    /// The next event with the moment its frame was read off the websocket (for latency).
    pub async fn next_stamped(&mut self) -> Option<(StreamEvent, Instant)> {
        self.events.recv().await
    }

    /// Adds products to the subscription (sent at once when connected, and on every reconnect).
    pub fn subscribe(&self, products: Vec<String>) {
        let _ = self.commands.send(Command::Subscribe(products));
    }

    pub fn unsubscribe(&self, products: Vec<String>) {
        let _ = self.commands.send(Command::Unsubscribe(products));
    }

    pub fn stats(&self) -> &FeedStats {
        &self.stats
    }
}

impl Drop for CoinbaseFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Wire {
    Match(WireMatch),
    LastMatch(WireMatch),
    Ticker(WireTicker),
    Heartbeat {
        product_id: String,
        time: DateTime<Utc>,
    },
    Subscriptions {},
    Error {
        message: String,
        #[serde(default)]
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
struct WireMatch {
    trade_id: u64,
    product_id: String,
    #[serde(with = "rust_decimal::serde::str")]
    price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    size: Decimal,
    time: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct WireTicker {
    product_id: String,
    #[serde(with = "rust_decimal::serde::str")]
    price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    best_bid: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    best_bid_size: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    best_ask: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    best_ask_size: Decimal,
    time: DateTime<Utc>,
}

fn subscription(kind: &str, products: &BTreeSet<String>) -> Message {
    Message::text(
        json!({ "type": kind, "product_ids": products, "channels": ["heartbeat", "ticker", "matches"] })
            .to_string(),
    )
}

/// Why one connection ended.
enum Ended {
    /// The consumer is gone: stop for good.
    Stopped,
    /// Everything was unsubscribed: closed until something is asked for again.
    Idle,
    Lost(String),
}

async fn run(
    config: FeedConfig,
    mut products: BTreeSet<String>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<(StreamEvent, Instant)>,
    stats: Arc<FeedStats>,
) {
    let mut failures: u32 = 0;
    let mut last_trade: BTreeMap<String, u64> = BTreeMap::new();
    let mut reconnects: u64 = 0;
    loop {
        // Nothing to stream: no connection until something is asked for.
        while products.is_empty() {
            match commands.recv().await {
                None => return,
                Some(Command::Subscribe(p)) => products.extend(p),
                Some(Command::Unsubscribe(_)) => {}
            }
        }
        let (ended, healthy) = connection(
            &config,
            &mut products,
            &mut commands,
            &events,
            &stats,
            &mut last_trade,
            reconnects,
        )
        .await;
        let reason = match ended {
            Ended::Stopped => return,
            Ended::Idle => continue,
            Ended::Lost(reason) => reason,
        };
        failures = if healthy {
            0
        } else {
            failures.saturating_add(1)
        };
        let retry_in = backoff(
            failures,
            config.backoff_min,
            config.backoff_max,
            jitter_seed(),
        );
        stats.disconnects.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%reason, ?retry_in, url = %config.url, "coinbase feed disconnected");
        if events
            .send((
                StreamEvent::Disconnected { reason, retry_in },
                Instant::now(),
            ))
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(retry_in).await;
        reconnects += 1;
    }
}

/// One connection, from connect to loss; `healthy` when it carried market data (the backoff
/// starts over after such a connection).
async fn connection(
    config: &FeedConfig,
    products: &mut BTreeSet<String>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    events: &mpsc::Sender<(StreamEvent, Instant)>,
    stats: &FeedStats,
    last_trade: &mut BTreeMap<String, u64>,
    reconnects: u64,
) -> (Ended, bool) {
    let stall = config.heartbeat * 2;
    let connecting = tokio::time::timeout(
        stall.max(Duration::from_secs(5)),
        tokio_tungstenite::connect_async(config.url.as_str()),
    );
    let mut ws = match connecting.await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => return (Ended::Lost(format!("connecting: {e}")), false),
        Err(_) => return (Ended::Lost("connecting: no answer".into()), false),
    };
    if !products.is_empty() && ws.send(subscription("subscribe", products)).await.is_err() {
        return (Ended::Lost("subscribing failed".into()), false);
    }
    stats.connects.fetch_add(1, Ordering::Relaxed);
    if events
        .send((StreamEvent::Connected { reconnects }, Instant::now()))
        .await
        .is_err()
    {
        return (Ended::Stopped, false);
    }
    let mut healthy = false;
    let mut last_frame = Instant::now();
    let mut watchdog = tokio::time::interval(stall / 4);
    watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            command = commands.recv() => {
                let (kind, list) = match command {
                    None => return (Ended::Stopped, healthy),
                    Some(Command::Subscribe(p)) => { products.extend(p.iter().cloned()); ("subscribe", p) }
                    Some(Command::Unsubscribe(p)) => { for x in &p { products.remove(x); } ("unsubscribe", p) }
                };
                if products.is_empty() {
                    let _ = ws.close(None).await;
                    return (Ended::Idle, healthy);
                }
                let list: BTreeSet<String> = list.into_iter().collect();
                if ws.send(subscription(kind, &list)).await.is_err() {
                    return (Ended::Lost(format!("{kind} failed")), healthy);
                }
            }
            // Silence is checked a few times per stall interval rather than with a timer per
            // frame, which at 100,000 frames a second is measurable work.
            _ = watchdog.tick() => {
                if last_frame.elapsed() >= stall {
                    stats.stalls.fetch_add(1, Ordering::Relaxed);
                    return (Ended::Lost(format!("stalled: nothing for {stall:?}")), healthy);
                }
            }
            frame = ws.next() => {
                let received = Instant::now();
                last_frame = received;
                let text = match frame {
                    None => return (Ended::Lost("closed by the server".into()), healthy),
                    Some(Err(e)) => return (Ended::Lost(e.to_string()), healthy),
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) => return (Ended::Lost("closed by the server".into()), healthy),
                    Some(Ok(_)) => continue, // pings are answered by tungstenite
                };
                let Some(event) = read(text.as_str(), stats, last_trade) else { continue };
                healthy = true;
                if events.send((event, received)).await.is_err() {
                    return (Ended::Stopped, healthy);
                }
            }
        }
    }
}

/// One frame as an event; `None` for what is skipped (logged and counted).
fn read(
    text: &str,
    stats: &FeedStats,
    last_trade: &mut BTreeMap<String, u64>,
) -> Option<StreamEvent> {
    // The hot frames, parsed straight into their struct: Coinbase writes `type` first, and a
    // tagged enum would buffer every frame before reading it (a third of the hub's time at
    // 100,000 frames a second). Anything else takes the general path.
    let fast = if text.starts_with(r#"{"type":"ticker""#) {
        serde_json::from_str(text).ok().map(Wire::Ticker)
    } else if text.starts_with(r#"{"type":"match""#) {
        serde_json::from_str(text).ok().map(Wire::Match)
    } else {
        None
    };
    let parsed = match fast {
        Some(w) => Ok(w),
        None => serde_json::from_str::<Wire>(text),
    };
    let wire: Wire = match parsed {
        Ok(w) => w,
        Err(e) => {
            let known = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v["type"].as_str().map(str::to_string));
            match known.as_deref() {
                Some(t)
                    if ![
                        "match",
                        "last_match",
                        "ticker",
                        "heartbeat",
                        "subscriptions",
                        "error",
                    ]
                    .contains(&t) =>
                {
                    stats.unknown.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(
                        kind = t,
                        "coinbase feed: skipped a frame of a type not read"
                    );
                }
                _ => {
                    stats.malformed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, frame = %text.chars().take(120).collect::<String>(), "coinbase feed: skipped a malformed frame");
                }
            }
            return None;
        }
    };
    match wire {
        Wire::Match(m) | Wire::LastMatch(m) => {
            let last = last_trade.entry(m.product_id.clone()).or_insert(0);
            if m.trade_id <= *last {
                stats.duplicates.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            *last = m.trade_id;
            Some(StreamEvent::Trade(Trade {
                product: m.product_id,
                trade_id: m.trade_id,
                price: m.price,
                size: m.size,
                time: m.time,
            }))
        }
        Wire::Ticker(t) => Some(StreamEvent::Quote(LiveQuote {
            product: t.product_id,
            price: t.price,
            bid: t.best_bid,
            bid_size: t.best_bid_size,
            ask: t.best_ask,
            ask_size: t.best_ask_size,
            time: t.time,
        })),
        Wire::Heartbeat { product_id, time } => Some(StreamEvent::Heartbeat {
            product: product_id,
            time,
        }),
        Wire::Subscriptions {} => None,
        Wire::Error { message, reason } => {
            tracing::warn!(%message, %reason, "coinbase feed: the server reported an error");
            None
        }
    }
}
