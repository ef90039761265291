//! The Coinbase websocket feed against the stand-in's feed: dropped connections come back
//! (backoff with jitter, resubscribed, no trade delivered twice), malformed and unknown frames
//! are skipped, and a silent feed is noticed within twice the heartbeat interval.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use quantdesk_coinbase_standin::{Candle, FeedConfig as StandInFeed, GroundTruth, StandIn};
use quantdesk_domain::Bar;
use quantdesk_market::stream::StreamEvent;
use quantdesk_market::stream::bars::MinuteBars;
use quantdesk_market::stream::coinbase::{CoinbaseFeed, FeedConfig};
use quantdesk_market::{CoinbaseConfig, CoinbaseProvider};

async fn standin(tick_ms: u64, rest_follows_feed: bool) -> StandIn {
    let feed = StandInFeed {
        from_minute: 0,
        tick: Duration::from_millis(tick_ms),
        rest_follows_feed,
    };
    StandIn::start_with_feed(GroundTruth::standard(), feed)
        .await
        .expect("stand-in")
}

fn config(standin: &StandIn, heartbeat_ms: u64) -> FeedConfig {
    FeedConfig {
        url: standin.ws_url().to_string(),
        heartbeat: Duration::from_millis(heartbeat_ms),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(200),
    }
}

/// The next event within `within`.
async fn next(feed: &mut CoinbaseFeed, within: Duration) -> StreamEvent {
    tokio::time::timeout(within, feed.next())
        .await
        .expect("an event in time")
        .expect("the feed is running")
}

#[tokio::test]
async fn twenty_dropped_connections_come_back_resubscribed_without_a_duplicate_trade() {
    let standin = standin(1, false).await;
    let mut feed = CoinbaseFeed::start(config(&standin, 500), ["BTC-USD".to_string()]);
    let mut last_id = 0;
    let mut trades = 0;
    let mut reconnects = 0;
    let mut since_connect = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while reconnects < 20 {
        assert!(
            Instant::now() < deadline,
            "only {reconnects} reconnections in a minute"
        );
        match next(&mut feed, Duration::from_secs(5)).await {
            StreamEvent::Trade(t) => {
                assert_eq!(t.product, "BTC-USD", "only what was subscribed");
                assert!(t.trade_id > last_id, "trade {} after {last_id}", t.trade_id);
                last_id = t.trade_id;
                trades += 1;
                since_connect += 1;
                if since_connect == 10 {
                    standin.drop_connections();
                }
            }
            StreamEvent::Connected { reconnects: n } => {
                assert_eq!(n, reconnects, "reconnections are counted");
                since_connect = 0;
            }
            StreamEvent::Disconnected { retry_in, .. } => {
                assert!(retry_in <= Duration::from_millis(200), "{retry_in:?}");
                reconnects += 1;
            }
            StreamEvent::Quote(q) => assert_eq!(q.product, "BTC-USD"),
            StreamEvent::Heartbeat { .. } => {}
        }
    }
    // Trades flow again after the last one.
    loop {
        if let StreamEvent::Trade(_) = next(&mut feed, Duration::from_secs(5)).await {
            break;
        }
    }
    assert!(trades >= 200, "{trades}");
    assert_eq!(standin.connections_accepted(), 21);
    assert_eq!(feed.stats().disconnects.load(Ordering::Relaxed), 20);
    drop(feed);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        standin.connections_open(),
        0,
        "dropping the feed closes its connection"
    );
}

#[tokio::test]
async fn malformed_and_unknown_frames_are_skipped_and_the_stream_goes_on() {
    let standin = standin(2, false).await;
    let mut feed = CoinbaseFeed::start(config(&standin, 500), ["ETH-USD".to_string()]);
    while !matches!(
        next(&mut feed, Duration::from_secs(5)).await,
        StreamEvent::Trade(_)
    ) {}
    standin.send_garbage(3);
    let mut after = 0;
    while after < 20 {
        if let StreamEvent::Trade(t) = next(&mut feed, Duration::from_secs(5)).await {
            assert_eq!(t.product, "ETH-USD");
            after += 1;
        }
    }
    assert_eq!(feed.stats().malformed.load(Ordering::Relaxed), 3);
    assert_eq!(feed.stats().unknown.load(Ordering::Relaxed), 3);
    assert_eq!(feed.stats().disconnects.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_stalled_feed_is_noticed_within_two_heartbeats_and_left_for_a_new_connection() {
    let standin = standin(2, false).await;
    let heartbeat = Duration::from_millis(250);
    let mut feed = CoinbaseFeed::start(config(&standin, 250), ["BTC-USD".to_string()]);
    while !matches!(
        next(&mut feed, Duration::from_secs(5)).await,
        StreamEvent::Trade(_)
    ) {}
    standin.stall(true);
    let stalled = Instant::now();
    let reason = loop {
        if let StreamEvent::Disconnected { reason, .. } =
            next(&mut feed, Duration::from_secs(5)).await
        {
            break reason;
        }
    };
    let noticed = stalled.elapsed();
    assert!(reason.starts_with("stalled"), "{reason}");
    // Two heartbeats, and a little for the scheduler of a busy test machine.
    assert!(
        noticed <= heartbeat * 2 + Duration::from_millis(200),
        "{noticed:?}"
    );
    standin.stall(false);
    while !matches!(
        next(&mut feed, Duration::from_secs(5)).await,
        StreamEvent::Trade(_)
    ) {}
    assert_eq!(feed.stats().stalls.load(Ordering::Relaxed), 1);
    assert_eq!(standin.connections_accepted(), 2);
}

#[tokio::test]
async fn minute_bars_from_the_stream_and_rest_equal_the_ground_truth_after_twenty_disconnects() {
    let standin = standin(1, true).await;
    let rest = CoinbaseProvider::new(CoinbaseConfig {
        rest_url: standin.base_url(),
    });
    let products = ["BTC-USD".to_string(), "ETH-USD".to_string()];
    let mut feed = CoinbaseFeed::start(config(&standin, 500), products.clone());
    let mut bars = MinuteBars::new();
    let (mut disconnects, mut trades, mut fills) = (0, 0, 0);
    let mut filled_minutes = std::collections::BTreeMap::<String, i64>::new();
    while disconnects < 20 || trades < 40 {
        match next(&mut feed, Duration::from_secs(5)).await {
            StreamEvent::Trade(t) => {
                trades += 1;
                if trades % 80 == 0 && disconnects < 20 {
                    standin.drop_connections();
                }
                if let Some(gap) = bars.trade(&t) {
                    // The hub's own fetch (a gap of minutes without trades: nothing to put in).
                    let got = quantdesk_market::stream::bars::fetch(&rest, &gap)
                        .await
                        .unwrap_or_else(|e| panic!("gap fill: {e}"));
                    bars.fill(&gap, &got);
                    fills += 1;
                    *filled_minutes.entry(gap.product.clone()).or_default() +=
                        (gap.to - gap.from).num_minutes() + 1;
                }
            }
            StreamEvent::Disconnected { .. } => {
                disconnects += 1;
                bars.disconnected();
            }
            _ => {}
        }
    }
    assert!(fills >= 20, "{fills} gap fills");
    for product in &products {
        let built = bars.closed(product);
        // Most minutes come from the stream's trades, not from REST.
        let from_rest = filled_minutes[product] as usize;
        assert!(
            built.len() > 2 * from_rest,
            "{product}: {} minutes, {from_rest} from REST",
            built.len()
        );
        let (first, last) = (built[0].time, built[built.len() - 1].time);
        let truth: Vec<Bar> = standin.truth().minutes[product]
            .iter()
            .filter(|c| c.time >= first.timestamp() && c.time <= last.timestamp())
            .map(Candle::bar)
            .collect();
        assert_eq!(
            built, truth,
            "{product}: 0 missing, 0 duplicated, every number exact"
        );
    }
}
