//! Trading tools: place and cancel orders, read positions, balance and orders — thin handlers
//! over `quantdesk_trading::Desk`, the order path, which runs every order through the guard.
//! There is no tool that approves an order, and there never will be: approval is the person's,
//! in the app.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use quantdesk_broker::{AccountInfo, PositionInfo};
use quantdesk_domain::{
    AssetClass, Decimal, OrderRequest, OrderStatus, OrderType, Side, Symbol, TimeInForce,
};
use quantdesk_guard::OrderRecord;
use quantdesk_trading::{ApprovalWait, Desk, Placed, TradingError, WaitProgress};
use rmcp::RoleServer;
use rmcp::model::{ProgressNotificationParam, ProgressToken, Tool};
use rmcp::service::Peer;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Ctx;
use crate::input::ToolError;

/// The trading side of the sidecar: the desk and how `place_order` waits for the person.
#[derive(Debug)]
pub struct Trading {
    pub desk: Desk,
    pub approval: ApprovalWait,
}

impl Trading {
    pub fn new(desk: Desk) -> Self {
        Self {
            desk,
            approval: ApprovalWait::default(),
        }
    }

    /// One line for the server instructions: which money moves.
    pub fn mode_line(&self) -> String {
        let b = self.desk.broker();
        if b.live() {
            format!(
                "Trading: broker '{}', LIVE — orders move real money, inside the person's limits \
                 and after their approval in the QuantDesk app.",
                b.name()
            )
        } else {
            format!(
                "Trading: broker '{}', PAPER — simulated money; no real order is placed.",
                b.name()
            )
        }
    }
}

/// Where `place_order` reports that it is waiting, if the client asked for progress.
#[derive(Debug, Clone)]
pub struct Progress {
    pub peer: Peer<RoleServer>,
    pub token: ProgressToken,
}

impl WaitProgress for Progress {
    fn say(
        &self,
        done: f64,
        total: f64,
        message: String,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let mut p = ProgressNotificationParam::new(self.token.clone(), done);
            p.total = Some(total);
            p.message = Some(message);
            if let Err(err) = self.peer.notify_progress(p).await {
                tracing::debug!(%err, "progress notification not delivered");
            }
        })
    }
}

/// Trims what the model need not read on every turn: the shared types' doc comments in the
/// input schema, and output `$defs` nothing refers to any more. The five trading tools then fit
/// the tool-list budget (32 KB for all tools).
pub(super) fn slim(mut tool: Tool) -> Tool {
    let mut input = tool.input_schema.as_ref().clone();
    input.remove("$schema");
    if let Some(Value::Object(defs)) = input.get_mut("$defs") {
        for def in defs.values_mut() {
            if let Value::Object(d) = def {
                d.remove("description");
            }
        }
    }
    if let Some(Value::Object(props)) = input.get_mut("properties") {
        for prop in props.values_mut() {
            if let Value::Object(p) = prop {
                p.remove("format");
            }
        }
    }
    tool.input_schema = Arc::new(input);
    if let Some(out) = &tool.output_schema {
        let mut out = out.as_ref().clone();
        let defs = out.remove("$defs");
        let text = Value::Object(out.clone()).to_string();
        if let Some(Value::Object(mut defs)) = defs {
            defs.retain(|name, _| text.contains(&format!("\"#/$defs/{name}\"")));
            if !defs.is_empty() {
                out.insert("$defs".into(), Value::Object(defs));
            }
        }
        tool.output_schema = Some(Arc::new(out));
    }
    tool
}

impl From<TradingError> for ToolError {
    fn from(err: TradingError) -> Self {
        ToolError(err.to_string())
    }
}

impl From<quantdesk_broker::BrokerError> for ToolError {
    fn from(err: quantdesk_broker::BrokerError) -> Self {
        ToolError(err.to_string())
    }
}

fn trading(ctx: &Ctx) -> Result<&Arc<Trading>, ToolError> {
    ctx.trading
        .as_ref()
        .ok_or_else(|| ToolError::new("trading is not set up in this QuantDesk sidecar"))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderParams {
    /// Ticker, e.g. GOOG.
    pub symbol: Symbol,
    /// buy or sell.
    pub side: Side,
    /// Shares (fractional allowed); or give notional.
    #[schemars(with = "Option<f64>")]
    pub qty: Option<Decimal>,
    /// Dollars to trade (market orders).
    #[schemars(with = "Option<f64>")]
    pub notional: Option<Decimal>,
    /// Default: market, or limit/stop/stop_limit from the prices given.
    #[serde(rename = "type")]
    pub order_type: Option<OrderType>,
    /// day (default), gtc or ioc.
    pub time_in_force: Option<TimeInForce>,
    #[schemars(with = "Option<f64>")]
    pub limit_price: Option<Decimal>,
    #[schemars(with = "Option<f64>")]
    pub stop_price: Option<Decimal>,
    /// Trailing stop distance, percent.
    #[schemars(with = "Option<f64>")]
    pub trail_percent: Option<Decimal>,
    /// Bracket: take-profit limit price.
    #[schemars(with = "Option<f64>")]
    pub take_profit: Option<Decimal>,
    /// Bracket: stop-loss price.
    #[schemars(with = "Option<f64>")]
    pub stop_loss: Option<Decimal>,
    /// Default: from the symbol (stock, crypto for pairs).
    pub asset_class: Option<AssetClass>,
    /// Your id for this order (letters, digits, - _ .); default derived from the request.
    pub client_order_id: Option<String>,
}

/// An order as answers show it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderOut {
    pub client_order_id: String,
    pub broker: String,
    pub mode: String,
    pub symbol: Symbol,
    pub side: Side,
    #[serde(rename = "type")]
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    #[schemars(with = "Option<f64>")]
    pub qty: Option<Decimal>,
    #[schemars(with = "Option<f64>")]
    pub notional: Option<Decimal>,
    #[schemars(with = "Option<f64>")]
    pub limit_price: Option<Decimal>,
    #[schemars(with = "Option<f64>")]
    pub stop_price: Option<Decimal>,
    #[schemars(with = "Option<f64>")]
    pub take_profit: Option<Decimal>,
    #[schemars(with = "Option<f64>")]
    pub stop_loss: Option<Decimal>,
    pub status: OrderStatus,
    pub filled_qty: Decimal,
    pub avg_fill_price: Option<Decimal>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub approval_expires_at: Option<DateTime<Utc>>,
}

impl From<OrderRecord> for OrderOut {
    fn from(o: OrderRecord) -> Self {
        let reason = quantdesk_trading::shown_reason(&o);
        let r = o.request;
        Self {
            client_order_id: o.client_order_id,
            broker: o.broker,
            mode: o.mode,
            symbol: r.symbol,
            side: r.side,
            order_type: r.order_type,
            time_in_force: r.time_in_force,
            qty: r.qty,
            notional: r.notional,
            limit_price: r.limit_price,
            stop_price: r.stop_price,
            take_profit: r.take_profit,
            stop_loss: r.stop_loss,
            status: o.status,
            filled_qty: o.filled_qty,
            avg_fill_price: o.avg_fill_price,
            reason,
            created_at: o.created_at,
            updated_at: o.updated_at,
            approval_expires_at: o.approval_expires_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PlaceOrderOut {
    pub broker: String,
    /// paper or live.
    pub mode: String,
    /// filled, open, pending_approval, refused, rejected_by_person, rejected_by_broker, duplicate, …
    pub outcome: String,
    pub client_order_id: String,
    pub message: String,
    /// The limit that refused the order.
    pub rule: Option<String>,
    /// Paper fills: at the live quote (bid/ask) or on the replay clock.
    pub pricing: Option<String>,
    pub order: Option<OrderOut>,
}

impl From<Placed> for PlaceOrderOut {
    fn from(p: Placed) -> Self {
        Self {
            broker: p.broker,
            mode: p.mode,
            outcome: p.outcome.as_str().into(),
            client_order_id: p.client_order_id,
            message: p.message,
            rule: p.rule,
            pricing: p.pricing,
            order: p.order.map(OrderOut::from),
        }
    }
}

/// The request as asked; its validity is the order path's to check (once, in the guard).
fn request_from(p: PlaceOrderParams) -> (OrderRequest, Option<String>) {
    let order_type = p
        .order_type
        .unwrap_or(match (p.limit_price, p.stop_price, p.trail_percent) {
            (_, _, Some(_)) => OrderType::TrailingStop,
            (Some(_), Some(_), _) => OrderType::StopLimit,
            (Some(_), None, _) => OrderType::Limit,
            (None, Some(_), _) => OrderType::Stop,
            (None, None, _) => OrderType::Market,
        });
    let asset_class = p.asset_class.unwrap_or(if p.symbol.pair().is_some() {
        AssetClass::Crypto
    } else {
        AssetClass::Stock
    });
    let request = OrderRequest {
        symbol: p.symbol,
        asset_class,
        side: p.side,
        order_type,
        time_in_force: p.time_in_force.unwrap_or(TimeInForce::Day),
        qty: p.qty,
        notional: p.notional,
        limit_price: p.limit_price,
        stop_price: p.stop_price,
        trail_percent: p.trail_percent,
        take_profit: p.take_profit,
        stop_loss: p.stop_loss,
    };
    (request, p.client_order_id)
}

pub async fn place_order(ctx: &Ctx, p: PlaceOrderParams) -> Result<PlaceOrderOut, ToolError> {
    let t = trading(ctx)?;
    let (request, id) = request_from(p);
    let placed = t.desk.place(&request, id.as_deref()).await?;
    if !placed.is_pending_approval() {
        return Ok(placed.into());
    }
    let progress = ctx.progress.as_ref().map(|p| p as &dyn WaitProgress);
    Ok(t.desk
        .wait_for_approval(placed, &t.approval, progress)
        .await?
        .into())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelOrderParams {
    pub client_order_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderAnswer {
    pub broker: String,
    pub mode: String,
    pub order: OrderOut,
}

pub async fn cancel_order(ctx: &Ctx, p: CancelOrderParams) -> Result<OrderAnswer, ToolError> {
    let t = trading(ctx)?;
    let order = t.desk.cancel(p.client_order_id.trim()).await?;
    Ok(OrderAnswer {
        broker: t.desk.broker().name().into(),
        mode: t.desk.mode().into(),
        order: order.into(),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PositionOut {
    pub symbol: Symbol,
    pub qty: Decimal,
    pub avg_entry_price: Decimal,
    pub current_price: Option<Decimal>,
    pub market_value: Option<Decimal>,
    pub unrealized_pnl: Option<Decimal>,
}

impl From<PositionInfo> for PositionOut {
    fn from(p: PositionInfo) -> Self {
        Self {
            symbol: p.symbol,
            qty: p.qty,
            avg_entry_price: p.avg_entry_price,
            current_price: p.current_price,
            market_value: p.market_value,
            unrealized_pnl: p.unrealized_pnl,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PositionsOut {
    pub broker: String,
    pub mode: String,
    pub as_of: DateTime<Utc>,
    pub positions: Vec<PositionOut>,
}

pub async fn get_positions(ctx: &Ctx, _p: NoParams) -> Result<PositionsOut, ToolError> {
    let t = trading(ctx)?;
    let positions = t.desk.positions().await?;
    let as_of = t.desk.broker().clock().await?.now;
    Ok(PositionsOut {
        broker: t.desk.broker().name().into(),
        mode: t.desk.mode().into(),
        as_of,
        positions: positions.into_iter().map(PositionOut::from).collect(),
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountInfoOut {
    pub broker: String,
    pub mode: String,
    pub currency: String,
    pub cash: Decimal,
    pub equity: Decimal,
    pub buying_power: Decimal,
    pub positions_value: Decimal,
    pub realized_pnl: Decimal,
    pub unrealized_pnl: Decimal,
    pub as_of: DateTime<Utc>,
}

impl From<AccountInfo> for AccountInfoOut {
    fn from(a: AccountInfo) -> Self {
        Self {
            broker: a.broker,
            mode: a.mode,
            currency: a.currency,
            cash: a.cash,
            equity: a.equity,
            buying_power: a.buying_power,
            positions_value: a.positions_value,
            realized_pnl: a.realized_pnl,
            unrealized_pnl: a.unrealized_pnl,
            as_of: a.as_of,
        }
    }
}

pub async fn get_account_balance(ctx: &Ctx, _p: NoParams) -> Result<AccountInfoOut, ToolError> {
    Ok(trading(ctx)?.desk.account().await?.into())
}

/// Which orders to list.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderFilter {
    All,
    Open,
    Pending,
    Filled,
    Closed,
    Refused,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetOrdersParams {
    /// all (default), open, pending, filled, closed or refused.
    pub status: Option<OrderFilter>,
    /// One order by its id.
    pub client_order_id: Option<String>,
    /// Most recent first, default 50.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RefusalOut {
    pub client_order_id: String,
    pub symbol: Symbol,
    pub rule: String,
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OrdersOut {
    pub broker: String,
    pub mode: String,
    pub orders: Vec<OrderOut>,
    /// Orders the limits refused (never sent).
    pub refused: Vec<RefusalOut>,
}

impl OrderFilter {
    /// The journal statuses this filter lists (all when empty), from the domain's one list of
    /// status groups.
    fn statuses(self) -> &'static [OrderStatus] {
        match self {
            OrderFilter::All | OrderFilter::Refused => &[],
            OrderFilter::Open => &OrderStatus::WORKING,
            OrderFilter::Pending => &[OrderStatus::PendingApproval],
            OrderFilter::Filled => &[OrderStatus::Filled],
            OrderFilter::Closed => &OrderStatus::FINAL,
        }
    }
}

pub async fn get_orders(ctx: &Ctx, p: GetOrdersParams) -> Result<OrdersOut, ToolError> {
    let t = trading(ctx)?;
    t.desk.refresh().await?;
    let limit = i64::from(p.limit.unwrap_or(50).clamp(1, 500));
    let filter = p.status.unwrap_or(OrderFilter::All);
    let id = p.client_order_id.as_deref().map(str::trim);
    let mut orders = match id {
        Some(id) => match t.desk.order(id).await {
            Ok(order) => vec![order],
            Err(TradingError::UnknownOrder(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        },
        None if matches!(filter, OrderFilter::Refused) => Vec::new(),
        None => t.desk.orders(filter.statuses(), limit).await?,
    };
    orders.truncate(limit as usize);
    let refused = match filter {
        OrderFilter::All | OrderFilter::Refused => refusals(&t.desk, limit, id).await?,
        _ => Vec::new(),
    };
    Ok(OrdersOut {
        broker: t.desk.broker().name().into(),
        mode: t.desk.mode().into(),
        orders: orders.into_iter().map(OrderOut::from).collect(),
        refused,
    })
}

async fn refusals(desk: &Desk, limit: i64, id: Option<&str>) -> Result<Vec<RefusalOut>, ToolError> {
    Ok(desk
        .refusals(limit)
        .await?
        .into_iter()
        .filter(|r| id.is_none_or(|id| id == r.client_order_id))
        .map(|r| RefusalOut {
            client_order_id: r.client_order_id,
            symbol: r.request.symbol,
            rule: r.rule,
            message: r.message,
        })
        .collect())
}
