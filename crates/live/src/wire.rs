//! The messages between the stream's owner and the processes mirroring it: JSON lines
//! (`{"type": ..., ...}`), money as exact decimal text. Each side opens with `hello` naming
//! the version and its role; a peer speaking another version is dropped.

use chrono::{DateTime, Utc};
use quantdesk_domain::{Bar, Decimal};
use quantdesk_market::stream::LiveQuote;
use quantdesk_market::stream::hub::FeedState;
use serde::{Deserialize, Serialize};

/// The format's version; a peer speaking another is refused.
pub const VERSION: u32 = 1;

/// Longest line read: a reply of 181 minute bars is ~30 KB.
pub const MAX_LINE: usize = 256 * 1024;

/// Who speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The desktop app: the stream's rightful owner while it runs.
    App,
    Sidecar,
}

/// A minute bar with exact decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireBar {
    pub time: DateTime<Utc>,
    #[serde(with = "rust_decimal::serde::str")]
    pub open: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub high: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub low: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub close: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub volume: Decimal,
}

impl From<&Bar> for WireBar {
    fn from(b: &Bar) -> Self {
        Self {
            time: b.time,
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume,
        }
    }
}

impl From<WireBar> for Bar {
    fn from(b: WireBar) -> Self {
        Self {
            time: b.time,
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
            volume: b.volume,
        }
    }
}

/// The feed's state, as the owner reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WireState {
    Connecting,
    Connected,
    Reconnecting { reason: String },
}

impl From<&FeedState> for WireState {
    fn from(s: &FeedState) -> Self {
        match s {
            FeedState::Connecting => Self::Connecting,
            FeedState::Connected => Self::Connected,
            FeedState::Reconnecting { reason } => Self::Reconnecting {
                reason: reason.clone(),
            },
        }
    }
}

impl From<WireState> for FeedState {
    fn from(s: WireState) -> Self {
        match s {
            WireState::Connecting => Self::Connecting,
            WireState::Connected => Self::Connected,
            WireState::Reconnecting { reason } => Self::Reconnecting { reason },
        }
    }
}

/// One line on the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    Hello {
        v: u32,
        role: Role,
        pid: u32,
    },
    // Mirror → owner.
    Watch {
        products: Vec<String>,
    },
    Unwatch {
        products: Vec<String>,
    },
    /// Asks for a product's finished minute bars; answered by `Bars` with the same id.
    GetBars {
        id: u64,
        product: String,
    },
    /// The app asks a sidecar that owns the stream to hand it over.
    TakeOver,
    // Owner → mirror.
    Quote {
        quote: LiveQuote,
        /// How long before sending the owner received it.
        age_us: u64,
    },
    State {
        /// Which stream (`coinbase`, `alpaca-stream`); an owner of before there were two sends
        /// none and means Coinbase's.
        #[serde(default = "coinbase")]
        source: String,
        #[serde(flatten)]
        state: WireState,
        reconnects: u64,
    },
    /// A minute of `product` closed (or REST filled some).
    Minute {
        product: String,
    },
    Bars {
        id: u64,
        bars: Vec<WireBar>,
    },
}

fn coinbase() -> String {
    quantdesk_market::stream::hub::COINBASE.to_string()
}

/// `msg` as one line, newline included.
pub fn line(msg: &Msg) -> String {
    // Serialising these types cannot fail: no maps with non-string keys, no custom errors.
    let mut s = serde_json::to_string(msg).unwrap_or_default();
    s.push('\n');
    s
}

/// A quote line's fields, read without the tagged enum's detour (serde buffers an internally
/// tagged enum's fields before it reads them): quotes are nearly every line at 100,000 a second.
#[derive(Deserialize)]
struct QuoteLine {
    quote: LiveQuote,
    age_us: u64,
}

/// One line read back; `None` when it is not a message of this version.
pub fn parse(line: &str) -> Option<Msg> {
    let line = line.trim_end();
    // `line` writes the tag first.
    if line.starts_with(r#"{"type":"quote","#)
        && let Ok(q) = serde_json::from_str::<QuoteLine>(line)
    {
        return Some(Msg::Quote {
            quote: q.quote,
            age_us: q.age_us,
        });
    }
    serde_json::from_str(line).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_exact_decimals() {
        let q = LiveQuote {
            product: "BTC-USD".into(),
            price: "90000.01".parse().unwrap(),
            bid: "90000.00".parse().unwrap(),
            bid_size: "0.12345678".parse().unwrap(),
            ask: "90000.02".parse().unwrap(),
            ask_size: "1".parse().unwrap(),
            time: DateTime::from_timestamp(1_796_083_200, 0).unwrap(),
        };
        for m in [
            Msg::Quote {
                quote: q,
                age_us: 7,
            },
            Msg::State {
                source: "alpaca-stream".into(),
                state: WireState::Reconnecting {
                    reason: "closed".into(),
                },
                reconnects: 3,
            },
            Msg::Hello {
                v: VERSION,
                role: Role::App,
                pid: 1,
            },
        ] {
            let text = line(&m);
            assert!(text.ends_with('\n') && !text[..text.len() - 1].contains('\n'));
            assert_eq!(parse(&text), Some(m));
        }
        assert!(line(&Msg::TakeOver).contains("\"type\":\"take_over\""));
        assert_eq!(parse("{\"type\":\"nonsense\"}"), None);
        // An owner that names no source means Coinbase's stream.
        let old = parse("{\"type\":\"state\",\"state\":\"connected\",\"reconnects\":2}");
        assert!(matches!(old, Some(Msg::State { source, .. }) if source == "coinbase"));
    }
}
