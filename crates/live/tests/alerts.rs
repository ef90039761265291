//! Alerts against the stand-in's ground truth: an alert on BTC's close fires at exactly the
//! minutes where the replayed closes cross its level — once each, none missed — through a
//! restart of the evaluating process in the middle (the minutes missed meanwhile are caught up
//! from REST); a one-shot alert fires once and ends; bad requests are refused by name.
#![allow(unused_crate_dependencies)] // a test uses some of its package's dependencies

use std::sync::Arc;
use std::time::{Duration, Instant};

use quantdesk_coinbase_standin::{FeedConfig as StandInFeed, GroundTruth, StandIn};
use quantdesk_live::alerts::{AlertAction, Alerts, AlertsParams};
use quantdesk_live::{Part, Role, SharedLive};
use quantdesk_market::stream::coinbase::FeedConfig;
use quantdesk_market::stream::live::LiveCrypto;
use quantdesk_market::{CoinbaseConfig, CoinbaseProvider, MarketData};
use quantdesk_store::Store;
use rust_decimal::prelude::ToPrimitive;

const FROM: usize = 400;

async fn standin() -> StandIn {
    let feed = StandInFeed {
        from_minute: FROM,
        tick: Duration::from_millis(25),
        rest_follows_feed: true,
    };
    StandIn::start_with_feed(GroundTruth::standard(), feed)
        .await
        .unwrap()
}

struct Running {
    live: Arc<SharedLive>,
    alerts: Arc<Alerts>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(dir: &std::path::Path, store: &Store, standin: &StandIn) -> Running {
    let rest = Arc::new(CoinbaseProvider::new(CoinbaseConfig {
        rest_url: standin.base_url(),
    }));
    let config = FeedConfig {
        url: standin.ws_url().to_string(),
        heartbeat: Duration::from_millis(500),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
    };
    let live = Arc::new(SharedLive::join(dir, Role::App, config, rest.clone()));
    let crypto: Arc<dyn MarketData> = Arc::new(LiveCrypto::new(rest.clone(), live.clone()));
    let alerts = Arc::new(Alerts::new(
        store.clone(),
        crypto,
        rest,
        live.clone(),
        "test",
    ));
    let task = alerts.clone().spawn();
    let deadline = Instant::now() + Duration::from_secs(10);
    while live.part() != Part::Owner {
        assert!(Instant::now() < deadline, "never owned the stream");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Running { live, alerts, task }
}

fn create(symbol: &str, condition: &str, repeat: bool) -> AlertsParams {
    AlertsParams {
        action: AlertAction::Create,
        symbol: Some(symbol.into()),
        condition: Some(condition.into()),
        timeframe: None,
        repeat,
        id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_fires_once_per_crossing_through_a_restart() {
    let standin = standin().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let truth = standin.truth().minutes["BTC-USD"].clone();
    // Crossings of the 3-minute mean: frequent, so the minutes missed during the restart hold
    // some. The oracle computes them from the ground truth.
    let condition = "close crosses_above sma(3)";
    let close: Vec<f64> = truth.iter().map(|c| c.close.to_f64().unwrap()).collect();
    let sma = |t: usize| (close[t - 2] + close[t - 1] + close[t]) / 3.0;
    let crossing_minutes: Vec<i64> = (3..truth.len())
        .filter(|&t| close[t - 1] < sma(t - 1) && close[t] > sma(t))
        .map(|t| truth[t].time)
        .collect();

    let first = start(dir.path(), &store, &standin).await;
    let out = first
        .alerts
        .handle(create("BTC/USD", condition, true))
        .await
        .unwrap();
    let id = out.alerts[0].id.clone();
    let evaluated_past = |store: Store, id: String, minutes: i64| async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = None;
        loop {
            let a = store.alert(&id).await.unwrap().unwrap();
            if let Some(last) = a.last_bar {
                let base = *seen.get_or_insert(last);
                if (last - base).num_minutes() >= minutes {
                    return last;
                }
            }
            assert!(Instant::now() < deadline, "alert not evaluated: {a:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let before = evaluated_past(store.clone(), id.clone(), 20).await;
    // The app quits; the market goes on; it starts again on the same store.
    drop(first);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let second = start(dir.path(), &store, &standin).await;
    let last = evaluated_past(store.clone(), id.clone(), 30).await;
    drop(second);

    let fired = store.alert_firings(Some(&id)).await.unwrap();
    let mut fired_at: Vec<i64> = fired.iter().map(|f| f.bar_time.timestamp()).collect();
    fired_at.sort();
    assert!(fired_at.len() >= 3, "{} firings", fired_at.len());
    let from = fired_at[0];
    let crossings: Vec<i64> = crossing_minutes
        .iter()
        .copied()
        .filter(|t| *t >= from && *t <= last.timestamp())
        .collect();
    assert_eq!(fired_at, crossings, "one firing per crossing, none missed");
    // Some of them happened while nothing ran (caught up from REST after the restart).
    let restarted = store.alert(&id).await.unwrap().unwrap();
    assert!(restarted.last_bar.unwrap() > before);
    let in_gap = crossings
        .iter()
        .filter(|t| **t > before.timestamp() && **t <= before.timestamp() + 600)
        .count();
    assert!(in_gap >= 1, "a crossing in the 10 minutes after the stop");
    for f in &fired {
        let c = truth
            .iter()
            .find(|c| c.time == f.bar_time.timestamp())
            .unwrap();
        assert_eq!(f.price, c.close.to_string());
    }
    // Each firing is in the audit log once.
    let audited = store
        .audit_entries(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "alert" && e.args["id"] == id.as_str())
        .count();
    assert_eq!(audited, fired.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_shot_alert_fires_once_and_bad_requests_are_refused() {
    let standin = standin().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let running = start(dir.path(), &store, &standin).await;
    // Far above any price: holds at once, so it fires at the first evaluation, then ends.
    let out = running
        .alerts
        .handle(create("btc-usd", "close < 10000000", false))
        .await
        .unwrap();
    let id = out.alerts[0].id.clone();
    assert!(out.note.unwrap().contains("holds"), "told it holds now");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a = store.alert(&id).await.unwrap().unwrap();
        if a.status == "done" {
            break;
        }
        assert!(Instant::now() < deadline, "{a:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(store.alert_firings(Some(&id)).await.unwrap().len(), 1);
    assert!(running.live.watched().contains(&"BTC-USD".to_string()));

    for (p, said) in [
        (create("GOOG", "close > 1", false), "not a crypto pair"),
        (
            create("DOGE/USD", "close > 1", false),
            "does not list 'DOGE-USD'",
        ),
        (create("BTC/USD", "close + 1", false), "not a condition"),
        (create("BTC/USD", "close >", false), "invalid condition"),
        (
            create("BTC/USD", &"(".repeat(10_000), false),
            "longer than 500",
        ),
        (
            AlertsParams {
                condition: None,
                ..create("BTC/USD", "", false)
            },
            "'condition' is needed",
        ),
        (
            AlertsParams {
                action: AlertAction::Cancel,
                id: Some("alt_nope".into()),
                ..create("BTC/USD", "", false)
            },
            "no alert 'alt_nope'",
        ),
    ] {
        let err = running.alerts.handle(p).await.unwrap_err().to_string();
        assert!(err.contains(said), "{err}");
    }
    let cancel = running
        .alerts
        .handle(create("BTC/USD", "close < 1", true))
        .await
        .unwrap();
    let id = cancel.alerts[0].id.clone();
    let out = running
        .alerts
        .handle(AlertsParams {
            action: AlertAction::Cancel,
            id: Some(id.clone()),
            ..create("BTC/USD", "", false)
        })
        .await
        .unwrap();
    assert!(
        out.alerts
            .iter()
            .any(|a| a.id == id && a.status == "cancelled")
    );
}
