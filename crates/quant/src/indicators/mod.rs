//! Technical indicators with TA-Lib's definitions, warm-up and conventions (EMA seeded with the
//! SMA of its first `n` values; Wilder smoothing for RSI, ATR and ADX; population standard
//! deviation for Bollinger Bands), so a number QuantDesk prints is the number a quant's TA-Lib
//! prints.
//!
//! Every indicator comes in two forms that must give the same numbers (a property test checks):
//! - **batch**: a function over whole columns returning one `Vec<f64>` per output, as long as the
//!   input, `NaN` during warm-up (where TA-Lib emits nothing);
//! - **streaming**: a struct fed one [`Candle`] at a time through [`Streaming::update`], `None`
//!   during warm-up — what a live strategy or a bar-by-bar backtest uses.
//!
//! The [`catalog`] names every indicator, its parameters (with defaults) and its outputs; the MCP
//! tools, the screener and the strategy language all go through [`compute`].
//!
//! **Speed.** `benches/indicators.rs` times [`compute`] on 1,000,000 bars and `cargo xtask bench`
//! compares EMA, RSI, MACD, BBANDS and ATR with TA-Lib's C code on the same series. The batch
//! forms are single passes without scratch buffers; the long recursions (EMA, MACD, ATR) advance
//! several bars per step so their dependency chains do not bound them (a few ulps from the
//! bar-by-bar form; the streaming structs keep TA-Lib's order). Each call allocates its outputs:
//! the binaries that run indicators (the sidecar, and the bench, which must measure what the
//! sidecar runs) use mimalloc, because glibc's malloc returns multi-megabyte blocks to the OS on
//! free and page-faults them in again on the next call. `_into` variants (`ema_into`,
//! `macd_into`, `bbands_into`, ...) write into caller-owned buffers for hot loops.

pub mod momentum;
pub mod overlap;
mod registry;
pub(crate) mod stream_store;
pub mod volatility;
pub mod volume;

pub use registry::{IndicatorSpec, OutputSpec, ParamSpec, catalog, compute, spec};

use thiserror::Error;

/// One bar as indicators see it: analytics run on `f64`. `time` (Unix seconds, UTC) is used only
/// by session-based indicators (VWAP).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Candle {
    pub time: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// Whole columns, oldest first, all the same length (structure of arrays: the batch forms are
/// tight loops over these).
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    pub time: &'a [i64],
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub volume: &'a [f64],
}

impl<'a> Columns<'a> {
    /// Bars `a..b` (panics when out of range, as slicing does).
    pub fn range(&self, a: usize, b: usize) -> Columns<'a> {
        Columns {
            time: &self.time[a..b],
            open: &self.open[a..b],
            high: &self.high[a..b],
            low: &self.low[a..b],
            close: &self.close[a..b],
            volume: &self.volume[a..b],
        }
    }

    pub fn len(&self) -> usize {
        self.close.len()
    }

    pub fn is_empty(&self) -> bool {
        self.close.is_empty()
    }

    pub fn candle(&self, i: usize) -> Candle {
        Candle {
            time: self.time.get(i).copied().unwrap_or_default(),
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
        }
    }
}

/// Owned columns, e.g. built from domain bars.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnedColumns {
    pub time: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
}

impl OwnedColumns {
    pub fn view(&self) -> Columns<'_> {
        Columns {
            time: &self.time,
            open: &self.open,
            high: &self.high,
            low: &self.low,
            close: &self.close,
            volume: &self.volume,
        }
    }

    pub fn push(&mut self, c: Candle) {
        self.time.push(c.time);
        self.open.push(c.open);
        self.high.push(c.high);
        self.low.push(c.low);
        self.close.push(c.close);
        self.volume.push(c.volume);
    }
}

/// A streaming indicator: fed bars in order, it answers once warmed up.
pub trait Streaming {
    /// One value per output, in the order of the indicator's [`IndicatorSpec::outputs`].
    type Output;
    fn update(&mut self, candle: &Candle) -> Option<Self::Output>;
}

/// Why an indicator cannot be computed. Messages name the indicator and parameter.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum IndicatorError {
    #[error("unknown indicator '{name}'; available: {available}")]
    Unknown { name: String, available: String },
    #[error("{indicator}: unknown parameter '{param}'; it takes: {accepted}")]
    UnknownParam {
        indicator: String,
        param: String,
        accepted: String,
    },
    #[error("{indicator}: '{param}' must be {expected}, got {value}")]
    InvalidParam {
        indicator: String,
        param: String,
        expected: String,
        value: f64,
    },
    #[error("{indicator}: columns have different lengths")]
    LengthMismatch { indicator: String },
}

/// `NaN`-filled output of length `n`, the batch forms' starting point.
#[allow(dead_code)] // used by the family modules as they land
pub(crate) fn nan_vec(n: usize) -> Vec<f64> {
    vec![f64::NAN; n]
}

impl OwnedColumns {
    /// Columns from domain bars: prices leave `Decimal` here, at the analytics boundary.
    pub fn from_bars(bars: &[quantdesk_domain::Bar]) -> Self {
        use rust_decimal::prelude::ToPrimitive;
        let f = |d: rust_decimal::Decimal| d.to_f64().unwrap_or(f64::NAN);
        let mut out = OwnedColumns {
            time: Vec::with_capacity(bars.len()),
            open: Vec::with_capacity(bars.len()),
            high: Vec::with_capacity(bars.len()),
            low: Vec::with_capacity(bars.len()),
            close: Vec::with_capacity(bars.len()),
            volume: Vec::with_capacity(bars.len()),
        };
        for b in bars {
            out.push(Candle {
                time: b.time.timestamp(),
                open: f(b.open),
                high: f(b.high),
                low: f(b.low),
                close: f(b.close),
                volume: f(b.volume),
            });
        }
        out
    }
}
