//! Alpaca's JSON. Only the fields QuantDesk uses; serde ignores the rest (exchange codes,
//! conditions, tape). Aliases accept the snake_case spellings some of Alpaca's examples show.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use quantdesk_domain::{Bar, Decimal, Greeks, OptionQuote, Quote, Symbol};
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct WireBar {
    pub(super) t: DateTime<Utc>,
    o: Decimal,
    h: Decimal,
    l: Decimal,
    pub(super) c: Decimal,
    pub(super) v: Decimal,
}

impl WireBar {
    pub(super) fn into_bar(self) -> Bar {
        Bar {
            time: self.t,
            open: self.o,
            high: self.h,
            low: self.l,
            close: self.c,
            volume: self.v,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct WireTrade {
    pub(super) t: DateTime<Utc>,
    pub(super) p: Decimal,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireQuote {
    pub(super) t: DateTime<Utc>,
    bp: Decimal,
    bs: Decimal,
    ap: Decimal,
    #[serde(rename = "as")]
    ask_size: Decimal,
}

impl WireQuote {
    pub(super) fn into_quote(self, symbol: &Symbol) -> Quote {
        Quote {
            symbol: symbol.clone(),
            bid: self.bp,
            bid_size: self.bs,
            ask: self.ap,
            ask_size: self.ask_size,
            time: self.t,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireSnapshot {
    #[serde(default, alias = "latest_trade")]
    pub(super) latest_trade: Option<WireTrade>,
    #[serde(default, alias = "latest_quote")]
    pub(super) latest_quote: Option<WireQuote>,
    #[serde(default, alias = "daily_bar")]
    pub(super) daily_bar: Option<WireBar>,
    #[serde(default, alias = "prev_daily_bar")]
    pub(super) prev_daily_bar: Option<WireBar>,
}

/// `GET /v2/stocks/{symbol}/snapshot`: the snapshot's fields at the top level (with `symbol`);
/// some of Alpaca's examples wrap them in `snapshot`, so both are read.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum StockSnapshotResponse {
    Wrapped { snapshot: WireSnapshot },
    Flat(WireSnapshot),
}

#[derive(Debug, Deserialize)]
pub(super) struct CryptoSnapshots {
    #[serde(default)]
    pub(super) snapshots: Option<HashMap<String, Option<WireSnapshot>>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct StockBarsPage {
    #[serde(default)]
    pub(super) bars: Option<Vec<WireBar>>,
    #[serde(default)]
    pub(super) next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CryptoBarsPage {
    #[serde(default)]
    pub(super) bars: Option<HashMap<String, Option<Vec<WireBar>>>>,
    #[serde(default)]
    pub(super) next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireGreeks {
    delta: Option<f64>,
    gamma: Option<f64>,
    theta: Option<f64>,
    vega: Option<f64>,
    rho: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireOptionSnapshot {
    #[serde(default, alias = "latest_trade")]
    pub(super) latest_trade: Option<WireTrade>,
    #[serde(default, alias = "latest_quote")]
    pub(super) latest_quote: Option<WireQuote>,
    #[serde(default, alias = "daily_bar")]
    pub(super) daily_bar: Option<WireBar>,
    #[serde(default, alias = "implied_volatility")]
    implied_volatility: Option<f64>,
    #[serde(default)]
    greeks: Option<WireGreeks>,
}

impl WireOptionSnapshot {
    pub(super) fn newest(&self) -> Option<DateTime<Utc>> {
        let quote = self.latest_quote.as_ref().map(|q| q.t);
        let trade = self.latest_trade.as_ref().map(|t| t.t);
        quote.max(trade)
    }

    pub(super) fn into_quote(self, contract: String) -> OptionQuote {
        // Greeks only when Alpaca gave all five: a half-filled set would be an invention.
        let greeks = self.greeks.and_then(|g| {
            Some(Greeks {
                delta: g.delta?,
                gamma: g.gamma?,
                theta: g.theta?,
                vega: g.vega?,
                rho: g.rho?,
            })
        });
        OptionQuote {
            contract,
            bid: self.latest_quote.as_ref().map(|q| q.bp),
            ask: self.latest_quote.as_ref().map(|q| q.ap),
            last: self.latest_trade.map(|t| t.p),
            volume: self.daily_bar.and_then(|b| b.v.to_u64()),
            open_interest: None,
            implied_volatility: self.implied_volatility,
            greeks,
            theoretical_value: None,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct OptionPage {
    #[serde(default)]
    pub(super) snapshots: Option<HashMap<String, WireOptionSnapshot>>,
    #[serde(default)]
    pub(super) next_page_token: Option<String>,
}
