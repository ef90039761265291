//! Crypto pairs to one provider, everything else to another: how the desk gets live crypto from
//! Coinbase while stocks come from the bundled history or the linked Alpaca account.

use std::sync::Arc;

use async_trait::async_trait;
use quantdesk_domain::{BarSeries, OptionChain, PriceSnapshot, Symbol, SymbolInfo};

use crate::coinbase::product_id;
use crate::{BarsRequest, ChainRequest, MarketData, MarketError};

/// Sends a symbol that names a crypto pair (`BTC/USD`, `ETH-USD`, `SOLUSD`) to `crypto`, and
/// anything else — a symbol `other` lists under exactly that name (the bundled `BTCUSD` series,
/// part of the screener's universe), or a pair `crypto` does not know — to `other`. Each answer keeps the source
/// that gave it; when `crypto` cannot be reached the error says so: it never answers from
/// `other`'s history instead.
#[derive(Debug)]
pub struct CryptoRouted {
    crypto: Arc<dyn MarketData>,
    other: Arc<dyn MarketData>,
    /// The names `other` lists, read once.
    listed: tokio::sync::OnceCell<Vec<Symbol>>,
}

impl CryptoRouted {
    pub fn new(crypto: Arc<dyn MarketData>, other: Arc<dyn MarketData>) -> Self {
        Self {
            crypto,
            other,
            listed: tokio::sync::OnceCell::new(),
        }
    }

    async fn listed_by_other(&self, symbol: &Symbol) -> bool {
        let listed = self
            .listed
            .get_or_init(|| async {
                match self.other.symbols().await {
                    Ok(list) => list.into_iter().map(|i| i.symbol).collect(),
                    Err(err) => {
                        tracing::warn!(%err, "the desk's provider's symbols are unavailable");
                        Vec::new()
                    }
                }
            })
            .await;
        listed.contains(symbol)
    }

    /// `crypto`'s answer for a pair; `other`'s for anything else, or when `crypto` does not
    /// know the pair and `other` does.
    async fn route<T, F, Fut>(&self, symbol: &Symbol, ask: F) -> Result<T, MarketError>
    where
        F: Fn(Arc<dyn MarketData>) -> Fut,
        Fut: std::future::Future<Output = Result<T, MarketError>>,
    {
        if product_id(symbol).is_none() || self.listed_by_other(symbol).await {
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
    /// The desk's provider's name; each answer's provenance says which provider gave it.
    fn name(&self) -> &'static str {
        self.other.name()
    }

    /// `other`'s symbols only: they are the screener's default universe, and Coinbase's hundreds
    /// of pairs would make every screen hundreds of requests. Pairs are reachable by name.
    async fn symbols(&self) -> Result<Vec<SymbolInfo>, MarketError> {
        self.other.symbols().await
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
