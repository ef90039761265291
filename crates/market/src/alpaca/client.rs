//! Requests through apca's client: one GET against the data API, its errors, and the endpoint
//! definition apca issues.

use std::marker::PhantomData;

use apca::RequestError;
use http::StatusCode;
use http_endpoint::{Endpoint, Str};
use quantdesk_domain::Symbol;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use super::provider::unknown;
use super::wire::{
    CryptoBarsPage, CryptoSnapshots, StockBarsPage, StockSnapshotResponse, WireBar, WireSnapshot,
};
use super::{AlpacaProvider, DEFAULT_DATA_URL, NAME, REQUEST_TIMEOUT};
use crate::MarketError;

impl AlpacaProvider {
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
    pub(super) fn error(&self, err: FetchError) -> MarketError {
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

    pub(super) async fn fetch<T: DeserializeOwned>(
        &self,
        path: String,
        query: &[(&str, String)],
    ) -> Result<T, MarketError> {
        self.get(path, query).await.map_err(|e| self.error(e))
    }

    /// One page of bars and the token for the next.
    pub(super) async fn bars_page(
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

    /// Whether this key's data plan includes SIP (all US exchanges): one latest-quote request
    /// on the SIP feed, which a plan without it refuses with 403.
    pub async fn sip_entitled(&self) -> Result<bool, MarketError> {
        let query = [("symbols", "SPY".to_string()), ("feed", "sip".to_string())];
        match self
            .get::<serde_json::Value>("/v2/stocks/quotes/latest".to_string(), &query)
            .await
        {
            Ok(_) => Ok(true),
            Err(FetchError::Status { status, .. }) if status == StatusCode::FORBIDDEN => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    pub(super) async fn wire_snapshot(&self, symbol: &Symbol) -> Result<WireSnapshot, MarketError> {
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
// ---- The endpoint apca's client issues -----------------------------------------------------

/// Any GET on the data API, decoded as `T`. `base_url` is left at `None`, so apca's client
/// uses its configured base URL — the data URL — which is what makes the stand-in reachable.
pub(super) struct DataGet<T>(PhantomData<fn() -> T>);

#[derive(Debug)]
pub(super) struct DataRequest {
    pub(super) path: String,
    /// Already URL-encoded.
    pub(super) query: String,
}

/// An Alpaca error body: `{"code": 40010001, "message": "invalid symbol"}` or just a message.
#[derive(Debug, Deserialize, Error)]
#[error("{message}")]
pub(super) struct ApiMessage {
    pub(super) message: String,
}

#[derive(Debug, Error)]
pub(super) enum EndpointError {
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
pub(super) enum FetchError {
    Status { status: StatusCode, message: String },
    Timeout,
    Transport(String),
    Decode(String),
    Request(String),
}

/// Alpaca's message, or the start of whatever else the body held, or the status's name.
pub(super) fn api_message(status: StatusCode, body: Result<ApiMessage, Vec<u8>>) -> String {
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
