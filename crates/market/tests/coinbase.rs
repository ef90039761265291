//! The Coinbase provider against the Coinbase stand-in, which speaks Exchange's documented REST
//! shapes and limits (300 candles a request, newest first, `{"message"}` errors): bars assembled
//! from many pages equal the stand-in's ground truth exactly, snapshots carry Coinbase's numbers,
//! and faults (rate limits, 500s, garbage) end in a retry or a clear error, never a made-up price.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use quantdesk_coinbase_standin::{Candle, Fault, GroundTruth, START, StandIn};
use quantdesk_domain::{Bar, Symbol, Timeframe, TimeframeUnit};
use quantdesk_market::{
    BarsRequest, BundledProvider, CoinbaseConfig, CoinbaseProvider, CryptoRouted, MarketData,
    MarketError,
};

async fn standin() -> (StandIn, CoinbaseProvider) {
    let standin = StandIn::start(GroundTruth::standard())
        .await
        .expect("stand-in");
    let provider = CoinbaseProvider::new(CoinbaseConfig {
        rest_url: standin.base_url(),
    });
    (standin, provider)
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

fn bars(candles: &[Candle]) -> Vec<Bar> {
    candles.iter().map(Candle::bar).collect()
}

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(START, 0).unwrap()
}

#[tokio::test]
async fn three_days_of_minutes_from_fifteen_pages_equal_the_ground_truth() {
    let (standin, cb) = standin().await;
    let mut req = BarsRequest::new(sym("ETH/USD"), Timeframe::MINUTE);
    req.start = Some(start());
    req.end = Some(start() + Duration::days(3) - Duration::minutes(1));
    let series = cb.bars(&req).await.unwrap();
    let truth = bars(&standin.truth().minutes["ETH-USD"]);
    assert_eq!(series.bars.len(), truth.len());
    assert_eq!(
        series.bars, truth,
        "0 missing, 0 duplicated, every number exact"
    );
    assert_eq!(series.provenance.source, "coinbase");
    assert!(standin.log().iter().all(|p| p.contains("granularity=60")));
    assert_eq!(
        standin.requests(),
        15,
        "4,320 minutes are 15 pages of 288-300"
    );
}

#[tokio::test]
async fn the_newest_bars_come_back_in_time_from_coinbases_latest() {
    let (standin, cb) = standin().await;
    let mut req = BarsRequest::new(sym("btc-usd"), Timeframe::MINUTE);
    req.limit = Some(700);
    let series = cb.bars(&req).await.unwrap();
    let truth = bars(&standin.truth().minutes["BTC-USD"]);
    assert_eq!(series.bars, truth[truth.len() - 700..]);
    // Hours, the last ten before a given end, and 30-minute bars built from 15-minute candles.
    let mut req = BarsRequest::new(sym("BTCUSD"), Timeframe::HOUR);
    let end = start() + Duration::hours(30);
    req.end = Some(end);
    req.limit = Some(10);
    let hours = cb.bars(&req).await.unwrap().bars;
    let truth_hours = bars(&standin.truth().candles("BTC-USD", 3600));
    assert_eq!(hours, truth_hours[21..31]);
    let mut req = BarsRequest::new(sym("BTC/USD"), Timeframe::new(30, TimeframeUnit::Minute));
    req.start = Some(start());
    req.limit = Some(48);
    let halves = cb.bars(&req).await.unwrap().bars;
    assert_eq!(
        halves,
        bars(&standin.truth().candles("BTC-USD", 1800))[..48]
    );
}

#[tokio::test]
async fn a_snapshot_is_the_last_trade_against_the_price_a_day_ago() {
    let (standin, cb) = standin().await;
    let s = cb.snapshot(&sym("BTC/USD")).await.unwrap();
    let minutes = &standin.truth().minutes["BTC-USD"];
    let last = minutes.last().unwrap();
    let day_ago = &minutes[minutes.len() - 1440];
    assert_eq!(s.price, last.close);
    assert_eq!(s.previous_close, Some(day_ago.open));
    assert_eq!(s.change, Some(last.close - day_ago.open));
    assert_eq!(s.provenance.source, "coinbase");
    assert_eq!(s.provenance.as_of, standin.truth().now("BTC-USD").unwrap());
    assert_eq!(
        s.day_high,
        minutes[minutes.len() - 1440..]
            .iter()
            .map(|c| c.high)
            .max()
            .unwrap()
    );
}

#[tokio::test]
async fn unknown_pairs_and_non_crypto_are_unknown_symbols() {
    let (standin, cb) = standin().await;
    for s in ["DOGE/USD", "GOOG", "OLD/USD"] {
        let err = cb.snapshot(&sym(s)).await.unwrap_err();
        assert!(
            matches!(err, MarketError::UnknownSymbol { .. }),
            "{s}: {err}"
        );
    }
    let listed: Vec<String> = cb
        .symbols()
        .await
        .unwrap()
        .iter()
        .map(|i| i.symbol.to_string())
        .collect();
    assert_eq!(
        listed,
        ["BTC/USD", "ETH/USD"],
        "the delisted pair is not offered"
    );
    drop(standin);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_then_reported() {
    let (standin, cb) = standin().await;
    standin.fail_next(Fault::RateLimited, 1);
    standin.fail_next(Fault::ServerError, 1);
    let s = cb.snapshot(&sym("ETH/USD")).await.unwrap();
    assert_eq!(
        s.price,
        standin.truth().minutes["ETH-USD"].last().unwrap().close
    );
    standin.fail_next(Fault::RateLimited, 3);
    let mut req = BarsRequest::new(sym("ETH/USD"), Timeframe::MINUTE);
    req.limit = Some(5);
    let err = cb.bars(&req).await.unwrap_err();
    assert!(matches!(err, MarketError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("rate limited"), "{err}");
    standin.fail_next(Fault::Malformed, 1);
    let err = cb.bars(&req).await.unwrap_err();
    assert!(matches!(err, MarketError::BadResponse { .. }), "{err}");
    assert_eq!(
        cb.bars(&req).await.unwrap().bars.len(),
        5,
        "the next call is answered"
    );
}

#[tokio::test]
async fn routed_crypto_comes_from_coinbase_and_never_from_history_when_it_is_down() {
    let (standin, cb) = standin().await;
    let routed = CryptoRouted::new(Arc::new(cb), Arc::new(BundledProvider::new()));
    let btc = routed.snapshot(&sym("BTC/USD")).await.unwrap();
    assert_eq!(btc.provenance.source, "coinbase");
    let goog = routed.snapshot(&sym("GOOG")).await.unwrap();
    assert_eq!(goog.provenance.source, "bundled");
    let eur = routed.snapshot(&sym("EUR/USD")).await.unwrap();
    assert_eq!(eur.provenance.source, "bundled");
    // The bundled universe's own name for its Bitcoin series stays with it.
    let series = routed.snapshot(&sym("BTCUSD")).await.unwrap();
    assert_eq!(series.provenance.source, "bundled");
    drop(standin);
    let err = routed.snapshot(&sym("BTC/USD")).await.unwrap_err();
    assert!(
        matches!(
            err,
            MarketError::Unavailable {
                provider: "coinbase",
                ..
            }
        ),
        "{err}"
    );
}
