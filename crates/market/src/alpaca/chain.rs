//! Option chains from Alpaca's per-contract snapshots: strikes around the money, OCC symbols.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use quantdesk_domain::{
    Decimal, OptionChain, OptionContract, OptionKind, PriceSnapshot, Provenance, Symbol,
};

use super::wire::WireOptionSnapshot;
use super::{NAME, NEAREST_EXPIRATIONS};
use crate::{ChainRequest, MarketError};

/// Contracts by (expiration, strike), each with the time of its newest quote or trade.
type ByStrike = BTreeMap<(NaiveDate, Decimal), (OptionContract, Option<DateTime<Utc>>)>;

/// Groups Alpaca's per-contract snapshots into calls and puts per strike and picks the strikes
/// around the money.
pub(super) fn build_chain(
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
pub(super) fn strikes_around(strikes: &[Decimal], price: Decimal, n: usize) -> &[Decimal] {
    let split = strikes.partition_point(|s| *s <= price);
    let from = split.saturating_sub(n);
    let to = split.saturating_add(n).min(strikes.len());
    &strikes[from..to]
}

/// An OCC option symbol taken apart: root, `yymmdd`, `C`/`P`, strike × 1000 in 8 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Occ {
    pub(super) root: String,
    pub(super) expiration: NaiveDate,
    pub(super) kind: OptionKind,
    pub(super) strike: Decimal,
}

impl Occ {
    pub(super) fn parse(symbol: &str) -> Option<Occ> {
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
