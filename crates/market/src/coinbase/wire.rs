//! Coinbase Exchange's JSON, as documented: prices and sizes as strings in products, tickers and
//! stats; candles as `[time, low, high, open, close, volume]` arrays of numbers.

use chrono::{DateTime, Utc};
use quantdesk_domain::{Bar, Decimal};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub(super) struct Product {
    pub id: String,
    pub base_currency: String,
    pub quote_currency: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub trading_disabled: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct Ticker {
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    pub time: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Stats {
    #[serde(with = "rust_decimal::serde::str")]
    pub open: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub high: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub low: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub volume: Decimal,
}

/// A JSON number as the exact decimal it was written as (`90000.12`, `1e-8`).
fn number(v: &Value) -> Option<Decimal> {
    let text = v.as_number()?.to_string();
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

/// One candle row; `None` if it is not six numbers with a whole-second time.
pub(super) fn candle(row: &Value) -> Option<Bar> {
    let cells = row.as_array().filter(|r| r.len() >= 6)?;
    let time = DateTime::from_timestamp(cells[0].as_i64()?, 0)?;
    Some(Bar {
        time,
        low: number(&cells[1])?,
        high: number(&cells[2])?,
        open: number(&cells[3])?,
        close: number(&cells[4])?,
        volume: number(&cells[5])?,
    })
}

/// Coinbase's error body, `{"message": ...}`, or the raw text when it is something else.
pub(super) fn error_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct E {
        message: String,
    }
    match serde_json::from_str::<E>(body) {
        Ok(e) => e.message,
        Err(_) => body.chars().take(200).collect(),
    }
}
