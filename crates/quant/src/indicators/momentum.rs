//! Momentum oscillators — RSI, stochastics, ADX with ±DI, CCI, Williams %R, MFI, ROC and
//! momentum — with TA-Lib's definitions, warm-up and degenerate-case answers, so a signal
//! QuantDesk reports is the signal a quant's TA-Lib reports.
//!
//! Most indicators here are written once, as a small state machine (`*Core`) that both the batch
//! function and the streaming struct drive, so the two forms agree bit for bit. RSI's batch form
//! is the exception: it is the speed-critical one and runs a blocked loop (see [`rsi`]).
//!
//! TA-Lib's flatness tests are reproduced as TA-Lib 0.8.1 has them: a range or deviation is
//! "zero" when it is within 1e-14 of the prices it was computed from (scale-aware, so an
//! instrument quoted at 0.0001 is not mistaken for a flat one), and sums of magnitudes are
//! tested exactly.

mod adx;
mod catalogue;
mod cci;
pub(crate) mod kit;
mod mfi;
mod roc;
mod rsi;
mod stoch;
mod willr;

pub use adx::{Adx, AdxSeries, adx};
pub(crate) use catalogue::specs;
pub use cci::{Cci, cci};
pub use mfi::{Mfi, mfi};
pub use roc::{Mom, Roc, mom, roc};
pub use rsi::{Rsi, rsi};
pub use stoch::{Stoch, StochRsi, stoch, stochrsi};
pub use willr::{WillR, willr};
