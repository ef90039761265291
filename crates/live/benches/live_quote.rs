//! A price inside a sidecar from the live cache: `LiveCrypto::snapshot` (what
//! `get_crypto_prices` and `get_stock_price` call for a pair) and `LiveStocks::snapshot` (what
//! `get_stock_price` calls for a stock with an Alpaca account linked), each over the sidecar's
//! mirror of the app's live stream — the app's hub streaming from the Coinbase and Alpaca
//! stand-ins (quotes every millisecond while it is measured), the day's range cached. Target
//! (issue 16): at most 1 ms. Prints the median and p99 and a verdict for each.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use quantdesk_coinbase_standin::{FeedConfig as StandInFeed, GroundTruth, StandIn};
use quantdesk_domain::Symbol;
use quantdesk_live::{Part, Role, SharedLive};
use quantdesk_market::stream::coinbase::FeedConfig;
use quantdesk_market::stream::live::{LiveCrypto, LiveSource};
use quantdesk_market::{CoinbaseConfig, CoinbaseProvider, MarketData};
use tokio::runtime::Runtime;

const TARGET: Duration = Duration::from_millis(1);

fn main() {
    let rt = Runtime::new().expect("runtime");
    let (standin, live, app) = rt.block_on(async {
        let feed = StandInFeed {
            from_minute: 0,
            tick: Duration::from_millis(1),
            rest_follows_feed: true,
        };
        let standin = StandIn::start_with_feed(GroundTruth::standard(), feed)
            .await
            .expect("stand-in");
        let rest = Arc::new(CoinbaseProvider::new(CoinbaseConfig {
            rest_url: standin.base_url(),
        }));
        let config = FeedConfig {
            url: standin.ws_url().to_string(),
            ..FeedConfig::default()
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let app = SharedLive::join(dir.path(), Role::App, config.clone(), rest.clone());
        app.watch(vec!["BTC-USD".into()]);
        let sidecar = Arc::new(SharedLive::join(
            dir.path(),
            Role::Sidecar,
            config,
            rest.clone(),
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        while sidecar.part() != Part::Mirror || sidecar.quote("BTC-USD").is_none() {
            assert!(
                Instant::now() < deadline,
                "no mirrored quote from the stand-in's feed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (standin, LiveCrypto::new(rest, sidecar), (app, dir))
    });
    let btc = Symbol::parse("BTC/USD").expect("symbol");
    // The first call fetches the 24-hour range over REST; the rest are the cache.
    let first = rt.block_on(live.snapshot(&btc)).expect("snapshot");
    assert!(first.quote.is_some(), "a live quote");

    let mut criterion = Criterion::default()
        .sample_size(50)
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    criterion.bench_function(
        "live_quote/get_crypto_price in a sidecar (mirrored stream)",
        |b| b.iter(|| rt.block_on(live.snapshot(&btc)).expect("snapshot")),
    );
    criterion.final_summary();

    let times: Vec<Duration> = (0..10_000)
        .map(|_| {
            let started = Instant::now();
            let s = rt.block_on(live.snapshot(&btc)).expect("snapshot");
            let took = started.elapsed();
            assert!(s.quote.is_some());
            took
        })
        .collect();
    report("BTC/USD", times);
    drop(live);
    drop(app);
    drop(standin);
    stocks(&rt);
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let (median, p99) = (times[times.len() / 2], times[times.len() * 99 / 100]);
    let verdict = if p99 <= TARGET { "MET" } else { "MISSED" };
    println!(
        "live quote ({what} in a sidecar, from its mirror of the app's live stream): median {:.1} \
         µs, p99 {:.1} µs (target <= {} ms): {verdict}",
        median.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        TARGET.as_millis()
    );
}

/// GOOG through a linked (stand-in) Alpaca account's stream.
fn stocks(rt: &Runtime) {
    use quantdesk_alpaca_standin::StandIn as AlpacaStandIn;
    use quantdesk_market::stream::alpaca::AlpacaStreamConfig;
    use quantdesk_market::stream::hub::{AlpacaUpstream, Upstreams};
    use quantdesk_market::stream::stocks::{AlpacaClock, LiveStocks};
    use quantdesk_market::{AlpacaConfig, AlpacaFeed, AlpacaProvider};

    let (standin, stocks, keep) = rt.block_on(async {
        let standin = Arc::new(AlpacaStandIn::start().await);
        let mut config = AlpacaConfig::new(AlpacaStandIn::KEY_ID, AlpacaStandIn::SECRET);
        config.data_url = standin.base_url();
        let data: Arc<dyn MarketData> = Arc::new(AlpacaProvider::new(config).expect("provider"));
        let upstreams = Upstreams {
            coinbase: FeedConfig {
                url: "ws://127.0.0.1:9".into(),
                ..FeedConfig::default()
            },
            coinbase_rest: Arc::new(CoinbaseProvider::new(CoinbaseConfig {
                rest_url: "http://127.0.0.1:9".into(),
            })),
            alpaca: Some(AlpacaUpstream {
                config: AlpacaStreamConfig {
                    data_url: standin.base_url(),
                    stream_url: standin.stream_url().to_string(),
                    key_id: AlpacaStandIn::KEY_ID.into(),
                    secret: AlpacaStandIn::SECRET.into(),
                    feed: AlpacaFeed::Iex,
                    backoff_min: Duration::from_millis(10),
                    backoff_max: Duration::from_millis(100),
                },
                rest: data.clone(),
            }),
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let app = SharedLive::join_with(dir.path(), Role::App, upstreams.clone());
        app.watch(vec!["GOOG".into()]);
        let sidecar = Arc::new(SharedLive::join_with(dir.path(), Role::Sidecar, upstreams));
        // Quotes every millisecond while measured.
        let publisher = {
            let standin = standin.clone();
            tokio::spawn(async move {
                loop {
                    let now =
                        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    standin.stream_quote("GOOG", "806.10", "806.30", &now);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while sidecar.part() != Part::Mirror || sidecar.quote("GOOG").is_none() {
            assert!(Instant::now() < deadline, "no mirrored GOOG quote");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let clock = AlpacaClock::new(
            &standin.base_url(),
            AlpacaStandIn::KEY_ID,
            AlpacaStandIn::SECRET,
        )
        .expect("clock");
        let stocks = LiveStocks::new(data, sidecar, Arc::new(clock));
        (standin, stocks, (app, dir, publisher))
    });
    let goog = Symbol::parse("GOOG").expect("symbol");
    let first = rt.block_on(stocks.snapshot(&goog)).expect("snapshot");
    assert_eq!(first.provenance.source, "alpaca-stream");
    let times: Vec<Duration> = (0..10_000)
        .map(|_| {
            let started = Instant::now();
            let s = rt.block_on(stocks.snapshot(&goog)).expect("snapshot");
            let took = started.elapsed();
            assert_eq!(s.provenance.source, "alpaca-stream");
            took
        })
        .collect();
    report("GOOG", times);
    keep.2.abort();
    drop(stocks);
    drop(keep);
    drop(standin);
}
