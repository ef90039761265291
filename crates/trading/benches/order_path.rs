//! The order path on a plaintext store against the same path on a SQLCipher-encrypted one: a
//! paper market buy and the sell that closes it, through `Desk::place` (validate, guard, journal,
//! fill, bookkeeping, audit), each on its own store. Target: encryption at rest costs at most 10%.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use quantdesk_broker::{PaperBroker, PaperConfig};
use quantdesk_domain::{OrderRequest, Side, Symbol};
use quantdesk_guard::{ApprovalPolicy, Limits, set_approval_policy, set_limits};
use quantdesk_market::BundledProvider;
use quantdesk_store::{Store, StoreKey};
use quantdesk_trading::Desk;
use rust_decimal_macros::dec;
use tokio::runtime::Runtime;

/// Encryption may add at most this much to an order's round trip.
const TARGET_OVERHEAD: f64 = 0.10;

/// Round trips on one store before the bench moves to a fresh one: a hundred orders, a busy
/// person's day (the replay clock stands still, so every order is "today's").
const PER_STORE: u32 = 50;

/// A paper desk on a store of its own in `root`.
async fn desk(root: &Path, n: u32, key: Option<&StoreKey>) -> (Store, Desk) {
    let dir = root.join(format!("store-{n}"));
    let store = match key {
        Some(key) => Store::open_in_with_key(&dir, key).await,
        None => Store::open_in(&dir).await,
    }
    .expect("open the store");
    // No rate limit or loss limit in the way of thousands of orders; every rule is still checked.
    let limits = Limits {
        max_orders_per_minute: None,
        max_daily_loss: None,
        market_hours_only: false,
        ..Limits::default()
    };
    set_limits(&store, &limits).await.expect("limits");
    set_approval_policy(&store, &ApprovalPolicy::Never)
        .await
        .expect("approval policy");
    let paper = Arc::new(PaperBroker::new(
        store.clone(),
        Arc::new(BundledProvider::new()),
        PaperConfig::default(),
    ));
    let desk = Desk::new(store.clone(), paper, "bench");
    (store, desk)
}

/// One side of the comparison: its folder, its key (if encrypted), the store in use.
struct Bench {
    root: tempfile::TempDir,
    key: Option<StoreKey>,
    stores: u32,
    trips: u32,
    store: Store,
    desk: Desk,
}

impl Bench {
    async fn new(key: Option<StoreKey>) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let (store, desk) = desk(root.path(), 0, key.as_ref()).await;
        Self {
            root,
            key,
            stores: 1,
            trips: 0,
            store,
            desk,
        }
    }

    /// One buy of a share and the sell that closes it, each with an id of its own (the same
    /// request twice would be answered as a duplicate), timed; every [`PER_STORE`] trips, a
    /// fresh store, untimed.
    async fn round_trip(&mut self) -> Duration {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        if self.trips == PER_STORE {
            self.store.close().await;
            let (store, desk) = desk(self.root.path(), self.stores, self.key.as_ref()).await;
            (self.store, self.desk, self.stores, self.trips) = (store, desk, self.stores + 1, 0);
        }
        self.trips += 1;
        let goog = Symbol::parse("GOOG").expect("symbol");
        let started = Instant::now();
        for side in [Side::Buy, Side::Sell] {
            let id = format!("bench-{}", NEXT.fetch_add(1, Ordering::Relaxed));
            let placed = self
                .desk
                .place(
                    &OrderRequest::market(goog.clone(), side, dec!(1)),
                    Some(&id),
                )
                .await
                .expect("place");
            assert_eq!(placed.outcome, "filled", "{placed:?}");
        }
        started.elapsed()
    }
}

fn timed(rt: &Runtime, bench: &mut Bench, iters: u64) -> Duration {
    (0..iters).map(|_| rt.block_on(bench.round_trip())).sum()
}

fn main() {
    let rt = Runtime::new().expect("runtime");
    let mut plain = rt.block_on(Bench::new(None));
    let mut encrypted = rt.block_on(Bench::new(Some(StoreKey::generate().expect("key"))));
    // Warm both: the schema, the caches, a journal with some history.
    for _ in 0..20 {
        rt.block_on(plain.round_trip());
        rt.block_on(encrypted.round_trip());
    }

    let mut criterion = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut group = criterion.benchmark_group("order_path");
    group.bench_function("plaintext store", |b| {
        b.iter_custom(|iters| timed(&rt, &mut plain, iters))
    });
    group.bench_function("encrypted store", |b| {
        b.iter_custom(|iters| timed(&rt, &mut encrypted, iters))
    });
    group.finish();
    criterion.final_summary();

    // The verdict from interleaved runs, so drift on a busy machine falls on both sides alike.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..201 {
        a.push(rt.block_on(plain.round_trip()));
        b.push(rt.block_on(encrypted.round_trip()));
    }
    a.sort();
    b.sort();
    let (p, e) = (a[a.len() / 2].as_secs_f64(), b[b.len() / 2].as_secs_f64());
    let overhead = e / p - 1.0;
    let verdict = if overhead <= TARGET_OVERHEAD {
        "MET"
    } else {
        "MISSED"
    };
    println!(
        "order path (buy + sell, paper): plaintext {:.3} ms, encrypted {:.3} ms, encryption costs \
         {:+.1}% (target <= {:.0}%): {verdict}",
        p * 1e3,
        e * 1e3,
        overhead * 100.0,
        TARGET_OVERHEAD * 100.0
    );
    rt.block_on(async {
        plain.store.close().await;
        encrypted.store.close().await;
    });
}
