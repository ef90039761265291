//! The Alpaca provider against the stand-in Alpaca server: what it asks for (from the request
//! log), what it makes of the answers, and how it words failures.
#![allow(unused_crate_dependencies)] // a test or bench uses some of its package's dependencies

use chrono::{DateTime, NaiveDate, Utc};
use quantdesk_alpaca_standin::{Route, StandIn};
use quantdesk_domain::{OptionKind, Symbol, Timeframe};
use quantdesk_market::{
    AlpacaConfig, AlpacaFeed, AlpacaProvider, BarsRequest, ChainRequest, MarketData, MarketError,
};
use rust_decimal_macros::dec;

fn provider(standin: &StandIn) -> AlpacaProvider {
    provider_with(standin, AlpacaFeed::Iex)
}

fn provider_with(standin: &StandIn, feed: AlpacaFeed) -> AlpacaProvider {
    let mut config = AlpacaConfig::new(StandIn::KEY_ID, StandIn::SECRET);
    config.data_url = standin.base_url();
    config.feed = feed;
    AlpacaProvider::new(config).unwrap()
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn bars_in_one_page() {
    let standin = StandIn::start().await;
    let mut req = BarsRequest::new(sym("aapl"), Timeframe::DAY);
    req.start = Some(time("2024-03-01T00:00:00Z"));
    let series = provider(&standin).bars(&req).await.unwrap();
    assert_eq!(series.symbol.as_str(), "AAPL");
    assert_eq!(series.bars.len(), 5);
    assert_eq!(series.bars[0].time, time("2024-03-11T04:00:00Z"));
    assert_eq!(series.bars[0].open, dec!(172.94));
    assert_eq!(series.bars[4].close, dec!(172.62));
    assert_eq!(series.bars[4].volume, dec!(121752699));
    assert_eq!(series.provenance.source, "alpaca");
    assert_eq!(series.provenance.as_of, time("2024-03-15T04:00:00Z"));

    let log = standin.requests();
    assert_eq!(log.len(), 1);
    let r = &log[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("GET", "/v2/stocks/AAPL/bars")
    );
    assert_eq!(r.query("timeframe"), Some("1Day"));
    assert_eq!(r.query("feed"), Some("iex"));
    assert_eq!(r.query("adjustment"), Some("raw"));
    assert_eq!(r.query("sort"), Some("asc"));
    assert_eq!(r.query("start"), Some("2024-03-01T00:00:00Z"));
    assert_eq!(r.query("end"), None);
    assert_eq!(r.query("page_token"), None);
    assert!(r.authorized);
}

#[tokio::test]
async fn bars_follow_next_page_token() {
    let standin = StandIn::start().await;
    let p = provider(&standin);
    let mut req = BarsRequest::new(sym("GOOG"), Timeframe::DAY);
    req.start = Some(time("2012-12-01T00:00:00Z"));
    let series = p.bars(&req).await.unwrap();
    // The stand-in hands out GOOG in pages of 25, as Alpaca may return less than `limit`.
    assert_eq!(series.bars.len(), 60);
    assert!(series.bars.windows(2).all(|w| w[0].time < w[1].time));
    assert_eq!(series.bars[0].time, time("2012-12-04T05:00:00Z"));
    assert_eq!(series.bars[0].close, dec!(691.03));
    assert_eq!(series.bars[59].close, dec!(806.19));
    let log = standin.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].query("page_token"), None);
    assert!(log[1].query("page_token").is_some());
    assert!(log[2].query("page_token").is_some());
    assert_ne!(log[1].query("page_token"), log[2].query("page_token"));
    // Every page repeats the other parameters, as Alpaca requires.
    assert!(
        log.iter()
            .all(|r| r.query("start") == Some("2012-12-01T00:00:00Z"))
    );

    // With a limit, pages stop once it is reached and the last asks only for what is missing.
    standin.clear_requests();
    req.limit = Some(30);
    let series = p.bars(&req).await.unwrap();
    assert_eq!(series.bars.len(), 30);
    assert_eq!(series.bars[0].time, time("2012-12-04T05:00:00Z"));
    let log = standin.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].query("limit"), Some("30"));
    assert_eq!(log[1].query("limit"), Some("5"));
}

#[tokio::test]
async fn a_limit_without_start_gives_the_newest_bars_oldest_first() {
    let standin = StandIn::start().await;
    let mut req = BarsRequest::new(sym("GOOG"), Timeframe::DAY);
    req.limit = Some(5);
    let series = provider_with(&standin, AlpacaFeed::Sip)
        .bars(&req)
        .await
        .unwrap();
    assert_eq!(series.bars.len(), 5);
    assert_eq!(series.bars[0].time, time("2013-02-25T05:00:00Z"));
    assert_eq!(series.bars[0].close, dec!(790.77));
    assert_eq!(series.bars[4].time, time("2013-03-01T05:00:00Z"));
    assert_eq!(series.provenance.as_of, time("2013-03-01T05:00:00Z"));
    let log = standin.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].query("sort"), Some("desc"));
    assert_eq!(log[0].query("limit"), Some("5"));
    assert_eq!(log[0].query("feed"), Some("sip"));
    // Alpaca's default start is today; an explicit early one is what reaches the history.
    assert_eq!(log[0].query("start"), Some("2000-01-01T00:00:00Z"));
}

#[tokio::test]
async fn crypto_bars() {
    let standin = StandIn::start().await;
    let mut req = BarsRequest::new(sym("btc/usd"), Timeframe::MONTH);
    req.start = Some(time("2024-01-01T00:00:00Z"));
    let series = provider(&standin).bars(&req).await.unwrap();
    assert_eq!(series.bars.len(), 12);
    assert_eq!(series.bars[0].time, time("2024-01-01T06:00:00Z"));
    assert_eq!(series.bars[0].open, dec!(42652));
    assert_eq!(series.bars[11].close, dec!(93381));
    assert_eq!(series.bars[11].volume, dec!(25342.80228337));
    assert_eq!(series.provenance.source, "alpaca");
    let log = standin.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].path, "/v1beta3/crypto/us/bars");
    assert_eq!(log[0].query("symbols"), Some("BTC/USD"));
    assert_eq!(log[0].query("timeframe"), Some("1Month"));
    // Crypto has no stock feed or corporate-action adjustment.
    assert_eq!(log[0].query("feed"), None);
    assert_eq!(log[0].query("adjustment"), None);
}

#[tokio::test]
async fn stock_snapshot() {
    let standin = StandIn::start().await;
    let s = provider(&standin).snapshot(&sym("GOOG")).await.unwrap();
    assert_eq!(s.price, dec!(806.19));
    assert_eq!(s.previous_close, Some(dec!(801.2)));
    assert_eq!(s.change, Some(dec!(4.99)));
    assert_eq!(s.change_pct, Some(dec!(0.6228)));
    assert_eq!(s.session, Timeframe::DAY);
    assert_eq!(
        (s.day_open, s.day_high, s.day_low),
        (dec!(797.8), dec!(807.14), dec!(796.15))
    );
    assert_eq!(s.volume, dec!(2175400));
    let q = s.quote.as_ref().unwrap();
    assert_eq!(q.symbol.as_str(), "GOOG");
    assert_eq!((q.bid, q.bid_size), (dec!(806.1), dec!(2)));
    assert_eq!((q.ask, q.ask_size), (dec!(806.3), dec!(1)));
    assert_eq!(q.time, time("2013-03-01T20:59:59.812045312Z"));
    assert_eq!(s.provenance.source, "alpaca");
    assert_eq!(s.provenance.as_of, time("2013-03-01T20:59:58.624310528Z"));
    let log = standin.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].path, "/v2/stocks/GOOG/snapshot");
    assert_eq!(log[0].query("feed"), Some("iex"));
}

#[tokio::test]
async fn crypto_snapshot() {
    let standin = StandIn::start().await;
    let s = provider(&standin).snapshot(&sym("BTC/USD")).await.unwrap();
    assert_eq!(s.price, dec!(93381));
    assert_eq!(s.previous_close, Some(dec!(92790.1)));
    assert_eq!(s.change, Some(dec!(590.9)));
    assert_eq!(s.volume, dec!(1.820546133));
    let q = s.quote.as_ref().unwrap();
    assert_eq!((q.bid, q.ask), (dec!(93360.47), dec!(93405.2)));
    assert_eq!(q.ask_size, dec!(0.4077));
    assert_eq!(s.provenance.source, "alpaca");
    assert_eq!(s.provenance.as_of, time("2024-12-31T23:59:58.512283137Z"));
    let log = standin.requests();
    assert_eq!(log[0].path, "/v1beta3/crypto/us/snapshots");
    assert_eq!(log[0].query("symbols"), Some("BTC/USD"));
}

#[tokio::test]
async fn option_chain_groups_calls_and_puts_around_the_money() {
    let standin = StandIn::start().await;
    let p = provider(&standin);
    let chain = p
        .option_chain(&ChainRequest {
            underlying: sym("GOOG"),
            expiration: None,
            strikes_around: 2,
        })
        .await
        .unwrap();
    assert_eq!(chain.underlying_price, dec!(806.19));
    assert_eq!(
        chain.expirations,
        vec![date("2013-03-22"), date("2013-04-19")]
    );
    let strikes = |exp: &str| -> Vec<_> {
        chain
            .contracts
            .iter()
            .filter(|c| c.expiration == date(exp))
            .map(|c| c.strike)
            .collect()
    };
    // Two strikes at or below 806.19 and two above, per expiration.
    let around = vec![dec!(790), dec!(800), dec!(810), dec!(820)];
    assert_eq!(strikes("2013-03-22"), around);
    assert_eq!(strikes("2013-04-19"), around);
    assert!(
        chain
            .contracts
            .iter()
            .all(|c| c.call.is_some() && c.put.is_some())
    );
    assert!(chain.model_inputs.is_none());
    assert_eq!(chain.provenance.source, "alpaca");
    assert!(chain.provenance.as_of >= time("2013-03-01T20:59:58.624310528Z"));

    let put = chain
        .contracts
        .iter()
        .find(|c| c.expiration == date("2013-03-22") && c.strike == dec!(800))
        .and_then(|c| c.put.as_ref())
        .unwrap();
    assert_eq!(put.contract, "GOOG130322P00800000");
    assert_eq!(
        (put.bid, put.ask, put.last),
        (Some(dec!(13.82)), Some(dec!(14.12)), Some(dec!(13.97)))
    );
    assert_eq!(put.implied_volatility, Some(0.2202));
    let greeks = put.greeks.unwrap();
    assert_eq!((greeks.delta, greeks.vega), (-0.4307, 0.7598));
    // Never in these responses, so never invented.
    assert_eq!((put.volume, put.open_interest), (None, None));
    assert_eq!(put.theoretical_value, None);

    let log = standin.requests();
    assert_eq!(log.len(), 3, "{log:#?}");
    assert_eq!(log[0].path, "/v2/stocks/GOOG/snapshot");
    assert_eq!(log[1].path, "/v1beta1/options/snapshots/GOOG");
    assert_eq!(log[1].query("feed"), Some("indicative"));
    assert_eq!(log[1].query("page_token"), None);
    assert_eq!(log[1].query("strike_price_gte"), Some("564.33"));
    assert_eq!(log[1].query("strike_price_lte"), Some("1048.05"));
    assert_eq!(log[1].query("expiration_date"), None);
    assert_eq!(
        log[2].query("page_token"),
        Some("R09PRzEzMDQxOUMwMDc4MDAwMA==")
    );
}

#[tokio::test]
async fn option_chain_for_one_expiration_keeps_what_alpaca_left_out_empty() {
    let standin = StandIn::start().await;
    let chain = provider(&standin)
        .option_chain(&ChainRequest {
            underlying: sym("GOOG"),
            expiration: Some(date("2013-03-22")),
            strikes_around: 4,
        })
        .await
        .unwrap();
    assert_eq!(chain.expirations, vec![date("2013-03-22")]);
    let strikes: Vec<_> = chain.contracts.iter().map(|c| c.strike).collect();
    assert_eq!(strikes.len(), 8);
    assert_eq!((strikes[0], strikes[7]), (dec!(770), dec!(840)));
    // The adjusted GOOG1 contract is not GOOG's.
    assert!(
        chain
            .contracts
            .iter()
            .flat_map(|c| [&c.call, &c.put])
            .flatten()
            .all(|q| q.contract.starts_with("GOOG13"))
    );
    let deep_call = chain.contracts[0].call.as_ref().unwrap();
    assert_eq!(deep_call.implied_volatility, None);
    assert!(deep_call.greeks.is_none());
    assert_eq!(deep_call.bid, Some(dec!(40.34)));
    let untraded = chain.contracts[1].put.as_ref().unwrap();
    assert_eq!(untraded.contract, "GOOG130322P00780000");
    assert_eq!(untraded.last, None);
    assert!(untraded.bid.is_some());
    let kinds: Vec<_> = chain
        .contracts
        .iter()
        .filter_map(|c| c.call.as_ref().map(|_| OptionKind::Call))
        .collect();
    assert_eq!(kinds.len(), 8);
    let log = standin.requests();
    assert_eq!(log[1].query("expiration_date"), Some("2013-03-22"));
}

#[tokio::test]
async fn a_wrong_key_is_named_as_the_problem() {
    let standin = StandIn::start().await;
    let mut config = AlpacaConfig::new(StandIn::KEY_ID, "not-the-secret");
    config.data_url = standin.base_url();
    let p = AlpacaProvider::new(config).unwrap();
    let err = p.snapshot(&sym("GOOG")).await.unwrap_err();
    assert!(matches!(err, MarketError::Rejected { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("API key") && text.contains("request is not authorized"),
        "{text}"
    );
    assert!(!text.contains("not-the-secret"), "{text}");
    assert!(standin.requests().iter().all(|r| !r.authorized));
}

#[tokio::test]
async fn a_forbidden_feed_points_at_the_plan() {
    let standin = StandIn::builder()
        .route(
            Route::get("/v2/stocks/GOOG/snapshot")
                .status(403)
                .body(r#"{"message":"subscription does not permit querying recent SIP data"}"#),
        )
        .start()
        .await
        .unwrap();
    let err = provider_with(&standin, AlpacaFeed::Sip)
        .snapshot(&sym("GOOG"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, MarketError::Rejected { .. }), "{err:?}");
    assert!(
        text.contains("subscription does not permit")
            && text.contains("'sip'")
            && text.contains("key"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_symbols_get_a_clear_error() {
    let standin = StandIn::start().await;
    let p = provider(&standin);

    // Alpaca answers an empty list for a ticker it does not know.
    let err = p
        .bars(&BarsRequest::new(sym("ZZZZ"), Timeframe::DAY))
        .await
        .unwrap_err();
    assert!(matches!(err, MarketError::UnknownSymbol { .. }), "{err:?}");
    assert!(err.to_string().contains("'ZZZZ'") && err.to_string().contains("BTC/USD"));

    let err = p.snapshot(&sym("ZZZZ")).await.unwrap_err();
    assert!(matches!(err, MarketError::UnknownSymbol { .. }), "{err:?}");
    let err = p.snapshot(&sym("DOGE/USD")).await.unwrap_err();
    assert!(matches!(err, MarketError::UnknownSymbol { .. }), "{err:?}");

    // An index ticker is refused before anything is sent.
    standin.clear_requests();
    let err = p.snapshot(&sym("^GSPC")).await.unwrap_err();
    assert!(err.to_string().contains("SPY"), "{err}");
    assert!(standin.requests().is_empty());

    // Alpaca's own 4xx message reaches the person.
    let mut req = BarsRequest::new(sym("BTC/USD/X"), Timeframe::DAY);
    req.limit = Some(3);
    let err = p.bars(&req).await.unwrap_err();
    assert!(matches!(err, MarketError::Rejected { .. }), "{err:?}");
    assert!(
        err.to_string().contains("invalid symbol: BTC/USD/X"),
        "{err}"
    );

    // A known symbol outside its history.
    let mut req = BarsRequest::new(sym("GOOG"), Timeframe::DAY);
    req.start = Some(time("2020-01-01T00:00:00Z"));
    req.end = Some(time("2020-02-01T00:00:00Z"));
    let err = p.bars(&req).await.unwrap_err();
    assert!(matches!(err, MarketError::NoData { .. }), "{err:?}");

    // A timeframe Alpaca does not aggregate is refused before asking.
    let err = p
        .bars(&BarsRequest::new(
            sym("GOOG"),
            Timeframe::new(5, quantdesk_domain::TimeframeUnit::Month),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, MarketError::UnsupportedTimeframe { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_down_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut config = AlpacaConfig::new("id", "secret");
    config.data_url = url.clone();
    let err = AlpacaProvider::new(config)
        .unwrap()
        .snapshot(&sym("GOOG"))
        .await
        .unwrap_err();
    assert!(matches!(err, MarketError::Unavailable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&url), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

#[tokio::test]
async fn garbage_and_outages_are_told_apart() {
    let standin = StandIn::builder()
        .route(Route::get("/v2/stocks/GOOG/snapshot").body("<html>not json</html>"))
        .route(
            Route::get("/v2/stocks/AAPL/snapshot")
                .status(503)
                .body(r#"{"message":"service unavailable"}"#),
        )
        .route(
            Route::get("/v2/stocks/MSFT/snapshot")
                .status(429)
                .body(r#"{"message":"too many requests."}"#),
        )
        .start()
        .await
        .unwrap();
    let p = provider(&standin);
    let err = p.snapshot(&sym("GOOG")).await.unwrap_err();
    assert!(matches!(err, MarketError::BadResponse { .. }), "{err:?}");
    let err = p.snapshot(&sym("AAPL")).await.unwrap_err();
    assert!(matches!(err, MarketError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("service unavailable"));
    let err = p.snapshot(&sym("MSFT")).await.unwrap_err();
    assert!(matches!(err, MarketError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("rate limit"));
}

#[tokio::test]
async fn symbols_is_empty_by_design() {
    let standin = StandIn::start().await;
    let p = provider(&standin);
    assert_eq!(p.name(), "alpaca");
    assert!(p.symbols().await.unwrap().is_empty());
    assert!(standin.requests().is_empty());
}

/// Settled history is asked of Alpaca once, then read from the store, exactly (Decimal, not f64).
#[tokio::test]
async fn cached_bars_are_fetched_once_and_come_back_exact() {
    let standin = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = quantdesk_store::Store::open_in(dir.path()).await.unwrap();
    let cached = quantdesk_market::CachedProvider::new(provider(&standin), store);
    let mut req = BarsRequest::new(sym("AAPL"), Timeframe::DAY);
    req.start = Some(time("2024-03-01T00:00:00Z"));
    req.end = Some(time("2024-03-31T00:00:00Z"));
    let first = cached.bars(&req).await.unwrap();
    let second = cached.bars(&req).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(second.bars[0].open, dec!(172.94));
    assert_eq!(
        standin.requests().len(),
        1,
        "the second request should come from the cache"
    );
}
