//! One upstream connection per machine: the app and eight sidecars on one data folder share a
//! single websocket to the (stand-in) venue, counted by the stand-in; the app takes the stream
//! over from a sidecar that had it; when the owner goes, a mirror takes over.
#![allow(unused_crate_dependencies)] // a test uses some of its package's dependencies

use std::sync::Arc;
use std::time::{Duration, Instant};

use quantdesk_coinbase_standin::{FeedConfig as StandInFeed, GroundTruth, StandIn};
use quantdesk_live::{Part, Role, SharedLive};
use quantdesk_market::stream::coinbase::FeedConfig;
use quantdesk_market::stream::hub::FeedState;
use quantdesk_market::stream::live::LiveSource;
use quantdesk_market::{CoinbaseConfig, CoinbaseProvider, MarketData};

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "waited 15 s for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn standin() -> StandIn {
    let feed = StandInFeed {
        from_minute: 0,
        tick: Duration::from_millis(2),
        rest_follows_feed: true,
    };
    StandIn::start_with_feed(GroundTruth::standard(), feed)
        .await
        .unwrap()
}

fn join(dir: &std::path::Path, standin: &StandIn, role: Role) -> SharedLive {
    let rest: Arc<dyn MarketData> = Arc::new(CoinbaseProvider::new(CoinbaseConfig {
        rest_url: standin.base_url(),
    }));
    let config = FeedConfig {
        url: standin.ws_url().to_string(),
        heartbeat: Duration::from_millis(500),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
    };
    let live = SharedLive::join(dir, role, config, rest);
    live.watch(vec!["BTC-USD".into()]);
    live
}

fn owners(all: &[SharedLive]) -> usize {
    all.iter().filter(|l| l.part() == Part::Owner).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_and_eight_sidecars_share_one_upstream_connection() {
    let standin = standin().await;
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![join(dir.path(), &standin, Role::App)];
    for _ in 0..8 {
        all.push(join(dir.path(), &standin, Role::Sidecar));
    }
    until("a BTC quote in all nine processes' views", || {
        all.iter().all(|l| l.quote("BTC-USD").is_some())
    })
    .await;
    assert_eq!(owners(&all), 1);
    assert_eq!(all[0].part(), Part::Owner, "the app owns the stream");
    assert!(all[1..].iter().all(|l| l.part() == Part::Mirror));
    assert_eq!(standin.connections_accepted(), 1);
    assert_eq!(standin.connections_open(), 1);

    // A mirror's quote is the owner's, never presented younger than the owner received it.
    let (owned, owned_age) = all[0].quote("BTC-USD").unwrap();
    let (mirrored, mirrored_age) = all[5].quote("BTC-USD").unwrap();
    assert!(mirrored.time <= owned.time + chrono::Duration::minutes(1));
    assert!(mirrored.time >= owned.time - chrono::Duration::minutes(1));
    assert!(mirrored_age + Duration::from_millis(50) >= owned_age.min(mirrored_age));
    assert_eq!(all[5].status().state, FeedState::Connected);

    // Minute bars come from the owner's cache.
    until("closed minutes at the owner", || {
        all[0]
            .hub()
            .is_some_and(|h| h.minute_bars("BTC-USD").len() >= 2)
    })
    .await;
    let from_mirror = all[3].minute_bars("BTC-USD").await;
    let from_owner = all[0].minute_bars("BTC-USD").await;
    assert!(from_mirror.len() >= 2);
    let common = from_mirror.len().min(from_owner.len());
    assert_eq!(from_mirror[..common], from_owner[..common]);

    // Watching ETH from a mirror puts it on the one connection.
    all[7].watch(vec!["ETH-USD".into()]);
    until("an ETH quote everywhere", || {
        all.iter().all(|l| l.quote("ETH-USD").is_some())
    })
    .await;
    assert_eq!(standin.connections_accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_takes_the_stream_over_and_a_mirror_takes_it_when_the_owner_goes() {
    let standin = standin().await;
    let dir = tempfile::tempdir().unwrap();
    let first = join(dir.path(), &standin, Role::Sidecar);
    until("the first sidecar to own", || first.part() == Part::Owner).await;
    let second = join(dir.path(), &standin, Role::Sidecar);
    until("a quote in the second", || {
        second.quote("BTC-USD").is_some()
    })
    .await;
    assert_eq!(second.part(), Part::Mirror);
    assert_eq!(standin.connections_accepted(), 1);

    // The app starts: the sidecar hands the stream over.
    let app = join(dir.path(), &standin, Role::App);
    until("the app to own the stream", || app.part() == Part::Owner).await;
    until("both sidecars to mirror the app", || {
        first.part() == Part::Mirror && second.part() == Part::Mirror
    })
    .await;
    until("one connection open", || standin.connections_open() == 1).await;
    assert_eq!(standin.connections_accepted(), 2);
    until("quotes again in the sidecars", || {
        first.quote("BTC-USD").is_some() && second.quote("BTC-USD").is_some()
    })
    .await;

    // The app quits: one sidecar takes over, the other mirrors it, one connection again.
    drop(app);
    let all = [first, second];
    until("a sidecar to own the stream", || owners(&all) == 1).await;
    until("the other to mirror it", || {
        all.iter().any(|l| l.part() == Part::Mirror)
    })
    .await;
    until("one connection open", || standin.connections_open() == 1).await;
    assert_eq!(standin.connections_accepted(), 3);
    until("quotes in both", || {
        all.iter().all(|l| l.quote("BTC-USD").is_some())
    })
    .await;
}
