//! Stocks streamed from a linked Alpaca account, against the stand-in's market data websocket:
//! 20 forced disconnects in one run leave minute bars exactly equal to the stand-in's tape (the
//! missed minutes gap-filled over REST: none missing, none twice); the app and eight sidecars
//! share one upstream connection per source; an account linked while the app runs starts the
//! stream; `get_stock_price`'s source is `alpaca-stream`, labelled stale only while the market
//! is open.
#![allow(unused_crate_dependencies)] // a test uses some of its package's dependencies

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use quantdesk_alpaca_standin::StandIn;
use quantdesk_domain::{Bar, Decimal, Symbol};
use quantdesk_live::{Part, Role, SharedLive};
use quantdesk_market::stream::alpaca::AlpacaStreamConfig;
use quantdesk_market::stream::coinbase::FeedConfig;
use quantdesk_market::stream::hub::{ALPACA, AlpacaUpstream, FeedState, LiveHub, Upstreams};
use quantdesk_market::stream::live::LiveSource;
use quantdesk_market::stream::stocks::{AlpacaClock, LiveStocks};
use quantdesk_market::{
    AlpacaConfig, AlpacaFeed, AlpacaProvider, CoinbaseConfig, CoinbaseProvider, MarketData,
};

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "waited 20 s for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn alpaca(standin: &StandIn) -> AlpacaUpstream {
    let rest = AlpacaProvider::new(AlpacaConfig {
        key_id: StandIn::KEY_ID.into(),
        secret: StandIn::SECRET.into(),
        data_url: standin.base_url(),
        feed: AlpacaFeed::Iex,
    })
    .unwrap();
    AlpacaUpstream {
        config: AlpacaStreamConfig {
            data_url: standin.base_url(),
            stream_url: standin.stream_url().to_string(),
            key_id: StandIn::KEY_ID.into(),
            secret: StandIn::SECRET.into(),
            feed: AlpacaFeed::Iex,
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(100),
        },
        rest: Arc::new(rest),
    }
}

/// Coinbase's part, idle: no crypto pair is watched in these tests, so it never connects.
fn upstreams(alpaca: Option<AlpacaUpstream>) -> Upstreams {
    Upstreams {
        coinbase: FeedConfig {
            url: "ws://127.0.0.1:9".into(),
            ..FeedConfig::default()
        },
        coinbase_rest: Arc::new(CoinbaseProvider::new(CoinbaseConfig {
            rest_url: "http://127.0.0.1:9".into(),
        })),
        alpaca,
    }
}

fn alpaca_state(statuses: &[quantdesk_market::stream::hub::HubStatus]) -> Option<(FeedState, u64)> {
    statuses
        .iter()
        .find(|s| s.source == ALPACA)
        .map(|s| (s.state.clone(), s.reconnects))
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_disconnects_leave_minute_bars_equal_to_the_ground_truth() {
    let standin = StandIn::start().await;
    let hub = LiveHub::start_with(upstreams(Some(alpaca(&standin))), vec!["AAPL".into()]);
    until("the Alpaca stream connected", || {
        alpaca_state(&hub.statuses()).is_some_and(|(s, _)| s == FeedState::Connected)
    })
    .await;

    let t0: DateTime<Utc> = "2026-12-01T15:00:00Z".parse().unwrap();
    let mut truth: BTreeMap<DateTime<Utc>, Bar> = BTreeMap::new();
    let mut id = 0u64;
    let mut trade = |minute: i64, k: i64| {
        id += 1;
        let time = t0 + TimeDelta::minutes(minute) + TimeDelta::seconds(k * 11);
        let price = Decimal::new(18_000 + (minute * 37 + k * 13) % 251, 2);
        let size = (1 + k) as u64;
        standin.stream_trade("AAPL", id, &price.to_string(), size, &at(time));
        let m = t0 + TimeDelta::minutes(minute);
        let size = Decimal::from(size);
        truth
            .entry(m)
            .and_modify(|b| {
                b.high = b.high.max(price);
                b.low = b.low.min(price);
                b.close = price;
                b.volume += size;
            })
            .or_insert(Bar {
                time: m,
                open: price,
                high: price,
                low: price,
                close: price,
                volume: size,
            });
    };
    let mut drops = 0;
    // Each drop costs the minute before it (partial), its own and the one after (partial):
    // a drop every six minutes leaves stream-built minutes between the REST-filled ones.
    for minute in 0..122 {
        if minute % 6 == 3 && drops < 20 {
            // Dropped: this minute's trades happen while the client is away (the tape has
            // them, the stream does not), and it comes back with backoff.
            drops += 1;
            standin.stream_drop();
            until("the drop seen", || {
                matches!(
                    alpaca_state(&hub.statuses()),
                    Some((FeedState::Reconnecting { .. }, _))
                )
            })
            .await;
            for k in 0..5 {
                trade(minute, k);
            }
            until("the reconnection", || {
                alpaca_state(&hub.statuses())
                    .is_some_and(|(s, n)| s == FeedState::Connected && n >= drops)
            })
            .await;
        } else {
            for k in 0..5 {
                trade(minute, k);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    assert_eq!(drops, 20);
    // A trade in a later minute closes the last one.
    trade(130, 0);
    let want: Vec<Bar> = truth
        .range(..t0 + TimeDelta::minutes(122))
        .map(|(_, b)| b.clone())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got: Vec<Bar> = hub
            .minute_bars("AAPL")
            .into_iter()
            .filter(|b| b.time < t0 + TimeDelta::minutes(122))
            .collect();
        if got == want {
            break;
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = want
                .iter()
                .filter(|b| !got.iter().any(|g| g.time == b.time))
                .map(|b| b.time)
                .collect();
            let wrong: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
            panic!(
                "minute bars differ from the tape: {} of {} bars; missing {missing:?}; wrong {wrong:?}",
                got.len(),
                want.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        standin.stream_connections() >= 21,
        "one connection per reconnect"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_and_eight_sidecars_share_one_alpaca_connection() {
    let standin = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![SharedLive::join_with(
        dir.path(),
        Role::App,
        upstreams(Some(alpaca(&standin))),
    )];
    until("the app owns the stream", || all[0].part() == Part::Owner).await;
    for _ in 0..8 {
        all.push(SharedLive::join_with(
            dir.path(),
            Role::Sidecar,
            upstreams(Some(alpaca(&standin))),
        ));
    }
    until("eight mirrors", || {
        all[1..].iter().all(|l| l.part() == Part::Mirror)
    })
    .await;
    all[3].watch(vec!["AAPL".into()]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !all.iter().all(|l| l.quote("AAPL").is_some()) {
        assert!(
            Instant::now() < deadline,
            "an AAPL quote in all nine processes"
        );
        standin.stream_quote("AAPL", "189.10", "189.12", &at(Utc::now()));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(standin.stream_connections(), 1, "one upstream connection");
    assert_eq!(standin.stream_refused(), 0);
    let (q, _) = all[7].quote("AAPL").unwrap();
    assert_eq!(
        (q.bid, q.ask),
        (Decimal::new(18910, 2), Decimal::new(18912, 2))
    );
    until("the mirrors know the Alpaca stream's state", || {
        alpaca_state(&all[5].statuses()).is_some_and(|(s, _)| s == FeedState::Connected)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_linked_while_the_app_runs_streams_the_stocks_asked_for() {
    let standin = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = SharedLive::join_with(dir.path(), Role::App, upstreams(None));
    until("the app owns the stream", || app.part() == Part::Owner).await;
    app.watch(vec!["AAPL".into()]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        standin.stream_connections(),
        0,
        "no account, no stock stream"
    );
    assert_eq!(alpaca_state(&app.statuses()), None);

    app.set_alpaca(Some(alpaca(&standin)));
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.quote("AAPL").is_none() {
        assert!(Instant::now() < deadline, "AAPL streamed once linked");
        standin.stream_quote("AAPL", "190.00", "190.02", &at(Utc::now()));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(standin.stream_connections(), 1);

    app.set_alpaca(None);
    until("stocks forgotten once unlinked", || {
        app.quote("AAPL").is_none() && alpaca_state(&app.statuses()).is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_prices_come_from_the_stream_and_are_stale_only_while_the_market_is_open() {
    for open in [true, false] {
        let standin = StandIn::builder().market_open(open).start().await.unwrap();
        let upstream = alpaca(&standin);
        let rest = upstream.rest.clone();
        let hub = Arc::new(LiveHub::start_with(upstreams(Some(upstream)), Vec::new()));
        let clock =
            AlpacaClock::new(&standin.base_url(), StandIn::KEY_ID, StandIn::SECRET).unwrap();
        let stocks = LiveStocks::new(rest, hub.clone(), Arc::new(clock))
            .with_stale_after(Duration::from_millis(300));
        let goog = Symbol::parse("GOOG").unwrap();

        // Not streamed yet: REST answers, and the symbol goes on the stream.
        let first = stocks.snapshot(&goog).await.unwrap();
        assert_eq!(first.provenance.source, "alpaca");
        let deadline = Instant::now() + Duration::from_secs(20);
        while hub.quote("GOOG").is_none() {
            assert!(
                Instant::now() < deadline,
                "GOOG streamed after the first ask"
            );
            standin.stream_quote("GOOG", "806.10", "806.30", &at(Utc::now()));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let live = stocks.snapshot(&goog).await.unwrap();
        assert_eq!(live.provenance.source, "alpaca-stream");
        let quote = live.quote.clone().unwrap();
        assert_eq!(
            (quote.bid, quote.ask),
            (Decimal::new(80610, 2), Decimal::new(80630, 2))
        );
        assert_eq!(
            live.price,
            Decimal::new(8062, 1),
            "the mid before any trade"
        );
        assert!((Utc::now() - live.provenance.as_of).num_milliseconds() < 1_000);
        assert_eq!(live.stale, None);

        tokio::time::sleep(Duration::from_millis(400)).await;
        let old = stocks.snapshot(&goog).await.unwrap();
        assert_eq!(old.provenance.source, "alpaca-stream");
        if open {
            let why = old.stale.expect("labelled stale while the market is open");
            assert!(why.contains("while the market is open"), "{why}");
        } else {
            assert_eq!(old.stale, None, "a closed market's last quote is not stale");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_alert_fires_once_at_the_minute_its_condition_turns_true() {
    use quantdesk_live::alerts::{AlertAction, Alerts, AlertsParams};
    use quantdesk_store::Store;

    let standin = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let upstream = alpaca(&standin);
    let rest = upstream.rest.clone();
    let live = Arc::new(SharedLive::join_with(
        dir.path(),
        Role::App,
        upstreams(Some(upstream)),
    ));
    until("the app owns the stream", || live.part() == Part::Owner).await;
    let coinbase: Arc<dyn MarketData> = Arc::new(CoinbaseProvider::new(CoinbaseConfig {
        rest_url: "http://127.0.0.1:9".into(),
    }));
    let alerts = Alerts::new(
        store.clone(),
        coinbase.clone(),
        coinbase,
        live.clone(),
        "test",
    );
    let create = |symbol: &str| AlertsParams {
        action: AlertAction::Create,
        symbol: Some(symbol.into()),
        condition: Some("close < 800".into()),
        timeframe: None,
        repeat: false,
        id: None,
    };
    let refused = alerts.handle(create("GOOG")).await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("once an Alpaca account is linked"),
        "{refused}"
    );

    let clock = AlpacaClock::new(&standin.base_url(), StandIn::KEY_ID, StandIn::SECRET).unwrap();
    alerts.set_stocks(Some(Arc::new(LiveStocks::new(
        rest,
        live.clone(),
        Arc::new(clock),
    ))));
    let unknown = alerts.handle(create("NOPE")).await.unwrap_err();
    assert!(
        unknown
            .to_string()
            .contains("Alpaca has no market data for 'NOPE'"),
        "{unknown}"
    );
    let out = alerts.handle(create("GOOG")).await.unwrap();
    let id = out.alerts[0].id.clone();

    // Closes 805, 803, 801, then 799, 797, 795: the condition turns true at the fourth minute.
    // Evaluated as the minutes come (the first evaluation looks at the newest closed bar only).
    let t0: DateTime<Utc> = "2026-12-01T15:00:00Z".parse().unwrap();
    let closes = ["805", "803", "801", "799", "797", "795"];
    for (m, close) in closes.iter().enumerate().take(3) {
        let time = t0 + TimeDelta::minutes(m as i64) + TimeDelta::seconds(30);
        standin.stream_trade("GOOG", m as u64 + 1, close, 10, &at(time));
    }
    // The stream's clock: a quote in the next minute.
    let clock_at = |m: i64| at(t0 + TimeDelta::minutes(m) + TimeDelta::seconds(5));
    standin.stream_quote("GOOG", "800.9", "801.1", &clock_at(3));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        alerts.sweep(None).await.unwrap();
        let a = store.alert(&id).await.unwrap().unwrap();
        if a.last_bar == Some(t0 + TimeDelta::minutes(2)) {
            assert_eq!(a.last_value, Some(false));
            break;
        }
        assert!(Instant::now() < deadline, "minute 2 never evaluated: {a:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (m, close) in closes.iter().enumerate().skip(3) {
        let time = t0 + TimeDelta::minutes(m as i64) + TimeDelta::seconds(30);
        standin.stream_trade("GOOG", m as u64 + 1, close, 10, &at(time));
    }
    standin.stream_quote("GOOG", "794.9", "795.1", &clock_at(6));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        alerts.sweep(None).await.unwrap();
        let fired = store.alert_firings(Some(&id)).await.unwrap();
        if !fired.is_empty() {
            assert_eq!(fired.len(), 1);
            assert_eq!(
                fired[0].bar_time,
                t0 + TimeDelta::minutes(3),
                "the 799 minute"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the GOOG alert never fired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    alerts.sweep(None).await.unwrap();
    assert_eq!(
        store.alert_firings(Some(&id)).await.unwrap().len(),
        1,
        "once"
    );
}
