use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DomainError;

/// The unit of a bar's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeframeUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

/// A bar length such as `1Day` or `4Hour`, written the way Alpaca writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timeframe {
    pub amount: u32,
    pub unit: TimeframeUnit,
}

impl Timeframe {
    pub const MINUTE: Timeframe = Timeframe::new(1, TimeframeUnit::Minute);
    pub const HOUR: Timeframe = Timeframe::new(1, TimeframeUnit::Hour);
    pub const DAY: Timeframe = Timeframe::new(1, TimeframeUnit::Day);
    pub const WEEK: Timeframe = Timeframe::new(1, TimeframeUnit::Week);
    pub const MONTH: Timeframe = Timeframe::new(1, TimeframeUnit::Month);

    pub const fn new(amount: u32, unit: TimeframeUnit) -> Self {
        Self { amount, unit }
    }

    /// Approximate length in minutes, for ordering and for deciding what can be built from what.
    /// Months count as 31 days; only the order matters.
    pub fn approx_minutes(self) -> u64 {
        let per_unit: u64 = match self.unit {
            TimeframeUnit::Minute => 1,
            TimeframeUnit::Hour => 60,
            TimeframeUnit::Day => 1_440,
            TimeframeUnit::Week => 10_080,
            TimeframeUnit::Month => 44_640,
        };
        per_unit * u64::from(self.amount)
    }

    /// How many bars of this length a year holds, for annualising: trading days (252, 6.5-hour
    /// sessions) for markets that close, calendar time for those that trade around the clock.
    pub fn periods_per_year(self, trades_24h: bool) -> f64 {
        let amount = f64::from(self.amount);
        let (days, hours_per_day) = if trades_24h {
            (365.0, 24.0)
        } else {
            (252.0, 6.5)
        };
        match self.unit {
            TimeframeUnit::Minute => days * hours_per_day * 60.0 / amount,
            TimeframeUnit::Hour => days * hours_per_day / amount,
            TimeframeUnit::Day => days / amount,
            TimeframeUnit::Week => 52.0 / amount,
            TimeframeUnit::Month => 12.0 / amount,
        }
    }

    /// Whether bars of `self` can be built exactly by aggregating bars of `finer`
    /// (e.g. 4Hour from 1Hour, 1Week from 1Day; not 1Hour from 1Day, not 90Min from 1Hour).
    pub fn can_resample_from(self, finer: Timeframe) -> bool {
        use TimeframeUnit::*;
        if self == finer {
            return true;
        }
        let fine_minutes = finer.approx_minutes();
        match self.unit {
            Minute | Hour => {
                matches!(finer.unit, Minute | Hour)
                    && self.approx_minutes() > fine_minutes
                    && self.approx_minutes().is_multiple_of(fine_minutes)
                    && 1_440 % self.approx_minutes() == 0
            }
            Day => {
                self.amount == 1 && matches!(finer.unit, Minute | Hour) && 1_440 % fine_minutes == 0
            }
            Week | Month => {
                self.amount == 1
                    && (finer == Timeframe::DAY
                        || (matches!(finer.unit, Minute | Hour) && 1_440 % fine_minutes == 0))
            }
        }
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            TimeframeUnit::Minute => "Min",
            TimeframeUnit::Hour => "Hour",
            TimeframeUnit::Day => "Day",
            TimeframeUnit::Week => "Week",
            TimeframeUnit::Month => "Month",
        };
        write!(f, "{}{}", self.amount, unit)
    }
}

impl FromStr for Timeframe {
    type Err = DomainError;

    /// Accepts Alpaca's spelling (`1Day`, `15Min`, `4Hour`) and the usual short and long forms
    /// (`1d`, `1h`, `daily`, `weekly`, `D`, `W`, `M`, `1mo`, `5m`).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let bad = || DomainError::InvalidTimeframe(raw.to_string());
        let s = raw.trim().to_ascii_lowercase();
        let named = match s.as_str() {
            "minute" | "min" => Some(Timeframe::MINUTE),
            "hourly" | "hour" => Some(Timeframe::HOUR),
            "daily" | "day" | "d" => Some(Timeframe::DAY),
            "weekly" | "week" | "w" => Some(Timeframe::WEEK),
            "monthly" | "month" | "mo" => Some(Timeframe::MONTH),
            _ => None,
        };
        if let Some(tf) = named {
            return Ok(tf);
        }
        // Case matters for the one-letter forms: "M" is a month, "m" a minute.
        if raw.trim() == "M" {
            return Ok(Timeframe::MONTH);
        }
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let amount: u32 = if digits_end == 0 {
            1
        } else {
            s[..digits_end].parse().map_err(|_| bad())?
        };
        let unit = match &s[digits_end..] {
            "m" | "min" | "mins" | "minute" | "minutes" | "t" => TimeframeUnit::Minute,
            "h" | "hr" | "hour" | "hours" => TimeframeUnit::Hour,
            "d" | "day" | "days" => TimeframeUnit::Day,
            "w" | "wk" | "week" | "weeks" => TimeframeUnit::Week,
            "mo" | "mon" | "month" | "months" => TimeframeUnit::Month,
            _ => return Err(bad()),
        };
        let max = match unit {
            TimeframeUnit::Minute => 59,
            TimeframeUnit::Hour => 23,
            TimeframeUnit::Day => 1,
            TimeframeUnit::Week => 1,
            TimeframeUnit::Month => 12,
        };
        if amount == 0 || amount > max {
            return Err(bad());
        }
        Ok(Timeframe::new(amount, unit))
    }
}

impl Serialize for Timeframe {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timeframe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Timeframe {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timeframe".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Bar length: 1Min, 5Min, 15Min, 30Min, 1Hour, 4Hour, 1Day, 1Week or 1Month",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_alpaca_and_common_spellings() {
        for (raw, want) in [
            ("1Day", Timeframe::DAY),
            ("1d", Timeframe::DAY),
            ("daily", Timeframe::DAY),
            ("D", Timeframe::DAY),
            ("1Week", Timeframe::WEEK),
            ("W", Timeframe::WEEK),
            ("M", Timeframe::MONTH),
            ("1Month", Timeframe::MONTH),
            ("4Hour", Timeframe::new(4, TimeframeUnit::Hour)),
            ("15Min", Timeframe::new(15, TimeframeUnit::Minute)),
            ("5m", Timeframe::new(5, TimeframeUnit::Minute)),
        ] {
            assert_eq!(raw.parse::<Timeframe>().unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn refuses_nonsense() {
        for raw in ["", "0Day", "2Day", "fortnight", "99Hour", "1Year", "-1Day"] {
            assert!(raw.parse::<Timeframe>().is_err(), "{raw} accepted");
        }
    }

    #[test]
    fn display_round_trips() {
        for tf in ["1Min", "15Min", "1Hour", "4Hour", "1Day", "1Week", "1Month"] {
            assert_eq!(tf.parse::<Timeframe>().unwrap().to_string(), tf);
        }
    }

    #[test]
    fn resampling_only_where_exact() {
        let h4 = Timeframe::new(4, TimeframeUnit::Hour);
        assert!(h4.can_resample_from(Timeframe::HOUR));
        assert!(Timeframe::DAY.can_resample_from(Timeframe::HOUR));
        assert!(Timeframe::WEEK.can_resample_from(Timeframe::DAY));
        assert!(Timeframe::MONTH.can_resample_from(Timeframe::DAY));
        assert!(!Timeframe::HOUR.can_resample_from(Timeframe::DAY));
        assert!(!Timeframe::DAY.can_resample_from(Timeframe::MONTH));
        assert!(!Timeframe::new(5, TimeframeUnit::Hour).can_resample_from(Timeframe::HOUR));
    }
}
