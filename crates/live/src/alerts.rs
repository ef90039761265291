//! Alerts on live prices — crypto pairs, and stocks with an Alpaca account linked: a condition in the screener's grammar (`close crosses_above
//! 70000`, `rsi(14) < 30`) on a chosen bar length, evaluated where the stream is — by the
//! process that owns it, at each closed bar — and fired once per crossing: when the condition
//! turns true at a closed bar (a one-shot alert then ends; with `repeat` it waits for the next
//! crossing). Every firing is kept in the store (the key (alert, bar) makes it once, across
//! restarts and processes) and written to the audit log; the app shows it as a notification.
//! A bar missed while nothing ran is evaluated when the stream is back (up to 300 bars).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use quantdesk_domain::{Bar, Symbol, Timeframe, TimeframeUnit};
use quantdesk_market::coinbase::product_id;
use quantdesk_market::stream::hub::{COINBASE, HubEvent, source_of};
use quantdesk_market::stream::live::LiveSource;
use quantdesk_market::stream::stocks::stock_id;
use quantdesk_market::{BarsRequest, MarketData, MarketError};
use quantdesk_quant::indicators::OwnedColumns;
use quantdesk_quant::screen::{Evaluator, Expression, Kind, SeriesValue};
use quantdesk_store::alerts::{AlertRow, Evaluation, FiringRow, NewAlert};
use quantdesk_store::{AuditRecord, Store, StoreError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use thiserror::Error;
use tokio::sync::broadcast::error::RecvError;

use crate::SharedLive;

/// Active alerts at most.
pub const MAX_ACTIVE: usize = 200;
/// Bars read for an evaluation (indicator warm-up and catch-up after a pause).
pub const BARS: usize = 300;
/// Longest condition accepted.
pub const MAX_CONDITION: usize = 500;
/// How often every active alert is looked at even without a closed minute.
const SWEEP_EVERY: Duration = Duration::from_secs(20);

/// `alerts`' input.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertsParams {
    /// create, list (default) or cancel.
    #[serde(default)]
    pub action: AlertAction,
    /// create: a crypto pair, e.g. ETH/USD (a stock with an Alpaca account linked).
    pub symbol: Option<String>,
    /// create: a screen_stocks condition, e.g. "close crosses_below 3000", "rsi(14) < 30".
    pub condition: Option<String>,
    /// create: bars it is evaluated on (default 1Min; minutes, hours or 1Day).
    pub timeframe: Option<Timeframe>,
    /// create: fire at every crossing, not just the first.
    #[serde(default)]
    pub repeat: bool,
    /// cancel: the alert's id.
    pub id: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertAction {
    Create,
    #[default]
    List,
    Cancel,
}

/// One alert as Claude and the app see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertView {
    pub id: String,
    pub symbol: String,
    pub condition: String,
    pub timeframe: String,
    pub repeat: bool,
    /// active, done (fired once) or cancelled.
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// The newest closed bar evaluated, and whether the condition held there.
    pub last_bar: Option<DateTime<Utc>>,
    pub holds: Option<bool>,
}

/// One firing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Fired {
    pub id: String,
    pub symbol: String,
    pub condition: String,
    /// The closed bar that made it true, and its close.
    pub bar_time: DateTime<Utc>,
    pub price: String,
    pub fired_at: DateTime<Utc>,
}

/// `alerts`' answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AlertsOut {
    pub alerts: Vec<AlertView>,
    /// What fired, newest first.
    pub fired: Vec<Fired>,
    pub note: Option<String>,
}

#[derive(Debug, Error)]
pub enum AlertError {
    #[error("'{0}' is needed to {1} an alert")]
    Missing(&'static str, &'static str),
    #[error(
        "'{0}' is not a crypto pair Coinbase streams (alerts watch crypto pairs, e.g. ETH/USD; stocks once an Alpaca account is linked in the QuantDesk app)"
    )]
    NotCrypto(String),
    #[error("coinbase does not list '{0}' as a USD pair that trades")]
    Unknown(String),
    #[error("Alpaca has no market data for '{0}'")]
    UnknownStock(String),
    #[error("timeframe {0}: alerts run on minutes, hours or 1Day")]
    Timeframe(Timeframe),
    #[error("the condition is longer than {MAX_CONDITION} characters")]
    TooLong,
    #[error("invalid condition: {0}")]
    Condition(String),
    #[error("at most {MAX_ACTIVE} alerts can be active; cancel some first")]
    TooMany,
    #[error("there is no alert '{0}'")]
    NoSuchAlert(String),
    #[error(transparent)]
    Market(#[from] MarketError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<&AlertRow> for AlertView {
    fn from(a: &AlertRow) -> Self {
        Self {
            id: a.id.clone(),
            symbol: a.symbol.clone(),
            condition: a.condition.clone(),
            timeframe: a.timeframe.clone(),
            repeat: a.repeat,
            status: a.status.clone(),
            created_at: a.created_at,
            last_bar: a.last_bar,
            holds: a.last_value,
        }
    }
}

impl From<&FiringRow> for Fired {
    fn from(f: &FiringRow) -> Self {
        Self {
            id: f.alert_id.clone(),
            symbol: f.symbol.clone(),
            condition: f.condition.clone(),
            bar_time: f.bar_time,
            price: f.price.clone(),
            fired_at: f.fired_at,
        }
    }
}

fn bar_minutes(tf: Timeframe) -> Option<i64> {
    match tf.unit {
        TimeframeUnit::Minute | TimeframeUnit::Hour => Some(tf.approx_minutes() as i64),
        TimeframeUnit::Day if tf.amount == 1 => Some(1_440),
        _ => None,
    }
}

/// A condition checked as the engine will evaluate it.
fn parse_condition(text: &str) -> Result<Expression, AlertError> {
    if text.chars().count() > MAX_CONDITION {
        return Err(AlertError::TooLong);
    }
    let expr = Expression::parse(text).map_err(|e| AlertError::Condition(e.render(text)))?;
    if expr.kind() != Kind::Condition {
        return Err(AlertError::Condition(format!(
            "`{expr}` is a number, not a condition; compare it, e.g. `close < 3000`"
        )));
    }
    Ok(expr)
}

/// Alerts over one process's share of the stream: the tool's and the app's requests, and (in
/// the owner) the evaluation.
#[derive(Debug)]
pub struct Alerts {
    store: Store,
    /// Crypto bars: REST history merged with the stream's minutes.
    crypto: Arc<dyn MarketData>,
    /// Coinbase's listing, to refuse a pair it does not trade.
    listing: Arc<dyn MarketData>,
    live: Arc<SharedLive>,
    /// Stock bars (REST merged with the stream's minutes), with an Alpaca account linked.
    stocks: std::sync::RwLock<Option<Arc<dyn MarketData>>>,
    /// Who the audit log says acted (`app`, `mcp:<pid>`).
    actor: String,
}

impl Alerts {
    pub fn new(
        store: Store,
        crypto: Arc<dyn MarketData>,
        listing: Arc<dyn MarketData>,
        live: Arc<SharedLive>,
        actor: impl Into<String>,
    ) -> Self {
        Self {
            store,
            crypto,
            listing,
            live,
            stocks: std::sync::RwLock::new(None),
            actor: actor.into(),
        }
    }

    /// Takes stock alerts from now on, their bars from `stocks` (`None`: no stocks; existing
    /// stock alerts wait, unevaluated, until an account is linked again).
    pub fn set_stocks(&self, stocks: Option<Arc<dyn MarketData>>) {
        *self
            .stocks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = stocks;
    }

    fn stocks(&self) -> Option<Arc<dyn MarketData>> {
        self.stocks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Where `product`'s bars come from: Coinbase for pairs, the linked account for stocks.
    fn bars_of(&self, product: &str) -> Result<Arc<dyn MarketData>, AlertError> {
        if source_of(product) == COINBASE {
            Ok(self.crypto.clone())
        } else {
            self.stocks()
                .ok_or_else(|| AlertError::NotCrypto(product.chars().take(40).collect()))
        }
    }

    /// The `alerts` tool.
    pub async fn handle(&self, p: AlertsParams) -> Result<AlertsOut, AlertError> {
        let mut note = None;
        match p.action {
            AlertAction::Create => {
                let created = self.create(&p).await?;
                let said = match created.last_value {
                    Some(true) => {
                        "the condition holds at the last closed bar: it fires at the next evaluation"
                    }
                    Some(false) => {
                        "the condition does not hold now; it fires when it turns true at a closed bar"
                    }
                    None => {
                        "not evaluated yet (no closed bars with values); it fires when the condition turns true"
                    }
                };
                note = Some(format!("created {}: {said}", created.id));
            }
            AlertAction::Cancel => {
                let id = p.id.as_deref().ok_or(AlertError::Missing("id", "cancel"))?;
                let row = self
                    .store
                    .cancel_alert(id)
                    .await?
                    .ok_or_else(|| AlertError::NoSuchAlert(id.chars().take(40).collect()))?;
                note = Some(format!("{} is {}", row.id, row.status));
            }
            AlertAction::List => {}
        }
        let alerts = self.store.alerts(false).await?;
        let fired = self.store.alert_firings(None).await?;
        Ok(AlertsOut {
            alerts: alerts.iter().take(200).map(AlertView::from).collect(),
            fired: fired.iter().take(100).map(Fired::from).collect(),
            note,
        })
    }

    /// Validates and keeps a new alert, streams its pair, and records its value now (so a
    /// condition that already holds does not wait for a crossing to be reported as holding).
    pub async fn create(&self, p: &AlertsParams) -> Result<AlertRow, AlertError> {
        let text = p
            .symbol
            .as_deref()
            .ok_or(AlertError::Missing("symbol", "create"))?;
        let condition = p
            .condition
            .as_deref()
            .ok_or(AlertError::Missing("condition", "create"))?;
        let symbol = Symbol::parse(text)
            .map_err(|_| AlertError::NotCrypto(text.chars().take(40).collect()))?;
        let stocks = self.stocks();
        let product = match (product_id(&symbol), stock_id(&symbol), &stocks) {
            (Some(id), _, _) => id,
            (None, Some(id), Some(_)) => id,
            _ => return Err(AlertError::NotCrypto(symbol.to_string())),
        };
        let timeframe = p.timeframe.unwrap_or(Timeframe::MINUTE);
        bar_minutes(timeframe).ok_or(AlertError::Timeframe(timeframe))?;
        let expr = parse_condition(condition)?;
        match &stocks {
            Some(stocks) if source_of(&product) != COINBASE => match stocks.snapshot(&symbol).await
            {
                Ok(_) => {}
                Err(MarketError::NoData { .. } | MarketError::UnknownSymbol { .. }) => {
                    return Err(AlertError::UnknownStock(product));
                }
                Err(other) => return Err(other.into()),
            },
            _ => {
                let listed = self.listing.symbols().await?;
                if !listed
                    .iter()
                    .any(|s| product_id(&s.symbol).as_deref() == Some(product.as_str()))
                {
                    return Err(AlertError::Unknown(product));
                }
            }
        }
        if self.store.alerts(true).await?.len() >= MAX_ACTIVE {
            return Err(AlertError::TooMany);
        }
        let row = self
            .store
            .insert_alert(&NewAlert {
                symbol: product.replace('-', "/"),
                product: product.clone(),
                condition: expr.to_string(),
                timeframe: timeframe.to_string(),
                repeat: p.repeat,
                created_by: self.actor.clone(),
            })
            .await?;
        self.live.watch(vec![product]);
        // Where it stands now, for the answer (not recorded: the first recorded evaluation is
        // the engine's, so a condition that holds now fires then).
        let mut row = row;
        if let Ok(bars) = self.closed_bars(&row).await {
            row.last_value = values(&expr, &bars).and_then(|v| v.last().copied().flatten());
            row.last_bar = bars.last().map(|b| b.time);
        }
        Ok(row)
    }

    /// `alert`'s closed bars, oldest first: those whose end is not after the stream's clock (the
    /// newest trade), or the wall clock when the pair is not streamed.
    async fn closed_bars(&self, alert: &AlertRow) -> Result<Vec<Bar>, AlertError> {
        let symbol = Symbol::parse(&alert.symbol)
            .map_err(|_| AlertError::NotCrypto(alert.symbol.clone()))?;
        let timeframe: Timeframe = alert.timeframe.parse().map_err(|_| {
            AlertError::Condition(format!("stored timeframe '{}'", alert.timeframe))
        })?;
        let minutes = bar_minutes(timeframe).ok_or(AlertError::Timeframe(timeframe))?;
        let streamed = self.live.quote(&alert.product).map(|(q, _)| q.time);
        let now = streamed.unwrap_or_else(Utc::now);
        // The newest bars; with the stream's clock, from a start before it, so history that
        // runs past that clock (a replay) is not taken for the newest.
        let mut req = BarsRequest::new(symbol, timeframe);
        req.start = streamed.map(|now| now - chrono::Duration::minutes(minutes * BARS as i64));
        req.limit = Some(BARS + 1);
        let series = self.bars_of(&alert.product)?.bars(&req).await?;
        Ok(series
            .bars
            .into_iter()
            .filter(|b| b.time + chrono::Duration::minutes(minutes) <= now)
            .collect())
    }

    /// Evaluates one alert at its closed bars not yet evaluated; the firings it recorded.
    pub async fn evaluate(&self, alert: &AlertRow) -> Result<Vec<FiringRow>, AlertError> {
        let bars = self.closed_bars(alert).await?;
        self.evaluate_on(alert, &bars).await
    }

    /// [`evaluate`](Self::evaluate) on bars already fetched (alerts on the same pair and bar
    /// length share one fetch per sweep).
    async fn evaluate_on(
        &self,
        alert: &AlertRow,
        bars: &[Bar],
    ) -> Result<Vec<FiringRow>, AlertError> {
        let expr = parse_condition(&alert.condition)?;
        let Some(values) = values(&expr, bars) else {
            return Ok(Vec::new());
        };
        // Bars after the last evaluated one; the first evaluation looks at the newest only.
        let start = match alert.last_bar {
            Some(last) => bars
                .iter()
                .position(|b| b.time > last)
                .unwrap_or(bars.len()),
            None => bars.len().saturating_sub(1),
        };
        let mut previous = match alert.last_bar {
            Some(_) => alert.last_value,
            None => None,
        };
        let mut fired = Vec::new();
        for (bar, value) in bars.iter().zip(values.iter()).skip(start) {
            let crossing = *value == Some(true) && previous != Some(true);
            let evaluation = Evaluation {
                bar: bar.time,
                value: *value,
                fired: crossing.then(|| (bar.time, bar.close.to_string())),
            };
            if self.store.record_evaluation(&alert.id, &evaluation).await? {
                fired.push(FiringRow {
                    alert_id: alert.id.clone(),
                    symbol: alert.symbol.clone(),
                    condition: alert.condition.clone(),
                    timeframe: alert.timeframe.clone(),
                    bar_time: bar.time,
                    fired_at: Utc::now(),
                    price: bar.close.to_string(),
                    audited: false,
                    notified: false,
                });
                if !alert.repeat {
                    break;
                }
            }
            previous = *value;
        }
        Ok(fired)
    }

    /// Writes firings not yet in the audit log to it.
    pub async fn audit_pending(&self) -> Result<usize, AlertError> {
        let pending = self.store.firings_pending(false).await?;
        for f in &pending {
            self.store
                .append_audit(&AuditRecord {
                    actor: self.actor.clone(),
                    kind: "alert".into(),
                    tool: None,
                    symbol: Some(f.symbol.clone()),
                    args: json!({ "id": f.alert_id, "condition": f.condition, "timeframe": f.timeframe }),
                    outcome: "fired".into(),
                    detail: json!({ "bar_time": f.bar_time, "price": f.price, "fired_at": f.fired_at }),
                })
                .await?;
            self.store
                .mark_firing(&f.alert_id, f.bar_time, false)
                .await?;
        }
        Ok(pending.len())
    }

    /// Evaluates every active alert (of `product`, or all), then audits what fired.
    pub async fn sweep(&self, product: Option<&str>) -> Result<usize, AlertError> {
        let mut fired = 0;
        let mut fetched: std::collections::HashMap<(String, String), Vec<Bar>> =
            std::collections::HashMap::new();
        for alert in self.store.alerts(true).await? {
            if product.is_some_and(|p| p != alert.product) {
                continue;
            }
            let key = (alert.product.clone(), alert.timeframe.clone());
            if !fetched.contains_key(&key) {
                match self.closed_bars(&alert).await {
                    Ok(bars) => {
                        fetched.insert(key.clone(), bars);
                    }
                    Err(err) => {
                        tracing::warn!(%err, id = %alert.id, "alert not evaluated");
                        continue;
                    }
                }
            }
            let bars = fetched.get(&key).map_or(&[][..], Vec::as_slice);
            match self.evaluate_on(&alert, bars).await {
                Ok(f) => fired += f.len(),
                Err(err) => tracing::warn!(%err, id = %alert.id, "alert not evaluated"),
            }
        }
        self.audit_pending().await?;
        Ok(fired)
    }

    /// Runs the evaluation for as long as the process lives, whenever this process owns the
    /// stream: at every closed minute of an alert's pair, and every 20 s for all of them.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let Some(hub) = self.live.hub() else {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                };
                if let Ok(active) = self.store.alerts(true).await {
                    let products: Vec<String> = active.into_iter().map(|a| a.product).collect();
                    if !products.is_empty() {
                        hub.watch(products);
                    }
                }
                let mut events = hub.events();
                drop(hub);
                self.log(self.sweep(None).await);
                let mut tick = tokio::time::interval(SWEEP_EVERY);
                loop {
                    tokio::select! {
                        event = events.recv() => match event {
                            Ok(HubEvent::Minute { product }) => self.log(self.sweep(Some(&product)).await),
                            Ok(_) => {}
                            Err(RecvError::Lagged(_)) => self.log(self.sweep(None).await),
                            Err(RecvError::Closed) => break,
                        },
                        _ = tick.tick() => {
                            if self.live.hub().is_none() {
                                break;
                            }
                            self.log(self.sweep(None).await);
                        }
                    }
                }
            }
        })
    }

    fn log(&self, swept: Result<usize, AlertError>) {
        match swept {
            Ok(0) => {}
            Ok(n) => tracing::info!(fired = n, "alerts fired"),
            Err(err) => tracing::warn!(%err, "alert evaluation failed"),
        }
    }
}

/// The condition at every bar (`None` where unknown); `None` without bars.
fn values(expr: &Expression, bars: &[Bar]) -> Option<Vec<Option<bool>>> {
    if bars.is_empty() {
        return None;
    }
    let cols = OwnedColumns::from_bars(bars);
    match Evaluator::new(cols.view()).series(expr) {
        Ok(SeriesValue::Condition(v)) => Some(v),
        _ => None,
    }
}
