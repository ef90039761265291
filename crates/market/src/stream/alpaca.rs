//! Alpaca's real-time market data websocket through apca's `RealtimeData` (IEX by default, SIP
//! when the account has it): quotes and trades of the symbols asked for, kept alive — reconnected
//! with exponential backoff and jitter, resubscribed. Alpaca allows one market-data connection
//! per account; a second is refused with "connection limit exceeded" (406), reported as such
//! (with QuantDesk's one-stream-per-machine election it means another program uses the account).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use apca::data::v2::stream::{Data, IEX, MarketData, RealtimeData, SIP, drive};
use apca::{ApiInfo, Client};
use futures_util::{FutureExt as _, StreamExt as _};
use quantdesk_domain::Decimal;
use tokio::sync::mpsc;

use super::{LiveQuote, StreamEvent, Trade, backoff, jitter_seed};
use crate::AlpacaFeed;

/// Where and how the stream connects.
#[derive(Clone)]
pub struct AlpacaStreamConfig {
    /// Alpaca's data API base (`https://data.alpaca.markets`, or the stand-in's).
    pub data_url: String,
    /// The websocket base (`wss://stream.data.alpaca.markets`); the feed is the path.
    pub stream_url: String,
    pub key_id: String,
    pub secret: String,
    pub feed: AlpacaFeed,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl std::fmt::Debug for AlpacaStreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaStreamConfig")
            .field("stream_url", &self.stream_url)
            .field("feed", &self.feed)
            .finish_non_exhaustive()
    }
}

/// A running stream: events come out of [`next`](Self::next); dropping it closes the connection.
#[derive(Debug)]
pub struct AlpacaStream {
    events: mpsc::Receiver<(StreamEvent, Instant)>,
    task: tokio::task::JoinHandle<()>,
}

impl AlpacaStream {
    pub fn start(config: AlpacaStreamConfig, symbols: impl IntoIterator<Item = String>) -> Self {
        let (tx, events) = mpsc::channel(10_000);
        let symbols: BTreeSet<String> = symbols.into_iter().collect();
        let task = tokio::spawn(run(config, symbols, tx));
        Self { events, task }
    }

    pub async fn next(&mut self) -> Option<StreamEvent> {
        self.events.recv().await.map(|(e, _)| e)
    }

    /// The next event with the moment it was read.
    pub async fn next_stamped(&mut self) -> Option<(StreamEvent, Instant)> {
        self.events.recv().await
    }
}

impl Drop for AlpacaStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn dec(n: &impl ToString) -> Option<Decimal> {
    Decimal::from_str(&n.to_string()).ok()
}

async fn run(
    config: AlpacaStreamConfig,
    symbols: BTreeSet<String>,
    events: mpsc::Sender<(StreamEvent, Instant)>,
) {
    let mut failures = 0u32;
    let mut reconnects = 0u64;
    loop {
        let (reason, healthy) = match config.feed {
            AlpacaFeed::Iex => connection::<IEX>(&config, &symbols, &events, reconnects).await,
            AlpacaFeed::Sip => connection::<SIP>(&config, &symbols, &events, reconnects).await,
        };
        let Some(reason) = reason else { return };
        failures = if healthy {
            0
        } else {
            failures.saturating_add(1)
        };
        // A refused second connection will not succeed sooner by trying often.
        let retry_in = if reason.contains("connection limit exceeded") {
            config.backoff_max
        } else {
            backoff(
                failures,
                config.backoff_min,
                config.backoff_max,
                jitter_seed(),
            )
        };
        tracing::warn!(%reason, ?retry_in, "alpaca stream disconnected");
        let lost = StreamEvent::Disconnected { reason, retry_in };
        if events.send((lost, Instant::now())).await.is_err() {
            return;
        }
        tokio::time::sleep(retry_in).await;
        reconnects += 1;
    }
}

/// One connection; `None` when the consumer is gone, else why it ended and whether it carried
/// data.
async fn connection<S>(
    config: &AlpacaStreamConfig,
    symbols: &BTreeSet<String>,
    events: &mpsc::Sender<(StreamEvent, Instant)>,
    reconnects: u64,
) -> (Option<String>, bool)
where
    S: apca::data::v2::stream::Source + Send + Sync,
{
    let mut info = match ApiInfo::from_parts(&config.data_url, &config.key_id, &config.secret) {
        Ok(info) => info,
        Err(e) => return (Some(format!("configuration: {e}")), false),
    };
    match config.stream_url.parse() {
        Ok(url) => info.data_stream_base_url = url,
        Err(e) => return (Some(format!("stream URL: {e}")), false),
    }
    let client = Client::new(info);
    let (mut stream, mut subscription) = match client.subscribe::<RealtimeData<S>>().await {
        Ok(s) => s,
        Err(e) => return (Some(format!("connecting: {e}")), false),
    };
    let mut wanted = MarketData::default();
    let list: Vec<String> = symbols.iter().cloned().collect();
    wanted.set_quotes(list.clone());
    wanted.set_trades(list);
    let subscribe = subscription.subscribe(&wanted).boxed();
    match drive(subscribe, &mut stream).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => return (Some(format!("subscribing: {e}")), false),
        Ok(Err(e)) => return (Some(format!("subscribing: {e}")), false),
        Err(_) => return (Some("closed while subscribing".into()), false),
    }
    let connected = StreamEvent::Connected { reconnects };
    if events.send((connected, Instant::now())).await.is_err() {
        return (None, false);
    }
    let mut last: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut healthy = false;
    while let Some(item) = stream.next().await {
        let received = Instant::now();
        let event = match item {
            Ok(Ok(Data::Quote(q))) => {
                let (Some(bid), Some(ask), Some(bid_size), Some(ask_size)) = (
                    dec(&q.bid_price),
                    dec(&q.ask_price),
                    dec(&q.bid_size),
                    dec(&q.ask_size),
                ) else {
                    continue;
                };
                let price = last
                    .get(&q.symbol)
                    .copied()
                    .unwrap_or(((bid + ask) / Decimal::TWO).round_dp(4));
                StreamEvent::Quote(LiveQuote {
                    product: q.symbol,
                    price,
                    bid,
                    bid_size,
                    ask,
                    ask_size,
                    time: q.timestamp,
                })
            }
            Ok(Ok(Data::Trade(t))) => {
                let (Some(price), Some(size)) = (dec(&t.trade_price), dec(&t.trade_size)) else {
                    continue;
                };
                last.insert(t.symbol.clone(), price);
                StreamEvent::Trade(Trade {
                    product: t.symbol,
                    trade_id: t.trade_id,
                    price,
                    size,
                    time: t.timestamp,
                })
            }
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "alpaca stream: skipped a malformed message");
                continue;
            }
            Err(e) => return (Some(e.to_string()), healthy),
        };
        healthy = true;
        if events.send((event, received)).await.is_err() {
            return (None, healthy);
        }
    }
    (Some("closed by the server".into()), healthy)
}
