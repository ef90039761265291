//! The live cache in front of Coinbase: quotes from the stream (bid, ask, last trade), a product
//! not yet streamed answered over REST and then streamed, minute bars from the stream merged with
//! REST's history without a gap or a duplicate.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::sync::Arc;
use std::time::{Duration, Instant};

use quantdesk_coinbase_standin::{FeedConfig as StandInFeed, GroundTruth, StandIn};
use quantdesk_domain::{Symbol, Timeframe};
use quantdesk_market::stream::coinbase::FeedConfig;
use quantdesk_market::stream::hub::{FeedState, LiveHub};
use quantdesk_market::stream::live::LiveCrypto;
use quantdesk_market::{BarsRequest, CoinbaseConfig, CoinbaseProvider, MarketData};

async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "waited 10 s for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn prices_come_from_the_stream_and_bars_merge_with_rest() {
    let feed = StandInFeed {
        from_minute: 1_000,
        tick: Duration::from_millis(1),
        rest_follows_feed: true,
    };
    let standin = StandIn::start_with_feed(GroundTruth::standard(), feed)
        .await
        .unwrap();
    let rest = Arc::new(CoinbaseProvider::new(CoinbaseConfig {
        rest_url: standin.base_url(),
    }));
    let config = FeedConfig {
        url: standin.ws_url().to_string(),
        heartbeat: Duration::from_millis(500),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
    };
    let hub = Arc::new(LiveHub::start(config, rest.clone(), vec!["BTC-USD".into()]));
    let live = LiveCrypto::new(rest.clone(), hub.clone());
    until("a BTC quote", || hub.quote("BTC-USD")).await;
    assert_eq!(hub.status().state, FeedState::Connected);

    let btc = Symbol::parse("BTC/USD").unwrap();
    let s = live.snapshot(&btc).await.unwrap();
    let q = s.quote.clone().expect("a live quote has bid and ask");
    assert_eq!(s.provenance.source, "coinbase");
    assert!(q.bid < q.ask && q.bid_size > rust_decimal::Decimal::ZERO);
    assert_eq!(s.provenance.as_of, q.time);
    let minutes = &standin.truth().minutes["BTC-USD"];
    assert!(
        minutes
            .iter()
            .any(|c| c.time == q.time.timestamp() - q.time.timestamp() % 60),
        "a replayed minute"
    );

    // ETH is not streamed yet: REST answers (no quote), and asking puts it on the stream.
    let eth = Symbol::parse("ETH-USD").unwrap();
    let first = live.snapshot(&eth).await.unwrap();
    assert!(
        first.quote.is_none(),
        "REST's ticker carries no sizes: no quote is made up"
    );
    until("an ETH quote", || hub.quote("ETH-USD")).await;
    assert!(live.snapshot(&eth).await.unwrap().quote.is_some());

    // Minute bars: REST's newest 300 end where the stand-in's history ends; the stream's closed
    // minutes (replayed from minute 1,000) are merged in by time, one bar per minute.
    let closed = until("three closed minutes", || {
        let bars = hub.minute_bars("BTC-USD");
        (bars.len() >= 3).then_some(bars)
    })
    .await;
    let mut req = BarsRequest::new(btc.clone(), Timeframe::MINUTE);
    req.limit = Some(400);
    let merged = live.bars(&req).await.unwrap().bars;
    let times: Vec<_> = merged.iter().map(|b| b.time).collect();
    let mut sorted = times.clone();
    sorted.dedup();
    assert_eq!(times, sorted, "oldest first, no duplicate");
    for b in &closed {
        let truth = minutes
            .iter()
            .find(|c| c.time == b.time.timestamp())
            .unwrap();
        assert_eq!(
            (b.open, b.high, b.low, b.close, b.volume),
            (truth.open, truth.high, truth.low, truth.close, truth.volume)
        );
        assert!(
            merged.contains(b),
            "the stream's minute {} is in the answer",
            b.time
        );
    }
    drop(hub);
    drop(standin);
}
