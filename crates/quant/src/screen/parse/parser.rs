//! The recursive-descent parser and type checker: operators by precedence, with the nesting
//! depth bounded by [`MAX_DEPTH`].

use super::ast::{ArithOp, CmpOp, Expr, Kind};
use super::lex::{KEYWORDS, Tok};
use super::{MAX_DEPTH, ParseError};

pub(super) struct Parser {
    pub(super) toks: Vec<(Tok, usize)>,
    pub(super) pos: usize,
    /// Parentheses, `not` and unary `-` open around the token being parsed (the parser's own
    /// recursion), kept at most [`MAX_DEPTH`].
    pub(super) depth: usize,
}

/// A parsed sub-expression, its kind, its starting column and its height (levels of the
/// syntax tree above its leaves, at most [`MAX_DEPTH`]).
pub(super) type Parsed = (Expr, Kind, usize, usize);

pub(super) fn too_deep(col: usize) -> ParseError {
    ParseError::new(
        col,
        format!(
            "the expression is nested more than {MAX_DEPTH} levels deep (each parenthesis, \
             operator, 'not' and '-' is a level); at most {MAX_DEPTH} are allowed"
        ),
    )
}

impl Parser {
    pub(super) fn peek(&self) -> (&Tok, usize) {
        let i = self.pos.min(self.toks.len() - 1);
        (&self.toks[i].0, self.toks[i].1)
    }

    pub(super) fn bump(&mut self) -> (Tok, usize) {
        let i = self.pos.min(self.toks.len() - 1);
        self.pos += 1;
        self.toks[i].clone()
    }

    /// The height of a node over children of height `below`, refused past [`MAX_DEPTH`].
    pub(super) fn height(&self, below: usize, col: usize) -> Result<usize, ParseError> {
        let h = below + 1;
        if h > MAX_DEPTH {
            return Err(too_deep(col));
        }
        Ok(h)
    }

    /// Enters one level of the parser's recursion (a parenthesis, `not` or unary `-`).
    pub(super) fn enter(&mut self, col: usize) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep(col));
        }
        self.depth += 1;
        Ok(())
    }

    pub(super) fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek().0, Tok::Ident(s) if s == kw)
    }

    pub(super) fn expect_kind(
        &self,
        got: &Parsed,
        want: Kind,
        context: &str,
    ) -> Result<(), ParseError> {
        if got.1 == want {
            return Ok(());
        }
        let hint = match want {
            Kind::Condition => "; compare it, e.g. `rsi(14) < 30`",
            Kind::Number => "",
        };
        Err(ParseError::new(
            got.2,
            format!(
                "{context} needs {}, but `{}` is {}{hint}",
                want.describe(),
                got.0,
                got.1.describe()
            ),
        ))
    }

    pub(super) fn parse_or(&mut self) -> Result<Parsed, ParseError> {
        let mut lhs = self.parse_and()?;
        while self.peek_keyword("or") {
            let (_, col) = self.bump();
            let rhs = self.parse_and()?;
            self.expect_kind(&lhs, Kind::Condition, "'or'")?;
            self.expect_kind(&rhs, Kind::Condition, "'or'")?;
            let h = self.height(lhs.3.max(rhs.3), col)?;
            lhs = (
                Expr::Or(Box::new(lhs.0), Box::new(rhs.0)),
                Kind::Condition,
                lhs.2,
                h,
            );
        }
        Ok(lhs)
    }

    pub(super) fn parse_and(&mut self) -> Result<Parsed, ParseError> {
        let mut lhs = self.parse_not()?;
        while self.peek_keyword("and") {
            let (_, col) = self.bump();
            let rhs = self.parse_not()?;
            self.expect_kind(&lhs, Kind::Condition, "'and'")?;
            self.expect_kind(&rhs, Kind::Condition, "'and'")?;
            let h = self.height(lhs.3.max(rhs.3), col)?;
            lhs = (
                Expr::And(Box::new(lhs.0), Box::new(rhs.0)),
                Kind::Condition,
                lhs.2,
                h,
            );
        }
        Ok(lhs)
    }

    pub(super) fn parse_not(&mut self) -> Result<Parsed, ParseError> {
        if self.peek_keyword("not") {
            let (_, col) = self.bump();
            self.enter(col)?;
            let inner = self.parse_not()?;
            self.depth -= 1;
            self.expect_kind(&inner, Kind::Condition, "'not'")?;
            let h = self.height(inner.3, col)?;
            return Ok((Expr::Not(Box::new(inner.0)), Kind::Condition, col, h));
        }
        self.parse_cmp()
    }

    pub(super) fn cmp_op(&self) -> Option<CmpOp> {
        Some(match self.peek().0 {
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::EqEq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Ident(s) if s == "crosses_above" => CmpOp::CrossesAbove,
            Tok::Ident(s) if s == "crosses_below" => CmpOp::CrossesBelow,
            _ => return None,
        })
    }

    pub(super) fn parse_cmp(&mut self) -> Result<Parsed, ParseError> {
        let lhs = self.parse_sum()?;
        if *self.peek().0 == Tok::Assign {
            return Err(ParseError::new(
                self.peek().1,
                "'=' is not a comparison; use '==' (or '=' only for named indicator parameters \
                 such as sma(period=20))",
            ));
        }
        let Some(op) = self.cmp_op() else {
            return Ok(lhs);
        };
        let (_, op_col) = self.bump();
        let rhs = self.parse_sum()?;
        let what = format!("'{}'", op.symbol());
        self.expect_kind(&lhs, Kind::Number, &what)?;
        self.expect_kind(&rhs, Kind::Number, &what)?;
        if self.cmp_op().is_some() {
            return Err(ParseError::new(
                self.peek().1,
                format!(
                    "comparisons cannot be chained (the one at column {op_col} is already \
                     complete); combine them with 'and'"
                ),
            ));
        }
        let h = self.height(lhs.3.max(rhs.3), op_col)?;
        Ok((
            Expr::Compare(op, Box::new(lhs.0), Box::new(rhs.0)),
            Kind::Condition,
            lhs.2,
            h,
        ))
    }

    pub(super) fn parse_sum(&mut self) -> Result<Parsed, ParseError> {
        let mut lhs = self.parse_product()?;
        loop {
            let op = match self.peek().0 {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                _ => return Ok(lhs),
            };
            let (tok, col) = self.bump();
            let rhs = self.parse_product()?;
            lhs = self.arith(op, &tok, col, lhs, rhs)?;
        }
    }

    pub(super) fn parse_product(&mut self) -> Result<Parsed, ParseError> {
        let mut lhs = self.parse_unary()?;
        loop {
            let op = match self.peek().0 {
                Tok::Star => ArithOp::Mul,
                Tok::Slash => ArithOp::Div,
                _ => return Ok(lhs),
            };
            let (tok, col) = self.bump();
            let rhs = self.parse_unary()?;
            lhs = self.arith(op, &tok, col, lhs, rhs)?;
        }
    }

    pub(super) fn arith(
        &self,
        op: ArithOp,
        tok: &Tok,
        col: usize,
        lhs: Parsed,
        rhs: Parsed,
    ) -> Result<Parsed, ParseError> {
        let what = tok.describe();
        self.expect_kind(&lhs, Kind::Number, &what)?;
        self.expect_kind(&rhs, Kind::Number, &what)?;
        let h = self.height(lhs.3.max(rhs.3), col)?;
        Ok((
            Expr::Arith(op, Box::new(lhs.0), Box::new(rhs.0)),
            Kind::Number,
            lhs.2,
            h,
        ))
    }

    pub(super) fn parse_unary(&mut self) -> Result<Parsed, ParseError> {
        if *self.peek().0 == Tok::Minus {
            let (_, col) = self.bump();
            self.enter(col)?;
            let inner = self.parse_unary()?;
            self.depth -= 1;
            self.expect_kind(&inner, Kind::Number, "'-'")?;
            let h = self.height(inner.3, col)?;
            // Fold negative literals so `-5` displays and compares as the number −5.
            let e = match inner.0 {
                Expr::Number(v) => Expr::Number(-v),
                other => Expr::Neg(Box::new(other)),
            };
            return Ok((e, Kind::Number, col, h));
        }
        self.parse_primary()
    }

    pub(super) fn parse_primary(&mut self) -> Result<Parsed, ParseError> {
        let (tok, col) = self.bump();
        match tok {
            Tok::Number(v) => Ok((Expr::Number(v), Kind::Number, col, 0)),
            Tok::LParen => {
                self.enter(col)?;
                let inner = self.parse_or()?;
                self.depth -= 1;
                let (close, ccol) = self.bump();
                if close != Tok::RParen {
                    return Err(ParseError::new(
                        ccol,
                        format!(
                            "expected ')' to close the parenthesis at column {col}, found {}",
                            close.describe()
                        ),
                    ));
                }
                let h = self.height(inner.3, col)?;
                Ok((inner.0, inner.1, col, h))
            }
            Tok::Ident(name) if KEYWORDS.contains(&name.as_str()) => Err(ParseError::new(
                col,
                format!("expected a number, a column or an indicator call, found '{name}'"),
            )),
            Tok::Ident(name) => self.parse_name(name, col),
            other => Err(ParseError::new(
                col,
                format!(
                    "expected a number, a column, an indicator call or '(', found {}",
                    other.describe()
                ),
            )),
        }
    }
}
