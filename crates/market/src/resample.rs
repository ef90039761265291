//! Building coarser bars from finer ones, done once here for every provider.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use quantdesk_domain::{Bar, Timeframe, TimeframeUnit};

/// The start of the `to`-period a bar starting at `time` falls in: hours and minutes are counted
/// from midnight UTC, weeks start on Monday, months on the 1st. This is the label of the
/// resampled bar (Alpaca's convention: a bar is stamped with the start of its interval).
fn bucket_start(time: DateTime<Utc>, to: Timeframe) -> DateTime<Utc> {
    let date = time.date_naive();
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    match to.unit {
        TimeframeUnit::Minute | TimeframeUnit::Hour => {
            let step = to.approx_minutes() as u32;
            let minute_of_day = time.hour() * 60 + time.minute();
            midnight(date) + Duration::minutes(i64::from(minute_of_day - minute_of_day % step))
        }
        TimeframeUnit::Day => midnight(date),
        TimeframeUnit::Week => {
            midnight(date - Duration::days(i64::from(date.weekday().num_days_from_monday())))
        }
        TimeframeUnit::Month => midnight(date.with_day(1).unwrap_or(date)),
    }
}

/// Aggregates `bars` (oldest first) into `to`-bars with the OHLCV rules: first open, highest
/// high, lowest low, last close, summed volume. A partial first or last period is kept as it is
/// (a week that starts on a Wednesday holiday is still that week).
pub fn resample(bars: &[Bar], to: Timeframe) -> Vec<Bar> {
    let mut out: Vec<Bar> = Vec::new();
    let mut current_key: Option<DateTime<Utc>> = None;
    for bar in bars {
        let key = bucket_start(bar.time, to);
        match (current_key, out.last_mut()) {
            (Some(k), Some(agg)) if k == key => {
                agg.high = agg.high.max(bar.high);
                agg.low = agg.low.min(bar.low);
                agg.close = bar.close;
                agg.volume += bar.volume;
            }
            _ => {
                current_key = Some(key);
                out.push(Bar {
                    time: key,
                    ..bar.clone()
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    fn bar(time: &str, o: Decimal, h: Decimal, l: Decimal, c: Decimal, v: Decimal) -> Bar {
        let time = DateTime::parse_from_rfc3339(time)
            .unwrap()
            .with_timezone(&Utc);
        Bar {
            time,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }

    #[test]
    fn hourly_to_four_hours_follows_ohlcv_rules() {
        let bars = vec![
            bar(
                "2017-04-19T09:00:00Z",
                dec!(1.0716),
                dec!(1.0722),
                dec!(1.0708),
                dec!(1.0721),
                dec!(10),
            ),
            bar(
                "2017-04-19T10:00:00Z",
                dec!(1.0721),
                dec!(1.0729),
                dec!(1.0721),
                dec!(1.0726),
                dec!(20),
            ),
            bar(
                "2017-04-19T11:00:00Z",
                dec!(1.0725),
                dec!(1.0730),
                dec!(1.0717),
                dec!(1.0719),
                dec!(30),
            ),
            bar(
                "2017-04-19T12:00:00Z",
                dec!(1.0719),
                dec!(1.0728),
                dec!(1.0719),
                dec!(1.0720),
                dec!(40),
            ),
        ];
        let out = resample(&bars, Timeframe::new(4, TimeframeUnit::Hour));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].time.to_rfc3339(), "2017-04-19T08:00:00+00:00");
        assert_eq!(
            (
                out[0].open,
                out[0].high,
                out[0].low,
                out[0].close,
                out[0].volume
            ),
            (
                dec!(1.0716),
                dec!(1.0730),
                dec!(1.0708),
                dec!(1.0719),
                dec!(60)
            )
        );
        assert_eq!(out[1].time.to_rfc3339(), "2017-04-19T12:00:00+00:00");
        assert_eq!(out[1].volume, dec!(40));
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let bars = vec![
            bar(
                "2013-02-27T00:00:00Z",
                dec!(1),
                dec!(2),
                dec!(1),
                dec!(2),
                dec!(1),
            ),
            bar(
                "2013-03-01T00:00:00Z",
                dec!(2),
                dec!(3),
                dec!(1),
                dec!(3),
                dec!(1),
            ),
            bar(
                "2013-03-04T00:00:00Z",
                dec!(3),
                dec!(4),
                dec!(2),
                dec!(4),
                dec!(1),
            ),
        ];
        let weeks = resample(&bars, Timeframe::WEEK);
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0].time.date_naive().to_string(), "2013-02-25");
        assert_eq!(weeks[1].time.date_naive().to_string(), "2013-03-04");
        let months = resample(&bars, Timeframe::MONTH);
        assert_eq!(
            months
                .iter()
                .map(|b| b.time.date_naive().to_string())
                .collect::<Vec<_>>(),
            ["2013-02-01", "2013-03-01"]
        );
        assert_eq!(months[1].open, dec!(2));
        assert_eq!(months[1].close, dec!(4));
    }

    proptest! {
        /// Whatever the series, resampling keeps every bar's volume and the overall extremes,
        /// and the first open / last close.
        #[test]
        fn resampling_preserves_totals(
            raw in proptest::collection::vec((1u32..1000, 0u32..50, 0u32..50, 0u32..1000, 1u32..1_000_000), 1..200),
            gaps in proptest::collection::vec(1i64..72, 200),
        ) {
            let mut t = DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
            let mut bars = Vec::new();
            for (i, (base, up, down, close_off, vol)) in raw.iter().enumerate() {
                let low = Decimal::from(*base);
                let high = low + Decimal::from(*up) + Decimal::from(*down);
                let close = (low + Decimal::from(*close_off % (up + down + 1))).min(high);
                bars.push(Bar { time: t, open: low, high, low, close, volume: Decimal::from(*vol) });
                t += Duration::hours(gaps[i]);
            }
            for to in [Timeframe::new(4, TimeframeUnit::Hour), Timeframe::DAY, Timeframe::WEEK, Timeframe::MONTH] {
                let out = resample(&bars, to);
                let vol: Decimal = bars.iter().map(|b| b.volume).sum();
                prop_assert_eq!(out.iter().map(|b| b.volume).sum::<Decimal>(), vol);
                prop_assert_eq!(out.iter().map(|b| b.high).max(), bars.iter().map(|b| b.high).max());
                prop_assert_eq!(out.iter().map(|b| b.low).min(), bars.iter().map(|b| b.low).min());
                prop_assert_eq!(out[0].open, bars[0].open);
                prop_assert_eq!(out.last().unwrap().close, bars.last().unwrap().close);
                prop_assert!(out.windows(2).all(|w| w[0].time < w[1].time));
            }
        }
    }
}
