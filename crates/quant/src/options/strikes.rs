//! Which strikes a model chain offers around the money.

use rust_decimal::{Decimal, RoundingStrategy};

use super::OptionsError;

/// The strike spacing listed options conventionally use at this price level, so a model chain
/// looks like the chains a person knows and spans a useful range (roughly ±2–10 % for five
/// strikes each side across most of each band):
///
/// | spot          | increment |
/// |---------------|-----------|
/// | below 1       | 0.05      |
/// | 1 – 25        | 0.50      |
/// | 25 – 200      | 2.50      |
/// | 200 – 500     | 5         |
/// | 500 – 1 000   | 10        |
/// | 1 000 – 5 000 | 25        |
/// | 5 000 and up  | 50        |
///
/// Real exchanges vary this per product (the sub-dollar band has no listed equivalent; it
/// keeps very cheap underlyings such as some crypto pairs priceable).
pub fn strike_increment(spot: Decimal) -> Decimal {
    let bands = [
        (Decimal::ONE, Decimal::new(5, 2)),
        (Decimal::from(25), Decimal::new(5, 1)),
        (Decimal::from(200), Decimal::new(25, 1)),
        (Decimal::from(500), Decimal::from(5)),
        (Decimal::from(1000), Decimal::TEN),
        (Decimal::from(5000), Decimal::from(25)),
    ];
    bands
        .iter()
        .find(|(below, _)| spot < *below)
        .map_or(Decimal::from(50), |(_, inc)| *inc)
}

/// The at-the-money strike (spot rounded to the nearest increment, halves up) with
/// `strikes_around` strikes on each side, ascending. Strikes that would be zero or negative
/// (a cheap underlying with many strikes asked for) are left out rather than invented.
pub fn strike_grid(spot: Decimal, strikes_around: usize) -> Result<Vec<Decimal>, OptionsError> {
    if spot <= Decimal::ZERO {
        return Err(OptionsError::InvalidSpot(spot));
    }
    let inc = strike_increment(spot);
    let atm = (spot / inc).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero) * inc;
    let mut strikes = Vec::with_capacity(2 * strikes_around + 1);
    let mut step = Decimal::ZERO;
    // Grow outwards with checked arithmetic so an absurd `strikes_around` stops at Decimal's
    // range instead of panicking.
    let mut below = Vec::with_capacity(strikes_around);
    let mut above = Vec::with_capacity(strikes_around);
    for _ in 0..strikes_around {
        let Some(next) = step.checked_add(inc) else {
            break;
        };
        step = next;
        if let Some(k) = atm.checked_sub(step).filter(|k| *k > Decimal::ZERO) {
            below.push(k);
        }
        match atm.checked_add(step) {
            Some(k) => above.push(k),
            None => break,
        }
    }
    strikes.extend(below.into_iter().rev());
    if atm > Decimal::ZERO {
        strikes.push(atm);
    }
    strikes.extend(above);
    Ok(strikes.into_iter().map(|k| k.normalize()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn increments_by_price_band() {
        for (spot, inc) in [
            (dec!(0.37), dec!(0.05)),
            (dec!(12.3), dec!(0.5)),
            (dec!(24.99), dec!(0.5)),
            (dec!(25), dec!(2.5)),
            (dec!(150), dec!(2.5)),
            (dec!(420), dec!(5)),
            (dec!(806.19), dec!(10)),
            (dec!(2400), dec!(25)),
            (dec!(61000), dec!(50)),
        ] {
            assert_eq!(strike_increment(spot), inc, "spot {spot}");
        }
    }

    #[test]
    fn grid_centres_on_the_money() {
        assert_eq!(
            strike_grid(dec!(806.19), 2).unwrap(),
            vec![dec!(790), dec!(800), dec!(810), dec!(820), dec!(830)]
        );
        assert_eq!(
            strike_grid(dec!(151.3), 1).unwrap(),
            vec![dec!(150), dec!(152.5), dec!(155)]
        );
        // Exactly half-way rounds up.
        assert_eq!(strike_grid(dec!(11.25), 0).unwrap(), vec![dec!(11.5)]);
        assert_eq!(strike_grid(dec!(100), 5).unwrap().len(), 11);
    }

    #[test]
    fn never_invents_non_positive_strikes() {
        let grid = strike_grid(dec!(1.2), 5).unwrap();
        assert_eq!(grid.first(), Some(&dec!(0.5)));
        assert_eq!(grid.last(), Some(&dec!(3.5)));
        assert!(grid.iter().all(|k| *k > Decimal::ZERO));
        // Rounds to a zero ATM strike: only the strikes above remain.
        assert_eq!(
            strike_grid(dec!(0.02), 2).unwrap(),
            vec![dec!(0.05), dec!(0.1)]
        );
    }

    #[test]
    fn refuses_non_positive_spot() {
        assert_eq!(
            strike_grid(dec!(0), 5),
            Err(OptionsError::InvalidSpot(dec!(0)))
        );
        assert!(strike_grid(dec!(-3), 5).is_err());
    }

    #[test]
    fn survives_absurd_widths() {
        let grid = strike_grid(dec!(100), 100_000).unwrap();
        assert_eq!(grid.len(), 100_000 + 40);
        assert!(grid.windows(2).all(|w| w[0] < w[1]));
    }
}
