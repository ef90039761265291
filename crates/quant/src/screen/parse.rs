//! Lexer, parser and type checker of the screener expression language (grammar in the
//! [module docs](super)). Parsing resolves every indicator call against the catalogue up front,
//! so a typo is reported once, with its column, before any symbol is evaluated.

use std::fmt;

use thiserror::Error;

use crate::indicators::{IndicatorSpec, spec};

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

    fn from_name(name: &str) -> Option<Self> {
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
    fn symbol(self) -> &'static str {
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
    written: String,
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
    fn describe(self) -> &'static str {
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
    fn prec(&self) -> u8 {
        match self {
            Expr::Number(_) | Expr::Column(_) | Expr::Indicator(_) => PREC_ATOM,
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
    fn write(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        let paren = self.prec() < min;
        if paren {
            f.write_str("(")?;
        }
        match self {
            Expr::Number(v) => write!(f, "{v}")?,
            Expr::Column(c) => f.write_str(c.name())?,
            Expr::Indicator(call) => f.write_str(&call.written)?,
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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Number(f64),
    Ident(String),
    LParen,
    RParen,
    Comma,
    Dot,
    Plus,
    Minus,
    Star,
    Slash,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    Assign,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Number(v) => format!("number {v}"),
            Tok::Ident(s) => format!("'{s}'"),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Dot => "'.'".into(),
            Tok::Plus => "'+'".into(),
            Tok::Minus => "'-'".into(),
            Tok::Star => "'*'".into(),
            Tok::Slash => "'/'".into(),
            Tok::Lt => "'<'".into(),
            Tok::Le => "'<='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Ge => "'>='".into(),
            Tok::EqEq => "'=='".into(),
            Tok::Ne => "'!='".into(),
            Tok::Assign => "'='".into(),
            Tok::End => "end of expression".into(),
        }
    }
}

const KEYWORDS: [&str; 5] = ["and", "or", "not", "crosses_above", "crosses_below"];

/// Splits `text` into tokens with their 1-based columns. Identifiers are lower-cased: names and
/// keywords are case-insensitive.
fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                }
            }
            let s: String = chars[start..i].iter().collect();
            let v: f64 = s
                .parse()
                .map_err(|_| ParseError::new(col, format!("'{s}' is not a valid number")))?;
            if !v.is_finite() {
                return Err(ParseError::new(
                    col,
                    format!("'{s}' is too large a number (at most about 1.8e308)"),
                ));
            }
            if i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '_') {
                return Err(ParseError::new(
                    i + 1,
                    format!(
                        "expected an operator after the number {s}, found '{}'",
                        chars[i]
                    ),
                ));
            }
            out.push((Tok::Number(v), col));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push((Tok::Ident(s.to_lowercase()), col));
            continue;
        }
        let two = next == Some('=');
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '.' => (Tok::Dot, 1),
            '+' => (Tok::Plus, 1),
            '-' => (Tok::Minus, 1),
            '*' => (Tok::Star, 1),
            '/' => (Tok::Slash, 1),
            '<' if two => (Tok::Le, 2),
            '<' => (Tok::Lt, 1),
            '>' if two => (Tok::Ge, 2),
            '>' => (Tok::Gt, 1),
            '=' if two => (Tok::EqEq, 2),
            '=' => (Tok::Assign, 1),
            '!' if two => (Tok::Ne, 2),
            '&' | '|' | '!' => {
                let hint = match c {
                    '&' => "use 'and'",
                    '|' => "use 'or'",
                    _ => "use 'not' (or '!=' for 'not equal')",
                };
                return Err(ParseError::new(col, format!("unexpected '{c}': {hint}")));
            }
            other => {
                return Err(ParseError::new(
                    col,
                    format!(
                        "unexpected character '{other}'; expected a number, a column, an \
                         indicator call, an operator or a parenthesis"
                    ),
                ));
            }
        };
        out.push((tok, col));
        i += len;
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}

/// How deeply an expression may nest: parentheses, operators, `not` and unary `-` each add a
/// level to the syntax tree. Parsing, evaluation, display and even dropping the tree recurse
/// once per level, so without a limit a hostile rule (2,000 parentheses) overflows the stack;
/// real rules use a handful of levels.
pub const MAX_DEPTH: usize = 64;

/// The deepest parenthesis nesting in `toks`, and the column of the first parenthesis that goes
/// past [`MAX_DEPTH`].
fn paren_depth(toks: &[(Tok, usize)]) -> (usize, Option<usize>) {
    let (mut depth, mut max, mut first_over) = (0usize, 0usize, None);
    for (tok, col) in toks {
        match tok {
            Tok::LParen => {
                depth += 1;
                max = max.max(depth);
                if depth > MAX_DEPTH && first_over.is_none() {
                    first_over = Some(*col);
                }
            }
            Tok::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (max, first_over)
}

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
            let hint = if *tok == Tok::RParen {
                " (unbalanced parenthesis)"
            } else {
                ""
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
        collect_calls(&self.root, &mut out);
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

fn collect_calls<'a>(e: &'a Expr, out: &mut Vec<&'a Call>) {
    match e {
        Expr::Number(_) | Expr::Column(_) => {}
        Expr::Indicator(c) => out.push(c),
        Expr::Neg(a) | Expr::Not(a) => collect_calls(a, out),
        Expr::Arith(_, a, b) | Expr::Compare(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
            collect_calls(a, out);
            collect_calls(b, out);
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

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    /// Parentheses, `not` and unary `-` open around the token being parsed (the parser's own
    /// recursion), kept at most [`MAX_DEPTH`].
    depth: usize,
}

/// A parsed sub-expression, its kind, its starting column and its height (levels of the
/// syntax tree above its leaves, at most [`MAX_DEPTH`]).
type Parsed = (Expr, Kind, usize, usize);

fn too_deep(col: usize) -> ParseError {
    ParseError::new(
        col,
        format!(
            "the expression is nested more than {MAX_DEPTH} levels deep (each parenthesis, \
             operator, 'not' and '-' is a level); at most {MAX_DEPTH} are allowed"
        ),
    )
}

impl Parser {
    fn peek(&self) -> (&Tok, usize) {
        let i = self.pos.min(self.toks.len() - 1);
        (&self.toks[i].0, self.toks[i].1)
    }

    fn bump(&mut self) -> (Tok, usize) {
        let i = self.pos.min(self.toks.len() - 1);
        self.pos += 1;
        self.toks[i].clone()
    }

    /// The height of a node over children of height `below`, refused past [`MAX_DEPTH`].
    fn height(&self, below: usize, col: usize) -> Result<usize, ParseError> {
        let h = below + 1;
        if h > MAX_DEPTH {
            return Err(too_deep(col));
        }
        Ok(h)
    }

    /// Enters one level of the parser's recursion (a parenthesis, `not` or unary `-`).
    fn enter(&mut self, col: usize) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep(col));
        }
        self.depth += 1;
        Ok(())
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek().0, Tok::Ident(s) if s == kw)
    }

    fn expect_kind(&self, got: &Parsed, want: Kind, context: &str) -> Result<(), ParseError> {
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

    fn parse_or(&mut self) -> Result<Parsed, ParseError> {
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

    fn parse_and(&mut self) -> Result<Parsed, ParseError> {
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

    fn parse_not(&mut self) -> Result<Parsed, ParseError> {
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

    fn cmp_op(&self) -> Option<CmpOp> {
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

    fn parse_cmp(&mut self) -> Result<Parsed, ParseError> {
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

    fn parse_sum(&mut self) -> Result<Parsed, ParseError> {
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

    fn parse_product(&mut self) -> Result<Parsed, ParseError> {
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

    fn arith(
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

    fn parse_unary(&mut self) -> Result<Parsed, ParseError> {
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

    fn parse_primary(&mut self) -> Result<Parsed, ParseError> {
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

    fn parse_name(&mut self, name: String, col: usize) -> Result<Parsed, ParseError> {
        if let Some(column) = Column::from_name(&name) {
            if matches!(self.peek().0, Tok::LParen | Tok::Dot) {
                return Err(ParseError::new(
                    self.peek().1,
                    format!("'{name}' is a price column, not an indicator; it takes no arguments"),
                ));
            }
            return Ok((Expr::Column(column), Kind::Number, col, 0));
        }
        let spec = spec(&name).map_err(|e| {
            ParseError::new(
                col,
                format!("{e}; columns: {}", Column::ALL.map(Column::name).join(", ")),
            )
        })?;
        let mut written = spec.name.to_string();
        let mut source = None;
        let mut values: Vec<Option<f64>> = vec![None; spec.params.len()];
        if *self.peek().0 == Tok::LParen {
            let (_, open_col) = self.bump();
            let mut shown = Vec::new();
            let mut positional = 0usize;
            let mut named_seen = false;
            if *self.peek().0 == Tok::RParen {
                self.bump();
            } else {
                loop {
                    self.parse_arg(
                        spec,
                        &mut source,
                        &mut values,
                        &mut positional,
                        &mut named_seen,
                        &mut shown,
                    )?;
                    let (t, c) = self.bump();
                    match t {
                        Tok::Comma => continue,
                        Tok::RParen => break,
                        other => {
                            return Err(ParseError::new(
                                c,
                                format!(
                                    "expected ',' or ')' to close the arguments of {} opened at \
                                     column {open_col}, found {}",
                                    spec.name,
                                    other.describe()
                                ),
                            ));
                        }
                    }
                }
            }
            written = format!("{}({})", spec.name, shown.join(", "));
        }
        let mut output = 0;
        if *self.peek().0 == Tok::Dot {
            self.bump();
            let (t, c) = self.bump();
            let outputs = || {
                spec.outputs
                    .iter()
                    .map(|o| o.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let Tok::Ident(out_name) = t else {
                return Err(ParseError::new(
                    c,
                    format!(
                        "expected an output name of {} after '.' ({}), found {}",
                        spec.name,
                        outputs(),
                        t.describe()
                    ),
                ));
            };
            output = spec
                .outputs
                .iter()
                .position(|o| o.name == out_name)
                .ok_or_else(|| {
                    ParseError::new(
                        c,
                        format!(
                            "{} has no output '{out_name}'; its outputs: {}",
                            spec.name,
                            outputs()
                        ),
                    )
                })?;
            written.push('.');
            written.push_str(&out_name);
        }
        let params = spec
            .params
            .iter()
            .zip(values)
            .map(|(p, v)| v.unwrap_or(p.default))
            .collect();
        Ok((
            Expr::Indicator(Call {
                spec,
                source,
                params,
                output,
                written,
            }),
            Kind::Number,
            col,
            0,
        ))
    }

    /// One argument of an indicator call: a source column (first only), a positional number or
    /// `name = number`.
    fn parse_arg(
        &mut self,
        spec: &'static IndicatorSpec,
        source: &mut Option<Column>,
        values: &mut [Option<f64>],
        positional: &mut usize,
        named_seen: &mut bool,
        shown: &mut Vec<String>,
    ) -> Result<(), ParseError> {
        let accepted = || {
            let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            if names.is_empty() {
                "no parameters".to_string()
            } else {
                names.join(", ")
            }
        };
        let (tok, col) = self.bump();
        match tok {
            Tok::Ident(name) if Column::from_name(&name).is_some() => {
                if *positional > 0 || *named_seen || source.is_some() {
                    return Err(ParseError::new(
                        col,
                        format!(
                            "the input column ('{name}') must be the first argument of {}",
                            spec.name
                        ),
                    ));
                }
                *source = Column::from_name(&name);
                shown.push(name);
            }
            Tok::Ident(name) => {
                let (eq, eq_col) = self.bump();
                if eq != Tok::Assign {
                    return Err(ParseError::new(
                        eq_col,
                        format!(
                            "expected '=' after parameter name '{name}' (arguments are numbers, \
                             a first input column, or name=number), found {}",
                            eq.describe()
                        ),
                    ));
                }
                let idx = spec
                    .params
                    .iter()
                    .position(|p| p.name == name)
                    .ok_or_else(|| {
                        ParseError::new(
                            col,
                            format!(
                                "{}: unknown parameter '{name}'; it takes: {}",
                                spec.name,
                                accepted()
                            ),
                        )
                    })?;
                if values[idx].is_some() {
                    return Err(ParseError::new(
                        col,
                        format!("{}: parameter '{name}' given twice", spec.name),
                    ));
                }
                let v = self.parse_number_arg(spec)?;
                values[idx] = Some(v);
                *named_seen = true;
                shown.push(format!("{name}={v}"));
            }
            Tok::Number(_) | Tok::Minus => {
                if *named_seen {
                    return Err(ParseError::new(
                        col,
                        "positional arguments must come before named ones",
                    ));
                }
                self.pos -= 1;
                let v = self.parse_number_arg(spec)?;
                let idx = *positional;
                if idx >= spec.params.len() {
                    return Err(ParseError::new(
                        col,
                        format!(
                            "{} takes {} parameter(s) ({}), got more",
                            spec.name,
                            spec.params.len(),
                            accepted()
                        ),
                    ));
                }
                values[idx] = Some(v);
                *positional += 1;
                shown.push(format!("{v}"));
            }
            other => {
                return Err(ParseError::new(
                    col,
                    format!(
                        "expected an argument of {} (a number, name=number, or an input column \
                         first), found {}",
                        spec.name,
                        other.describe()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn parse_number_arg(&mut self, spec: &IndicatorSpec) -> Result<f64, ParseError> {
        let (tok, col) = self.bump();
        let (neg, tok, col) = if tok == Tok::Minus {
            let (t, c) = self.bump();
            (true, t, c)
        } else {
            (false, tok, col)
        };
        match tok {
            Tok::Number(v) => Ok(if neg { -v } else { v }),
            other => Err(ParseError::new(
                col,
                format!(
                    "expected a number as an argument of {}, found {}",
                    spec.name,
                    other.describe()
                ),
            )),
        }
    }
}
