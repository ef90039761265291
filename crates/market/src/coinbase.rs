//! Coinbase Exchange's public market data — no account, no key: the REST API's products,
//! tickers, 24-hour stats and candles (`api.exchange.coinbase.com`), for every pair Coinbase
//! lists. The default source of crypto prices; [`CryptoRouted`](crate::CryptoRouted) sends crypto
//! pairs here and everything else to the desk's other provider.

mod client;
mod provider;
mod wire;

#[cfg(test)]
mod tests;

use std::time::Duration;

use quantdesk_domain::Symbol;

pub use client::CoinbaseProvider;

/// Coinbase Exchange's REST API.
pub const DEFAULT_REST_URL: &str = "https://api.exchange.coinbase.com";
/// Coinbase Exchange's websocket feed.
pub const DEFAULT_WS_URL: &str = "wss://ws-feed.exchange.coinbase.com";

pub(crate) const NAME: &str = "coinbase";
/// Coinbase answers at most this many candles per request.
pub(crate) const MAX_CANDLES: i64 = 300;
/// At most this many bars in one answer (as for Alpaca).
pub(crate) const MAX_BARS: usize = 10_000;
/// Requests one `bars` call may make (34 pages of 300 cover [`MAX_BARS`]).
pub(crate) const MAX_PAGES: usize = 40;
/// How long one request may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per request when Coinbase is busy (429) or failing (5xx, no connection).
pub(crate) const ATTEMPTS: u32 = 3;

/// Quote currencies Coinbase lists crypto against, longest first (`BTCUSDC` is BTC-USDC).
const QUOTES: [&str; 6] = ["USDC", "USDT", "USD", "EUR", "GBP", "BTC"];
/// Currencies that are money, not crypto: `EUR/USD` is forex, not a Coinbase product.
const FIAT: [&str; 8] = ["USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD"];

/// Where the provider connects; `QUANTDESK_COINBASE_REST_URL` overrides the endpoint (tests,
/// proxies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinbaseConfig {
    pub rest_url: String,
}

impl Default for CoinbaseConfig {
    fn default() -> Self {
        Self {
            rest_url: DEFAULT_REST_URL.to_string(),
        }
    }
}

impl CoinbaseConfig {
    /// The defaults, with `QUANTDESK_COINBASE_REST_URL` when it is set.
    pub fn from_env() -> Self {
        match std::env::var("QUANTDESK_COINBASE_REST_URL") {
            Ok(url) if !url.trim().is_empty() => Self {
                rest_url: url.trim().trim_end_matches('/').to_string(),
            },
            _ => Self::default(),
        }
    }
}

/// The Coinbase product a symbol names: `BTC/USD`, `btc-usd` and `BTCUSD` are `BTC-USD`.
/// `None` for anything that is not a crypto pair (`GOOG`, `EUR/USD`, `BTC`).
pub fn product_id(symbol: &Symbol) -> Option<String> {
    let s = symbol.as_str();
    let (base, quote) = match s.split_once(['/', '-']) {
        Some((b, q)) => (b, q),
        None => {
            let quote = QUOTES
                .iter()
                .find(|q| s.len() > q.len() + 1 && s.ends_with(*q))?;
            (&s[..s.len() - quote.len()], *quote)
        }
    };
    let ok = |part: &str| {
        (2..=10).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
    };
    (ok(base) && ok(quote) && !FIAT.contains(&base) && QUOTES.contains(&quote))
        .then(|| format!("{base}-{quote}"))
}
