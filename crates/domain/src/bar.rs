use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Symbol, Timeframe};

/// One OHLCV bar. `time` is the start of the interval the bar covers (Alpaca's convention),
/// in UTC; daily bars of the bundled history start at 00:00 UTC of their trading date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Bar {
    pub time: DateTime<Utc>,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
}

/// Where an answer came from and how fresh it is. Every market answer carries one, so neither
/// Claude nor the person can mistake a 2013 close or a model price for a live quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Provenance {
    /// `bundled` (history shipped with the app), `alpaca`, or `model` (computed, not traded).
    pub source: String,
    /// The time of the newest data the answer rests on.
    pub as_of: DateTime<Utc>,
}

/// Bars for one symbol and timeframe, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BarSeries {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub bars: Vec<Bar>,
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// Top of book at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Quote {
    pub symbol: Symbol,
    pub bid: Decimal,
    pub bid_size: Decimal,
    pub ask: Decimal,
    pub ask_size: Decimal,
    pub time: DateTime<Utc>,
}

impl Quote {
    pub fn mid(&self) -> Decimal {
        (self.bid + self.ask) / Decimal::TWO
    }
}

/// The "how is it doing" view of a symbol: last price, change against the previous close,
/// the current (or last) session's range and volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PriceSnapshot {
    pub symbol: Symbol,
    pub price: Decimal,
    pub previous_close: Option<Decimal>,
    pub change: Option<Decimal>,
    pub change_pct: Option<Decimal>,
    /// The period `day_open`..`volume` cover: a day, or the data's bar when that is coarser.
    pub session: Timeframe,
    pub day_open: Decimal,
    pub day_high: Decimal,
    pub day_low: Decimal,
    pub volume: Decimal,
    /// Latest bid/ask where the provider has them (live data only).
    pub quote: Option<Quote>,
    /// Why the live price may be out of date (its market is open and it has not moved for a
    /// while); absent when it is current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl PriceSnapshot {
    /// Builds the snapshot from the latest session's bar and, when known, the previous close;
    /// change and change % are derived here once so every provider reports them alike.
    pub fn from_session(
        symbol: Symbol,
        price: Decimal,
        session: &Bar,
        session_timeframe: Timeframe,
        previous_close: Option<Decimal>,
        provenance: Provenance,
    ) -> Self {
        let change = previous_close.map(|prev| price - prev);
        let change_pct = previous_close
            .filter(|prev| !prev.is_zero())
            .map(|prev| ((price - prev) / prev * Decimal::ONE_HUNDRED).round_dp(4));
        Self {
            symbol,
            price,
            previous_close,
            change,
            change_pct,
            session: session_timeframe,
            day_open: session.open,
            day_high: session.high,
            day_low: session.low,
            volume: session.volume,
            quote: None,
            stale: None,
            provenance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn snapshot_derives_change_from_previous_close() {
        let bar = Bar {
            time: DateTime::UNIX_EPOCH,
            open: dec!(100),
            high: dec!(110),
            low: dec!(95),
            close: dec!(105),
            volume: dec!(1000),
        };
        let p = Provenance {
            source: "bundled".into(),
            as_of: DateTime::UNIX_EPOCH,
        };
        let s = PriceSnapshot::from_session(
            Symbol::parse("x").unwrap(),
            dec!(105),
            &bar,
            Timeframe::DAY,
            Some(dec!(100)),
            p,
        );
        assert_eq!(s.change, Some(dec!(5)));
        assert_eq!(s.change_pct, Some(dec!(5)));
        assert_eq!(s.day_high, dec!(110));
    }

    #[test]
    fn money_serialises_as_json_numbers() {
        let q = Quote {
            symbol: Symbol::parse("GOOG").unwrap(),
            bid: dec!(806.19),
            bid_size: dec!(1),
            ask: dec!(806.21),
            ask_size: dec!(2),
            time: DateTime::UNIX_EPOCH,
        };
        let v = serde_json::to_value(&q).unwrap();
        assert_eq!(v["bid"], serde_json::json!(806.19));
        assert_eq!(q.mid(), dec!(806.20));
    }
}
