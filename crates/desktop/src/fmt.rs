//! Decimal text in and out: what the forms send is parsed here, what the views show is exact.

use quantdesk_domain::Decimal;

use crate::DesktopError;

/// Exact, without trailing zeros (`"1234.5"`).
pub(crate) fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Cents (`"1234.50"` → `"1234.5"` after normalising, so two places at most).
pub(crate) fn cents(d: Decimal) -> String {
    dec(d.round_dp(2))
}

/// `$12,345.67` for sentences and the limit checks (the UI formats the raw numbers itself).
pub(crate) fn dollars(d: Decimal) -> String {
    let d = d.round_dp(2);
    let negative = d.is_sign_negative() && !d.is_zero();
    let text = format!("{:.2}", d.abs());
    let (whole, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let frac = if frac == "00" {
        String::new()
    } else {
        format!(".{frac}")
    };
    format!("{}${grouped}{frac}", if negative { "-" } else { "" })
}

/// A form's money or percent field: empty is `None` (the limit is off), otherwise a
/// non-negative decimal.
pub(crate) fn parse_optional(field: &str, text: &str) -> Result<Option<Decimal>, DesktopError> {
    let t = text.trim().replace([',', '$', '%'], "");
    if t.is_empty() {
        return Ok(None);
    }
    let value: Decimal = t
        .parse()
        .map_err(|_| DesktopError::invalid(field, format!("'{}' is not a number", text.trim())))?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(DesktopError::invalid(field, "must not be negative"));
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn dollars_group_thousands_and_keep_cents() {
        assert_eq!(dollars(dec!(1234567.891)), "$1,234,567.89");
        assert_eq!(dollars(dec!(10000)), "$10,000");
        assert_eq!(dollars(dec!(-12.5)), "-$12.50");
        assert_eq!(dollars(dec!(0)), "$0");
    }

    #[test]
    fn form_numbers_accept_dollar_signs_and_commas_and_refuse_words() {
        assert_eq!(parse_optional("f", " $10,000 ").unwrap(), Some(dec!(10000)));
        assert_eq!(parse_optional("f", "").unwrap(), None);
        assert!(parse_optional("f", "ten").is_err());
        assert!(parse_optional("f", "-5").is_err());
    }
}
