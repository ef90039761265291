//! [`Expression`]: a parsed, type-checked expression, and what a screen reads off it.

use std::fmt;

use super::ast::{Call, Expr, Kind};
use super::lex::{KEYWORDS, Tok, lex, paren_depth};
use super::parser::Parser;
use super::{MAX_DEPTH, ParseError, suggest};

/// A parsed, type-checked expression.
#[derive(Debug, Clone)]
pub struct Expression {
    text: String,
    root: Expr,
    kind: Kind,
}

impl Expression {
    /// Parses and checks `text`: every indicator name, parameter and output is resolved against
    /// the catalogue, and operands have the right kind (numbers around arithmetic and
    /// comparisons, conditions around `and`/`or`/`not`).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let toks = lex(text)?;
        if let (depth, Some(col)) = paren_depth(&toks) {
            return Err(ParseError::new(
                col,
                format!(
                    "the expression is nested {depth} levels deep in parentheses; at most \
                     {MAX_DEPTH} levels are allowed"
                ),
            ));
        }
        let mut p = Parser {
            toks,
            pos: 0,
            depth: 0,
        };
        let (root, kind, _, _) = p.parse_or()?;
        let (tok, col) = p.peek();
        if *tok != Tok::End {
            let hint = match tok {
                Tok::RParen => " (unbalanced parenthesis)".to_string(),
                Tok::Ident(name) => suggest::hint(name, KEYWORDS),
                _ => String::new(),
            };
            return Err(ParseError::new(
                col,
                format!(
                    "expected an operator or the end of the expression, found {}{hint}",
                    tok.describe()
                ),
            ));
        }
        Ok(Self {
            text: text.trim().to_string(),
            root,
            kind,
        })
    }

    /// The text as given (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn root(&self) -> &Expr {
        &self.root
    }

    /// Every indicator call in the expression, in reading order.
    pub fn calls(&self) -> Vec<&Call> {
        let mut out = Vec::new();
        leaves(&self.root, &mut |e| {
            if let Expr::Indicator(c) = e {
                out.push(c);
            }
        });
        out
    }

    /// Every `model("id")` the expression reads, in reading order.
    pub fn models(&self) -> Vec<&str> {
        let mut out = Vec::new();
        leaves(&self.root, &mut |e| {
            if let Expr::Model(id) = e {
                out.push(id.as_str());
            }
        });
        out
    }

    /// The numeric operands of the comparisons in this expression (or the expression itself if
    /// it is a number), minus plain literals: what a screen reports so a reader sees *why* a
    /// symbol matched.
    pub(crate) fn operands(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        if self.kind == Kind::Number {
            out.push(&self.root);
        } else {
            collect_operands(&self.root, &mut out);
        }
        out
    }
}

impl fmt::Display for Expression {
    /// The normalised form: canonical spacing, only necessary parentheses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

/// Calls `visit` on every leaf of `e` (numbers, columns, indicator calls, models), in reading
/// order.
fn leaves<'a>(e: &'a Expr, visit: &mut impl FnMut(&'a Expr)) {
    match e {
        Expr::Number(_) | Expr::Column(_) | Expr::Indicator(_) | Expr::Model(_) => visit(e),
        Expr::Neg(a) | Expr::Not(a) => leaves(a, visit),
        Expr::Arith(_, a, b) | Expr::Compare(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
            leaves(a, visit);
            leaves(b, visit);
        }
    }
}

fn collect_operands<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::Compare(_, a, b) => {
            for side in [a, b] {
                if !matches!(**side, Expr::Number(_)) {
                    out.push(side);
                }
            }
        }
        Expr::Not(a) => collect_operands(a, out),
        Expr::And(a, b) | Expr::Or(a, b) => {
            collect_operands(a, out);
            collect_operands(b, out);
        }
        _ => {}
    }
}
