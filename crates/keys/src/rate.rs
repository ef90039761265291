//! Rate limits as they are written in a key: `60/min`, `1000/day`, `5/s`. A limit applies per
//! key and per tool family (a family is a scope's name, or `*` for every family without its own).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::KeyError;
use crate::scope::Scope;

/// The family name that applies to every family without a limit of its own.
pub const ANY_FAMILY: &str = "*";

/// `calls` per `per_secs` seconds (a token bucket of `calls` tokens refilled over the period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    pub calls: u32,
    pub per_secs: u32,
}

impl RateLimit {
    pub fn period(&self) -> Duration {
        Duration::from_secs(u64::from(self.per_secs))
    }

    /// The period's name when it is a whole unit (`min`), else its seconds (`90s`).
    fn period_name(&self) -> String {
        match self.per_secs {
            1 => "s".into(),
            60 => "min".into(),
            3600 => "h".into(),
            86_400 => "day".into(),
            n => format!("{n}s"),
        }
    }

    /// In words, for messages: "5 calls per minute".
    pub fn describe(&self) -> String {
        let unit = match self.per_secs {
            1 => "second".to_string(),
            60 => "minute".to_string(),
            3600 => "hour".to_string(),
            86_400 => "day".to_string(),
            n => format!("{n} seconds"),
        };
        let calls = if self.calls == 1 { "call" } else { "calls" };
        format!("{} {calls} per {unit}", self.calls)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.calls, self.period_name())
    }
}

impl FromStr for RateLimit {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| KeyError::BadRate(format!("'{s}': {why}"));
        let (calls, period) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| bad("write calls/period, e.g. 60/min"))?;
        let calls: u32 = calls
            .trim()
            .parse()
            .map_err(|_| bad("the number of calls must be a whole number"))?;
        if calls == 0 {
            return Err(bad(
                "allow at least one call (leave the scope out to allow none)",
            ));
        }
        let period = period.trim();
        let split = period
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(period.len());
        let (count, unit) = period.split_at(split);
        let count: u32 = if count.is_empty() {
            1
        } else {
            count.parse().map_err(|_| bad("bad period"))?
        };
        let unit_secs: u32 = match unit {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return Err(bad("the period must be s, min, h or day")),
        };
        let per_secs = count
            .checked_mul(unit_secs)
            .filter(|&p| p > 0)
            .ok_or_else(|| bad("bad period"))?;
        Ok(RateLimit { calls, per_secs })
    }
}

impl Serialize for RateLimit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses `market:read=60/min,analysis=30/min,*=600/h` into (family, limit) pairs. A family is a
/// scope name or `*`.
pub fn parse_rate_list(text: &str) -> Result<Vec<(String, RateLimit)>, KeyError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (family, limit) = item
                .split_once('=')
                .ok_or_else(|| KeyError::BadRate(format!("'{item}': write family=calls/period")))?;
            let family = family.trim();
            if family != ANY_FAMILY {
                family.parse::<Scope>()?;
            }
            Ok((family.to_string(), limit.parse()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_print() {
        for (text, calls, per, shown) in [
            ("60/min", 60, 60, "60/min"),
            ("5/minute", 5, 60, "5/min"),
            ("1000/day", 1000, 86_400, "1000/day"),
            ("10/s", 10, 1, "10/s"),
            ("100/h", 100, 3600, "100/h"),
            ("3/90s", 3, 90, "3/90s"),
            ("7/5min", 7, 300, "7/300s"),
        ] {
            let limit: RateLimit = text.parse().unwrap();
            assert_eq!((limit.calls, limit.per_secs), (calls, per), "{text}");
            assert_eq!(limit.to_string(), shown);
            assert_eq!(shown.parse::<RateLimit>().unwrap(), limit);
        }
        assert_eq!(
            "5/min".parse::<RateLimit>().unwrap().describe(),
            "5 calls per minute"
        );
        for bad in ["60", "0/min", "x/min", "5/fortnight", "5/0s", "-1/min"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn rate_lists_name_families() {
        let list = parse_rate_list("market:read=60/min, *=600/h").unwrap();
        assert_eq!(list[0].0, "market:read");
        assert_eq!(list[1], ("*".to_string(), "600/h".parse().unwrap()));
        assert!(parse_rate_list("stocks=5/min").is_err());
        assert!(parse_rate_list("market:read").is_err());
    }
}
