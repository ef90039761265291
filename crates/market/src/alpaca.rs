//! The live provider: Alpaca Market Data (stocks v2, crypto v1beta3, options v1beta1).
//!
//! Requests go through `apca`'s [`Client`] — its key headers, hyper transport, gzip and error
//! plumbing — but through endpoints defined here, because apca's own data endpoints hard-code
//! `https://data.alpaca.markets` and so could never be pointed at the test stand-in. The client's
//! base URL is the configured data URL instead.
//!
//! Every answer is labelled `alpaca` with the time of the newest data it rests on. Nothing is
//! filled in when Alpaca leaves it out: no quote means no quote, and open interest (which the
//! snapshot endpoints do not carry) is always absent.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use apca::{ApiInfo, Client};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

mod chain;
mod client;
mod provider;
mod wire;

const NAME: &str = "alpaca";

/// Alpaca's production market-data API.
pub const DEFAULT_DATA_URL: &str = "https://data.alpaca.markets";

/// apca sets no timeout of its own; a hung connection must not hang a tool call.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Alpaca's maximum `limit` per page.
const PAGE_LIMIT: usize = 10_000;
/// Most bars one request returns when it sets no limit: enough for 40 years of days, and a
/// bound on what an open-ended request for minute bars can pull.
const MAX_BARS: usize = 10_000;
/// A bound on pages per request, in case a server keeps handing out tokens.
const MAX_PAGES: usize = 50;
/// Options pages: Alpaca's maximum per page, and a bound on pages (a whole chain of a busy
/// underlying without an expiration filter runs to several thousand contracts).
const OPTION_PAGE_LIMIT: usize = 1_000;
const OPTION_MAX_PAGES: usize = 20;
/// Strikes asked for lie within this fraction of the underlying's price, so a chain does not
/// drag in every far-away strike just to keep a few around the money.
const STRIKE_BAND_PCT: i64 = 30;
/// How many expirations "the nearest few" means when the request names none.
const NEAREST_EXPIRATIONS: usize = 3;
/// The free options feed: trades delayed, quotes indicative. `opra` needs a subscription.
const OPTIONS_FEED: &str = "indicative";

/// What a person is told Alpaca can answer for when it has nothing for their symbol.
const KNOWN: &str = "US stocks and ETFs by their ticker as Alpaca writes it (letters, digits \
and '.', e.g. AAPL, BRK.B) and crypto pairs with a slash (e.g. BTC/USD); indices such as ^GSPC \
are not offered (SPY tracks the S&P 500)";

/// Bars without a start are fetched newest-first from here: earlier than any Alpaca history.
fn earliest() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).unwrap_or_default() // 2000-01-01T00:00:00Z
}

/// Which stock feed to read: `iex` (Investors Exchange only, free) or `sip` (all US exchanges,
/// needs a paid subscription for recent data). Crypto and options have their own feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlpacaFeed {
    #[default]
    Iex,
    Sip,
}

impl AlpacaFeed {
    pub fn as_str(self) -> &'static str {
        match self {
            AlpacaFeed::Iex => "iex",
            AlpacaFeed::Sip => "sip",
        }
    }
}

impl fmt::Display for AlpacaFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlpacaFeed {
    type Err = AlpacaConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "iex" => Ok(AlpacaFeed::Iex),
            "sip" => Ok(AlpacaFeed::Sip),
            _ => Err(AlpacaConfigError::InvalidFeed(s.to_string())),
        }
    }
}

/// Why an [`AlpacaConfig`] cannot be used. Checked when the provider is built, so a bad
/// setting is reported once, plainly, rather than as a failed request later.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AlpacaConfigError {
    #[error(
        "an Alpaca key ID and secret are both needed (create them in Alpaca's dashboard; paper keys work for market data)"
    )]
    MissingKey,
    #[error("'{url}' is not a usable Alpaca data URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("'{0}' is not an Alpaca stock feed: use iex (free) or sip (paid subscription)")]
    InvalidFeed(String),
}

/// How to reach Alpaca. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AlpacaConfig {
    pub key_id: String,
    pub secret: String,
    /// Base URL of the market-data API; [`DEFAULT_DATA_URL`] unless testing.
    pub data_url: String,
    pub feed: AlpacaFeed,
}

impl AlpacaConfig {
    /// A key for the production data API and the free `iex` feed.
    pub fn new(key_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key_id: key_id.into(),
            secret: secret.into(),
            data_url: DEFAULT_DATA_URL.to_string(),
            feed: AlpacaFeed::default(),
        }
    }
}

impl fmt::Debug for AlpacaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlpacaConfig")
            .field("key_id", &self.key_id)
            .field("secret", &"<redacted>")
            .field("data_url", &self.data_url)
            .field("feed", &self.feed)
            .finish()
    }
}

/// Market data from Alpaca. See the module documentation for what it promises.
pub struct AlpacaProvider {
    /// Holds the key and secret; apca's own `Debug` would print the secret, so this type's
    /// `Debug` is written by hand and leaves the client out.
    client: Client,
    data_url: String,
    feed: AlpacaFeed,
}

impl fmt::Debug for AlpacaProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlpacaProvider")
            .field("data_url", &self.data_url)
            .field("feed", &self.feed)
            .finish_non_exhaustive()
    }
}

impl AlpacaProvider {
    /// Checks the configuration and builds the client; makes no request.
    ///
    /// Plain `http://` is accepted only for a loopback host (the test stand-in): anywhere else
    /// it would send the key and secret in the clear.
    pub fn new(config: AlpacaConfig) -> Result<Self, AlpacaConfigError> {
        let key_id = config.key_id.trim();
        let secret = config.secret.trim();
        if key_id.is_empty() || secret.is_empty() {
            return Err(AlpacaConfigError::MissingKey);
        }
        let data_url = config.data_url.trim().trim_end_matches('/').to_string();
        let invalid = |reason: &str| AlpacaConfigError::InvalidUrl {
            url: config.data_url.clone(),
            reason: reason.to_string(),
        };
        let api_info =
            ApiInfo::from_parts(&data_url, key_id, secret).map_err(|e| invalid(&e.to_string()))?;
        let url = &api_info.api_base_url;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(invalid(
                    "use https; plain http would send the key in the clear",
                ));
            }
            _ => return Err(invalid("it must start with https://")),
        }
        Ok(Self {
            client: Client::new(api_info),
            data_url,
            feed: config.feed,
        })
    }

    pub fn feed(&self) -> AlpacaFeed {
        self.feed
    }
}

#[cfg(test)]
mod tests;
