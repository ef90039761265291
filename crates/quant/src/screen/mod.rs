//! The screener expression language: conditions such as `rsi(14) < 30 and close > sma(200)`
//! evaluated over a symbol's bars, and [`screen`], which filters and ranks a universe with them.
//! The same expressions (through [`Evaluator::signal`]) give per-bar signals for strategies.
//!
//! # Grammar
//!
//! ```text
//! expression := or
//! or         := and ("or" and)*
//! and        := not ("and" not)*
//! not        := "not" not | comparison
//! comparison := sum [cmp_op sum]                 -- at most one: `a < b < c` is an error
//! cmp_op     := "<" | "<=" | ">" | ">=" | "==" | "!=" | "crosses_above" | "crosses_below"
//! sum        := product (("+" | "-") product)*
//! product    := unary (("*" | "/") unary)*
//! unary      := "-" unary | primary
//! primary    := number | column | call | "(" expression ")"
//! column     := "open" | "high" | "low" | "close" | "volume"
//! call       := name ["(" [args] ")"] ["." output]
//! args       := [column ","] arg ("," arg)*  |  column
//! arg        := number | "-" number | param_name "=" ["-"] number
//! number     := digits ["." digits] [("e" | "E") ["+" | "-"] digits]   (or "." digits)
//! ```
//!
//! Precedence, loosest first: `or`, `and`, `not`, comparisons, `+ -`, `* /`, unary `-`. Names
//! and keywords are case-insensitive.
//!
//! - **Indicator calls** name a catalogue entry ([`crate::indicators::catalog`]). Positional
//!   numbers fill the parameters in catalogue order, `name=value` sets one by name (after any
//!   positional ones); parameters not given take their defaults, so `rsi` = `rsi()` =
//!   `rsi(14)` = `rsi(period=14)` when 14 is the default. An optional **first argument naming a
//!   column** is the input series: it replaces `close` for that call, so `sma(volume, 20)` is a
//!   20-bar average of volume (meaningful for indicators that read only closes).
//! - **Outputs**: `macd.hist`, `bbands(20, 2).lower`, `stoch.d`; without `.output` a call means
//!   the indicator's first output.
//! - **Kinds**: arithmetic and comparisons take numbers; `and`, `or`, `not` take conditions.
//!   Mixing them is a parse error that names the column.
//! - **Comparisons** are IEEE: `==` is exact equality.
//! - **Crossings**: `a crosses_above b` is true at bar t when `a[t−1] < b[t−1]` and
//!   `a[t] > b[t]`; `crosses_below` when `a[t−1] > b[t−1]` and `a[t] < b[t]` — strict on both
//!   bars, as backtesting.py's `crossover` and the strategy language: a series that rests *on*
//!   the level and then leaves it has not crossed it.
//! - **Unknown values**: where an operand is `NaN` (indicator warm-up, 0/0) or a crossing has no
//!   previous bar, a comparison is *unknown*; `and`/`or`/`not` follow three-valued (Kleene)
//!   logic, so `false and unknown` is false and `true or unknown` is true. [`screen`] skips a
//!   symbol whose filters end up unknown (with the reason), and [`Evaluator::signal`] treats
//!   unknown as no signal.
//!
//! - **Depth**: an expression nests at most [`MAX_DEPTH`] (64) levels — each parenthesis,
//!   operator, `not` and unary `-` is one — so a hostile rule cannot exhaust the stack; the
//!   error names the depth found (for parentheses) and the limit.
//!
//! Parse errors give the 1-based column and what was expected; an unknown indicator lists the
//! catalogue ([`ParseError::render`] draws a caret under the column).

mod eval;
pub(crate) mod parse;
mod screener;

pub use eval::{EvalError, Evaluator, SeriesValue, Value};
pub use parse::{ArithOp, Call, CmpOp, Column, Expr, Expression, Kind, MAX_DEPTH, ParseError};
pub(crate) use parse::{CallKey, excerpt};
pub use screener::{ScreenError, ScreenMatch, ScreenResult, Skipped, screen};

#[cfg(test)]
mod tests;
