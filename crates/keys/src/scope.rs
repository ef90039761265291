//! What a key allows: a set of scopes. Sets only ever shrink on the person's side: narrowing is
//! an intersection, so no setting can grant what the key does not.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::KeyError;

/// One permission. Each MCP tool needs exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Quotes, bars, options chains, crypto prices.
    MarketRead,
    /// Indicators, patterns, screens, risk analysis.
    Analysis,
    /// Backtests, optimisation, reports, ML models, long-running jobs.
    Backtest,
    /// Orders against the paper (simulated) account.
    TradePaper,
    /// Orders against a live brokerage account.
    TradeLive,
    /// Positions, balances and orders of the linked accounts.
    AccountRead,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::MarketRead,
        Scope::Analysis,
        Scope::Backtest,
        Scope::TradePaper,
        Scope::TradeLive,
        Scope::AccountRead,
    ];

    /// What guest mode (no key) allows: market data, analysis, backtests and paper trading.
    pub const GUEST: [Scope; 4] = [
        Scope::MarketRead,
        Scope::Analysis,
        Scope::Backtest,
        Scope::TradePaper,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::MarketRead => "market:read",
            Scope::Analysis => "analysis",
            Scope::Backtest => "backtest",
            Scope::TradePaper => "trade:paper",
            Scope::TradeLive => "trade:live",
            Scope::AccountRead => "account:read",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| KeyError::UnknownScope(s.to_string()))
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        Self(scopes.into_iter().collect())
    }

    /// What guest mode allows.
    pub fn guest() -> Self {
        Self::new(Scope::GUEST)
    }

    pub fn all() -> Self {
        Self::new(Scope::ALL)
    }

    /// Parses a comma-separated list (`market:read,analysis`); an unknown name is an error.
    pub fn parse_list(text: &str) -> Result<Self, KeyError> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    /// Scope names as stored or sent; unknown names (from a newer platform) are skipped, so an
    /// old app never grants what it does not understand.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        Self(
            names
                .into_iter()
                .filter_map(|n| n.as_ref().parse().ok())
                .collect(),
        )
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn names(&self) -> Vec<String> {
        self.iter().map(|s| s.as_str().to_string()).collect()
    }

    /// The scopes left after the person narrows to `wanted`: those in both. Narrowing can only
    /// remove; a scope the key lacks stays out whatever `wanted` says.
    pub fn narrow(&self, wanted: &Scopes) -> Scopes {
        Scopes(self.0.intersection(&wanted.0).copied().collect())
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(none)");
        }
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self::new(iter)
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Scope::as_str))
    }
}

impl<'de> Deserialize<'de> for Scopes {
    /// Unknown names are skipped (see [`Scopes::from_names`]).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        Ok(Scopes::from_names(names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scopes() -> impl Strategy<Value = Scopes> {
        proptest::sample::subsequence(Scope::ALL.to_vec(), 0..=Scope::ALL.len())
            .prop_map(Scopes::new)
    }

    #[test]
    fn names_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
        }
        assert!(matches!(
            "trade:everything".parse::<Scope>(),
            Err(KeyError::UnknownScope(s)) if s == "trade:everything"
        ));
        let list = Scopes::parse_list("market:read, analysis,,").unwrap();
        assert_eq!(list.to_string(), "market:read,analysis");
        assert!(Scopes::parse_list("market:read,admin").is_err());
    }

    #[test]
    fn guests_get_data_analysis_backtests_and_paper_trading() {
        let guest = Scopes::guest();
        assert_eq!(
            guest.to_string(),
            "market:read,analysis,backtest,trade:paper"
        );
        assert!(!guest.contains(Scope::TradeLive));
        assert!(!guest.contains(Scope::AccountRead));
    }

    #[test]
    fn narrowing_removes_and_never_adds() {
        let key = Scopes::parse_list("market:read,analysis,trade:paper").unwrap();
        let wanted = Scopes::parse_list("market:read,trade:live").unwrap();
        let left = key.narrow(&wanted);
        assert_eq!(left.to_string(), "market:read");
        assert!(!left.contains(Scope::TradeLive), "narrowing widened");
    }

    #[test]
    fn unknown_names_from_a_newer_platform_grant_nothing() {
        let scopes: Scopes = serde_json::from_str(r#"["market:read","quantum:teleport"]"#).unwrap();
        assert_eq!(scopes.to_string(), "market:read");
        assert_eq!(
            serde_json::to_string(&scopes).unwrap(),
            r#"["market:read"]"#
        );
    }

    proptest! {
        /// Whatever the person asks for, the result is within the key's scopes and within
        /// what they asked for: exactly the intersection.
        #[test]
        fn narrowing_is_the_intersection(key in scopes(), wanted in scopes()) {
            let left = key.narrow(&wanted);
            prop_assert!(left.is_subset(&key));
            prop_assert!(left.is_subset(&wanted));
            for scope in Scope::ALL {
                prop_assert_eq!(left.contains(scope), key.contains(scope) && wanted.contains(scope));
            }
        }

        /// Widening is impossible: a scope the key lacks never appears, however often the
        /// person narrows, and narrowing twice is narrowing once to both.
        #[test]
        fn widening_is_impossible(key in scopes(), a in scopes(), b in scopes()) {
            let twice = key.narrow(&a).narrow(&b);
            for scope in Scope::ALL {
                if !key.contains(scope) {
                    prop_assert!(!key.narrow(&a).contains(scope));
                    prop_assert!(!twice.contains(scope));
                }
            }
            prop_assert_eq!(twice, key.narrow(&a.narrow(&b)));
            prop_assert_eq!(key.narrow(&Scopes::all()), key.clone());
        }
    }
}
