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

/// "Connection limit exceeded" refusals in a row retried at the usual backoff before the
/// longest one.
const REFUSALS_RETRIED_SOON: u32 = 3;

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

/// Alpaca's market data stream.
pub const DEFAULT_STREAM_URL: &str = "wss://stream.data.alpaca.markets";

impl AlpacaStreamConfig {
    /// The stream for this key: Alpaca's endpoints and `feed` (the account's plan), or what
    /// `QUANTDESK_ALPACA_DATA_URL`, `QUANTDESK_ALPACA_STREAM_URL` and `QUANTDESK_ALPACA_FEED`
    /// (`iex` or `sip`) say.
    pub fn from_env(
        key_id: String,
        secret: String,
        feed: AlpacaFeed,
    ) -> Result<Self, crate::AlpacaConfigError> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let feed = match var("QUANTDESK_ALPACA_FEED") {
            Some(f) => f.parse()?,
            None => feed,
        };
        Ok(Self {
            data_url: var("QUANTDESK_ALPACA_DATA_URL")
                .unwrap_or_else(|| crate::DEFAULT_DATA_URL.to_string()),
            stream_url: var("QUANTDESK_ALPACA_STREAM_URL")
                .unwrap_or_else(|| DEFAULT_STREAM_URL.to_string()),
            key_id,
            secret,
            feed,
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
        })
    }
}

impl std::fmt::Debug for AlpacaStreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaStreamConfig")
            .field("stream_url", &self.stream_url)
            .field("feed", &self.feed)
            .finish_non_exhaustive()
    }
}

/// A change to what is streamed.
#[derive(Debug)]
enum Command {
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
}

/// A running stream: events come out of [`next`](Self::next); dropping it closes the connection.
/// With nothing to stream it holds no connection (the account's one connection stays free).
#[derive(Debug)]
pub struct AlpacaStream {
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<(StreamEvent, Instant)>,
    task: tokio::task::JoinHandle<()>,
}

impl AlpacaStream {
    pub fn start(config: AlpacaStreamConfig, symbols: impl IntoIterator<Item = String>) -> Self {
        let (tx, events) = mpsc::channel(10_000);
        let (commands, rx) = mpsc::unbounded_channel();
        let symbols: BTreeSet<String> = symbols.into_iter().collect();
        let task = tokio::spawn(run(config, symbols, rx, tx));
        Self {
            commands,
            events,
            task,
        }
    }

    /// Adds symbols (sent at once when connected, and on every reconnect).
    pub fn subscribe(&self, symbols: Vec<String>) {
        let _ = self.commands.send(Command::Subscribe(symbols));
    }

    /// Takes symbols off the stream.
    pub fn unsubscribe(&self, symbols: Vec<String>) {
        let _ = self.commands.send(Command::Unsubscribe(symbols));
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

/// Applies a command to the set of symbols: those added and those removed.
fn apply(symbols: &mut BTreeSet<String>, command: Command) -> (Vec<String>, Vec<String>) {
    match command {
        Command::Subscribe(s) => (
            s.into_iter()
                .filter(|s| symbols.insert(s.clone()))
                .collect(),
            Vec::new(),
        ),
        Command::Unsubscribe(s) => (
            Vec::new(),
            s.into_iter().filter(|s| symbols.remove(s)).collect(),
        ),
    }
}

/// Why a connection ended.
enum Ended {
    /// The consumer is gone.
    Stopped,
    /// Nothing is left to stream: closed on purpose.
    Idle,
    Lost(String, bool),
}

async fn run(
    config: AlpacaStreamConfig,
    mut symbols: BTreeSet<String>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<(StreamEvent, Instant)>,
) {
    let mut failures = 0u32;
    let mut refusals = 0u32;
    let mut reconnects = 0u64;
    loop {
        // Commands that came while away.
        while let Ok(command) = commands.try_recv() {
            apply(&mut symbols, command);
        }
        // Nothing to stream: no connection until something is asked for.
        while symbols.is_empty() {
            match commands.recv().await {
                None => return,
                Some(command) => {
                    apply(&mut symbols, command);
                }
            }
        }
        let ended = match config.feed {
            AlpacaFeed::Iex => {
                connection::<IEX>(&config, &mut symbols, &mut commands, &events, reconnects).await
            }
            AlpacaFeed::Sip => {
                connection::<SIP>(&config, &mut symbols, &mut commands, &events, reconnects).await
            }
        };
        let (reason, healthy) = match ended {
            Ended::Stopped => return,
            Ended::Idle => continue,
            Ended::Lost(reason, healthy) => (reason, healthy),
        };
        failures = if healthy {
            0
        } else {
            failures.saturating_add(1)
        };
        // A refused second connection will not succeed sooner by trying often — except just
        // after a handover, while the previous owner's connection is still closing at Alpaca:
        // the first few refusals in a row are retried as usual.
        // A plan without the feed asked for is not going to change by retrying soon either.
        if reason.contains("insufficient subscription") {
            refusals = REFUSALS_RETRIED_SOON;
        }
        refusals = if reason.contains("connection limit exceeded")
            || reason.contains("insufficient subscription")
        {
            refusals.saturating_add(1)
        } else {
            0
        };
        let retry_in = if refusals > REFUSALS_RETRIED_SOON {
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

fn market_data(symbols: &[String]) -> MarketData {
    let mut wanted = MarketData::default();
    wanted.set_quotes(symbols.to_vec());
    wanted.set_trades(symbols.to_vec());
    wanted
}

/// Drives a subscription change to its answer, keeping the data that arrives meanwhile (apca's
/// `drive` would drop it, and a lost trade is a wrong minute bar).
async fn change<St, F, T>(
    future: F,
    stream: &mut St,
    held: &mut std::collections::VecDeque<St::Item>,
) -> Option<T>
where
    St: futures_util::stream::FusedStream + Unpin,
    F: std::future::Future<Output = T> + Unpin,
{
    let mut future = future.fuse();
    loop {
        tokio::select! {
            biased;
            out = &mut future => return Some(out),
            item = stream.next() => match item {
                Some(item) => held.push_back(item),
                None => return None,
            },
        }
    }
}

/// One connection: why it ended, and whether it carried data.
async fn connection<S>(
    config: &AlpacaStreamConfig,
    symbols: &mut BTreeSet<String>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    events: &mpsc::Sender<(StreamEvent, Instant)>,
    reconnects: u64,
) -> Ended
where
    S: apca::data::v2::stream::Source + Send + Sync,
{
    let lost = |reason: String| Ended::Lost(reason, false);
    let mut info = match ApiInfo::from_parts(&config.data_url, &config.key_id, &config.secret) {
        Ok(info) => info,
        Err(e) => return lost(format!("configuration: {e}")),
    };
    match config.stream_url.parse() {
        Ok(url) => info.data_stream_base_url = url,
        Err(e) => return lost(format!("stream URL: {e}")),
    }
    let client = Client::new(info);
    let (mut stream, mut subscription) = match client.subscribe::<RealtimeData<S>>().await {
        Ok(s) => s,
        Err(e) => return lost(format!("connecting: {e}")),
    };
    let list: Vec<String> = symbols.iter().cloned().collect();
    let wanted = market_data(&list);
    let subscribe = subscription.subscribe(&wanted).boxed();
    match drive(subscribe, &mut stream).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => return lost(format!("subscribing: {e}")),
        Ok(Err(e)) => return lost(format!("subscribing: {e}")),
        Err(_) => return lost("closed while subscribing".into()),
    }
    let connected = StreamEvent::Connected { reconnects };
    if events.send((connected, Instant::now())).await.is_err() {
        return Ended::Stopped;
    }
    let mut last: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut healthy = false;
    let mut held = std::collections::VecDeque::new();
    loop {
        let item = if held.is_empty() {
            tokio::select! {
                item = stream.next() => item,
                command = commands.recv() => {
                    let Some(command) = command else { return Ended::Stopped };
                    let (added, removed) = apply(symbols, command);
                    if symbols.is_empty() {
                        return Ended::Idle;
                    }
                    let answer = if !added.is_empty() {
                        let wanted = market_data(&added);
                        change(subscription.subscribe(&wanted).boxed(), &mut stream, &mut held).await
                    } else if !removed.is_empty() {
                        let wanted = market_data(&removed);
                        change(subscription.unsubscribe(&wanted).boxed(), &mut stream, &mut held).await
                    } else {
                        continue;
                    };
                    match answer {
                        Some(Ok(Ok(()))) => {}
                        Some(Ok(Err(e))) => {
                            return Ended::Lost(format!("changing the subscription: {e}"), healthy)
                        }
                        Some(Err(e)) => {
                            return Ended::Lost(format!("changing the subscription: {e}"), healthy)
                        }
                        None => return Ended::Lost("closed while subscribing".into(), healthy),
                    }
                    continue;
                }
            }
        } else {
            held.pop_front()
        };
        let Some(item) = item else {
            return Ended::Lost("closed by the server".into(), healthy);
        };
        let received = Instant::now();
        let event = match item {
            Ok(Ok(Data::Quote(q))) => {
                if !symbols.contains(&q.symbol) {
                    continue;
                }
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
                if !symbols.contains(&t.symbol) {
                    continue;
                }
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
            Err(e) => return Ended::Lost(e.to_string(), healthy),
        };
        healthy = true;
        if events.send((event, received)).await.is_err() {
            return Ended::Stopped;
        }
    }
}
