//! The live cache one process keeps from its feeds: the latest quote per product, minute bars
//! built from trades and gap-filled over REST, and each stream's state (connected,
//! reconnecting). Two upstreams behind the same events: Coinbase's public feed for crypto pairs
//! (product ids like `BTC-USD`), and, when an Alpaca account is linked, Alpaca's market data
//! stream for stocks (plain tickers like `AAPL`). The desktop app runs one; a sidecar runs one
//! when no app does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use quantdesk_domain::Bar;
use tokio::sync::broadcast;

use super::alpaca::{AlpacaStream, AlpacaStreamConfig};
use super::bars::{Gap, MinuteBars};
use super::coinbase::{CoinbaseFeed, FeedConfig};
use super::live::LiveSource;
use super::{LiveQuote, StreamEvent};
use crate::MarketData;

/// Where the stream stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedState {
    Connecting,
    Connected,
    /// Lost; trying again.
    Reconnecting {
        reason: String,
    },
}

/// What changed in the cache, for those who mirror it (the sidecars) or act on it (alerts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubEvent {
    /// A new quote and when its frame was read off the websocket.
    Quote { quote: LiveQuote, at: Instant },
    /// A minute of `product` closed, or REST filled some.
    Minute { product: String },
    /// The stream of `source` ([`COINBASE`] or [`ALPACA`]) changed state.
    State {
        source: &'static str,
        state: FeedState,
    },
}

/// Coinbase's public feed: crypto pairs.
pub const COINBASE: &str = "coinbase";
/// Alpaca's market data stream: stocks.
pub const ALPACA: &str = "alpaca-stream";

/// Which stream carries `product`: Coinbase's ids are `BASE-QUOTE`, stock tickers have no dash.
pub fn source_of(product: &str) -> &'static str {
    if product.contains('-') {
        COINBASE
    } else {
        ALPACA
    }
}

/// Alpaca's stream and the REST history that fills its gaps.
#[derive(Debug, Clone)]
pub struct AlpacaUpstream {
    pub config: AlpacaStreamConfig,
    pub rest: Arc<dyn MarketData>,
}

/// The feeds a hub streams from.
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub coinbase: FeedConfig,
    /// Coinbase's REST history, for gap fills.
    pub coinbase_rest: Arc<dyn MarketData>,
    /// Stocks, when an Alpaca account is linked.
    pub alpaca: Option<AlpacaUpstream>,
}

/// Products the hub streams at most (crypto and stocks together): quotes and minute bars are
/// kept per product, and prices asked for implicitly add products, so the bound is here.
pub const MAX_STREAMED: usize = 1_000;

/// REST gap fills in flight at once (Coinbase allows about 10 public requests a second).
const FILLS_AT_ONCE: usize = 4;

/// Events buffered per subscriber; one that falls further behind is told it lagged (and
/// re-reads the cache) rather than holding memory.
const EVENT_BUFFER: usize = 8_192;

/// The stream's state as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubStatus {
    pub state: FeedState,
    pub source: &'static str,
    pub reconnects: u64,
    /// Since the last message of any kind (heartbeats count).
    pub silent_for: Option<Duration>,
}

#[derive(Debug)]
struct Feed {
    state: FeedState,
    reconnects: u64,
    last_message: Option<Instant>,
}

impl Feed {
    fn new() -> Self {
        Self {
            state: FeedState::Connecting,
            reconnects: 0,
            last_message: None,
        }
    }
}

#[derive(Debug)]
struct State {
    quotes: BTreeMap<String, (LiveQuote, Instant)>,
    bars: MinuteBars,
    coinbase: Feed,
    /// `None` without a linked Alpaca account.
    alpaca: Option<Feed>,
}

impl State {
    fn feed(&mut self, source: &str) -> Option<&mut Feed> {
        if source == ALPACA {
            self.alpaca.as_mut()
        } else {
            Some(&mut self.coinbase)
        }
    }
}

fn status(feed: &Feed, source: &'static str) -> HubStatus {
    HubStatus {
        state: feed.state.clone(),
        source,
        reconnects: feed.reconnects,
        silent_for: feed.last_message.map(|t| t.elapsed()),
    }
}

/// A running live cache over one feed (see the module docs); dropping it stops the feed.
#[derive(Debug)]
pub struct LiveHub {
    state: Arc<Mutex<State>>,
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<HubEvent>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
enum Command {
    Watch(Vec<String>),
    Unwatch(Vec<String>),
    /// Starts, replaces or (with `None`) stops the Alpaca stream.
    Alpaca(Option<Box<AlpacaUpstream>>),
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic elsewhere must not take the prices with it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LiveHub {
    /// Streams `products` from Coinbase's feed, filling minute gaps from `rest`.
    pub fn start(config: FeedConfig, rest: Arc<dyn MarketData>, products: Vec<String>) -> Self {
        Self::start_with(
            Upstreams {
                coinbase: config,
                coinbase_rest: rest,
                alpaca: None,
            },
            products,
        )
    }

    /// Streams `products` from the feed each belongs to ([`source_of`]); stocks are ignored
    /// when no Alpaca stream is configured.
    pub fn start_with(upstreams: Upstreams, products: Vec<String>) -> Self {
        let state = Arc::new(Mutex::new(State {
            quotes: BTreeMap::new(),
            bars: MinuteBars::new(),
            coinbase: Feed::new(),
            alpaca: upstreams.alpaca.as_ref().map(|_| Feed::new()),
        }));
        let (commands, mut more) = tokio::sync::mpsc::unbounded_channel::<Command>();
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let shared = state.clone();
        let tx = events.clone();
        let fills = Arc::new(tokio::sync::Semaphore::new(FILLS_AT_ONCE));
        let task = tokio::spawn(async move {
            let (crypto, stocks): (Vec<String>, Vec<String>) =
                products.into_iter().partition(|p| source_of(p) == COINBASE);
            let mut watched_crypto: std::collections::BTreeSet<String> =
                crypto.iter().cloned().collect();
            let mut coinbase = CoinbaseFeed::start(upstreams.coinbase, crypto);
            let coinbase_rest = upstreams.coinbase_rest;
            // Stocks asked for, streamed or not (an account linked later streams them).
            let mut watched_stocks: std::collections::BTreeSet<String> =
                stocks.iter().cloned().collect();
            let (mut alpaca, mut alpaca_rest) = match upstreams.alpaca {
                Some(a) => (Some(AlpacaStream::start(a.config, stocks)), Some(a.rest)),
                None => (None, None),
            };
            let hub = Running {
                shared: shared.clone(),
                tx: tx.clone(),
                fills,
            };
            loop {
                tokio::select! {
                    Some(command) = more.recv() => {
                        let (watch, products) = match command {
                            Command::Watch(p) => (true, p),
                            Command::Unwatch(p) => (false, p),
                            Command::Alpaca(upstream) => {
                                let mut s = lock(&shared);
                                s.quotes.retain(|p, _| source_of(p) != ALPACA);
                                s.bars.retain(|p| source_of(p) != ALPACA);
                                s.alpaca = upstream.as_ref().map(|_| Feed::new());
                                drop(s);
                                (alpaca, alpaca_rest) = match upstream {
                                    Some(a) => {
                                        let stocks = watched_stocks.iter().cloned().collect::<Vec<_>>();
                                        (Some(AlpacaStream::start(a.config, stocks)), Some(a.rest))
                                    }
                                    None => (None, None),
                                };
                                continue;
                            }
                        };
                        let (crypto, stocks): (Vec<String>, Vec<String>) =
                            products.into_iter().partition(|p| source_of(p) == COINBASE);
                        // At most MAX_STREAMED products, however many quotes were asked for.
                        let crypto: Vec<String> = crypto
                            .into_iter()
                            .filter(|p| admit(watch, p, &mut watched_crypto, watched_stocks.len()))
                            .collect();
                        let stocks: Vec<String> = stocks
                            .into_iter()
                            .filter(|p| admit(watch, p, &mut watched_stocks, watched_crypto.len()))
                            .collect();
                        if !watch {
                            let mut s = lock(&shared);
                            for p in crypto.iter().chain(&stocks) {
                                s.quotes.remove(p);
                                s.bars.remove(p);
                            }
                        }
                        if !crypto.is_empty() {
                            if watch { coinbase.subscribe(crypto) } else { coinbase.unsubscribe(crypto) }
                        }
                        match (&alpaca, stocks.is_empty()) {
                            (_, true) => {}
                            (Some(a), false) => {
                                if watch { a.subscribe(stocks) } else { a.unsubscribe(stocks) }
                            }
                            (None, false) => tracing::debug!(?stocks, "no Alpaca stream: stocks not streamed"),
                        }
                    },
                    event = coinbase.next_stamped() => {
                        let Some((event, received)) = event else { return };
                        hub.take(COINBASE, event, received, &coinbase_rest);
                    }
                    event = next_alpaca(&mut alpaca), if alpaca.is_some() => {
                        let (Some((event, received)), Some(rest)) = (event, &alpaca_rest) else {
                            alpaca = None;
                            continue;
                        };
                        hub.take(ALPACA, event, received, rest);
                    }
                }
            }
        });
        Self {
            state,
            commands,
            events,
            task,
        }
    }

    /// Adds products to the stream.
    pub fn watch(&self, products: Vec<String>) {
        let _ = self.commands.send(Command::Watch(products));
    }

    /// Streams stocks through `upstream` from now on (an account was linked), or stops streaming
    /// them (`None`: unlinked); the stocks asked for carry over.
    pub fn set_alpaca(&self, upstream: Option<AlpacaUpstream>) {
        let _ = self.commands.send(Command::Alpaca(upstream.map(Box::new)));
    }

    /// Takes products off the stream (their quotes and bars are forgotten).
    pub fn unwatch(&self, products: Vec<String>) {
        let _ = self.commands.send(Command::Unwatch(products));
    }

    /// Every change from now on.
    pub fn events(&self) -> broadcast::Receiver<HubEvent> {
        self.events.subscribe()
    }

    /// Every product's newest quote, with its age.
    pub fn quotes(&self) -> Vec<(LiveQuote, Duration)> {
        lock(&self.state)
            .quotes
            .values()
            .map(|(q, at)| (q.clone(), at.elapsed()))
            .collect()
    }

    /// The newest quote of `product` and how long ago it arrived.
    pub fn quote(&self, product: &str) -> Option<(LiveQuote, Duration)> {
        let s = lock(&self.state);
        s.quotes
            .get(product)
            .map(|(q, at)| (q.clone(), at.elapsed()))
    }

    /// `product`'s finished minute bars, oldest first.
    pub fn minute_bars(&self, product: &str) -> Vec<Bar> {
        lock(&self.state).bars.closed(product)
    }

    /// Coinbase's stream.
    pub fn status(&self) -> HubStatus {
        status(&lock(&self.state).coinbase, COINBASE)
    }

    /// Every stream this hub runs: Coinbase's, and Alpaca's when configured.
    pub fn statuses(&self) -> Vec<HubStatus> {
        let s = lock(&self.state);
        let mut out = vec![status(&s.coinbase, COINBASE)];
        out.extend(s.alpaca.as_ref().map(|f| status(f, ALPACA)));
        out
    }
}

/// Whether `product` goes on (or off) the stream, keeping `set` (its source's products; `others`
/// streamed by the other source) in step: taking off always; putting on while fewer than
/// [`MAX_STREAMED`] products stream, or when it already does.
fn admit(
    watch: bool,
    product: &str,
    set: &mut std::collections::BTreeSet<String>,
    others: usize,
) -> bool {
    if !watch {
        set.remove(product);
        return true;
    }
    if set.contains(product) || set.len() + others < MAX_STREAMED {
        set.insert(product.to_string());
        return true;
    }
    tracing::warn!(
        product,
        "the live cache is full ({MAX_STREAMED} products): not streamed"
    );
    false
}

async fn next_alpaca(alpaca: &mut Option<AlpacaStream>) -> Option<(StreamEvent, Instant)> {
    match alpaca {
        Some(a) => a.next_stamped().await,
        None => std::future::pending().await,
    }
}

/// What the hub's task needs to take an event in.
struct Running {
    shared: Arc<Mutex<State>>,
    tx: broadcast::Sender<HubEvent>,
    fills: Arc<tokio::sync::Semaphore>,
}

impl Running {
    fn take(
        &self,
        source: &'static str,
        event: StreamEvent,
        received: Instant,
        rest: &Arc<dyn MarketData>,
    ) {
        let (gap, change) = apply(&self.shared, source, event, received);
        if let Some(change) = change {
            let _ = self.tx.send(change);
        }
        if let Some(gap) = gap {
            // Fetched beside the stream, never in its way: a reconnect with many products
            // closes as many gaps at once.
            let (shared, rest, tx) = (self.shared.clone(), rest.clone(), self.tx.clone());
            let permits = self.fills.clone();
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire().await else {
                    return;
                };
                let product = gap.product.clone();
                fill(&shared, rest.as_ref(), gap).await;
                let _ = tx.send(HubEvent::Minute { product });
            });
        }
    }
}

#[async_trait]
impl LiveSource for LiveHub {
    fn quote(&self, product: &str) -> Option<(LiveQuote, Duration)> {
        LiveHub::quote(self, product)
    }

    async fn minute_bars(&self, product: &str) -> Vec<Bar> {
        LiveHub::minute_bars(self, product)
    }

    fn watch(&self, products: Vec<String>) {
        LiveHub::watch(self, products);
    }

    fn unwatch(&self, products: Vec<String>) {
        LiveHub::unwatch(self, products);
    }

    fn status(&self) -> HubStatus {
        LiveHub::status(self)
    }

    fn statuses(&self) -> Vec<HubStatus> {
        LiveHub::statuses(self)
    }
}

impl Drop for LiveHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One event into the cache: a gap that is over and wants REST, and what changed.
fn apply(
    state: &Mutex<State>,
    source: &'static str,
    event: StreamEvent,
    received: Instant,
) -> (Option<Gap>, Option<HubEvent>) {
    let mut s = lock(state);
    if let Some(feed) = s.feed(source) {
        feed.last_message = Some(received);
    }
    match event {
        StreamEvent::Connected { reconnects } => {
            let Some(feed) = s.feed(source) else {
                return (None, None);
            };
            feed.state = FeedState::Connected;
            feed.reconnects = reconnects;
            let state = FeedState::Connected;
            (None, Some(HubEvent::State { source, state }))
        }
        StreamEvent::Disconnected { reason, .. } => {
            let state = FeedState::Reconnecting { reason };
            if let Some(feed) = s.feed(source) {
                feed.state = state.clone();
            }
            s.bars.disconnected_if(|p| source_of(p) == source);
            (None, Some(HubEvent::State { source, state }))
        }
        StreamEvent::Quote(q) => {
            s.quotes.insert(q.product.clone(), (q.clone(), received));
            (
                None,
                Some(HubEvent::Quote {
                    quote: q,
                    at: received,
                }),
            )
        }
        StreamEvent::Trade(t) => {
            let before = s.bars.current(&t.product);
            let gap = s.bars.trade(&t);
            let closed = before.is_some_and(|b| s.bars.current(&t.product) > Some(b));
            let change = closed.then_some(HubEvent::Minute { product: t.product });
            (gap, change)
        }
        StreamEvent::Heartbeat { .. } => (None, None),
    }
}

/// Fetches a gap's minutes over REST and puts them in; on failure the minutes stay out (never
/// half a minute) and the failure is logged.
async fn fill(state: &Mutex<State>, rest: &dyn MarketData, gap: Gap) {
    let bars = super::bars::fetch(rest, &gap).await.unwrap_or_else(|err| {
        tracing::warn!(%err, product = %gap.product, "minute gap fill failed; those minutes stay out");
        Vec::new()
    });
    lock(state).bars.fill(&gap, &bars);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_takes_at_most_max_streamed_products() {
        let (mut crypto, mut stocks) = (
            std::collections::BTreeSet::new(),
            std::collections::BTreeSet::new(),
        );
        for i in 0..MAX_STREAMED - 1 {
            assert!(admit(true, &format!("P{i}-USD"), &mut crypto, stocks.len()));
        }
        assert!(
            admit(true, "AAPL", &mut stocks, crypto.len()),
            "the last place"
        );
        assert!(!admit(true, "MSFT", &mut stocks, crypto.len()), "full");
        assert!(
            !admit(true, "NEW-USD", &mut crypto, stocks.len()),
            "full for either source"
        );
        assert!(
            admit(true, "P1-USD", &mut crypto, stocks.len()),
            "already streamed"
        );
        assert!(admit(false, "AAPL", &mut stocks, crypto.len()));
        assert!(
            admit(true, "MSFT", &mut stocks, crypto.len()),
            "a place came free"
        );
        assert_eq!(crypto.len() + stocks.len(), MAX_STREAMED);
    }
}
