//! What QuantDesk answers about markets and strategies — prices, bars, crypto prices, options
//! chains, indicators, screens, risk, patterns, backtests, parameter searches, robustness,
//! HTML reports and ML signals — as typed requests and answers over any [`MarketData`] provider, plus the
//! bounded registry of the long searches that run in the background ([`jobs`]).
//!
//! The sidecar's tools are thin shells over these functions: they parse Claude's arguments,
//! call one function here and serialise its answer. Nothing here places, changes or cancels an
//! order (that is `quantdesk-trading`), computes an indicator or a statistic itself (that is
//! `quantdesk-quant`), or blocks the async runtime with a long computation (runs go to
//! `spawn_blocking`). The only file this crate writes is a report, into the folder it is given;
//! the only rows it writes to the store are trained models ([`ml`]).
#![cfg_attr(test, allow(unused_crate_dependencies))] // unit tests don't use every dev-dependency

pub mod analysis;
pub mod backtest;
pub mod jobs;
pub mod ml;
pub mod quotes;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
pub use quantdesk_market::MarketData;

/// Why a question could not be answered; the message is for the person and names the field or
/// the limit at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request cannot be answered as asked: a bad argument, too little data, too many bars.
    #[error("{0}")]
    Invalid(String),
    /// The market-data provider could not answer.
    #[error(transparent)]
    Market(#[from] quantdesk_market::MarketError),
    #[error(transparent)]
    Domain(#[from] quantdesk_domain::DomainError),
    /// The computation stopped before it finished, or its answer could not be kept.
    #[error("{0}")]
    Failed(String),
    /// The caller gave up (the client cancelled the call).
    #[error("cancelled by the client")]
    Cancelled,
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

/// A start or end time: `2008-01-31` or RFC 3339. A bare date as an end means the end of that
/// day, so `end: 2008-12-31` includes the 31st.
pub fn parse_time(field: &str, raw: &str, end_of_day: bool) -> Result<DateTime<Utc>, Error> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        Error::Invalid(format!(
            "invalid '{field}': '{raw}' is not a date; use YYYY-MM-DD or an RFC 3339 time"
        ))
    })?;
    let time = if end_of_day {
        NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).unwrap_or(NaiveTime::MIN)
    } else {
        NaiveTime::MIN
    };
    Ok(date.and_time(time).and_utc())
}

/// A calendar date, `YYYY-MM-DD`.
pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, Error> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        Error::Invalid(format!(
            "invalid '{field}': '{raw}' is not a date; use YYYY-MM-DD"
        ))
    })
}

/// Runs `work` on the blocking pool; `what` names it in the error if it panics.
pub(crate) async fn blocking<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Failed(format!("the {what} stopped: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(
            parse_time("end", "2008-12-31", true).unwrap().to_rfc3339(),
            "2008-12-31T23:59:59.999999999+00:00"
        );
        assert_eq!(
            parse_time("start", "2008-01-02T14:30:00Z", false)
                .unwrap()
                .to_rfc3339(),
            "2008-01-02T14:30:00+00:00"
        );
        let err = parse_time("start", "yesterday", false).unwrap_err();
        assert!(err.to_string().contains("'start'"));
        assert!(parse_date("expiration", "2024-13-01").is_err());
    }
}
