//! The app's share of the live stream: as the rightful owner it runs the upstream feed (sidecars
//! mirror it), evaluates alerts even when no Claude conversation is open, and shows the
//! watchlist and the alerts; firings become desktop notifications (the shell shows
//! [`Desktop::alert_notices`]).

use std::sync::Arc;

use quantdesk_live::alerts::{AlertAction, AlertError, Alerts, AlertsOut, AlertsParams};
use quantdesk_live::watch::{
    Stocks, StreamState, WatchAction, WatchError, WatchOut, WatchParams, Watcher,
};
use quantdesk_live::{Role, SharedLive};
use quantdesk_market::stream::coinbase::FeedConfig;
use quantdesk_market::stream::hub::{ALPACA, AlpacaUpstream};
use quantdesk_market::stream::live::{LiveCrypto, LiveSource};
use quantdesk_market::stream::stocks::LiveStocks;
use quantdesk_market::{CoinbaseConfig, CoinbaseProvider, MarketData};
use quantdesk_store::Store;
use rust_decimal::prelude::ToPrimitive;

use crate::views::{
    AlertFiring, AlertForm, AlertItem, AlertsPage, Notice, StreamView, WatchRow, Watchlist,
};
use crate::{ACTOR, Desktop, DesktopError};

/// Minutes in the sparkline.
const SPARKLINE: usize = 60;

/// Where the live stream comes from: Coinbase's REST and websocket endpoints.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub rest: CoinbaseConfig,
    pub feed: FeedConfig,
}

impl LiveConfig {
    /// Coinbase's own endpoints, or `QUANTDESK_COINBASE_REST_URL` / `QUANTDESK_COINBASE_WS_URL`.
    pub fn from_env() -> Self {
        Self {
            rest: CoinbaseConfig::from_env(),
            feed: FeedConfig::from_env(),
        }
    }
}

/// The live parts the app keeps (one per app).
#[derive(Debug)]
pub(crate) struct Markets {
    pub live: Arc<SharedLive>,
    pub crypto: Arc<dyn MarketData>,
    watcher: Watcher,
    alerts: Arc<Alerts>,
    engine: tokio::task::JoinHandle<()>,
}

impl Drop for Markets {
    fn drop(&mut self) {
        self.engine.abort();
    }
}

impl Markets {
    /// Joins the stream of `data_dir` as the app and starts the alert engine.
    pub(crate) async fn start(
        data_dir: &std::path::Path,
        store: &Store,
        config: LiveConfig,
    ) -> Result<Self, DesktopError> {
        let coinbase = Arc::new(CoinbaseProvider::new(config.rest));
        let live = Arc::new(SharedLive::join(
            data_dir,
            Role::App,
            config.feed,
            coinbase.clone(),
        ));
        let crypto: Arc<dyn MarketData> = Arc::new(LiveCrypto::new(coinbase.clone(), live.clone()));
        let watcher = Watcher::start(live.clone(), coinbase.clone(), store.clone()).await?;
        let alerts = Arc::new(Alerts::new(
            store.clone(),
            crypto.clone(),
            coinbase,
            live.clone(),
            ACTOR,
        ));
        let engine = alerts.clone().spawn();
        Ok(Self {
            live,
            crypto,
            watcher,
            alerts,
            engine,
        })
    }
}

impl Markets {
    /// Streams stocks through a linked Alpaca account from now on (`None`: unlinked).
    pub(crate) fn link_stocks(&self, stocks: Option<(AlpacaUpstream, Stocks)>) {
        let (upstream, watched) = match stocks {
            Some((u, s)) => (Some(u), Some(s)),
            None => (None, None),
        };
        self.live.set_alpaca(upstream);
        self.alerts.set_stocks(watched.as_ref().map(|s| {
            Arc::new(LiveStocks::new(
                s.data.clone(),
                self.live.clone(),
                s.hours.clone(),
            )) as Arc<dyn MarketData>
        }));
        self.watcher.set_stocks(watched);
    }
}

fn watch_error(e: WatchError) -> DesktopError {
    DesktopError::Invalid {
        field: "symbols".into(),
        message: e.to_string(),
    }
}

fn alert_error(e: AlertError) -> DesktopError {
    match e {
        AlertError::Store(s) => DesktopError::Store(s),
        other => DesktopError::Invalid {
            field: "alert".into(),
            message: other.to_string(),
        },
    }
}

fn rfc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn page(out: AlertsOut) -> AlertsPage {
    AlertsPage {
        alerts: out
            .alerts
            .into_iter()
            .map(|a| AlertItem {
                id: a.id,
                symbol: a.symbol,
                condition: a.condition,
                timeframe: a.timeframe,
                repeat: a.repeat,
                status: a.status,
                created_at: rfc(a.created_at),
                last_bar: a.last_bar.map(rfc),
                holds: a.holds,
            })
            .collect(),
        fired: out
            .fired
            .into_iter()
            .map(|f| AlertFiring {
                id: f.id,
                symbol: f.symbol,
                condition: f.condition,
                bar_time: rfc(f.bar_time),
                price: f.price,
                fired_at: rfc(f.fired_at),
            })
            .collect(),
        note: out.note,
    }
}

impl Desktop {
    fn markets(&self) -> Result<&Markets, DesktopError> {
        Ok(&self.markets)
    }

    /// The Watchlist screen: each watched pair's live quote and last hour, and the stream.
    pub async fn watchlist(&self) -> Result<Watchlist, DesktopError> {
        self.change_watchlist(Vec::new(), WatchAction::Start).await
    }

    /// Adds pairs to the watchlist (they stream at once).
    pub async fn watch_pairs(&self, symbols: Vec<String>) -> Result<Watchlist, DesktopError> {
        self.change_watchlist(symbols, WatchAction::Start).await
    }

    /// Takes pairs off the watchlist.
    pub async fn unwatch_pairs(&self, symbols: Vec<String>) -> Result<Watchlist, DesktopError> {
        self.change_watchlist(symbols, WatchAction::Stop).await
    }

    async fn change_watchlist(
        &self,
        symbols: Vec<String>,
        action: WatchAction,
    ) -> Result<Watchlist, DesktopError> {
        let m = self.markets()?;
        let out: WatchOut = m
            .watcher
            .watch(WatchParams { symbols, action })
            .await
            .map_err(watch_error)?;
        let statuses = m.live.statuses();
        let silent = |source: &str| {
            statuses
                .iter()
                .find(|s| s.source == source)
                .and_then(|s| s.silent_for)
                .map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX))
        };
        let view = |s: StreamState, silent_ms: Option<u32>| StreamView {
            source: s.source,
            state: s.state,
            reason: s.reason,
            reconnects: u32::try_from(s.reconnects).unwrap_or(u32::MAX),
            part: s.part,
            silent_ms,
        };
        let mut rows = Vec::new();
        for w in out.watching {
            let bars = m.live.minute_bars(&w.symbol.replace('/', "-")).await;
            let from = bars.len().saturating_sub(SPARKLINE);
            rows.push(WatchRow {
                sparkline: bars[from..]
                    .iter()
                    .filter_map(|b| b.close.to_f64())
                    .collect(),
                symbol: w.symbol,
                price: w.price.map(|p| p.normalize().to_string()),
                bid: w.bid.map(|p| p.normalize().to_string()),
                ask: w.ask.map(|p| p.normalize().to_string()),
                as_of: w.as_of.map(rfc),
                stale: w.stale,
            });
        }
        Ok(Watchlist {
            rows,
            stream: view(out.stream, silent("coinbase")),
            stocks_stream: out.stocks_stream.map(|s| view(s, silent(ALPACA))),
        })
    }

    /// The Alerts screen: every alert and what fired.
    pub async fn alerts_page(&self) -> Result<AlertsPage, DesktopError> {
        self.alert_request(AlertsParams {
            action: AlertAction::List,
            symbol: None,
            condition: None,
            timeframe: None,
            repeat: false,
            id: None,
        })
        .await
    }

    pub async fn create_alert(&self, form: AlertForm) -> Result<AlertsPage, DesktopError> {
        let timeframe = match form.timeframe.trim() {
            "" => None,
            text => Some(text.parse().map_err(|_| DesktopError::Invalid {
                field: "timeframe".into(),
                message: format!("'{text}' is not a timeframe (1Min, 5Min, 1Hour, 1Day…)"),
            })?),
        };
        self.alert_request(AlertsParams {
            action: AlertAction::Create,
            symbol: Some(form.symbol),
            condition: Some(form.condition),
            timeframe,
            repeat: form.repeat,
            id: None,
        })
        .await
    }

    pub async fn cancel_alert(&self, id: String) -> Result<AlertsPage, DesktopError> {
        self.alert_request(AlertsParams {
            action: AlertAction::Cancel,
            symbol: None,
            condition: None,
            timeframe: None,
            repeat: false,
            id: Some(id),
        })
        .await
    }

    async fn alert_request(&self, p: AlertsParams) -> Result<AlertsPage, DesktopError> {
        let out = self
            .markets()?
            .alerts
            .handle(p)
            .await
            .map_err(alert_error)?;
        Ok(page(out))
    }

    /// Firings not shown yet, as notifications; each is marked shown once returned.
    pub async fn alert_notices(&self) -> Result<Vec<Notice>, DesktopError> {
        let pending = self.store.firings_pending(true).await?;
        let mut out = Vec::new();
        for f in pending {
            self.store
                .mark_firing(&f.alert_id, f.bar_time, true)
                .await?;
            out.push(Notice {
                title: format!("{}: {}", f.symbol, f.condition),
                body: format!(
                    "{} closed at {} on the {} bar of {} (UTC).",
                    f.symbol,
                    f.price,
                    f.timeframe,
                    f.bar_time.format("%Y-%m-%d %H:%M")
                ),
            });
        }
        Ok(out)
    }
}
