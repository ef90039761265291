//! One live market stream per machine. Alpaca allows one market-data websocket per account and
//! every Claude conversation starts its own sidecar, so the processes of one data folder elect
//! an owner: whoever holds `ipc/market.lock` runs the upstream feed (a
//! [`LiveHub`](quantdesk_market::stream::hub::LiveHub)) and serves its cache on
//! `ipc/market.sock`; the others mirror it — quotes pushed as they arrive, minute bars on
//! request — and open no upstream connection. The desktop app is the rightful owner: a sidecar
//! that holds the stream hands it over when the app asks. When the owner exits, the kernel frees
//! the lock and the mirrors elect a new one.
//!
//! It must never open a second upstream connection for one data folder, never let another
//! user's process in (the socket's folder is 0700 and each peer's uid is checked), and never
//! present a mirrored quote as fresher than the owner received it.
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency
#![forbid(unsafe_code)]

pub mod alerts;
mod client;
mod owner;
pub mod watch;
pub mod wire;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use quantdesk_domain::Bar;
use quantdesk_market::MarketData;
use quantdesk_market::stream::LiveQuote;
use quantdesk_market::stream::coinbase::FeedConfig;
use quantdesk_market::stream::hub::{
    AlpacaUpstream, COINBASE, FeedState, HubStatus, LiveHub, Upstreams,
};
use quantdesk_market::stream::live::LiveSource;

pub use wire::Role;

/// The lock whose holder runs the stream.
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ipc").join("market.lock")
}

/// Where the owner serves its cache.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ipc").join("market.sock")
}

/// What this process is in the election right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Looking for the owner or trying the lock.
    Electing,
    /// Runs the upstream feed.
    Owner,
    /// Mirrors the owner's cache.
    Mirror,
}

#[derive(Debug)]
enum Current {
    Electing,
    Owner(Arc<LiveHub>),
    Mirror(Arc<client::Mirror>),
}

#[derive(Debug)]
struct Inner {
    data_dir: PathBuf,
    role: Role,
    /// What an owner streams (Alpaca's part changes when an account is linked or unlinked).
    upstreams: Mutex<Upstreams>,
    current: Mutex<Current>,
    watched: Mutex<BTreeSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This process's share of the machine's live stream (see the crate docs). Dropping it stops
/// whatever part it plays.
#[derive(Debug)]
pub struct SharedLive {
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl SharedLive {
    /// Joins the election of `data_dir` as `role`, streaming Coinbase's feed (`config`, gaps
    /// filled from `rest`) if it becomes the owner.
    pub fn join(
        data_dir: &Path,
        role: Role,
        config: FeedConfig,
        rest: Arc<dyn MarketData>,
    ) -> Self {
        Self::join_with(
            data_dir,
            role,
            Upstreams {
                coinbase: config,
                coinbase_rest: rest,
                alpaca: None,
            },
        )
    }

    /// Joins as `role`, streaming `upstreams` (Coinbase's feed, and Alpaca's for stocks when an
    /// account is linked) if it becomes the owner.
    pub fn join_with(data_dir: &Path, role: Role, upstreams: Upstreams) -> Self {
        let inner = Arc::new(Inner {
            data_dir: data_dir.to_path_buf(),
            role,
            upstreams: Mutex::new(upstreams),
            current: Mutex::new(Current::Electing),
            watched: Mutex::new(BTreeSet::new()),
        });
        let task = tokio::spawn(elect(inner.clone()));
        Self { inner, task }
    }

    pub fn part(&self) -> Part {
        match &*lock(&self.inner.current) {
            Current::Electing => Part::Electing,
            Current::Owner(_) => Part::Owner,
            Current::Mirror(_) => Part::Mirror,
        }
    }

    /// The hub, when this process owns the stream (alerts are evaluated where the stream is).
    pub fn hub(&self) -> Option<Arc<LiveHub>> {
        match &*lock(&self.inner.current) {
            Current::Owner(hub) => Some(hub.clone()),
            _ => None,
        }
    }

    /// Streams stocks through this Alpaca account from now on (`None`: none) whenever this
    /// process owns the stream — at once if it does now.
    pub fn set_alpaca(&self, alpaca: Option<AlpacaUpstream>) {
        lock(&self.inner.upstreams).alpaca = alpaca.clone();
        if let Current::Owner(hub) = &*lock(&self.inner.current) {
            hub.set_alpaca(alpaca);
        }
    }

    /// Products this process asked to stream.
    pub fn watched(&self) -> Vec<String> {
        lock(&self.inner.watched).iter().cloned().collect()
    }
}

impl Drop for SharedLive {
    fn drop(&mut self) {
        self.task.abort();
        *lock(&self.inner.current) = Current::Electing;
    }
}

#[async_trait]
impl LiveSource for SharedLive {
    fn quote(&self, product: &str) -> Option<(LiveQuote, Duration)> {
        match &*lock(&self.inner.current) {
            Current::Owner(hub) => hub.quote(product),
            Current::Mirror(m) => m.quote(product),
            Current::Electing => None,
        }
    }

    async fn minute_bars(&self, product: &str) -> Vec<Bar> {
        let current = match &*lock(&self.inner.current) {
            Current::Owner(hub) => return hub.minute_bars(product),
            Current::Mirror(m) => m.clone(),
            Current::Electing => return Vec::new(),
        };
        current.minute_bars(product).await
    }

    fn watch(&self, products: Vec<String>) {
        lock(&self.inner.watched).extend(products.iter().cloned());
        match &*lock(&self.inner.current) {
            Current::Owner(hub) => hub.watch(products),
            Current::Mirror(m) => m.send(wire::Msg::Watch { products }),
            Current::Electing => {}
        }
    }

    fn unwatch(&self, products: Vec<String>) {
        {
            let mut w = lock(&self.inner.watched);
            for p in &products {
                w.remove(p);
            }
        }
        match &*lock(&self.inner.current) {
            Current::Owner(hub) => hub.unwatch(products),
            Current::Mirror(m) => m.send(wire::Msg::Unwatch { products }),
            Current::Electing => {}
        }
    }

    fn status(&self) -> HubStatus {
        match &*lock(&self.inner.current) {
            Current::Owner(hub) => hub.status(),
            Current::Mirror(m) => m.status(),
            Current::Electing => electing(),
        }
    }

    fn statuses(&self) -> Vec<HubStatus> {
        match &*lock(&self.inner.current) {
            Current::Owner(hub) => hub.statuses(),
            Current::Mirror(m) => m.statuses(),
            Current::Electing => vec![electing()],
        }
    }
}

/// What the stream is while the machine decides who owns it: connecting.
fn electing() -> HubStatus {
    HubStatus {
        state: FeedState::Connecting,
        source: COINBASE,
        reconnects: 0,
        silent_for: None,
    }
}

/// Tries the lock without waiting: the file, held, when this process won.
fn try_lock(data_dir: &Path) -> std::io::Result<Option<File>> {
    quantdesk_ipc::private_dir(data_dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(data_dir))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// A pause of `min`..`2·min`, so processes that lost the owner together do not all try at once.
fn pause(min: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    min + Duration::from_nanos(u64::from(nanos) % min.as_nanos().max(1) as u64)
}

/// The election, for as long as the process runs: own the stream or mirror the owner.
async fn elect(inner: Arc<Inner>) {
    loop {
        match try_lock(&inner.data_dir) {
            Ok(Some(held)) => {
                let handed_over = owner::run(&inner, held).await;
                *lock(&inner.current) = Current::Electing;
                if handed_over {
                    // Give the app the first go at the lock.
                    tokio::time::sleep(pause(Duration::from_millis(500))).await;
                }
                continue;
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(%err, "the live stream's lock could not be tried");
            }
        }
        match client::run(&inner).await {
            // The owner went away: the app tries again at once, sidecars after a pause.
            Ok(()) if inner.role == Role::App => {}
            Ok(()) => tokio::time::sleep(pause(Duration::from_millis(50))).await,
            Err(err) => {
                tracing::debug!(%err, "no owner of the live stream to mirror yet");
                tokio::time::sleep(pause(Duration::from_millis(20))).await;
            }
        }
    }
}
