//! Which expirations a model chain offers: the listed-equity pattern of monthly and weekly
//! Friday expiries.
//!
//! Exchange holidays are not modelled: when a Friday is a holiday (Good Friday, say) the real
//! contract expires on the Thursday before, while this calendar keeps the Friday. For a model
//! chain that shifts T by a day, which is below the precision of its other assumptions.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// How many weekly Friday expirations follow the valuation date.
pub const WEEKLY_EXPIRATIONS: u64 = 4;

/// The standard monthly expiration: the third Friday of `month` (1–12) in `year`.
/// `None` only for a month that does not exist or lies outside chrono's date range.
pub fn third_friday(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Fri, 3)
}

/// Expirations strictly after `valuation`, sorted and without duplicates: the next
/// `count_monthly` third-Friday monthlies plus the Fridays of the next four weeks (a weekly that
/// falls on a monthly date appears once). An expiry on the valuation date itself is excluded,
/// since it has no time value left to model.
pub fn expirations_after(valuation: NaiveDate, count_monthly: usize) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(count_monthly + WEEKLY_EXPIRATIONS as usize);

    let days_to_friday = u64::from(
        (Weekday::Fri.num_days_from_monday() + 7 - valuation.weekday().num_days_from_monday()) % 7,
    );
    // On a Friday the next weekly is a week away, not today.
    let first = if days_to_friday == 0 {
        7
    } else {
        days_to_friday
    };
    out.extend(
        (0..WEEKLY_EXPIRATIONS)
            .filter_map(|w| valuation.checked_add_days(Days::new(first + 7 * w))),
    );

    let (mut year, mut month) = (valuation.year(), valuation.month());
    let mut monthlies = 0;
    while monthlies < count_monthly {
        let Some(expiry) = third_friday(year, month) else {
            break;
        };
        if expiry > valuation {
            out.push(expiry);
            monthlies += 1;
        }
        if month == 12 {
            year += 1;
            month = 1;
        } else {
            month += 1;
        }
    }

    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn third_fridays() {
        assert_eq!(third_friday(2013, 3), Some(d(2013, 3, 15)));
        assert_eq!(third_friday(2013, 4), Some(d(2013, 4, 19)));
        assert_eq!(third_friday(2013, 5), Some(d(2013, 5, 17)));
        // Month starting on a Friday: third Friday is the 15th; starting on Saturday: the 21st.
        assert_eq!(third_friday(2024, 3), Some(d(2024, 3, 15)));
        assert_eq!(third_friday(2024, 6), Some(d(2024, 6, 21)));
        assert_eq!(third_friday(2013, 13), None);
    }

    #[test]
    fn monthlies_and_weeklies_after_a_friday() {
        // 2013-03-01 is a Friday: weeklies start the following Friday.
        assert_eq!(
            expirations_after(d(2013, 3, 1), 3),
            vec![
                d(2013, 3, 8),
                d(2013, 3, 15),
                d(2013, 3, 22),
                d(2013, 3, 29),
                d(2013, 4, 19),
                d(2013, 5, 17),
            ]
        );
    }

    #[test]
    fn a_monthly_on_the_valuation_date_is_skipped() {
        // Valuing on expiry day 2013-03-15 itself.
        let got = expirations_after(d(2013, 3, 15), 2);
        assert_eq!(
            got,
            vec![
                d(2013, 3, 22),
                d(2013, 3, 29),
                d(2013, 4, 5),
                d(2013, 4, 12),
                d(2013, 4, 19),
                d(2013, 5, 17),
            ]
        );
    }

    #[test]
    fn rolls_over_the_year_end() {
        // Wednesday 2013-12-25, after December's monthly (the 20th); January's monthly (the
        // 17th) is also the fourth weekly, so it appears once.
        let got = expirations_after(d(2013, 12, 25), 2);
        assert_eq!(
            got,
            vec![
                d(2013, 12, 27),
                d(2014, 1, 3),
                d(2014, 1, 10),
                d(2014, 1, 17),
                d(2014, 2, 21),
            ]
        );
    }

    #[test]
    fn only_weeklies_when_no_monthlies_are_asked_for() {
        let got = expirations_after(d(2013, 3, 2), 0);
        assert_eq!(
            got,
            vec![
                d(2013, 3, 8),
                d(2013, 3, 15),
                d(2013, 3, 22),
                d(2013, 3, 29)
            ]
        );
        assert!(got.iter().all(|e| e.weekday() == Weekday::Fri));
    }

    #[test]
    fn always_sorted_unique_fridays_after_valuation() {
        let mut day = d(2012, 1, 1);
        for _ in 0..800 {
            let got = expirations_after(day, 6);
            assert!(got.windows(2).all(|w| w[0] < w[1]), "{day}: {got:?}");
            assert!(got.iter().all(|e| *e > day && e.weekday() == Weekday::Fri));
            let monthly = got.iter().filter(|e| (15..=21).contains(&e.day())).count();
            assert!(monthly >= 6, "{day}: {got:?}");
            day = day.succ_opt().unwrap();
        }
    }
}
