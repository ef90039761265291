//! Alpaca's Trading API, with state: `GET /v2/account`, `GET /v2/clock`, `GET /v2/positions`,
//! `POST /v2/orders`, `GET /v2/orders`, `GET /v2/orders:by_client_order_id`,
//! `DELETE /v2/orders/{id}`. Bodies are shaped like Alpaca's (numbers as strings, RFC 3339 UTC
//! times, UUID ids, `order_class`, `legs`), and so are its refusals: a reused `client_order_id`
//! (422), insufficient buying power (403), pattern-day-trading protection (403).
//!
//! Orders fill like a quiet market: a market order, or a limit order the stand-in's price already
//! satisfies, fills at once at that price; any other order rests (`new`) until cancelled. Prices
//! come from [`StandInBuilder::price`](crate::StandInBuilder::price) (default 100). Every request is
//! in the request log, so tests can prove what was — and was never — sent.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::http::Method;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::{Incoming, Reply};

/// The account's starting cash, as Alpaca's paper accounts have.
const STARTING_CASH: i64 = 100_000;

/// The trading side of the stand-in: account, positions, orders.
#[derive(Debug)]
pub(crate) struct Trading {
    pub cash: Decimal,
    pub prices: BTreeMap<String, Decimal>,
    pub positions: BTreeMap<String, (Decimal, Decimal)>,
    pub orders: Vec<Value>,
    pub market_open: bool,
    pub pattern_day_trader: bool,
    next_id: u64,
}

impl Trading {
    pub fn new(prices: BTreeMap<String, Decimal>, market_open: bool, pdt: bool) -> Self {
        Self {
            cash: Decimal::from(STARTING_CASH),
            prices,
            positions: BTreeMap::new(),
            orders: Vec::new(),
            market_open,
            pattern_day_trader: pdt,
            next_id: 1,
        }
    }

    fn price(&self, symbol: &str) -> Decimal {
        self.prices
            .get(symbol)
            .copied()
            .unwrap_or(Decimal::ONE_HUNDRED)
    }

    fn uuid(&mut self) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("{n:08x}-0000-4000-8000-{n:012x}")
    }

    fn equity(&self) -> Decimal {
        self.cash
            + self
                .positions
                .iter()
                .map(|(s, (q, _))| *q * self.price(s))
                .sum::<Decimal>()
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn num(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::String(s) => Decimal::from_str(s).ok(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        _ => None,
    }
}

fn unprocessable(message: &str) -> Reply {
    Reply::error(422, 40010001, message)
}

/// The trading endpoints' answer to `request`, or `None` if it is not one of theirs.
pub(crate) fn handle(state: &mut Trading, request: &Incoming) -> Option<Reply> {
    let path = request.path.as_str();
    let now = Utc::now();
    Some(match (&request.method, path) {
        (&Method::GET, "/v2/account") => account(state, now),
        (&Method::GET, "/v2/clock") => clock(state, now),
        (&Method::GET, "/v2/positions") => positions(state),
        (&Method::POST, "/v2/orders") => create(state, request, now),
        (&Method::GET, "/v2/orders") => {
            let open = request.query("status").unwrap_or("open") == "open";
            let list: Vec<Value> = state
                .orders
                .iter()
                .filter(|o| !open || matches!(o["status"].as_str(), Some("new" | "accepted")))
                .cloned()
                .collect();
            Reply::json(200, &Value::Array(list))
        }
        (&Method::GET, "/v2/orders:by_client_order_id") => {
            let id = request.query("client_order_id").unwrap_or_default();
            match state.orders.iter().find(|o| o["client_order_id"] == id) {
                Some(o) => Reply::json(200, o),
                None => Reply::error(404, 40410000, "order not found"),
            }
        }
        (&Method::DELETE, p) if p.starts_with("/v2/orders/") => {
            // Alpaca takes the id with or without hyphens (apca sends it without).
            let id = p["/v2/orders/".len()..].replace('-', "");
            match state
                .orders
                .iter_mut()
                .find(|o| o["id"].as_str().map(|s| s.replace('-', "")) == Some(id.clone()))
            {
                None => Reply::error(404, 40410000, "order not found"),
                Some(o) if matches!(o["status"].as_str(), Some("new" | "accepted")) => {
                    o["status"] = json!("canceled");
                    o["canceled_at"] = json!(ts(now));
                    o["updated_at"] = json!(ts(now));
                    Reply {
                        status: 204,
                        body: String::new(),
                    }
                }
                Some(o) => {
                    let status = o["status"].as_str().unwrap_or("unknown").to_string();
                    Reply::error(422, 42210000, &format!("order is not cancelable: {status}"))
                }
            }
        }
        _ => return None,
    })
}

fn account(state: &Trading, now: DateTime<Utc>) -> Reply {
    let long: Decimal = state
        .positions
        .iter()
        .map(|(s, (q, _))| *q * state.price(s))
        .sum();
    let equity = state.equity();
    Reply::json(
        200,
        &json!({
            "id": "00000000-0000-4000-8000-00000000a11c",
            "account_number": "PA3STANDIN01",
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": "USD",
            "cash": state.cash.to_string(),
            "portfolio_value": equity.to_string(),
            "pattern_day_trader": state.pattern_day_trader,
            "trade_suspended_by_user": false,
            "trading_blocked": false,
            "transfers_blocked": false,
            "account_blocked": false,
            "created_at": ts(now - Duration::days(30)),
            "shorting_enabled": true,
            "long_market_value": long.to_string(),
            "short_market_value": "0",
            "equity": equity.to_string(),
            "last_equity": equity.to_string(),
            "multiplier": "1",
            "buying_power": state.cash.to_string(),
            "initial_margin": "0",
            "maintenance_margin": "0",
            "daytrade_count": 0
        }),
    )
}

fn clock(state: &Trading, now: DateTime<Utc>) -> Reply {
    Reply::json(
        200,
        &json!({
            "timestamp": ts(now),
            "is_open": state.market_open,
            "next_open": ts(now + Duration::hours(16)),
            "next_close": ts(now + Duration::hours(6)),
        }),
    )
}

fn positions(state: &Trading) -> Reply {
    let list: Vec<Value> = state
        .positions
        .iter()
        .map(|(symbol, (qty, avg))| {
            let price = state.price(symbol);
            json!({
                "asset_id": "00000000-0000-4000-8000-0000000a55e7",
                "symbol": symbol,
                "exchange": "NASDAQ",
                "asset_class": "us_equity",
                "avg_entry_price": avg.to_string(),
                "qty": qty.to_string(),
                "qty_available": qty.to_string(),
                "side": if *qty >= Decimal::ZERO { "long" } else { "short" },
                "market_value": (*qty * price).to_string(),
                "cost_basis": (*qty * *avg).to_string(),
                "unrealized_pl": ((price - *avg) * *qty).to_string(),
                "unrealized_plpc": "0",
                "unrealized_intraday_pl": "0",
                "unrealized_intraday_plpc": "0",
                "current_price": price.to_string(),
                "lastday_price": price.to_string(),
                "change_today": "0"
            })
        })
        .collect();
    Reply::json(200, &Value::Array(list))
}

fn create(state: &mut Trading, request: &Incoming, now: DateTime<Utc>) -> Reply {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return unprocessable("request body format is invalid");
    };
    let symbol = body["symbol"].as_str().unwrap_or_default().to_string();
    if symbol.is_empty() {
        return unprocessable("symbol is required");
    }
    let client_order_id = body["client_order_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !client_order_id.is_empty()
        && state
            .orders
            .iter()
            .any(|o| o["client_order_id"] == client_order_id.as_str())
    {
        return unprocessable("client_order_id must be unique");
    }
    if state.pattern_day_trader {
        return Reply::error(
            403,
            40310100,
            "trade denied due to pattern day trading protection",
        );
    }
    let side = body["side"].as_str().unwrap_or_default().to_string();
    let order_type = body["type"].as_str().unwrap_or("market").to_string();
    let price = state.price(&symbol);
    let qty = num(body.get("qty"));
    let notional = num(body.get("notional"));
    let limit = num(body.get("limit_price"));
    let Some(shares) = qty.or(notional.map(|n| (n / price).round_dp(9))) else {
        return unprocessable("qty or notional is required");
    };
    let fills_now = match (order_type.as_str(), side.as_str(), limit) {
        ("market", _, _) => true,
        ("limit", "buy", Some(l)) => l >= price,
        ("limit", "sell", Some(l)) => l <= price,
        _ => false,
    };
    let cost = shares * price;
    if side == "buy"
        && (cost > state.cash || (!fills_now && limit.map(|l| l * shares) > Some(state.cash)))
    {
        return Reply::error(403, 40310000, "insufficient buying power");
    }
    let id = state.uuid();
    let client_order_id = if client_order_id.is_empty() {
        state.uuid()
    } else {
        client_order_id
    };
    let mut order = json!({
        "id": id,
        "client_order_id": client_order_id,
        "created_at": ts(now),
        "updated_at": ts(now),
        "submitted_at": ts(now),
        "filled_at": null,
        "expired_at": null,
        "canceled_at": null,
        "failed_at": null,
        "replaced_at": null,
        "replaced_by": null,
        "replaces": null,
        "asset_id": "00000000-0000-4000-8000-0000000a55e7",
        "symbol": symbol,
        "asset_class": "us_equity",
        "notional": notional.map(|n| n.to_string()),
        "qty": if notional.is_some() { Value::Null } else { json!(shares.to_string()) },
        "filled_qty": "0",
        "filled_avg_price": null,
        "order_class": body["order_class"].as_str().unwrap_or(""),
        "order_type": order_type,
        "type": order_type,
        "side": side,
        "time_in_force": body["time_in_force"].as_str().unwrap_or("day"),
        "limit_price": limit.map(|l| l.to_string()),
        "stop_price": num(body.get("stop_price")).map(|s| s.to_string()),
        "status": "new",
        "extended_hours": false,
        "legs": null,
        "trail_percent": null,
        "trail_price": null,
        "hwm": null
    });
    if fills_now {
        let signed = if side == "sell" { -shares } else { shares };
        state.cash -= signed * price;
        let entry = state
            .positions
            .entry(symbol.clone())
            .or_insert((Decimal::ZERO, Decimal::ZERO));
        let new_qty = entry.0 + signed;
        entry.1 = if new_qty.is_zero() || signed < Decimal::ZERO {
            entry.1
        } else {
            (entry.0 * entry.1 + signed * price) / new_qty
        };
        entry.0 = new_qty;
        if new_qty.is_zero() {
            state.positions.remove(&symbol);
        }
        order["status"] = json!("filled");
        order["filled_at"] = json!(ts(now));
        order["filled_qty"] = json!(shares.to_string());
        order["filled_avg_price"] = json!(price.to_string());
    }
    state.orders.push(order.clone());
    Reply::json(200, &order)
}
