//! Alpaca (paper and live) through `apca`'s typed Trading API endpoints. Orders carry QuantDesk's
//! client order id, so Alpaca itself refuses a second order with the same id, and reconciliation
//! can ask Alpaca whether an order arrived (`GET /v2/orders:by_client_order_id`).
//!
//! Prices for the guard come from the market-data provider the sidecar uses; positions, cash and
//! the clock come from Alpaca.

use std::str::FromStr;
use std::sync::Arc;

use apca::api::v2::{account, clock, order, positions};
use apca::{ApiInfo, Client, RequestError};
use async_trait::async_trait;
use chrono::Utc;
use num_decimal::Num;
use quantdesk_domain::{Decimal, OrderStatus, OrderType, Side, Symbol, TimeInForce};
use quantdesk_guard::journal::{self, Change};
use quantdesk_guard::{OrderRecord, PricePoint};
use quantdesk_market::{MarketData, MarketError};
use quantdesk_store::{Store, StoreError};

use crate::{AccountInfo, Broker, BrokerError, BrokerEvent, MarketClock, PositionInfo, Sent};

mod link;

const NAME: &str = "alpaca";
/// Alpaca's paper-trading endpoint.
pub const ALPACA_PAPER_URL: &str = "https://paper-api.alpaca.markets";
/// Alpaca's live endpoint: real money.
pub const ALPACA_LIVE_URL: &str = "https://api.alpaca.markets";

pub use link::{
    ALPACA_KEY_ID_ENTRY, ALPACA_LINK_SETTING, ALPACA_SECRET_ENTRY, AlpacaLinkRecord, LinkError,
    LinkedAlpaca, detect_feed, verify_key,
};

pub struct AlpacaBroker {
    client: Client,
    base_url: String,
    live: bool,
    store: Store,
    market: Arc<dyn MarketData>,
}

impl std::fmt::Debug for AlpacaBroker {
    // The client holds the key and secret: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaBroker")
            .field("base_url", &self.base_url)
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

fn dec(n: &Num) -> Result<Decimal, BrokerError> {
    Decimal::from_str(&n.to_string())
        .or_else(|_| Decimal::from_scientific(&n.to_string()))
        .map_err(|e| BrokerError::Corrupt(format!("Alpaca number '{n}': {e}")))
}

fn num(d: Decimal) -> Result<Num, BrokerError> {
    Num::from_str(&d.normalize().to_string())
        .map_err(|e| BrokerError::Invalid(format!("{d} as an Alpaca number: {e}")))
}

fn unreachable(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unreachable {
        broker: NAME,
        message: e.to_string(),
    }
}

fn db(e: sqlx::Error) -> BrokerError {
    BrokerError::Store(StoreError::from(e))
}

/// Alpaca's order status in QuantDesk's words.
fn status(s: order::Status) -> OrderStatus {
    use order::Status as A;
    match s {
        A::Filled => OrderStatus::Filled,
        A::PartiallyFilled => OrderStatus::PartiallyFilled,
        A::Canceled | A::DoneForDay => OrderStatus::Canceled,
        A::Expired => OrderStatus::Expired,
        A::Rejected | A::Suspended | A::Stopped => OrderStatus::RejectedByBroker,
        _ => OrderStatus::Open,
    }
}

fn sent_from(o: &order::Order) -> Result<Sent, BrokerError> {
    Ok(Sent {
        status: status(o.status),
        broker_order_id: Some(o.id.0.to_string()),
        filled_qty: dec(&o.filled_quantity)?,
        avg_fill_price: o.average_fill_price.as_ref().map(dec).transpose()?,
        reason: None,
    })
}

impl AlpacaBroker {
    /// A broker on `base_url` ([`ALPACA_PAPER_URL`], [`ALPACA_LIVE_URL`], or a stand-in on
    /// 127.0.0.1). `live` says whether real money moves there; plain http is refused except on
    /// loopback, since it would send the key in the clear.
    pub fn new(
        base_url: &str,
        key_id: &str,
        secret: &str,
        live: bool,
        store: Store,
        market: Arc<dyn MarketData>,
    ) -> Result<Self, BrokerError> {
        let api = ApiInfo::from_parts(base_url, key_id, secret)
            .map_err(|e| BrokerError::Invalid(format!("Alpaca URL {base_url}: {e}")))?;
        let loopback = matches!(
            api.api_base_url.host_str(),
            Some("127.0.0.1" | "localhost" | "[::1]")
        );
        if api.api_base_url.scheme() != "https" && !loopback {
            return Err(BrokerError::Invalid(format!(
                "Alpaca URL {base_url}: use https; plain http would send the key in the clear"
            )));
        }
        Ok(Self {
            client: Client::new(api),
            base_url: base_url.to_string(),
            live,
            store,
            market,
        })
    }

    /// The Alpaca account from the environment (`APCA_API_KEY_ID`, `APCA_API_SECRET_KEY`), until
    /// linked brokers' keys come from the keychain. Live only when the person turned live trading
    /// on in QuantDesk — then the live endpoint, else the paper one; `QUANTDESK_ALPACA_TRADING_URL`
    /// overrides the endpoint (tests: the stand-in).
    pub async fn from_env(store: Store, market: Arc<dyn MarketData>) -> Result<Self, BrokerError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (Some(key_id), Some(secret)) = (var("APCA_API_KEY_ID"), var("APCA_API_SECRET_KEY"))
        else {
            return Err(BrokerError::Invalid(
                "the Alpaca broker needs APCA_API_KEY_ID and APCA_API_SECRET_KEY".into(),
            ));
        };
        let live = store
            .setting::<bool>(quantdesk_guard::LIVE_TRADING_SETTING)
            .await?
            .unwrap_or(false);
        let url = var("QUANTDESK_ALPACA_TRADING_URL").unwrap_or_else(|| {
            if live {
                ALPACA_LIVE_URL
            } else {
                ALPACA_PAPER_URL
            }
            .to_string()
        });
        Self::new(&url, &key_id, &secret, live, store, market)
    }

    /// Records what Alpaca answered to a send, retrying; if the journal still cannot be
    /// written, says so with the answer ([`BrokerError::Unrecorded`]) rather than as a failure.
    async fn record_sent(&self, o: &OrderRecord, sent: Sent) -> Result<Sent, BrokerError> {
        match crate::retried(|| self.record(o, &[OrderStatus::Sending], &sent)).await {
            Ok(()) => Ok(sent),
            Err(e) => Err(BrokerError::Unrecorded {
                broker: NAME,
                sent: Box::new(sent),
                error: e.to_string(),
            }),
        }
    }

    async fn record(
        &self,
        o: &OrderRecord,
        from: &[OrderStatus],
        sent: &Sent,
    ) -> Result<(), BrokerError> {
        let mut tx = self
            .store
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db)?;
        journal::transition_in(
            &mut tx,
            &o.client_order_id,
            from,
            sent.status,
            &Change {
                broker_order_id: sent.broker_order_id.as_deref(),
                filled_qty: Some(sent.filled_qty),
                avg_fill_price: sent.avg_fill_price,
                reason: sent.reason.as_deref(),
                ..Change::default()
            },
            Utc::now(),
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    fn create_request(o: &OrderRecord) -> Result<order::CreateReq, BrokerError> {
        let r = &o.request;
        let amount = match (r.qty, r.notional) {
            (Some(q), _) => order::Amount::quantity(num(q)?),
            (None, Some(n)) => order::Amount::notional(num(n)?),
            _ => return Err(BrokerError::Invalid("the order has no quantity".into())),
        };
        let opt = |d: Option<Decimal>| d.map(num).transpose();
        let init = order::CreateReqInit {
            class: if r.is_bracket() {
                order::Class::Bracket
            } else {
                order::Class::Simple
            },
            type_: match r.order_type {
                OrderType::Market => order::Type::Market,
                OrderType::Limit => order::Type::Limit,
                OrderType::Stop => order::Type::Stop,
                OrderType::StopLimit => order::Type::StopLimit,
                OrderType::TrailingStop => order::Type::TrailingStop,
            },
            time_in_force: match r.time_in_force {
                TimeInForce::Day => order::TimeInForce::Day,
                TimeInForce::Gtc => order::TimeInForce::UntilCanceled,
                TimeInForce::Ioc => order::TimeInForce::ImmediateOrCancel,
            },
            limit_price: opt(r.limit_price)?,
            stop_price: opt(r.stop_price)?,
            trail_percent: opt(r.trail_percent)?,
            take_profit: opt(r.take_profit)?.map(order::TakeProfit::Limit),
            stop_loss: opt(r.stop_loss)?.map(order::StopLoss::Stop),
            client_order_id: Some(o.client_order_id.clone()),
            ..Default::default()
        };
        let side = match r.side {
            Side::Buy => order::Side::Buy,
            Side::Sell => order::Side::Sell,
        };
        Ok(init.init(r.symbol.as_str(), side, amount))
    }

    async fn fetch(&self, client_order_id: &str) -> Result<Option<order::Order>, BrokerError> {
        match self
            .client
            .issue::<order::GetByClientId>(&client_order_id.to_string())
            .await
        {
            Ok(o) => Ok(Some(o)),
            Err(RequestError::Endpoint(order::GetByClientIdError::NotFound(_))) => Ok(None),
            Err(e) => Err(unreachable(e)),
        }
    }
}

/// A refusal's text, from Alpaca's error body.
fn message<E: std::fmt::Display>(r: &Result<E, Vec<u8>>) -> String {
    match r {
        Ok(e) => e.to_string(),
        Err(body) => String::from_utf8_lossy(body).into_owned(),
    }
}

#[async_trait]
impl Broker for AlpacaBroker {
    fn name(&self) -> &'static str {
        NAME
    }

    fn live(&self) -> bool {
        self.live
    }

    async fn clock(&self) -> Result<MarketClock, BrokerError> {
        let c = self
            .client
            .issue::<clock::Get>(&())
            .await
            .map_err(unreachable)?;
        Ok(MarketClock {
            now: c.current,
            is_open: c.open,
            session_date: c.current.date_naive(),
        })
    }

    async fn last_price(&self, symbol: &Symbol) -> Result<Option<PricePoint>, BrokerError> {
        match self.market.snapshot(symbol).await {
            Ok(s) => Ok(Some(PricePoint {
                price: s.price,
                at: s.provenance.as_of,
            })),
            Err(MarketError::UnknownSymbol { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn account(&self) -> Result<AccountInfo, BrokerError> {
        let a = self
            .client
            .issue::<account::Get>(&())
            .await
            .map_err(unreachable)?;
        let positions = self.positions().await?;
        let unrealized = positions.iter().filter_map(|p| p.unrealized_pnl).sum();
        Ok(AccountInfo {
            broker: NAME.into(),
            mode: if self.live { "live" } else { "paper" }.into(),
            currency: a.currency.clone(),
            cash: dec(&a.cash)?,
            equity: dec(&a.equity)?,
            buying_power: dec(&a.buying_power)?,
            positions_value: dec(&a.market_value_long)? + dec(&a.market_value_short)?,
            // Alpaca's account does not report realised P&L; today's change is the closest.
            realized_pnl: dec(&a.equity)? - dec(&a.last_equity)? - unrealized,
            unrealized_pnl: unrealized,
            last_equity: Some(dec(&a.last_equity)?),
            as_of: Utc::now(),
        })
    }

    async fn positions(&self) -> Result<Vec<PositionInfo>, BrokerError> {
        let list = self
            .client
            .issue::<positions::List>(&())
            .await
            .map_err(unreachable)?;
        list.iter()
            .map(|p| {
                let qty = dec(&p.quantity)?;
                let qty = if matches!(p.side, apca::api::v2::position::Side::Short) {
                    -qty
                } else {
                    qty
                };
                Ok(PositionInfo {
                    symbol: Symbol::parse(&p.symbol)
                        .map_err(|e| BrokerError::Corrupt(e.to_string()))?,
                    qty,
                    avg_entry_price: dec(&p.average_entry_price)?,
                    current_price: p.current_price.as_ref().map(dec).transpose()?,
                    market_value: p.market_value.as_ref().map(dec).transpose()?,
                    unrealized_pnl: p.unrealized_gain_total.as_ref().map(dec).transpose()?,
                })
            })
            .collect()
    }

    async fn submit(&self, o: &OrderRecord) -> Result<Sent, BrokerError> {
        let request = Self::create_request(o)?;
        match self.client.issue::<order::Create>(&request).await {
            Ok(created) => {
                let sent = sent_from(&created)?;
                self.record_sent(o, sent).await
            }
            Err(RequestError::Endpoint(order::CreateError::InvalidInput(r)))
                if message(&r).contains("client_order_id must be unique") =>
            {
                // It arrived before (a send whose answer was lost): record what Alpaca has.
                match self.fetch(&o.client_order_id).await? {
                    Some(existing) => {
                        let sent = sent_from(&existing)?;
                        self.record_sent(o, sent).await
                    }
                    None => Err(unreachable(
                        "Alpaca says the client order id is taken but has no such order",
                    )),
                }
            }
            Err(RequestError::Endpoint(e)) => {
                let (status, message) = match &e {
                    order::CreateError::NotPermitted(r) => (403, message(r)),
                    order::CreateError::InvalidInput(r) => (422, message(r)),
                    order::CreateError::AuthenticationFailed(r) => (401, message(r)),
                    order::CreateError::RateLimitExceeded(r) => (429, message(r)),
                    order::CreateError::UnexpectedStatus(s, r) if s.is_client_error() => {
                        (s.as_u16(), message(r))
                    }
                    // A server error or a broken connection: whether Alpaca took the order is
                    // unknown; the row stays `sending` and reconciliation asks.
                    other => return Err(unreachable(other)),
                };
                Err(BrokerError::Refused {
                    broker: NAME,
                    status,
                    message,
                })
            }
            Err(e) => Err(unreachable(e)),
        }
    }

    async fn cancel(&self, o: &OrderRecord) -> Result<(), BrokerError> {
        let Some(id) = o.broker_order_id.as_deref() else {
            return Err(BrokerError::Invalid(format!(
                "order {} has no Alpaca id yet",
                o.client_order_id
            )));
        };
        let uuid = uuid::Uuid::parse_str(id)
            .map_err(|e| BrokerError::Corrupt(format!("Alpaca order id '{id}': {e}")))?;
        match self.client.issue::<order::Delete>(&order::Id(uuid)).await {
            Ok(()) => {
                let sent = Sent {
                    status: OrderStatus::Canceled,
                    broker_order_id: Some(id.to_string()),
                    filled_qty: o.filled_qty,
                    avg_fill_price: o.avg_fill_price,
                    reason: Some("cancelled on request".into()),
                };
                self.record(o, &[OrderStatus::Open, OrderStatus::PartiallyFilled], &sent)
                    .await
            }
            Err(e) => {
                // Filled or gone meanwhile: take Alpaca's word for where it is.
                if let Some(now) = self.fetch(&o.client_order_id).await? {
                    let sent = sent_from(&now)?;
                    self.record(o, &[OrderStatus::Open, OrderStatus::PartiallyFilled], &sent)
                        .await?;
                }
                let message = match &e {
                    RequestError::Endpoint(inner) => inner.to_string(),
                    other => other.to_string(),
                };
                Err(BrokerError::Refused {
                    broker: NAME,
                    status: 422,
                    message,
                })
            }
        }
    }

    async fn lookup(&self, o: &OrderRecord) -> Result<Option<Sent>, BrokerError> {
        self.fetch(&o.client_order_id)
            .await?
            .as_ref()
            .map(sent_from)
            .transpose()
    }

    async fn sync(&self) -> Result<Vec<BrokerEvent>, BrokerError> {
        let mut conn = self.store.pool().acquire().await.map_err(db)?;
        let open = journal::list_in(
            &mut conn,
            &[OrderStatus::Open, OrderStatus::PartiallyFilled],
            1000,
        )
        .await?;
        drop(conn);
        let mut events = Vec::new();
        for o in open.into_iter().filter(|o| o.broker == NAME) {
            let Some(now) = self.fetch(&o.client_order_id).await? else {
                continue;
            };
            let sent = sent_from(&now)?;
            if sent.status != o.status || sent.filled_qty != o.filled_qty {
                self.record(
                    &o,
                    &[OrderStatus::Open, OrderStatus::PartiallyFilled],
                    &sent,
                )
                .await?;
                events.push(BrokerEvent {
                    client_order_id: o.client_order_id.clone(),
                    symbol: o.request.symbol.clone(),
                    status: sent.status,
                    filled_qty: sent.filled_qty,
                    price: sent.avg_fill_price,
                    reason: None,
                });
            }
        }
        Ok(events)
    }
}
