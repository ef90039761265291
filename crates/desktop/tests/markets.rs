//! The app's live markets against the stand-in Coinbase: the app owns the one upstream
//! connection (a sidecar started beside it mirrors it), the Watchlist shows live quotes with a
//! sparkline and the stream's state, an alert created on the Alerts screen fires once, is
//! audited and becomes exactly one notification, and bad alert forms are refused by field.
#![allow(unused_crate_dependencies)] // a test uses some of its package's dependencies

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quantdesk_coinbase_standin::{FeedConfig as StandInFeed, GroundTruth, StandIn};
use quantdesk_desktop::views::AlertForm;
use quantdesk_desktop::{Desktop, DesktopError, LiveConfig, Options};
use quantdesk_live::{Part, Role, SharedLive};
use quantdesk_market::stream::coinbase::FeedConfig;
use quantdesk_market::stream::live::LiveSource;
use quantdesk_market::{CoinbaseConfig, CoinbaseProvider};
use quantdesk_store::AuditFilter;

fn config(standin: &StandIn) -> LiveConfig {
    LiveConfig {
        rest: CoinbaseConfig {
            rest_url: standin.base_url(),
        },
        feed: FeedConfig {
            url: standin.ws_url().to_string(),
            heartbeat: Duration::from_millis(500),
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(100),
        },
    }
}

async fn app(dir: &Path, standin: &StandIn) -> Desktop {
    let options = Options {
        data_dir: dir.join("data"),
        claude_config: dir.join("Claude").join("claude_desktop_config.json"),
        sidecar: dir.join("bin").join("quantdesk-mcp"),
    };
    Desktop::open_with(options, config(standin)).await.unwrap()
}

async fn until<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "waited 20 s for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_streams_the_watchlist_fires_alerts_and_notifies_once() {
    let feed = StandInFeed {
        from_minute: 500,
        tick: Duration::from_millis(10),
        rest_follows_feed: true,
    };
    let standin = StandIn::start_with_feed(GroundTruth::standard(), feed)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), &standin).await;

    let w = app
        .watch_pairs(vec!["BTC/USD".into(), "ETH-USD".into()])
        .await
        .unwrap();
    assert_eq!(w.rows.len(), 2);
    let w = until("live quotes and a sparkline", || async {
        let w = app.watchlist().await.unwrap();
        (w.rows
            .iter()
            .all(|r| r.price.is_some() && r.sparkline.len() >= 3))
        .then_some(w)
    })
    .await;
    assert_eq!(
        (w.stream.state.as_str(), w.stream.part.as_str()),
        ("connected", "owner")
    );
    let btc = &w.rows[0];
    assert_eq!(btc.symbol, "BTC/USD");
    assert!(btc.bid.is_some() && btc.ask.is_some() && !btc.stale);

    // A sidecar beside the app mirrors the app's stream: still one connection.
    let rest = Arc::new(CoinbaseProvider::new(config(&standin).rest));
    let sidecar = SharedLive::join(
        &dir.path().join("data"),
        Role::Sidecar,
        config(&standin).feed,
        rest,
    );
    until("the sidecar's mirrored quote", || async {
        sidecar.quote("BTC-USD").map(|_| ())
    })
    .await;
    assert_eq!(sidecar.part(), Part::Mirror);
    assert_eq!(standin.connections_accepted(), 1);

    // An alert from the Alerts screen: holds at once, fires once, one notification.
    let page = app
        .create_alert(AlertForm {
            symbol: "ETH/USD".into(),
            condition: "close > 1".into(),
            timeframe: "".into(),
            repeat: false,
        })
        .await
        .unwrap();
    let id = page.alerts[0].id.clone();
    let notices = until("a notification", || async {
        let n = app.alert_notices().await.unwrap();
        (!n.is_empty()).then_some(n)
    })
    .await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].title, "ETH/USD: close > 1");
    assert!(
        notices[0].body.starts_with("ETH/USD closed at "),
        "{}",
        notices[0].body
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.alert_notices().await.unwrap().is_empty(), "shown once");
    let page = app.alerts_page().await.unwrap();
    assert_eq!(page.fired.len(), 1);
    assert!(page.alerts.iter().any(|a| a.id == id && a.status == "done"));
    let audited = app
        .store()
        .audit_entries(&AuditFilter {
            kind: Some("alert".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].actor, "app");

    // Forms the person can fix.
    for (form, said) in [
        (("ETH/USD", "close >", "1Min"), "invalid condition"),
        (("GOOG", "close > 1", ""), "not a crypto pair"),
        (("ETH/USD", "close > 1", "1Week"), "minutes, hours or 1Day"),
        (("ETH/USD", "close > 1", "soon"), "not a timeframe"),
    ] {
        let err = app
            .create_alert(AlertForm {
                symbol: form.0.into(),
                condition: form.1.into(),
                timeframe: form.2.into(),
                repeat: false,
            })
            .await
            .unwrap_err();
        assert!(matches!(err, DesktopError::Invalid { .. }), "{err:?}");
        assert!(err.to_string().contains(said), "{err}");
    }
    // Off the watchlist, a pair an active alert watches keeps streaming; one without stops.
    app.create_alert(AlertForm {
        symbol: "ETH/USD".into(),
        condition: "close < 1".into(),
        timeframe: "5Min".into(),
        repeat: true,
    })
    .await
    .unwrap();
    let w = app
        .unwatch_pairs(vec!["ETH/USD".into(), "BTC/USD".into()])
        .await
        .unwrap();
    assert!(w.rows.is_empty());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (_, eth_age) = sidecar.quote("ETH-USD").expect("ETH still streams");
    assert!(eth_age < Duration::from_millis(500), "{eth_age:?}");
    assert!(
        sidecar
            .quote("BTC-USD")
            .is_none_or(|(_, age)| age > Duration::from_secs(1)),
        "BTC is off the stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_alpaca_account_streams_stocks_on_the_watchlist() {
    use quantdesk_alpaca_standin::StandIn as AlpacaStandIn;
    use quantdesk_desktop::views::AlpacaLink;
    let coinbase = StandIn::start_with_feed(GroundTruth::standard(), StandInFeed::default())
        .await
        .unwrap();
    let alpaca = AlpacaStandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), &coinbase)
        .await
        .with_alpaca_url(alpaca.base_url())
        .await
        .with_alpaca_stream_url(alpaca.stream_url())
        .await;

    match app.watch_pairs(vec!["GOOG".into()]).await {
        Err(DesktopError::Invalid { message, .. }) => {
            assert!(message.contains("link an Alpaca account"), "{message}")
        }
        other => panic!("stocks need a linked account: {other:?}"),
    }
    let link = AlpacaLink {
        key_id: AlpacaStandIn::KEY_ID.into(),
        secret: AlpacaStandIn::SECRET.into(),
        live: false,
    };
    match app.link_alpaca(&link).await {
        Ok(_) => {}
        // No keychain in this environment: nothing can be linked, so nothing streams.
        Err(DesktopError::Keychain(err)) => {
            eprintln!("skipping: {err}");
            return;
        }
        Err(other) => panic!("{other}"),
    }
    let stored = quantdesk_broker::AlpacaLinkRecord::load(app.store())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.feed,
        quantdesk_market::AlpacaFeed::Iex,
        "the stand-in's plan has no SIP: the link records IEX"
    );
    match app.watch_pairs(vec!["NOPE".into()]).await {
        Err(DesktopError::Invalid { message, .. }) => {
            assert!(
                message.contains("Alpaca has no market data for 'NOPE'"),
                "{message}"
            )
        }
        other => panic!("an unknown stock is refused: {other:?}"),
    }
    let w = app.watch_pairs(vec!["GOOG".into()]).await.unwrap();
    assert_eq!(w.rows[0].symbol, "GOOG");
    let deadline = Instant::now() + Duration::from_secs(20);
    let w = loop {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        alpaca.stream_quote("GOOG", "806.10", "806.30", &now);
        let w = app.watchlist().await.unwrap();
        if w.rows[0].bid.is_some() {
            break w;
        }
        assert!(Instant::now() < deadline, "GOOG streamed: {w:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let row = &w.rows[0];
    assert_eq!(
        (row.bid.as_deref(), row.ask.as_deref(), row.stale),
        (Some("806.1"), Some("806.3"), false)
    );
    let stocks = w.stocks_stream.clone().expect("the stock stream's state");
    assert_eq!(
        (
            stocks.source.as_str(),
            stocks.state.as_str(),
            stocks.part.as_str()
        ),
        ("alpaca-stream", "connected", "owner")
    );
    assert_eq!(alpaca.stream_connections(), 1);
    assert_eq!(
        coinbase.connections_accepted(),
        0,
        "no crypto watched: no Coinbase connection"
    );

    app.unlink_alpaca().await.unwrap();
    let w = app.watchlist().await.unwrap();
    assert!(w.stocks_stream.is_none(), "unlinked: no stock stream");
    assert!(w.rows[0].bid.is_none(), "its quotes are gone with it");
}
