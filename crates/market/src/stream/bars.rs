//! Minute bars built from a stream of trades, with the minutes the stream did not see whole
//! taken from REST instead: the first minute after a (re)connection and the last one before a
//! loss are partial, the ones between missing. [`MinuteBars`] says which range to fetch once it
//! has closed ([`Gap`]); [`MinuteBars::fill`] puts the fetched bars in. The result has no gap and
//! no duplicate: every minute is either all stream or all REST.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use quantdesk_domain::{Bar, Symbol, Timeframe};

use super::Trade;
use crate::{BarsRequest, MarketData, MarketError};

/// Finished minutes kept per product (three hours): older ones come from REST, so memory stays
/// bounded however long the stream runs and however many products it carries.
pub const KEEP_MINUTES: usize = 180;

/// Minutes of one product, `from` to `to` inclusive, to fetch over REST now that they are over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub product: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct Product {
    bars: BTreeMap<DateTime<Utc>, Bar>,
    /// The minute of the newest trade.
    current: Option<DateTime<Utc>>,
    /// Minutes not seen whole: from, and (once trades come again) to.
    gap: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// Gaps handed out for REST and not filled yet: their minutes are not offered.
    pending: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// `gap`'s minutes from REST (none for minutes without a trade, which have no candle).
pub async fn fetch(rest: &dyn MarketData, gap: &Gap) -> Result<Vec<Bar>, MarketError> {
    // The feed's product ids are symbols; one that is not has nothing to fetch.
    let Ok(symbol) = Symbol::parse(&gap.product) else {
        return Ok(Vec::new());
    };
    let mut req = BarsRequest::new(symbol, Timeframe::MINUTE);
    req.start = Some(gap.from);
    req.end = Some(gap.to);
    match rest.bars(&req).await {
        Ok(series) => Ok(series.bars),
        Err(MarketError::NoData { .. }) => Ok(Vec::new()),
        Err(err) => Err(err),
    }
}

/// Minute bars per product (see the module docs).
#[derive(Debug, Default)]
pub struct MinuteBars {
    products: BTreeMap<String, Product>,
}

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

impl MinuteBars {
    pub fn new() -> Self {
        Self::default()
    }

    /// The connection was lost: the minute in progress is partial, and what follows is missing
    /// until trades come again.
    pub fn disconnected(&mut self) {
        self.disconnected_if(|_| true);
    }

    /// The connection carrying the products `carried` says yes to was lost.
    pub fn disconnected_if(&mut self, carried: impl Fn(&str) -> bool) {
        for (_, p) in self.products.iter_mut().filter(|(id, _)| carried(id)) {
            if let Some(current) = p.current {
                let from = p.gap.map_or(current, |(from, _)| from.min(current));
                p.gap = Some((from, None));
            }
        }
    }

    /// Forgets every product `keep` says no to.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.products.retain(|id, _| keep(id));
    }

    /// Adds a trade; returns the gap that is now over and should be fetched, if any.
    pub fn trade(&mut self, t: &Trade) -> Option<Gap> {
        let m = minute(t.time);
        let p = self.products.entry(t.product.clone()).or_default();
        if p.current.is_none() && p.gap.is_none() {
            // The first trade seen: its minute began before the stream did.
            p.gap = Some((m, None));
        }
        let mut ready = None;
        match p.gap {
            Some((from, None)) => p.gap = Some((from, Some(m))),
            Some((from, Some(to))) if m > to => {
                p.gap = None;
                p.pending.push((from, to));
                ready = Some(Gap {
                    product: t.product.clone(),
                    from,
                    to,
                });
            }
            _ => {}
        }
        if p.current.is_some_and(|c| m < c) {
            // A trade stamped before the minute in progress: that minute is closed. Coinbase's
            // trade ids are ordered, so this is a clock quirk; the REST fill corrects it.
            return ready;
        }
        p.current = Some(m);
        p.bars
            .entry(m)
            .and_modify(|b| {
                b.high = b.high.max(t.price);
                b.low = b.low.min(t.price);
                b.close = t.price;
                b.volume += t.size;
            })
            .or_insert(Bar {
                time: m,
                open: t.price,
                high: t.price,
                low: t.price,
                close: t.price,
                volume: t.size,
            });
        while p.bars.len() > KEEP_MINUTES + 1 {
            p.bars.pop_first();
        }
        ready
    }

    /// The minute of `product`'s newest trade.
    pub fn current(&self, product: &str) -> Option<DateTime<Utc>> {
        self.products.get(product).and_then(|p| p.current)
    }

    /// Forgets `product` (no longer streamed).
    pub fn remove(&mut self, product: &str) {
        self.products.remove(product);
    }

    /// Puts REST's bars for `gap` in place of what the stream had for those minutes.
    pub fn fill(&mut self, gap: &Gap, bars: &[Bar]) {
        let p = self.products.entry(gap.product.clone()).or_default();
        p.pending.retain(|r| *r != (gap.from, gap.to));
        let stale: Vec<DateTime<Utc>> = p.bars.range(gap.from..=gap.to).map(|(t, _)| *t).collect();
        for t in stale {
            p.bars.remove(&t);
        }
        for b in bars
            .iter()
            .filter(|b| b.time >= gap.from && b.time <= gap.to)
        {
            p.bars.insert(b.time, b.clone());
        }
        while p.bars.len() > KEEP_MINUTES + 1 {
            p.bars.pop_first();
        }
    }

    /// `product`'s finished minutes, oldest first: none still in progress, none waiting on REST.
    pub fn closed(&self, product: &str) -> Vec<Bar> {
        let Some(p) = self.products.get(product) else {
            return Vec::new();
        };
        let waiting = p.gap.map(|(from, _)| from);
        p.bars
            .values()
            .filter(|b| {
                Some(b.time) != p.current
                    && waiting.is_none_or(|w| b.time < w)
                    && !p.pending.iter().any(|(f, t)| b.time >= *f && b.time <= *t)
            })
            .cloned()
            .collect()
    }
}
