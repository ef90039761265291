//! Options orders in legs: an OCC symbol read back into its parts, a spread's legs checked (each
//! refusal names its leg), and what the spread can lose or make, worked out exactly from its
//! legs at expiry — the numbers the guard limits and every answer shows (`max_loss`).
//!
//! Money is exact: payoffs are piecewise linear in the underlying's price with kinks only at the
//! strikes, so their extremes are found by evaluating the strikes, zero and the slope beyond the
//! last strike — no sampling, no floating point.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{OptionKind, Side};

/// Contracts control this many shares each (US equity options).
pub const MULTIPLIER: Decimal = Decimal::ONE_HUNDRED;
/// Most legs in one order (Alpaca's and tastytrade's multi-leg limit).
pub const MAX_LEGS: usize = 4;

/// An option contract as its OCC symbol names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Contract {
    /// The OCC symbol, compact form (`GOOG130322C00800000`).
    pub symbol: String,
    pub root: String,
    pub expiration: NaiveDate,
    pub kind: OptionKind,
    pub strike: Decimal,
}

impl Contract {
    /// Reads `GOOG130322C00800000` or the padded 21-character form (`GOOG  130322C00800000`):
    /// a root of 1–6 letters or digits, the expiry as yymmdd, C or P, the strike × 1000 in 8
    /// digits.
    pub fn parse(raw: &str) -> Result<Contract, String> {
        let compact: String = raw.trim().chars().filter(|c| *c != ' ').collect();
        let bad = || {
            format!(
                "'{}' is not an OCC option symbol (root, yymmdd, C or P, strike x 1000 in 8 \
                 digits: GOOG130322C00800000)",
                raw.trim()
            )
        };
        let n = compact.len();
        if !(16..=21).contains(&n) || !compact.is_ascii() {
            return Err(bad());
        }
        let (root, rest) = compact.split_at(n - 15);
        let (date, rest) = rest.split_at(6);
        let (cp, strike) = rest.split_at(1);
        if !root.chars().all(|c| c.is_ascii_alphanumeric())
            || !strike.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let expiration = NaiveDate::parse_from_str(date, "%y%m%d").map_err(|_| bad())?;
        let kind = match cp {
            "C" | "c" => OptionKind::Call,
            "P" | "p" => OptionKind::Put,
            _ => return Err(bad()),
        };
        let milli: i64 = strike.parse().map_err(|_| bad())?;
        let strike = Decimal::new(milli, 3).normalize();
        if strike <= Decimal::ZERO {
            return Err(bad());
        }
        let root = root.to_ascii_uppercase();
        Ok(Contract {
            symbol: format!("{root}{date}{}{milli:0>8}", cp.to_ascii_uppercase()),
            root,
            expiration,
            kind,
            strike,
        })
    }

    /// Value at expiry of one contract (per share) with the underlying at `s`.
    fn intrinsic(&self, s: Decimal) -> Decimal {
        match self.kind {
            OptionKind::Call => (s - self.strike).max(Decimal::ZERO),
            OptionKind::Put => (self.strike - s).max(Decimal::ZERO),
        }
    }
}

/// One leg as asked for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
pub struct LegInput {
    /// OCC symbol, e.g. GOOG130322C00800000.
    pub symbol: String,
    pub side: Side,
    /// Contracts of this leg per spread (default 1).
    #[serde(default)]
    pub ratio: Option<u32>,
}

/// A checked leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leg {
    pub contract: Contract,
    pub side: Side,
    pub ratio: u32,
}

/// Whether the spread's net price is paid or received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceEffect {
    Debit,
    Credit,
}

/// Checks `inputs` as the legs of one order on `today`: at most [`MAX_LEGS`], each an OCC
/// symbol not expired, a ratio of at least 1, one underlying, no contract twice. A refusal
/// names the leg (1-based) and what to change.
pub fn legs(inputs: &[LegInput], today: NaiveDate) -> Result<Vec<Leg>, String> {
    if inputs.is_empty() {
        return Err("an options order needs at least one leg".into());
    }
    if inputs.len() > MAX_LEGS {
        return Err(format!(
            "{} legs; an order has at most {MAX_LEGS}",
            inputs.len()
        ));
    }
    let mut out: Vec<Leg> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let n = i + 1;
        let contract = Contract::parse(&input.symbol).map_err(|e| format!("leg {n}: {e}"))?;
        let ratio = input.ratio.unwrap_or(1);
        if ratio == 0 {
            return Err(format!(
                "leg {n} ({}): ratio must be at least 1",
                contract.symbol
            ));
        }
        if contract.expiration < today {
            return Err(format!(
                "leg {n}: {} expired on {}",
                contract.symbol, contract.expiration
            ));
        }
        if let Some(first) = out.first()
            && first.contract.root != contract.root
        {
            return Err(format!(
                "leg {n}: underlying {} differs from leg 1's {}; a spread has one underlying",
                contract.root, first.contract.root
            ));
        }
        if let Some(k) = out.iter().position(|l| l.contract == contract) {
            return Err(format!(
                "leg {n} repeats leg {}'s contract {}; give it once with a ratio",
                k + 1,
                contract.symbol
            ));
        }
        out.push(Leg {
            contract,
            side: input.side,
            ratio,
        });
    }
    Ok(out)
}

/// What a spread can lose and make, for `qty` spreads at a net `price` per share (paid for a
/// debit, received for a credit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// The most the order can lose, in dollars; `None` when there is no bound (uncovered short
    /// calls, or a short leg that outlives the first expiry).
    pub max_loss: Option<Decimal>,
    /// The most it can make; `None` when unbounded.
    pub max_gain: Option<Decimal>,
    /// Net premium: negative when paid.
    pub premium: Decimal,
    /// Contracts (all legs, all spreads).
    pub contracts: Decimal,
    /// Short calls not covered by long calls, per spread.
    pub naked_calls: u32,
    /// Short puts not covered by long puts, per spread.
    pub naked_puts: u32,
}

/// [`Risk`] of `legs` at the first expiry among them. Legs expiring later are valued at their
/// intrinsic value then: a floor for a long leg, so the loss shown is never smaller than the
/// real one; a short leg expiring later has no such bound, and the loss is then `None`.
pub fn risk(legs: &[Leg], qty: Decimal, price: Decimal, effect: PriceEffect) -> Risk {
    let signed = |l: &Leg| l.side.sign() * Decimal::from(l.ratio);
    let count = |kind: OptionKind, side: Side| -> i64 {
        legs.iter()
            .filter(|l| l.contract.kind == kind && l.side == side)
            .map(|l| i64::from(l.ratio))
            .sum()
    };
    let uncovered = |kind| {
        u32::try_from((count(kind, Side::Sell) - count(kind, Side::Buy)).max(0)).unwrap_or(u32::MAX)
    };
    let premium = match effect {
        PriceEffect::Debit => -price,
        PriceEffect::Credit => price,
    } * MULTIPLIER
        * qty;
    let contracts = legs.iter().map(|l| Decimal::from(l.ratio)).sum::<Decimal>() * qty;
    // Value of every leg at expiry per spread, in dollars, with the underlying at `s`.
    let value = |s: Decimal| -> Decimal {
        legs.iter()
            .map(|l| signed(l) * l.contract.intrinsic(s))
            .sum::<Decimal>()
            * MULTIPLIER
    };
    let mut points: Vec<Decimal> = legs.iter().map(|l| l.contract.strike).collect();
    points.push(Decimal::ZERO);
    let payoffs: Vec<Decimal> = points.iter().map(|&s| value(s) * qty + premium).collect();
    let lowest = payoffs.iter().copied().min().unwrap_or(premium);
    let highest = payoffs.iter().copied().max().unwrap_or(premium);
    // Beyond the highest strike only calls move: their net count is the slope.
    let slope: Decimal = legs
        .iter()
        .filter(|l| l.contract.kind == OptionKind::Call)
        .map(signed)
        .sum();
    let first = legs.iter().map(|l| l.contract.expiration).min();
    let short_outlives = legs
        .iter()
        .any(|l| l.side == Side::Sell && Some(l.contract.expiration) > first);
    let max_loss =
        (slope >= Decimal::ZERO && !short_outlives).then(|| (-lowest).max(Decimal::ZERO));
    let max_gain = (slope <= Decimal::ZERO).then(|| highest.max(Decimal::ZERO));
    Risk {
        max_loss,
        max_gain,
        premium,
        contracts,
        naked_calls: uncovered(OptionKind::Call),
        naked_puts: uncovered(OptionKind::Put),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn leg(symbol: &str, side: Side, ratio: u32) -> LegInput {
        LegInput {
            symbol: symbol.into(),
            side,
            ratio: Some(ratio),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2013, 3, 1).unwrap()
    }

    #[test]
    fn occ_symbols_read_back() {
        let c = Contract::parse("GOOG  130322P00802500").unwrap();
        assert_eq!(c.symbol, "GOOG130322P00802500");
        assert_eq!(
            (c.root.as_str(), c.kind, c.strike),
            ("GOOG", OptionKind::Put, dec!(802.5))
        );
        assert_eq!(c.expiration, NaiveDate::from_ymd_opt(2013, 3, 22).unwrap());
        assert_eq!(
            Contract::parse("spy260116c00600000").unwrap().symbol,
            "SPY260116C00600000"
        );
        for bad in [
            "GOOG",
            "GOOG130322X00800000",
            "GOOG131322C00800000",
            "GOOG130322C0080000A",
            "GOOG130322C00000000",
        ] {
            assert!(
                Contract::parse(bad)
                    .unwrap_err()
                    .contains("not an OCC option symbol"),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_legs_are_refused_by_number() {
        let call = "GOOG130322C00800000";
        let err = |l: &[LegInput]| legs(l, today()).unwrap_err();
        assert!(
            err(&[
                leg(call, Side::Buy, 1),
                leg("GOOG130322C0081", Side::Sell, 1)
            ])
            .starts_with("leg 2: ")
        );
        assert!(
            err(&[leg(call, Side::Buy, 0)])
                .contains("leg 1 (GOOG130322C00800000): ratio must be at least 1")
        );
        assert!(
            err(&[
                leg(call, Side::Buy, 1),
                leg("MSFT130322C00030000", Side::Sell, 1)
            ])
            .contains("leg 2: underlying MSFT differs from leg 1's GOOG")
        );
        assert!(
            err(&[leg("GOOG130215C00800000", Side::Buy, 1)])
                .contains("leg 1: GOOG130215C00800000 expired on 2013-02-15")
        );
        assert!(
            err(&[leg(call, Side::Buy, 1), leg(call, Side::Sell, 1)])
                .contains("leg 2 repeats leg 1's contract")
        );
        assert!(err(&[]).contains("at least one leg"));
        assert!(err(&vec![leg(call, Side::Buy, 1); 5]).contains("at most 4"));
    }

    #[test]
    fn a_bull_call_spread_risks_its_debit() {
        let l = legs(
            &[
                leg("GOOG130322C00800000", Side::Buy, 1),
                leg("GOOG130322C00810000", Side::Sell, 1),
            ],
            today(),
        )
        .unwrap();
        let r = risk(&l, dec!(2), dec!(4.20), PriceEffect::Debit);
        assert_eq!(r.max_loss, Some(dec!(840)), "2 spreads x 4.20 x 100");
        assert_eq!(r.max_gain, Some(dec!(1160)), "(10 - 4.20) x 100 x 2");
        assert_eq!((r.naked_calls, r.naked_puts, r.contracts), (0, 0, dec!(4)));
        assert_eq!(r.premium, dec!(-840));
    }

    #[test]
    fn credit_spreads_condors_and_naked_shorts() {
        // A bull put spread for a credit: the loss is the width less the credit.
        let l = legs(
            &[
                leg("GOOG130322P00790000", Side::Sell, 1),
                leg("GOOG130322P00780000", Side::Buy, 1),
            ],
            today(),
        )
        .unwrap();
        let r = risk(&l, dec!(1), dec!(3), PriceEffect::Credit);
        assert_eq!((r.max_loss, r.max_gain), (Some(dec!(700)), Some(dec!(300))));
        // An iron condor: the wider side's width less the credit.
        let l = legs(
            &[
                leg("GOOG130322P00770000", Side::Buy, 1),
                leg("GOOG130322P00780000", Side::Sell, 1),
                leg("GOOG130322C00820000", Side::Sell, 1),
                leg("GOOG130322C00835000", Side::Buy, 1),
            ],
            today(),
        )
        .unwrap();
        let r = risk(&l, dec!(1), dec!(2.5), PriceEffect::Credit);
        assert_eq!(
            (r.max_loss, r.max_gain),
            (Some(dec!(1250)), Some(dec!(250)))
        );
        // A naked short call: no bounded loss, one uncovered call.
        let l = legs(&[leg("GOOG130322C00800000", Side::Sell, 1)], today()).unwrap();
        let r = risk(&l, dec!(1), dec!(12), PriceEffect::Credit);
        assert_eq!(
            (r.max_loss, r.max_gain, r.naked_calls),
            (None, Some(dec!(1200)), 1)
        );
        // A naked put loses at most the strike less the credit.
        let l = legs(&[leg("GOOG130322P00800000", Side::Sell, 1)], today()).unwrap();
        let r = risk(&l, dec!(1), dec!(12), PriceEffect::Credit);
        assert_eq!((r.max_loss, r.naked_puts), (Some(dec!(78800)), 1));
        // A 1x2 call ratio spread is short one uncovered call.
        let l = legs(
            &[
                leg("GOOG130322C00800000", Side::Buy, 1),
                leg("GOOG130322C00820000", Side::Sell, 2),
            ],
            today(),
        )
        .unwrap();
        let r = risk(&l, dec!(1), dec!(1), PriceEffect::Credit);
        assert_eq!(
            (r.max_loss, r.naked_calls, r.max_gain),
            (None, 1, Some(dec!(2100)))
        );
        // A long call: loses the debit at most, unbounded gain.
        let l = legs(&[leg("GOOG130322C00800000", Side::Buy, 1)], today()).unwrap();
        let r = risk(&l, dec!(3), dec!(5), PriceEffect::Debit);
        assert_eq!((r.max_loss, r.max_gain), (Some(dec!(1500)), None));
        // A calendar sold the wrong way round (short the later expiry) has no bound.
        let l = legs(
            &[
                leg("GOOG130322C00800000", Side::Buy, 1),
                leg("GOOG130419C00800000", Side::Sell, 1),
            ],
            today(),
        )
        .unwrap();
        assert_eq!(
            risk(&l, dec!(1), dec!(1), PriceEffect::Credit).max_loss,
            None
        );
    }

    proptest::proptest! {
        /// The exact extremes equal a brute-force scan of the underlying's price over every
        /// half dollar from 0 to 2,000 (the strikes are on that grid, so the scan sees every
        /// kink), and "unbounded" is exactly a payoff that keeps falling (or rising) past it.
        #[test]
        fn extremes_match_a_scan(
            spec in proptest::collection::vec((0u32..40, proptest::bool::ANY, proptest::bool::ANY, 1u32..4), 1..=4),
            price in 0u32..2_000,
            credit in proptest::bool::ANY,
            qty in 1u32..5,
        ) {
            let mut inputs: Vec<LegInput> = Vec::new();
            for (k, call, buy, ratio) in spec {
                let strike = 800 + 5 * k;
                let symbol = format!("GOOG130322{}{:0>8}", if call { 'C' } else { 'P' }, strike * 1000);
                if inputs.iter().any(|l| l.symbol == symbol) {
                    continue;
                }
                inputs.push(leg(&symbol, if buy { Side::Buy } else { Side::Sell }, ratio));
            }
            let l = legs(&inputs, today()).unwrap();
            let (qty, price) = (Decimal::from(qty), Decimal::new(i64::from(price), 2));
            let effect = if credit { PriceEffect::Credit } else { PriceEffect::Debit };
            let r = risk(&l, qty, price, effect);
            let payoff = |s: Decimal| {
                l.iter()
                    .map(|l| l.side.sign() * Decimal::from(l.ratio) * l.contract.intrinsic(s))
                    .sum::<Decimal>()
                    * MULTIPLIER
                    * qty
                    + r.premium
            };
            let scan: Vec<Decimal> = (0..=4_000).map(|h| payoff(Decimal::new(h, 0) / Decimal::TWO)).collect();
            let (far, farther) = (payoff(dec!(10000)), payoff(dec!(20000)));
            let low = scan.iter().copied().min().unwrap();
            let high = scan.iter().copied().max().unwrap();
            if farther < far {
                proptest::prop_assert_eq!(r.max_loss, None);
            } else {
                proptest::prop_assert_eq!(r.max_loss, Some((-low).max(Decimal::ZERO)));
            }
            if farther > far {
                proptest::prop_assert_eq!(r.max_gain, None);
            } else {
                proptest::prop_assert_eq!(r.max_gain, Some(high.max(Decimal::ZERO)));
            }
        }
    }
}
