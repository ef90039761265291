//! The live cache one process keeps from a feed: the latest quote per product, minute bars built
//! from trades and gap-filled over REST, and the stream's state (connected, reconnecting, stale).
//! The desktop app runs one; a sidecar runs one when no app does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use quantdesk_domain::Bar;
use tokio::sync::broadcast;

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
    Quote {
        quote: LiveQuote,
        at: Instant,
    },
    /// A minute of `product` closed, or REST filled some.
    Minute {
        product: String,
    },
    State(FeedState),
}

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
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<HubEvent>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
enum Command {
    Watch(Vec<String>),
    Unwatch(Vec<String>),
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
        let (commands, mut more) = tokio::sync::mpsc::unbounded_channel::<Command>();
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let shared = state.clone();
        let tx = events.clone();
        let fills = Arc::new(tokio::sync::Semaphore::new(FILLS_AT_ONCE));
        let task = tokio::spawn(async move {
            let mut feed = CoinbaseFeed::start(config, products);
            loop {
                tokio::select! {
                    Some(command) = more.recv() => match command {
                        Command::Watch(products) => feed.subscribe(products),
                        Command::Unwatch(products) => {
                            let mut s = lock(&shared);
                            for p in &products {
                                s.quotes.remove(p);
                                s.bars.remove(p);
                            }
                            drop(s);
                            feed.unsubscribe(products);
                        }
                    },
                    event = feed.next_stamped() => {
                        let Some((event, received)) = event else { return };
                        let (gap, change) = apply(&shared, event, received);
                        if let Some(change) = change {
                            let _ = tx.send(change);
                        }
                        if let Some(gap) = gap {
                            // Fetched beside the stream, never in its way: a reconnect with
                            // many products closes as many gaps at once.
                            let (shared, rest, tx) = (shared.clone(), rest.clone(), tx.clone());
                            let permits = fills.clone();
                            tokio::spawn(async move {
                                let Ok(_permit) = permits.acquire().await else { return };
                                let product = gap.product.clone();
                                fill(&shared, rest.as_ref(), gap).await;
                                let _ = tx.send(HubEvent::Minute { product });
                            });
                        }
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
}

impl Drop for LiveHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One event into the cache: a gap that is over and wants REST, and what changed.
fn apply(
    state: &Mutex<State>,
    event: StreamEvent,
    received: Instant,
) -> (Option<Gap>, Option<HubEvent>) {
    let mut s = lock(state);
    s.last_message = Some(received);
    match event {
        StreamEvent::Connected { reconnects } => {
            s.state = FeedState::Connected;
            s.reconnects = reconnects;
            (None, Some(HubEvent::State(FeedState::Connected)))
        }
        StreamEvent::Disconnected { reason, .. } => {
            s.state = FeedState::Reconnecting { reason };
            s.bars.disconnected();
            (None, Some(HubEvent::State(s.state.clone())))
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
