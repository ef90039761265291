//! Catalogue entries of the momentum family.

use super::super::registry::period_param;
use super::super::{Columns, IndicatorError, IndicatorSpec, OutputSpec, ParamSpec};
use super::kit::param;
use super::{AdxSeries, adx, cci, mfi, mom, roc, rsi, stoch, stochrsi, willr};

fn rsi_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("rsi", "period", param(params, 0, 14.0), 2)?;
    Ok(vec![rsi(cols.close, period)?])
}

fn stoch_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let fastk = period_param("stoch", "fastk_period", param(params, 0, 14.0), 1)?;
    let slowk = period_param("stoch", "slowk_period", param(params, 1, 3.0), 1)?;
    let slowd = period_param("stoch", "slowd_period", param(params, 2, 3.0), 1)?;
    let (k, d) = stoch(cols.high, cols.low, cols.close, fastk, slowk, slowd)?;
    Ok(vec![k, d])
}

fn stochrsi_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("stochrsi", "period", param(params, 0, 14.0), 2)?;
    let fastk = period_param("stochrsi", "fastk_period", param(params, 1, 5.0), 1)?;
    let fastd = period_param("stochrsi", "fastd_period", param(params, 2, 3.0), 1)?;
    let (k, d) = stochrsi(cols.close, period, fastk, fastd)?;
    Ok(vec![k, d])
}

fn adx_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("adx", "period", param(params, 0, 14.0), 2)?;
    let AdxSeries {
        adx,
        plus_di,
        minus_di,
    } = adx(cols.high, cols.low, cols.close, period)?;
    Ok(vec![adx, plus_di, minus_di])
}

fn cci_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("cci", "period", param(params, 0, 14.0), 2)?;
    Ok(vec![cci(cols.high, cols.low, cols.close, period)?])
}

fn willr_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("willr", "period", param(params, 0, 14.0), 2)?;
    Ok(vec![willr(cols.high, cols.low, cols.close, period)?])
}

fn mfi_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("mfi", "period", param(params, 0, 14.0), 2)?;
    Ok(vec![mfi(
        cols.high,
        cols.low,
        cols.close,
        cols.volume,
        period,
    )?])
}

fn roc_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("roc", "period", param(params, 0, 10.0), 1)?;
    Ok(vec![roc(cols.close, period)?])
}

fn mom_batch(cols: &Columns<'_>, params: &[f64]) -> Result<Vec<Vec<f64>>, IndicatorError> {
    let period = period_param("mom", "period", param(params, 0, 10.0), 1)?;
    Ok(vec![mom(cols.close, period)?])
}

fn period_spec(default: f64, description: &'static str) -> Vec<ParamSpec> {
    vec![ParamSpec {
        name: "period",
        default,
        description,
    }]
}

/// Catalogue entries of this family.
pub(crate) fn specs() -> Vec<IndicatorSpec> {
    vec![
        IndicatorSpec {
            name: "rsi",
            description: "Relative Strength Index (TA-Lib RSI, Wilder smoothing), 0-100; above 70 \
                          is commonly read as overbought, below 30 as oversold",
            params: period_spec(14.0, "lookback in bars (>= 2)"),
            outputs: vec![OutputSpec { name: "rsi" }],
            batch: rsi_batch,
        },
        IndicatorSpec {
            name: "stoch",
            description: "Slow stochastic oscillator (TA-Lib STOCH, SMA smoothing), 0-100: %K = \
                          SMA of fast %K, %D = SMA of %K",
            params: vec![
                ParamSpec {
                    name: "fastk_period",
                    default: 14.0,
                    description: "bars for the highest high / lowest low of fast %K (>= 1)",
                },
                ParamSpec {
                    name: "slowk_period",
                    default: 3.0,
                    description: "SMA period smoothing fast %K into %K (>= 1)",
                },
                ParamSpec {
                    name: "slowd_period",
                    default: 3.0,
                    description: "SMA period smoothing %K into %D (>= 1)",
                },
            ],
            outputs: vec![OutputSpec { name: "k" }, OutputSpec { name: "d" }],
            batch: stoch_batch,
        },
        IndicatorSpec {
            name: "stochrsi",
            description: "Stochastic RSI (TA-Lib STOCHRSI, SMA %D): the fast stochastic of RSI, \
                          0-100",
            params: vec![
                ParamSpec {
                    name: "period",
                    default: 14.0,
                    description: "RSI period (>= 2)",
                },
                ParamSpec {
                    name: "fastk_period",
                    default: 5.0,
                    description: "RSI values in the %K window (>= 1)",
                },
                ParamSpec {
                    name: "fastd_period",
                    default: 3.0,
                    description: "SMA period smoothing %K into %D (>= 1)",
                },
            ],
            outputs: vec![OutputSpec { name: "k" }, OutputSpec { name: "d" }],
            batch: stochrsi_batch,
        },
        IndicatorSpec {
            name: "adx",
            description: "Average Directional Index with +DI and -DI (TA-Lib ADX, PLUS_DI, \
                          MINUS_DI), 0-100: ADX measures trend strength, the DIs its direction",
            params: period_spec(14.0, "Wilder smoothing period (>= 2)"),
            outputs: vec![
                OutputSpec { name: "adx" },
                OutputSpec { name: "plus_di" },
                OutputSpec { name: "minus_di" },
            ],
            batch: adx_batch,
        },
        IndicatorSpec {
            name: "cci",
            description: "Commodity Channel Index (TA-Lib CCI): typical price's distance from its \
                          SMA in units of 0.015 x mean deviation; beyond +/-100 is unusual",
            params: period_spec(14.0, "lookback in bars (>= 2)"),
            outputs: vec![OutputSpec { name: "cci" }],
            batch: cci_batch,
        },
        IndicatorSpec {
            name: "willr",
            description: "Williams %R (TA-Lib WILLR), -100 (close at the period low) to 0 (at \
                          the high)",
            params: period_spec(14.0, "lookback in bars (>= 2)"),
            outputs: vec![OutputSpec { name: "willr" }],
            batch: willr_batch,
        },
        IndicatorSpec {
            name: "mfi",
            description: "Money Flow Index (TA-Lib MFI): volume-weighted RSI of the typical \
                          price, 0-100",
            params: period_spec(14.0, "lookback in bars (>= 2)"),
            outputs: vec![OutputSpec { name: "mfi" }],
            batch: mfi_batch,
        },
        IndicatorSpec {
            name: "roc",
            description: "Rate of change (TA-Lib ROC): percent change of the close over `period` \
                          bars",
            params: period_spec(10.0, "lookback in bars (>= 1)"),
            outputs: vec![OutputSpec { name: "roc" }],
            batch: roc_batch,
        },
        IndicatorSpec {
            name: "mom",
            description: "Momentum (TA-Lib MOM): change of the close over `period` bars, in \
                          price units",
            params: period_spec(10.0, "lookback in bars (>= 1)"),
            outputs: vec![OutputSpec { name: "mom" }],
            batch: mom_batch,
        },
    ]
}
