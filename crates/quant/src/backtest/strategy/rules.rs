//! A rule's text made an expression: `$param`s replaced by their values, then parsed. An error
//! points at the token in the text as written (not as substituted), with a caret under it and,
//! where a known word is near the mistaken one, the fix ("did you mean 'crosses_above'?").

use std::collections::BTreeMap;

use super::{StrategyError, err};
use crate::screen::parse::suggest;
use crate::screen::{Expression, Kind, excerpt};

/// Rules longer than this are quoted by excerpt, without a caret line.
const SHOWN: usize = 200;

/// The rule `text` (at `path`) with `values` substituted, parsed and checked to be a condition.
pub(super) fn parse_rule(
    text: &str,
    values: &BTreeMap<String, f64>,
    path: &str,
) -> Result<Expression, StrategyError> {
    let (written, columns) = substitute(text, values, path)?;
    let expr = Expression::parse(&written).map_err(|e| {
        // The column in the original text of the character the parser stopped at.
        let column = columns
            .get(e.column.saturating_sub(1))
            .copied()
            .unwrap_or_else(|| text.chars().count() + 1);
        StrategyError {
            path: path.to_string(),
            message: pointed(text, column, &e.message),
        }
    })?;
    if expr.kind() != Kind::Condition {
        return err(
            path,
            format!(
                "\"{t}\" is a number, not a condition; compare it, e.g. \"{t} > 0\"",
                t = excerpt(text)
            ),
        );
    }
    Ok(expr)
}

/// `message` at `column` of `text`: the text with a caret under the column when it is short.
fn pointed(text: &str, column: usize, message: &str) -> String {
    if text.chars().count() > SHOWN {
        return format!("at column {column}: {message} in \"{}\"", excerpt(text));
    }
    format!(
        "at column {column}: {message}\n  {text}\n  {}^",
        " ".repeat(column.saturating_sub(1))
    )
}

/// `text` with each `$name` replaced by its value, and for each character of the result the
/// 1-based column of the character in `text` it came from (a substituted value maps to its `$`).
fn substitute(
    text: &str,
    values: &BTreeMap<String, f64>,
    path: &str,
) -> Result<(String, Vec<usize>), StrategyError> {
    let mut out = String::with_capacity(text.len());
    let mut columns = Vec::with_capacity(text.len());
    let mut chars = text.char_indices().enumerate().peekable();
    while let Some((k, (i, ch))) = chars.next() {
        let column = k + 1;
        if ch != '$' {
            out.push(ch);
            columns.push(column);
            continue;
        }
        let mut end = i + 1;
        while let Some(&(_, (j, c))) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                end = j + c.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let name = &text[i + 1..end];
        let Some(v) = values.get(name) else {
            let hint = suggest::nearest(name, values.keys().map(String::as_str))
                .map_or_else(String::new, |c| format!("did you mean '${c}'? "));
            return err(
                path,
                pointed(
                    text,
                    column,
                    &format!(
                        "unknown parameter '${name}'; {hint}declare it under 'params'{}",
                        declared(values)
                    ),
                ),
            );
        };
        let value = if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{}", *v as i64)
        } else {
            format!("({v})")
        };
        columns.extend(std::iter::repeat_n(column, value.chars().count()));
        out.push_str(&value);
    }
    Ok((out, columns))
}

fn declared(values: &BTreeMap<String, f64>) -> String {
    if values.is_empty() {
        return String::new();
    }
    let names: Vec<String> = values.keys().map(|k| format!("${k}")).collect();
    format!(" (declared: {})", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(text: &str) -> String {
        let values = BTreeMap::from([("fast".to_string(), 10.0), ("slow".to_string(), 200.0)]);
        parse_rule(text, &values, "strategy.long.entry")
            .expect_err(text)
            .to_string()
    }

    #[test]
    fn errors_point_at_the_token_as_written_and_suggest_the_fix() {
        let e = fail("sma($fast) crossover sma($slow)");
        assert!(e.contains("at column 12"), "{e}");
        assert!(e.contains("did you mean 'crosses_above'?"), "{e}");
        assert!(
            e.contains("\n  sma($fast) crossover sma($slow)\n             ^"),
            "{e}"
        );

        let e = fail("smaa($fast) crosses_above sma($slow)");
        assert!(
            e.contains("at column 1") && e.contains("did you mean 'sma'?"),
            "{e}"
        );

        let e = fail("sma($fats) crosses_above sma($slow)");
        assert!(
            e.contains("at column 5") && e.contains("did you mean '$fast'?"),
            "{e}"
        );

        // After a substituted value the columns still count the text as written.
        let e = fail("sma($slow) > sma($fast) && close > 0");
        assert!(e.contains("at column 25") && e.contains("use 'and'"), "{e}");
    }
}
