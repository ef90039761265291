//! Lexer, parser and type checker of the screener expression language (grammar in the
//! [module docs](super)). Parsing resolves every indicator call against the catalogue up front,
//! so a typo is reported once, with its column, before any symbol is evaluated.

use thiserror::Error;

/// A syntax or type error, with the 1-based character column where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at column {column}: {message}")]
pub struct ParseError {
    /// 1-based column (in characters) of the offending token.
    pub column: usize,
    /// What was expected and what was found.
    pub message: String,
}

impl ParseError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        Self {
            column,
            message: message.into(),
        }
    }

    /// The expression with a caret under the error column, then the message — for a terminal or
    /// a chat reply, where "column 17" alone is hard to count.
    pub fn render(&self, text: &str) -> String {
        format!(
            "{text}\n{}^\n{}",
            " ".repeat(self.column.saturating_sub(1)),
            self
        )
    }
}

/// `text` for an error message: whole if short, else its start and how long it was (a hostile
/// rule of megabytes must not come back in every error).
pub(crate) fn excerpt(text: &str) -> String {
    const SHOWN: usize = 200;
    match text.char_indices().nth(SHOWN) {
        None => text.to_string(),
        Some((end, _)) => format!(
            "{}… ({} characters in all)",
            &text[..end],
            text.chars().count()
        ),
    }
}

/// How deeply an expression may nest: parentheses, operators, `not` and unary `-` each add a
/// level to the syntax tree. Parsing, evaluation, display and even dropping the tree recurse
/// once per level, so without a limit a hostile rule (2,000 parentheses) overflows the stack;
/// real rules use a handful of levels.
pub const MAX_DEPTH: usize = 64;

mod ast;
mod call;
mod expression;
mod lex;
mod parser;
pub(crate) mod suggest;

pub(crate) use ast::CallKey;
pub use ast::{ArithOp, Call, CmpOp, Column, Expr, Kind};
pub use expression::Expression;
