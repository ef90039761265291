//! The syntax tree: columns, operators, indicator calls, expressions and their kinds, and the
//! normalised display that puts back only the parentheses that matter.

use std::fmt;

use crate::indicators::IndicatorSpec;

/// The price and volume columns an expression can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    Open,
    High,
    Low,
    Close,
    Volume,
}

impl Column {
    pub const ALL: [Column; 5] = [
        Column::Open,
        Column::High,
        Column::Low,
        Column::Close,
        Column::Volume,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Column::Open => "open",
            Column::High => "high",
            Column::Low => "low",
            Column::Close => "close",
            Column::Volume => "volume",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Self> {
        Column::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// Comparison operators, including the two-bar crossing tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    /// Previous bar: left ≤ right; this bar: left > right.
    CrossesAbove,
    /// Previous bar: left ≥ right; this bar: left < right.
    CrossesBelow,
}

impl CmpOp {
    pub(super) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::CrossesAbove => "crosses_above",
            CmpOp::CrossesBelow => "crosses_below",
        }
    }
}

/// An indicator call resolved against the catalogue: every parameter filled in (defaults for
/// the ones not written), the output chosen.
#[derive(Debug, Clone)]
pub struct Call {
    pub spec: &'static IndicatorSpec,
    /// Column the indicator reads as its input series instead of `close` (`sma(volume, 20)`).
    pub source: Option<Column>,
    /// Parameter values in the catalogue's order.
    pub params: Vec<f64>,
    /// Index into the indicator's outputs.
    pub output: usize,
    /// The call as written (normalised spacing), for display and result keys.
    pub(super) written: String,
}

impl Call {
    /// Identity of the computation (indicator, source, parameters — not the output), so
    /// `macd.hist` and `macd(12, 26, 9).signal` share one MACD computation.
    pub(crate) fn key(&self) -> CallKey {
        CallKey {
            name: self.spec.name,
            // `close` is the default input: `mom(close, 3)` is `mom(3)`.
            source: self.source.filter(|c| *c != Column::Close),
            params: self.params.iter().map(|p| p.to_bits()).collect(),
        }
    }

    /// The parameters by name, as the indicator catalogue's `compute` takes them.
    pub(crate) fn param_map(&self) -> std::collections::BTreeMap<String, f64> {
        self.spec
            .params
            .iter()
            .zip(&self.params)
            .map(|(p, v)| (p.name.to_string(), *v))
            .collect()
    }

    /// Fully resolved form, e.g. `sma(period=200)` or `sma(volume, period=20)`.
    pub fn canonical(&self) -> String {
        let mut args: Vec<String> = self.source.iter().map(|c| c.name().to_string()).collect();
        args.extend(
            self.spec
                .params
                .iter()
                .zip(&self.params)
                .map(|(p, v)| format!("{}={v}", p.name)),
        );
        let mut s = format!("{}({})", self.spec.name, args.join(", "));
        if self.spec.outputs.len() > 1
            && let Some(o) = self.spec.outputs.get(self.output)
        {
            s.push('.');
            s.push_str(o.name);
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CallKey {
    pub name: &'static str,
    pub source: Option<Column>,
    pub params: Vec<u64>,
}

/// The syntax tree of a checked expression.
#[derive(Debug, Clone)]
pub enum Expr {
    Number(f64),
    Column(Column),
    Indicator(Call),
    /// `model("id")`: a kept model's up-probability per bar (strategies only; supplied by
    /// the caller, see `ml::series`).
    Model(String),
    Neg(Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

/// Whether an expression yields a number per bar or a condition per bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Number,
    Condition,
}

impl Kind {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Kind::Number => "a number",
            Kind::Condition => "a condition",
        }
    }
}

// Binding strength, loosest first; used by the parser's layering and by Display to put back
// only the parentheses that matter.
const PREC_OR: u8 = 1;
const PREC_AND: u8 = 2;
const PREC_NOT: u8 = 3;
const PREC_CMP: u8 = 4;
const PREC_SUM: u8 = 5;
const PREC_PRODUCT: u8 = 6;
const PREC_UNARY: u8 = 7;
const PREC_ATOM: u8 = 8;

impl Expr {
    pub(super) fn prec(&self) -> u8 {
        match self {
            Expr::Number(_) | Expr::Column(_) | Expr::Indicator(_) | Expr::Model(_) => PREC_ATOM,
            Expr::Neg(_) => PREC_UNARY,
            Expr::Arith(ArithOp::Add | ArithOp::Sub, ..) => PREC_SUM,
            Expr::Arith(..) => PREC_PRODUCT,
            Expr::Compare(..) => PREC_CMP,
            Expr::Not(_) => PREC_NOT,
            Expr::And(..) => PREC_AND,
            Expr::Or(..) => PREC_OR,
        }
    }

    /// Writes `self`, parenthesised if it binds looser than `min` requires.
    pub(super) fn write(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        let paren = self.prec() < min;
        if paren {
            f.write_str("(")?;
        }
        match self {
            Expr::Number(v) => write!(f, "{v}")?,
            Expr::Column(c) => f.write_str(c.name())?,
            Expr::Indicator(call) => f.write_str(&call.written)?,
            Expr::Model(id) => write!(f, "model('{id}')")?,
            Expr::Neg(e) => {
                f.write_str("-")?;
                e.write(f, PREC_UNARY)?;
            }
            Expr::Arith(op, l, r) => {
                let (sym, p) = match op {
                    ArithOp::Add => ("+", PREC_SUM),
                    ArithOp::Sub => ("-", PREC_SUM),
                    ArithOp::Mul => ("*", PREC_PRODUCT),
                    ArithOp::Div => ("/", PREC_PRODUCT),
                };
                // Left-associative: the right operand needs parentheses at equal precedence.
                l.write(f, p)?;
                write!(f, " {sym} ")?;
                r.write(f, p + 1)?;
            }
            Expr::Compare(op, l, r) => {
                l.write(f, PREC_SUM)?;
                write!(f, " {} ", op.symbol())?;
                r.write(f, PREC_SUM)?;
            }
            Expr::Not(e) => {
                f.write_str("not ")?;
                e.write(f, PREC_NOT)?;
            }
            Expr::And(l, r) => {
                l.write(f, PREC_AND)?;
                f.write_str(" and ")?;
                r.write(f, PREC_AND + 1)?;
            }
            Expr::Or(l, r) => {
                l.write(f, PREC_OR)?;
                f.write_str(" or ")?;
                r.write(f, PREC_OR + 1)?;
            }
        }
        if paren {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}
