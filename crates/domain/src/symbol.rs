use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::DomainError;

/// A ticker, any case (GOOG, BTC/USD).
// Normalised to upper case: `goog` and `GOOG` are one symbol; pairs keep their slash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Symbol(String);

impl Symbol {
    /// Parses and normalises a ticker. Refuses empty input, spaces and characters no venue uses.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let trimmed = raw.trim();
        let valid = !trimmed.is_empty()
            && trimmed.len() <= 32
            && trimmed
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '^' | '_'));
        if !valid {
            return Err(DomainError::InvalidSymbol(raw.to_string()));
        }
        Ok(Self(trimmed.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `BTC/USD` → (`BTC`, `USD`); `None` for a symbol that is not a pair.
    pub fn pair(&self) -> Option<(&str, &str)> {
        self.0.split_once('/')
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Symbol {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for Symbol {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Symbol::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// What kind of instrument a symbol is; limits and data providers differ by class.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    Stock,
    Etf,
    Index,
    Crypto,
    Forex,
    Option,
}

impl AssetClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetClass::Stock => "stock",
            AssetClass::Etf => "etf",
            AssetClass::Index => "index",
            AssetClass::Crypto => "crypto",
            AssetClass::Forex => "forex",
            AssetClass::Option => "option",
        }
    }

    /// Markets that trade around the clock; their "day" is a UTC calendar day.
    pub fn trades_24h(self) -> bool {
        matches!(self, AssetClass::Crypto | AssetClass::Forex)
    }
}

impl fmt::Display for AssetClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AssetClass {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stock" | "equity" | "us_equity" => Ok(AssetClass::Stock),
            "etf" => Ok(AssetClass::Etf),
            "index" => Ok(AssetClass::Index),
            "crypto" => Ok(AssetClass::Crypto),
            "forex" | "fx" => Ok(AssetClass::Forex),
            "option" | "us_option" => Ok(AssetClass::Option),
            _ => Err(DomainError::InvalidAssetClass(s.to_string())),
        }
    }
}

/// A symbol a provider can answer for, with what it is and what it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SymbolInfo {
    pub symbol: Symbol,
    pub name: String,
    pub asset_class: AssetClass,
    /// The finest timeframe the provider stores natively; coarser ones are resampled.
    pub base_timeframe: crate::Timeframe,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_case_insensitive_and_trimmed() {
        assert_eq!(Symbol::parse(" goog ").unwrap().as_str(), "GOOG");
        assert_eq!(
            Symbol::parse("btc/usd").unwrap().pair(),
            Some(("BTC", "USD"))
        );
    }

    #[test]
    fn garbage_is_not_a_symbol() {
        for bad in ["", "  ", "GO OG", "GOOG;DROP", "ÄPFEL"] {
            assert!(Symbol::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn asset_classes_parse_from_common_spellings() {
        assert_eq!(
            "us_equity".parse::<AssetClass>().unwrap(),
            AssetClass::Stock
        );
        assert_eq!("Crypto".parse::<AssetClass>().unwrap(), AssetClass::Crypto);
        assert!("bond".parse::<AssetClass>().is_err());
    }
}
