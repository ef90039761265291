//! Live market data as a stream of events: trades, top-of-book quotes and heartbeats, from a
//! websocket that is kept alive — reconnected with exponential backoff and jitter when it drops
//! or stalls, resubscribed to what was asked. Malformed or unknown frames are logged and skipped;
//! a duplicate or out-of-order trade is dropped. Sources: [`coinbase`] (Exchange's public feed) and [`alpaca`] (the market data stream of a
//! linked account).

pub mod alpaca;
pub mod bars;
pub mod coinbase;
pub mod hub;
pub mod live;
pub mod stocks;

use std::time::Duration;

use chrono::{DateTime, Utc};
use quantdesk_domain::Decimal;

/// One trade on the venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    /// The venue's product id (`BTC-USD`).
    pub product: String,
    pub trade_id: u64,
    pub price: Decimal,
    pub size: Decimal,
    pub time: DateTime<Utc>,
}

/// The best bid and ask with the last price, as the venue's ticker sends them. (Serialised with
/// exact decimal text, for the channel that shares the live cache between processes.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveQuote {
    pub product: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub bid: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub bid_size: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub ask: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub ask_size: Decimal,
    pub time: DateTime<Utc>,
}

/// What a stream reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// Connected and subscribed (again, after `reconnects` reconnections).
    Connected {
        reconnects: u64,
    },
    /// The connection is gone (closed, failed, or silent for too long); the next attempt is in
    /// `retry_in`.
    Disconnected {
        reason: String,
        retry_in: Duration,
    },
    Trade(Trade),
    Quote(LiveQuote),
    /// The venue's sign of life for a product (no trade needed).
    Heartbeat {
        product: String,
        time: DateTime<Utc>,
    },
}

/// How long to wait before reconnection attempt `failures` (0 for the first after a good
/// connection): `min·2^failures` capped at `max`, the second half of it random ("equal
/// jitter"), so sidecars that lost the feed together do not come back together.
pub fn backoff(failures: u32, min: Duration, max: Duration, random: u64) -> Duration {
    let full = min.saturating_mul(1u32 << failures.min(20)).min(max);
    let half = full / 2;
    let spread = half.as_micros().max(1) as u64;
    half + Duration::from_micros(random % spread)
}

/// A little randomness for jitter (not for secrets): the clock's nanoseconds, mixed.
pub(crate) fn jitter_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^ (x >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_and_jitters_in_its_upper_half() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(30));
        for failures in 0..40 {
            for random in [0, 1, 12_345, u64::MAX] {
                let d = backoff(failures, min, max, random);
                let full = min.saturating_mul(1u32 << failures.min(20)).min(max);
                assert!(d >= full / 2 && d <= full, "{failures}: {d:?}");
            }
        }
        assert!(backoff(3, min, max, 0) == Duration::from_millis(400));
        assert!(backoff(30, min, max, 7) <= max);
    }
}
