//! Realised (historical) volatility: what the underlying actually did, the stand-in for an
//! implied volatility when there is no option market to imply one from.

use super::OptionsError;
use super::bsm::{finite, positive};

/// Trading days per year, the usual scale for annualising daily returns.
pub const TRADING_DAYS_PER_YEAR: f64 = 252.0;

/// Annualised close-to-close volatility over the last `returns` log returns of `closes`
/// (oldest first): the sample standard deviation (n − 1 denominator) scaled by
/// √`periods_per_year` (252 for daily closes).
///
/// Needs `returns + 1` closes and at least 2 returns. Every close used must be a positive,
/// finite price, since a log return of anything else is meaningless; closes before the window
/// are ignored. The mean is removed in a separate pass so that quiet series with tiny returns
/// keep their accuracy.
pub fn realised_volatility(
    closes: &[f64],
    returns: usize,
    periods_per_year: f64,
) -> Result<f64, OptionsError> {
    finite("periods per year", periods_per_year)?;
    positive("periods per year", periods_per_year)?;
    if returns < 2 {
        return Err(OptionsError::WindowTooShort { returns });
    }
    let needed = returns + 1;
    if closes.len() < needed {
        return Err(OptionsError::InsufficientHistory {
            needed,
            got: closes.len(),
            returns,
        });
    }
    let start = closes.len() - needed;
    let window = &closes[start..];
    if let Some((offset, &value)) = window
        .iter()
        .enumerate()
        .find(|(_, c)| !(c.is_finite() && **c > 0.0))
    {
        return Err(OptionsError::InvalidClose {
            index: start + offset,
            value,
        });
    }

    let log_returns: Vec<f64> = window.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let n = log_returns.len() as f64;
    let mean = log_returns.iter().sum::<f64>() / n;
    let variance = log_returns
        .iter()
        .map(|r| (r - mean) * (r - mean))
        .sum::<f64>()
        / (n - 1.0);
    Ok((variance * periods_per_year).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computation() {
        // Log returns ln(1.1), ln(1/1.1), ln(1.1): mean m = ln(1.1)/3, deviations 2m, −4m, 2m,
        // sample variance (4+16+4)m²/2 = 12m².
        let closes = [100.0, 110.0, 100.0, 110.0];
        let m = 1.1_f64.ln() / 3.0;
        let want = (12.0 * m * m * 252.0).sqrt();
        let got = realised_volatility(&closes, 3, TRADING_DAYS_PER_YEAR).unwrap();
        assert!((got - want).abs() < 1e-15, "{got} vs {want}");
    }

    #[test]
    fn uses_only_the_last_returns() {
        let mut closes = vec![1.0, 1000.0, 3.0];
        closes.extend([100.0, 101.0, 99.0, 102.0]);
        let tail = realised_volatility(&closes[3..], 3, 252.0).unwrap();
        assert_eq!(realised_volatility(&closes, 3, 252.0).unwrap(), tail);
        // A bad close outside the window is not looked at.
        closes[0] = f64::NAN;
        assert_eq!(realised_volatility(&closes, 3, 252.0).unwrap(), tail);
    }

    #[test]
    fn constant_growth_has_zero_volatility() {
        let closes: Vec<f64> = (0..40).map(|i| 100.0 * 1.01_f64.powi(i)).collect();
        let v = realised_volatility(&closes, 30, 252.0).unwrap();
        assert!(v < 1e-7, "{v}");
    }

    #[test]
    fn refuses_unusable_input() {
        assert_eq!(
            realised_volatility(&[100.0, 101.0], 2, 252.0),
            Err(OptionsError::InsufficientHistory {
                needed: 3,
                got: 2,
                returns: 2
            })
        );
        assert_eq!(
            realised_volatility(&[100.0, 101.0, 102.0], 1, 252.0),
            Err(OptionsError::WindowTooShort { returns: 1 })
        );
        assert_eq!(
            realised_volatility(&[100.0, 0.0, 102.0], 2, 252.0),
            Err(OptionsError::InvalidClose {
                index: 1,
                value: 0.0
            })
        );
        assert!(matches!(
            realised_volatility(&[100.0, 101.0, f64::INFINITY], 2, 252.0),
            Err(OptionsError::InvalidClose { index: 2, .. })
        ));
        assert!(realised_volatility(&[100.0, 101.0, 102.0], 2, 0.0).is_err());
        assert!(realised_volatility(&[100.0, 101.0, 102.0], 2, f64::NAN).is_err());
    }
}
