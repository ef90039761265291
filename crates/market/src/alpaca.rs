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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;
use std::time::Duration;

use apca::{ApiInfo, Client, RequestError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use http::StatusCode;
use http_endpoint::{Endpoint, Str};
use quantdesk_domain::{
    Bar, BarSeries, Decimal, Greeks, OptionChain, OptionContract, OptionKind, OptionQuote,
    PriceSnapshot, Provenance, Quote, Symbol, SymbolInfo, Timeframe, TimeframeUnit,
};
use rust_decimal::prelude::ToPrimitive;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{BarsRequest, ChainRequest, MarketData, MarketError};

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

    /// One GET against the data API, decoded as `T`.
    async fn get<T: DeserializeOwned>(
        &self,
        path: String,
        query: &[(&str, String)],
    ) -> Result<T, FetchError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        tracing::debug!(%path, %query, "alpaca request");
        let input = DataRequest { path, query };
        let issued = tokio::time::timeout(REQUEST_TIMEOUT, self.client.issue::<DataGet<T>>(&input));
        match issued.await {
            Err(_) => Err(FetchError::Timeout),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(RequestError::Endpoint(EndpointError::Status { status, body }))) => {
                Err(FetchError::Status {
                    status,
                    message: api_message(status, body),
                })
            }
            Ok(Err(RequestError::Endpoint(EndpointError::Json(e)))) => {
                Err(FetchError::Decode(e.to_string()))
            }
            Ok(Err(RequestError::Endpoint(EndpointError::Http(e)))) => {
                Err(FetchError::Request(e.to_string()))
            }
            Ok(Err(other)) => Err(FetchError::Transport(source_chain(&other))),
        }
    }

    /// Turns a failed request into what the person is told.
    fn error(&self, err: FetchError) -> MarketError {
        let rejected = |message: String| MarketError::Rejected {
            provider: NAME,
            message,
        };
        let unavailable = |message: String| MarketError::Unavailable {
            provider: NAME,
            message,
        };
        match err {
            FetchError::Status { status, message } => match status.as_u16() {
                401 => rejected(format!(
                    "Alpaca did not accept the API key ({message}); check the key ID and secret in QuantDesk's settings"
                )),
                403 => rejected(format!(
                    "Alpaca refused this API key access ({message}); the key's market-data plan may not cover the '{}' feed — the free plan covers iex",
                    self.feed
                )),
                404 if message.contains("endpoint not found") => rejected(format!(
                    "{message} at {} — is that Alpaca's market-data URL ({DEFAULT_DATA_URL})?",
                    self.data_url
                )),
                429 => unavailable(format!(
                    "Alpaca's rate limit was reached ({message}); wait a minute and ask again"
                )),
                500..=599 => unavailable(format!("Alpaca answered {status}: {message}")),
                _ => rejected(message),
            },
            FetchError::Timeout => unavailable(format!(
                "no answer from {} within {} seconds",
                self.data_url,
                REQUEST_TIMEOUT.as_secs()
            )),
            FetchError::Transport(message) => unavailable(format!("{}: {message}", self.data_url)),
            FetchError::Decode(message) => MarketError::BadResponse {
                provider: NAME,
                message,
            },
            FetchError::Request(message) => rejected(format!(
                "the request could not be built ({message}); check the key ID and secret for stray characters"
            )),
        }
    }

    async fn fetch<T: DeserializeOwned>(
        &self,
        path: String,
        query: &[(&str, String)],
    ) -> Result<T, MarketError> {
        self.get(path, query).await.map_err(|e| self.error(e))
    }

    /// One page of bars and the token for the next.
    async fn bars_page(
        &self,
        symbol: &Symbol,
        query: &[(&str, String)],
    ) -> Result<(Vec<WireBar>, Option<String>), MarketError> {
        if symbol.pair().is_some() {
            let mut query = query.to_vec();
            query.insert(0, ("symbols", symbol.to_string()));
            let page: CryptoBarsPage = self
                .fetch("/v1beta3/crypto/us/bars".to_string(), &query)
                .await?;
            let bars = page
                .bars
                .unwrap_or_default()
                .remove(symbol.as_str())
                .flatten()
                .unwrap_or_default();
            Ok((bars, page.next_page_token))
        } else {
            let mut query = query.to_vec();
            query.push(("adjustment", "raw".to_string()));
            query.push(("feed", self.feed.to_string()));
            let page: StockBarsPage = self
                .fetch(format!("/v2/stocks/{symbol}/bars"), &query)
                .await?;
            Ok((page.bars.unwrap_or_default(), page.next_page_token))
        }
    }

    async fn wire_snapshot(&self, symbol: &Symbol) -> Result<WireSnapshot, MarketError> {
        if symbol.pair().is_some() {
            let response: CryptoSnapshots = self
                .fetch(
                    "/v1beta3/crypto/us/snapshots".to_string(),
                    &[("symbols", symbol.to_string())],
                )
                .await?;
            return response
                .snapshots
                .unwrap_or_default()
                .remove(symbol.as_str())
                .flatten()
                .ok_or_else(|| unknown(symbol));
        }
        let response = self
            .get::<StockSnapshotResponse>(
                format!("/v2/stocks/{symbol}/snapshot"),
                &[("feed", self.feed.to_string())],
            )
            .await;
        match response {
            Ok(StockSnapshotResponse::Wrapped { snapshot }) => Ok(snapshot),
            Ok(StockSnapshotResponse::Flat(snapshot)) => Ok(snapshot),
            Err(FetchError::Status { status, message })
                if status == StatusCode::NOT_FOUND && !message.contains("endpoint not found") =>
            {
                Err(unknown(symbol))
            }
            Err(e) => Err(self.error(e)),
        }
    }
}

fn unknown(symbol: &Symbol) -> MarketError {
    MarketError::UnknownSymbol {
        symbol: symbol.clone(),
        provider: NAME,
        known: KNOWN.to_string(),
    }
}

/// Stock tickers go into the URL path, so anything Alpaca never uses in a ticker is refused
/// here, with advice, rather than sent as a malformed request.
fn check_stock_symbol(symbol: &Symbol) -> Result<(), MarketError> {
    let ok = symbol.pair().is_some()
        || symbol
            .as_str()
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.');
    if ok { Ok(()) } else { Err(unknown(symbol)) }
}

/// The bar lengths Alpaca aggregates: 1–59 minutes, 1–23 hours, a day, a week, 1, 2, 3, 4, 6
/// or 12 months.
fn check_timeframe(symbol: &Symbol, timeframe: Timeframe) -> Result<(), MarketError> {
    let n = timeframe.amount;
    let ok = match timeframe.unit {
        TimeframeUnit::Minute => (1..=59).contains(&n),
        TimeframeUnit::Hour => (1..=23).contains(&n),
        TimeframeUnit::Day | TimeframeUnit::Week => n == 1,
        TimeframeUnit::Month => [1, 2, 3, 4, 6, 12].contains(&n),
    };
    if ok {
        return Ok(());
    }
    Err(MarketError::UnsupportedTimeframe {
        symbol: symbol.clone(),
        timeframe,
        provider: NAME,
        reason: "Alpaca offers 1-59Min, 1-23Hour, 1Day, 1Week and 1, 2, 3, 4, 6 or 12Month bars"
            .to_string(),
    })
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[async_trait]
impl MarketData for AlpacaProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Always empty: Alpaca knows thousands of symbols and QuantDesk does not track which ones
    /// a person asks about, so a screener running on Alpaca must be given its universe.
    async fn symbols(&self) -> Result<Vec<SymbolInfo>, MarketError> {
        Ok(Vec::new())
    }

    /// Without a start, the newest bars are fetched first (`sort=desc` from 2000 on, since
    /// Alpaca's own default start is the beginning of today) and returned oldest first. Without
    /// a limit, at most 10,000 bars are returned: the first ones from a start, else the newest.
    async fn bars(&self, request: &BarsRequest) -> Result<BarSeries, MarketError> {
        request.validate()?;
        check_stock_symbol(&request.symbol)?;
        check_timeframe(&request.symbol, request.timeframe)?;
        let want = request.limit.unwrap_or(MAX_BARS).min(MAX_BARS);
        if want == 0 {
            return Err(MarketError::Unsupported(
                "a limit of 0 asks for no bars; ask for at least one".to_string(),
            ));
        }
        let newest_first = request.start.is_none();
        let start = request.start.unwrap_or_else(earliest);
        let mut bars: Vec<Bar> = Vec::new();
        let mut token: Option<String> = None;
        for page in 0.. {
            if page == MAX_PAGES {
                tracing::warn!(symbol = %request.symbol, "alpaca bars: stopped after {MAX_PAGES} pages");
                break;
            }
            let mut query = vec![
                ("timeframe", request.timeframe.to_string()),
                ("start", rfc3339(start)),
            ];
            if let Some(end) = request.end {
                query.push(("end", rfc3339(end)));
            }
            query.push(("limit", (want - bars.len()).min(PAGE_LIMIT).to_string()));
            query.push((
                "sort",
                if newest_first { "desc" } else { "asc" }.to_string(),
            ));
            if let Some(token) = &token {
                query.push(("page_token", token.clone()));
            }
            let (page_bars, next) = self.bars_page(&request.symbol, &query).await?;
            bars.extend(page_bars.into_iter().map(WireBar::into_bar));
            match next {
                Some(next) if bars.len() < want => {
                    if token.as_deref() == Some(next.as_str()) {
                        return Err(MarketError::BadResponse {
                            provider: NAME,
                            message: "Alpaca handed out the same page token twice".to_string(),
                        });
                    }
                    token = Some(next);
                }
                _ => break,
            }
        }
        bars.truncate(want);
        bars.sort_by_key(|b| b.time);
        bars.dedup_by_key(|b| b.time);
        let Some(last) = bars.last() else {
            if request.start.is_none() && request.end.is_none() {
                return Err(unknown(&request.symbol));
            }
            return Err(MarketError::NoData {
                symbol: request.symbol.clone(),
                provider: NAME,
                start: request.start.map_or("the start".to_string(), rfc3339),
                end: request.end.map_or("now".to_string(), rfc3339),
                available: "nothing in that range — check the ticker and the dates (Alpaca's stock history begins in 2016)".to_string(),
            });
        };
        let as_of = last.time;
        Ok(BarSeries {
            symbol: request.symbol.clone(),
            timeframe: request.timeframe,
            bars,
            provenance: Provenance {
                source: NAME.to_string(),
                as_of,
            },
        })
    }

    /// Price is the latest trade (the daily close if Alpaca has no trade), the session is
    /// Alpaca's daily bar, the previous close its previous daily bar's close.
    async fn snapshot(&self, symbol: &Symbol) -> Result<PriceSnapshot, MarketError> {
        check_stock_symbol(symbol)?;
        let wire = self.wire_snapshot(symbol).await?;
        let Some(daily) = wire.daily_bar else {
            return Err(unknown(symbol));
        };
        let (price, as_of) = match &wire.latest_trade {
            Some(trade) => (trade.p, trade.t),
            None => (daily.c, daily.t),
        };
        let session = daily.into_bar();
        let mut snapshot = PriceSnapshot::from_session(
            symbol.clone(),
            price,
            &session,
            Timeframe::DAY,
            wire.prev_daily_bar.map(|b| b.c),
            Provenance {
                source: NAME.to_string(),
                as_of,
            },
        );
        snapshot.quote = wire.latest_quote.map(|q| q.into_quote(symbol));
        Ok(snapshot)
    }

    /// The underlying's price comes from its snapshot. Strikes within 30 % of it are fetched
    /// (all pages), contracts of other roots (adjusted ones like `GOOG1`) are left out, and per
    /// expiration `strikes_around` strikes at or below the price and as many above are kept.
    /// Quotes are from Alpaca's free indicative feed; volume is the day's where Alpaca reports
    /// it, open interest is never reported by these endpoints and stays empty.
    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, MarketError> {
        let underlying = &request.underlying;
        if underlying.pair().is_some() {
            return Err(MarketError::Unsupported(format!(
                "Alpaca lists options on US stocks and ETFs only, not on {underlying}"
            )));
        }
        let snapshot = self.snapshot(underlying).await?;
        let price = snapshot.price;
        let band = price * Decimal::new(STRIKE_BAND_PCT, 2);
        let mut query = vec![
            ("feed", OPTIONS_FEED.to_string()),
            ("limit", OPTION_PAGE_LIMIT.to_string()),
            ("strike_price_gte", (price - band).round_dp(2).to_string()),
            ("strike_price_lte", (price + band).round_dp(2).to_string()),
        ];
        if let Some(expiration) = request.expiration {
            query.push(("expiration_date", expiration.to_string()));
        }
        let path = format!("/v1beta1/options/snapshots/{underlying}");
        let mut snapshots: Vec<(String, WireOptionSnapshot)> = Vec::new();
        let mut token: Option<String> = None;
        for page in 0.. {
            if page == OPTION_MAX_PAGES {
                tracing::warn!(%underlying, "alpaca options: stopped after {OPTION_MAX_PAGES} pages");
                break;
            }
            let mut page_query = query.clone();
            if let Some(token) = &token {
                page_query.push(("page_token", token.clone()));
            }
            let page: OptionPage = self.fetch(path.clone(), &page_query).await?;
            snapshots.extend(page.snapshots.unwrap_or_default());
            match page.next_page_token {
                Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
                Some(_) => {
                    return Err(MarketError::BadResponse {
                        provider: NAME,
                        message: "Alpaca handed out the same page token twice".to_string(),
                    });
                }
                None => break,
            }
        }
        build_chain(underlying, snapshot, request, snapshots)
    }
}

/// Contracts by (expiration, strike), each with the time of its newest quote or trade.
type ByStrike = BTreeMap<(NaiveDate, Decimal), (OptionContract, Option<DateTime<Utc>>)>;

/// Groups Alpaca's per-contract snapshots into calls and puts per strike and picks the strikes
/// around the money.
fn build_chain(
    underlying: &Symbol,
    snapshot: PriceSnapshot,
    request: &ChainRequest,
    snapshots: Vec<(String, WireOptionSnapshot)>,
) -> Result<OptionChain, MarketError> {
    let price = snapshot.price;
    let root = underlying.as_str().replace(['.', '/'], "");
    let mut grouped = ByStrike::new();
    for (contract, wire) in snapshots {
        let Some(occ) = Occ::parse(&contract) else {
            tracing::debug!(%contract, "alpaca options: not an OCC symbol, skipped");
            continue;
        };
        if occ.root != root || request.expiration.is_some_and(|e| e != occ.expiration) {
            continue;
        }
        let (entry, newest) = grouped
            .entry((occ.expiration, occ.strike))
            .or_insert_with(|| {
                (
                    OptionContract {
                        expiration: occ.expiration,
                        strike: occ.strike,
                        call: None,
                        put: None,
                    },
                    None,
                )
            });
        *newest = (*newest).max(wire.newest());
        let quote = wire.into_quote(contract);
        match occ.kind {
            OptionKind::Call => entry.call = Some(quote),
            OptionKind::Put => entry.put = Some(quote),
        }
    }
    let mut expirations: Vec<NaiveDate> = grouped.keys().map(|(e, _)| *e).collect();
    expirations.dedup();
    if request.expiration.is_none() {
        expirations.truncate(NEAREST_EXPIRATIONS);
    }
    if expirations.is_empty() {
        let when = request
            .expiration
            .map_or(String::new(), |e| format!(" expiring {e}"));
        return Err(MarketError::Unsupported(format!(
            "Alpaca lists no {underlying} options{when} with strikes near {price}"
        )));
    }
    let mut contracts = Vec::new();
    let mut as_of = snapshot.provenance.as_of;
    for expiration in &expirations {
        let strikes: Vec<Decimal> = grouped
            .range((*expiration, Decimal::MIN)..=(*expiration, Decimal::MAX))
            .map(|((_, strike), _)| *strike)
            .collect();
        for strike in strikes_around(&strikes, price, request.strikes_around) {
            if let Some((contract, newest)) = grouped.remove(&(*expiration, *strike)) {
                as_of = as_of.max(newest.unwrap_or(as_of));
                contracts.push(contract);
            }
        }
    }
    Ok(OptionChain {
        underlying: underlying.clone(),
        underlying_price: price,
        expirations,
        contracts,
        model_inputs: None,
        provenance: Provenance {
            source: NAME.to_string(),
            as_of,
        },
    })
}

/// `n` strikes at or below `price` and `n` above it, from `strikes` sorted ascending.
fn strikes_around(strikes: &[Decimal], price: Decimal, n: usize) -> &[Decimal] {
    let split = strikes.partition_point(|s| *s <= price);
    let from = split.saturating_sub(n);
    let to = split.saturating_add(n).min(strikes.len());
    &strikes[from..to]
}

/// An OCC option symbol taken apart: root, `yymmdd`, `C`/`P`, strike × 1000 in 8 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Occ {
    root: String,
    expiration: NaiveDate,
    kind: OptionKind,
    strike: Decimal,
}

impl Occ {
    fn parse(symbol: &str) -> Option<Occ> {
        if !symbol.is_ascii() || symbol.len() < 16 {
            return None;
        }
        let (root, tail) = symbol.split_at(symbol.len() - 15);
        let expiration = NaiveDate::parse_from_str(&tail[..6], "%y%m%d").ok()?;
        let kind = match &tail[6..7] {
            "C" => OptionKind::Call,
            "P" => OptionKind::Put,
            _ => return None,
        };
        let digits = &tail[7..];
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let milli: i64 = digits.parse().ok()?;
        Some(Occ {
            root: root.trim_end().to_string(),
            expiration,
            kind,
            strike: Decimal::new(milli, 3).normalize(),
        })
    }
}

// ---- Alpaca's JSON -------------------------------------------------------------------------
// Only the fields QuantDesk uses; serde ignores the rest (exchange codes, conditions, tape).
// Aliases accept the snake_case spellings some of Alpaca's examples show.

#[derive(Debug, Deserialize)]
struct WireBar {
    t: DateTime<Utc>,
    o: Decimal,
    h: Decimal,
    l: Decimal,
    c: Decimal,
    v: Decimal,
}

impl WireBar {
    fn into_bar(self) -> Bar {
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
struct WireTrade {
    t: DateTime<Utc>,
    p: Decimal,
}

#[derive(Debug, Deserialize)]
struct WireQuote {
    t: DateTime<Utc>,
    bp: Decimal,
    bs: Decimal,
    ap: Decimal,
    #[serde(rename = "as")]
    ask_size: Decimal,
}

impl WireQuote {
    fn into_quote(self, symbol: &Symbol) -> Quote {
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
struct WireSnapshot {
    #[serde(default, alias = "latest_trade")]
    latest_trade: Option<WireTrade>,
    #[serde(default, alias = "latest_quote")]
    latest_quote: Option<WireQuote>,
    #[serde(default, alias = "daily_bar")]
    daily_bar: Option<WireBar>,
    #[serde(default, alias = "prev_daily_bar")]
    prev_daily_bar: Option<WireBar>,
}

/// `GET /v2/stocks/{symbol}/snapshot`: the snapshot's fields at the top level (with `symbol`);
/// some of Alpaca's examples wrap them in `snapshot`, so both are read.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StockSnapshotResponse {
    Wrapped { snapshot: WireSnapshot },
    Flat(WireSnapshot),
}

#[derive(Debug, Deserialize)]
struct CryptoSnapshots {
    #[serde(default)]
    snapshots: Option<HashMap<String, Option<WireSnapshot>>>,
}

#[derive(Debug, Deserialize)]
struct StockBarsPage {
    #[serde(default)]
    bars: Option<Vec<WireBar>>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CryptoBarsPage {
    #[serde(default)]
    bars: Option<HashMap<String, Option<Vec<WireBar>>>>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireGreeks {
    delta: Option<f64>,
    gamma: Option<f64>,
    theta: Option<f64>,
    vega: Option<f64>,
    rho: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOptionSnapshot {
    #[serde(default, alias = "latest_trade")]
    latest_trade: Option<WireTrade>,
    #[serde(default, alias = "latest_quote")]
    latest_quote: Option<WireQuote>,
    #[serde(default, alias = "daily_bar")]
    daily_bar: Option<WireBar>,
    #[serde(default, alias = "implied_volatility")]
    implied_volatility: Option<f64>,
    #[serde(default)]
    greeks: Option<WireGreeks>,
}

impl WireOptionSnapshot {
    fn newest(&self) -> Option<DateTime<Utc>> {
        let quote = self.latest_quote.as_ref().map(|q| q.t);
        let trade = self.latest_trade.as_ref().map(|t| t.t);
        quote.max(trade)
    }

    fn into_quote(self, contract: String) -> OptionQuote {
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
struct OptionPage {
    #[serde(default)]
    snapshots: Option<HashMap<String, WireOptionSnapshot>>,
    #[serde(default)]
    next_page_token: Option<String>,
}

// ---- The endpoint apca's client issues -----------------------------------------------------

/// Any GET on the data API, decoded as `T`. `base_url` is left at `None`, so apca's client
/// uses its configured base URL — the data URL — which is what makes the stand-in reachable.
struct DataGet<T>(PhantomData<fn() -> T>);

#[derive(Debug)]
struct DataRequest {
    path: String,
    /// Already URL-encoded.
    query: String,
}

/// An Alpaca error body: `{"code": 40010001, "message": "invalid symbol"}` or just a message.
#[derive(Debug, Deserialize, Error)]
#[error("{message}")]
struct ApiMessage {
    message: String,
}

#[derive(Debug, Error)]
enum EndpointError {
    #[error("HTTP {status}")]
    Status {
        status: StatusCode,
        body: Result<ApiMessage, Vec<u8>>,
    },
    #[error(transparent)]
    Http(#[from] http::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl<T: DeserializeOwned> Endpoint for DataGet<T> {
    type Input = DataRequest;
    type Output = T;
    type Error = EndpointError;
    type ConversionError = serde_json::Error;
    type ApiError = ApiMessage;

    fn path(input: &Self::Input) -> Str {
        input.path.clone().into()
    }

    fn query(input: &Self::Input) -> Result<Option<Str>, Self::ConversionError> {
        Ok((!input.query.is_empty()).then(|| input.query.clone().into()))
    }

    fn parse(body: &[u8]) -> Result<Self::Output, Self::ConversionError> {
        serde_json::from_slice(body)
    }

    fn parse_err(body: &[u8]) -> Result<Self::ApiError, Vec<u8>> {
        serde_json::from_slice(body).map_err(|_| body.to_vec())
    }

    fn evaluate(status: StatusCode, body: &[u8]) -> Result<Self::Output, Self::Error> {
        if status.is_success() {
            Ok(Self::parse(body)?)
        } else {
            Err(EndpointError::Status {
                status,
                body: Self::parse_err(body),
            })
        }
    }
}

/// Why a request failed, before it is worded for the person.
#[derive(Debug)]
enum FetchError {
    Status { status: StatusCode, message: String },
    Timeout,
    Transport(String),
    Decode(String),
    Request(String),
}

/// Alpaca's message, or the start of whatever else the body held, or the status's name.
fn api_message(status: StatusCode, body: Result<ApiMessage, Vec<u8>>) -> String {
    let text = match body {
        Ok(api) => api.message,
        Err(raw) => String::from_utf8_lossy(&raw)
            .trim()
            .chars()
            .take(300)
            .collect(),
    };
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string()
    } else {
        text
    }
}

/// apca's transport errors say only "the hyper-util crate reported an error"; the useful part
/// ("Connection refused") is further down the chain.
fn source_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next = err.source();
    while let Some(e) = next {
        parts.push(e.to_string());
        next = e.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn occ_symbols_parse() {
        let occ = Occ::parse("GOOG130322C00802500").unwrap();
        assert_eq!(occ.root, "GOOG");
        assert_eq!(
            occ.expiration,
            NaiveDate::from_ymd_opt(2013, 3, 22).unwrap()
        );
        assert_eq!(occ.kind, OptionKind::Call);
        assert_eq!(occ.strike, dec!(802.5));
        assert_eq!(Occ::parse("SPY250117P00450000").unwrap().strike, dec!(450));
        assert_eq!(Occ::parse("GOOG1130322C00800000").unwrap().root, "GOOG1");
        for bad in [
            "",
            "GOOG",
            "GOOG130322X00800000",
            "GOOG131322C00800000",
            "GOOG130322C0080000+",
        ] {
            assert!(Occ::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn strikes_around_takes_each_side_of_the_price() {
        let strikes = [
            dec!(770),
            dec!(780),
            dec!(790),
            dec!(800),
            dec!(810),
            dec!(820),
        ];
        assert_eq!(
            strikes_around(&strikes, dec!(806.19), 2),
            &[dec!(790), dec!(800), dec!(810), dec!(820)]
        );
        assert_eq!(
            strikes_around(&strikes, dec!(800), 1),
            &[dec!(800), dec!(810)]
        );
        assert_eq!(
            strikes_around(&strikes, dec!(10), 2),
            &[dec!(770), dec!(780)]
        );
        assert_eq!(strikes_around(&strikes, dec!(900), 1), &[dec!(820)]);
        assert!(strikes_around(&strikes, dec!(800), 0).is_empty());
    }

    #[test]
    fn config_debug_never_shows_the_secret() {
        let config = AlpacaConfig::new("PKID", "very-secret");
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("very-secret") && shown.contains("PKID"),
            "{shown}"
        );
        let provider = AlpacaProvider::new(config).unwrap();
        let shown = format!("{provider:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("PKID"),
            "{shown}"
        );
    }

    #[test]
    fn config_is_checked_up_front() {
        let mut config = AlpacaConfig::new("PKID", " ");
        assert_eq!(
            AlpacaProvider::new(config.clone()).unwrap_err(),
            AlpacaConfigError::MissingKey
        );
        config.secret = "s".into();
        config.data_url = "http://data.example.com".into();
        assert!(matches!(
            AlpacaProvider::new(config.clone()).unwrap_err(),
            AlpacaConfigError::InvalidUrl { .. }
        ));
        config.data_url = "not a url".into();
        assert!(AlpacaProvider::new(config.clone()).is_err());
        config.data_url = "http://127.0.0.1:9".into();
        assert!(AlpacaProvider::new(config).is_ok());
        assert_eq!("SIP".parse::<AlpacaFeed>().unwrap(), AlpacaFeed::Sip);
        assert!("opra".parse::<AlpacaFeed>().is_err());
    }

    #[test]
    fn error_bodies_yield_alpacas_message() {
        let body = br#"{"code":40010001,"message":"invalid symbol: X!"}"#;
        let parsed = <DataGet<serde_json::Value> as Endpoint>::parse_err(body);
        assert_eq!(
            api_message(StatusCode::BAD_REQUEST, parsed),
            "invalid symbol: X!"
        );
        assert_eq!(
            api_message(StatusCode::BAD_GATEWAY, Err(b"<html>".to_vec())),
            "<html>"
        );
        assert_eq!(
            api_message(StatusCode::BAD_GATEWAY, Err(Vec::new())),
            "Bad Gateway"
        );
    }
}
