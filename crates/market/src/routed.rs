//! Crypto pairs to one provider, everything else to another: how the desk gets live crypto from
//! Coinbase while stocks come from the bundled history or the linked Alpaca account.

use std::sync::Arc;

use async_trait::async_trait;
use quantdesk_domain::{BarSeries, OptionChain, PriceSnapshot, Symbol, SymbolInfo};

use crate::coinbase::product_id;
use crate::{BarsRequest, ChainRequest, MarketData, MarketError};

/// Sends a symbol that names a crypto pair (`BTC/USD`, `ETH-USD`, `SOLUSD`) to `crypto`, and
/// anything else — or a pair `crypto` does not list — to `other`. Each answer keeps the source
/// that gave it; when `crypto` cannot be reached the error says so: it never answers from
/// `other`'s history instead.
#[derive(Debug)]
pub struct CryptoRouted {
    crypto: Arc<dyn MarketData>,
    other: Arc<dyn MarketData>,
}

impl CryptoRouted {
    pub fn new(crypto: Arc<dyn MarketData>, other: Arc<dyn MarketData>) -> Self {
        Self { crypto, other }
    }

    /// `crypto`'s answer for a pair; `other`'s for anything else, or when `crypto` does not
    /// know the pair and `other` does.
    async fn route<T, F, Fut>(&self, symbol: &Symbol, ask: F) -> Result<T, MarketError>
    where
        F: Fn(Arc<dyn MarketData>) -> Fut,
        Fut: std::future::Future<Output = Result<T, MarketError>>,
    {
        if product_id(symbol).is_none() {
            return ask(self.other.clone()).await;
        }
        match ask(self.crypto.clone()).await {
            Err(unknown @ MarketError::UnknownSymbol { .. }) => {
                ask(self.other.clone()).await.map_err(|_| unknown)
            }
            answer => answer,
        }
    }
}

#[async_trait]
impl MarketData for CryptoRouted {
    fn name(&self) -> &'static str {
        "routed"
    }

    /// `other`'s symbols, then `crypto`'s (only `other`'s when `crypto` cannot be reached).
    async fn symbols(&self) -> Result<Vec<SymbolInfo>, MarketError> {
        let mut all = self.other.symbols().await?;
        match self.crypto.symbols().await {
            Ok(more) => all.extend(more),
            Err(err) => tracing::warn!(%err, "crypto symbols unavailable"),
        }
        Ok(all)
    }

    async fn bars(&self, request: &BarsRequest) -> Result<BarSeries, MarketError> {
        self.route(&request.symbol, |m| async move { m.bars(request).await })
            .await
    }

    async fn snapshot(&self, symbol: &Symbol) -> Result<PriceSnapshot, MarketError> {
        self.route(symbol, |m| async move { m.snapshot(symbol).await })
            .await
    }

    async fn option_chain(&self, request: &ChainRequest) -> Result<OptionChain, MarketError> {
        self.other.option_chain(request).await
    }
}
