//! The stand-in's market: products and their one-minute candles, made up but deterministic, so
//! a test can compare what a client assembled with what the server had.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// A product as `GET /products` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// `BTC-USD`.
    pub id: String,
    pub base: String,
    pub quote: String,
    /// `online`, `offline`, `delisted`.
    pub status: String,
}

/// One bucket: Coinbase's `[time, low, high, open, close, volume]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candle {
    /// Start of the bucket, Unix seconds.
    pub time: i64,
    pub low: Decimal,
    pub high: Decimal,
    pub open: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
}

impl Candle {
    /// The candle as the bar a client should have built from it.
    pub fn bar(&self) -> quantdesk_domain::Bar {
        quantdesk_domain::Bar {
            time: DateTime::from_timestamp(self.time, 0).unwrap_or_default(),
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
        }
    }
}

/// Products and their minute candles, oldest first.
#[derive(Debug, Clone)]
pub struct GroundTruth {
    pub products: Vec<Product>,
    pub minutes: BTreeMap<String, Vec<Candle>>,
}

/// 2026-12-01T00:00:00Z, where the standard history starts.
pub const START: i64 = 1_796_083_200;

impl GroundTruth {
    /// BTC-USD from 90,000 and ETH-USD from 3,000, three days of minutes from [`START`]; ETH has
    /// no candle for every 97th minute (Coinbase publishes none for a minute without trades).
    /// A delisted `OLD-USD` is listed but has no candles.
    pub fn standard() -> Self {
        let mut minutes = BTreeMap::new();
        minutes.insert("BTC-USD".into(), walk(1, 9_000_000, 3 * 1440, None));
        minutes.insert("ETH-USD".into(), walk(2, 300_000, 3 * 1440, Some(97)));
        let product = |base: &str, status: &str| Product {
            id: format!("{base}-USD"),
            base: base.into(),
            quote: "USD".into(),
            status: status.into(),
        };
        Self {
            products: vec![
                product("BTC", "online"),
                product("ETH", "online"),
                product("OLD", "delisted"),
            ],
            minutes,
        }
    }

    /// The product with this id, if listed.
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// `id`'s candles of `granularity` seconds, oldest first, aggregated from the minutes the
    /// way Coinbase buckets them (a bucket starts at a multiple of its length since the epoch).
    pub fn candles(&self, id: &str, granularity: i64) -> Vec<Candle> {
        let mut out: Vec<Candle> = Vec::new();
        for c in self.minutes.get(id).into_iter().flatten() {
            let bucket = c.time - c.time.rem_euclid(granularity);
            match out.last_mut() {
                Some(agg) if agg.time == bucket => {
                    agg.high = agg.high.max(c.high);
                    agg.low = agg.low.min(c.low);
                    agg.close = c.close;
                    agg.volume += c.volume;
                }
                _ => out.push(Candle { time: bucket, ..*c }),
            }
        }
        out
    }

    /// When the newest minute of `id` ends: the stand-in's "now" for that product.
    pub fn now(&self, id: &str) -> Option<DateTime<Utc>> {
        let last = self.minutes.get(id)?.last()?;
        DateTime::from_timestamp(last.time + 59, 0)
    }
}

/// A deterministic random walk in cents: `n` minutes from [`START`], skipping every `gap`th.
fn walk(seed: u64, start_cents: i64, n: i64, gap: Option<i64>) -> Vec<Candle> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = move || {
        // xorshift64*: fixed output for a fixed seed, on every platform.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let step = (start_cents / 9_000).max(1);
    let mut close = start_cents;
    let mut out = Vec::new();
    for i in 0..n {
        let r = next();
        let open = close;
        close = (open + (r % 2_001) as i64 * step / 1_000 - step).max(100);
        if gap.is_some_and(|g| i % g == g - 1) {
            continue;
        }
        let wick = ((r >> 16) % 500) as i64 * step / 1_000;
        let cents = |v: i64| Decimal::new(v, 2);
        out.push(Candle {
            time: START + 60 * i,
            low: cents(open.min(close) - wick),
            high: cents(open.max(close) + wick),
            open: cents(open),
            close: cents(close),
            volume: Decimal::new(((r >> 32) % 5_000_000) as i64 + 1, 6),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_is_fixed_and_well_formed() {
        let t = GroundTruth::standard();
        let btc = &t.minutes["BTC-USD"];
        assert_eq!(btc.len(), 3 * 1440);
        assert_eq!(btc, &GroundTruth::standard().minutes["BTC-USD"]);
        for c in btc {
            assert!(
                c.low <= c.open.min(c.close) && c.high >= c.open.max(c.close),
                "{c:?}"
            );
            assert!(c.low > Decimal::ZERO && c.volume > Decimal::ZERO);
        }
        let eth = &t.minutes["ETH-USD"];
        assert!(eth.len() < 3 * 1440 && eth.len() > 3 * 1400);
        let hours = t.candles("BTC-USD", 3600);
        assert_eq!(hours.len(), 72);
        assert_eq!(hours[0].open, btc[0].open);
        assert_eq!(hours[0].close, btc[59].close);
    }
}
