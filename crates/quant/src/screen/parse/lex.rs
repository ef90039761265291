//! The lexer: text to tokens with their 1-based columns.

use super::{MAX_DEPTH, ParseError};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Number(f64),
    Ident(String),
    /// Quoted text, case kept (`model('mdl_…')`).
    Text(String),
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
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Number(v) => format!("number {v}"),
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Text(s) => format!("text '{s}'"),
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

pub(super) const KEYWORDS: [&str; 5] = ["and", "or", "not", "crosses_above", "crosses_below"];

/// Splits `text` into tokens with their 1-based columns. Identifiers are lower-cased: names and
/// keywords are case-insensitive.
pub(super) fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
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
        if c == '\'' || c == '"' {
            let close = chars[i + 1..].iter().position(|&q| q == c).ok_or_else(|| {
                ParseError::new(
                    col,
                    format!("the text opened with {c} here is never closed"),
                )
            })?;
            let s: String = chars[i + 1..i + 1 + close].iter().collect();
            out.push((Tok::Text(s), col));
            i += close + 2;
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
/// The deepest parenthesis nesting in `toks`, and the column of the first parenthesis that goes
/// past [`MAX_DEPTH`].
pub(super) fn paren_depth(toks: &[(Tok, usize)]) -> (usize, Option<usize>) {
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
