//! The HTTP side: one GET with a timeout, a size cap, and retries with backoff when Coinbase is
//! busy or failing; its answers mapped to [`MarketError`]s that say what happened.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::wire::{Product, error_message};
use super::{ATTEMPTS, CoinbaseConfig, NAME, TIMEOUT};
use crate::MarketError;

/// The most a Coinbase answer may weigh (300 candles are ~20 KB; the product list ~300 KB).
const MAX_BYTES: usize = 4 * 1024 * 1024;
/// How long the product list is trusted before it is fetched again.
const PRODUCTS_TTL: Duration = Duration::from_secs(3600);

/// Coinbase Exchange's public market data (see the module docs).
pub struct CoinbaseProvider {
    base: String,
    client: Client<hyper_tls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
    products: Mutex<Option<(Instant, std::sync::Arc<Vec<Product>>)>>,
}

impl std::fmt::Debug for CoinbaseProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoinbaseProvider")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn unavailable(message: impl Into<String>) -> MarketError {
    MarketError::Unavailable {
        provider: NAME,
        message: message.into(),
    }
}

impl CoinbaseProvider {
    pub fn new(config: CoinbaseConfig) -> Self {
        let client = Client::builder(TokioExecutor::new()).build(hyper_tls::HttpsConnector::new());
        Self {
            base: config.rest_url.trim_end_matches('/').to_string(),
            client,
            products: Mutex::new(None),
        }
    }

    /// `GET path` decoded as `T`; `Ok(None)` when Coinbase answers 404 (no such product).
    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, MarketError> {
        let Some(body) = self.get_text(path).await? else {
            return Ok(None);
        };
        serde_json::from_str(&body)
            .map(Some)
            .map_err(|e| MarketError::BadResponse {
                provider: NAME,
                message: format!("{path}: {e}"),
            })
    }

    async fn get_text(&self, path: &str) -> Result<Option<String>, MarketError> {
        let mut last = unavailable("no attempt made");
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                // 250 ms, then 500 ms: Coinbase's public limit refills within a second.
                tokio::time::sleep(Duration::from_millis(250 << (attempt - 1))).await;
            }
            match tokio::time::timeout(TIMEOUT, self.once(path)).await {
                Err(_) => last = unavailable(format!("no answer within {TIMEOUT:?}")),
                Ok(Err(Retry(e))) => last = e,
                Ok(Ok(answer)) => return answer,
            }
        }
        Err(last)
    }

    /// One request: `Err(Retry)` for what another attempt may cure, else the final answer.
    async fn once(&self, path: &str) -> Result<Result<Option<String>, MarketError>, Retry> {
        let url = format!("{}{path}", self.base);
        let uri: hyper::Uri = match url.parse() {
            Ok(u) => u,
            Err(e) => return Ok(Err(unavailable(format!("bad URL {url}: {e}")))),
        };
        let request = hyper::Request::get(uri)
            .header(
                "user-agent",
                concat!("quantdesk/", env!("CARGO_PKG_VERSION")),
            )
            .header("accept", "application/json")
            .body(Empty::new());
        let request = match request {
            Ok(r) => r,
            Err(e) => return Ok(Err(unavailable(format!("request for {url}: {e}")))),
        };
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| Retry(unavailable(format!("{}: {e}", self.base))))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BYTES)
            .collect()
            .await
            .map_err(|e| Retry(unavailable(format!("reading the answer: {e}"))))?
            .to_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        match status.as_u16() {
            200..=299 => Ok(Ok(Some(text))),
            404 => Ok(Ok(None)),
            429 => Err(Retry(unavailable(format!(
                "rate limited ({})",
                error_message(&text)
            )))),
            500..=599 => Err(Retry(unavailable(format!(
                "HTTP {status} ({})",
                error_message(&text)
            )))),
            _ => Ok(Err(MarketError::Rejected {
                provider: NAME,
                message: format!("HTTP {status}: {}", error_message(&text)),
            })),
        }
    }

    /// Every product Coinbase lists, fetched at most hourly.
    pub(super) async fn products(&self) -> Result<std::sync::Arc<Vec<Product>>, MarketError> {
        let mut cached = self.products.lock().await;
        if let Some((at, list)) = cached.as_ref()
            && at.elapsed() < PRODUCTS_TTL
        {
            return Ok(list.clone());
        }
        let list: Vec<Product> = self
            .get("/products")
            .await?
            .ok_or_else(|| unavailable("/products answered 404"))?;
        let list = std::sync::Arc::new(list);
        *cached = Some((Instant::now(), list.clone()));
        Ok(list)
    }
}

/// A failure another attempt may cure.
struct Retry(MarketError);
