//! The live cache one process keeps from a feed: the latest quote per product, minute bars built
//! from trades and gap-filled over REST, and the stream's state (connected, reconnecting, stale).
//! The desktop app runs one; a sidecar runs one when no app does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use quantdesk_domain::{Bar, Symbol, Timeframe};

use super::bars::{Gap, MinuteBars};
use super::coinbase::{CoinbaseFeed, FeedConfig};
use super::{LiveQuote, StreamEvent};
use crate::{BarsRequest, MarketData, MarketError};

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

/// The stream's state as the app shows it.
#[derive(Debug, Clone)]
pub struct HubStatus {
    pub state: FeedState,
    pub source: &'static str,
    pub reconnects: u64,
    /// Since the last message of any kind (heartbeats count).
    pub silent_for: Option<Duration>,
}

#[derive(Debug)]
struct State {
    quotes: BTreeMap<String, (LiveQuote, Instant)>,
    bars: MinuteBars,
    state: FeedState,
    reconnects: u64,
    last_message: Option<Instant>,
}

/// A running live cache over one feed (see the module docs); dropping it stops the feed.
#[derive(Debug)]
pub struct LiveHub {
    state: Arc<Mutex<State>>,
    commands: tokio::sync::mpsc::UnboundedSender<Vec<String>>,
    task: tokio::task::JoinHandle<()>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic elsewhere must not take the prices with it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LiveHub {
    /// Streams `products` from Coinbase's feed, filling minute gaps from `rest`.
    pub fn start(config: FeedConfig, rest: Arc<dyn MarketData>, products: Vec<String>) -> Self {
        let state = Arc::new(Mutex::new(State {
            quotes: BTreeMap::new(),
            bars: MinuteBars::new(),
            state: FeedState::Connecting,
            reconnects: 0,
            last_message: None,
        }));
        let (commands, mut more) = tokio::sync::mpsc::unbounded_channel::<Vec<String>>();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut feed = CoinbaseFeed::start(config, products);
            loop {
                tokio::select! {
                    Some(products) = more.recv() => feed.subscribe(products),
                    event = feed.next() => {
                        let Some(event) = event else { return };
                        if let Some(gap) = apply(&shared, event) {
                            fill(&shared, rest.as_ref(), gap).await;
                        }
                    }
                }
            }
        });
        Self {
            state,
            commands,
            task,
        }
    }

    /// Adds products to the stream.
    pub fn watch(&self, products: Vec<String>) {
        let _ = self.commands.send(products);
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

    pub fn status(&self) -> HubStatus {
        let s = lock(&self.state);
        HubStatus {
            state: s.state.clone(),
            source: "coinbase",
            reconnects: s.reconnects,
            silent_for: s.last_message.map(|t| t.elapsed()),
        }
    }
}

impl Drop for LiveHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One event into the cache; a gap that is over and wants REST.
fn apply(state: &Mutex<State>, event: StreamEvent) -> Option<Gap> {
    let mut s = lock(state);
    s.last_message = Some(Instant::now());
    match event {
        StreamEvent::Connected { reconnects } => {
            s.state = FeedState::Connected;
            s.reconnects = reconnects;
            None
        }
        StreamEvent::Disconnected { reason, .. } => {
            s.state = FeedState::Reconnecting { reason };
            s.bars.disconnected();
            None
        }
        StreamEvent::Quote(q) => {
            s.quotes.insert(q.product.clone(), (q, Instant::now()));
            None
        }
        StreamEvent::Trade(t) => s.bars.trade(&t),
        StreamEvent::Heartbeat { .. } => None,
    }
}

/// Fetches a gap's minutes over REST and puts them in; on failure the minutes stay out (never
/// half a minute) and the failure is logged.
async fn fill(state: &Mutex<State>, rest: &dyn MarketData, gap: Gap) {
    let Ok(symbol) = Symbol::parse(&gap.product) else {
        return;
    };
    let mut req = BarsRequest::new(symbol, Timeframe::MINUTE);
    req.start = Some(gap.from);
    req.end = Some(gap.to);
    let bars = match rest.bars(&req).await {
        Ok(series) => series.bars,
        // Minutes without a trade have no candle.
        Err(MarketError::NoData { .. }) => Vec::new(),
        Err(err) => {
            tracing::warn!(%err, product = %gap.product, "minute gap fill failed; those minutes stay out");
            Vec::new()
        }
    };
    lock(state).bars.fill(&gap, &bars);
}
