//! The gate in front of every tool call, run before dispatch: which scope the tool needs (one
//! table for all tools), which scopes are in force (the account key's, or guest mode's, narrowed
//! by the person in settings), and the key's rate limit for the tool's family (a token bucket in
//! the store, shared by every sidecar process).
//!
//! Guest vs key: no key recorded in the store is guest mode. A key recorded there but missing
//! from the keychain, damaged, expired, revoked or signed by another key pair is *not* guest mode:
//! every call is refused with the reason until the key is replaced or removed in QuantDesk.

use std::time::{Duration, Instant};

use chrono::Utc;
use quantdesk_keys::account::{self, KeyState};
use quantdesk_keys::{KeyError, Scope, Scopes, Verifier, show_time};
use quantdesk_secrets::{Backend, SecretStore};
use quantdesk_store::{BucketLimit, Store, Take};
use tokio::sync::Mutex;

/// What a tool needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Scope(Scope),
    /// `trade:paper`, or `trade:live` when orders go to a live account.
    Trading,
    /// `account:read`; on a paper account `trade:paper` is enough too: paper trading includes
    /// seeing the positions and cash it made (a guest may paper-trade, so may see the result).
    Account,
}

use Need::Scope as S;

/// Every tool QuantDesk has or will have, and the scope it needs. A tool missing here is
/// refused (see the test that keeps the catalogue and this table in step).
pub const SCOPE_TABLE: &[(&str, Need)] = &[
    ("get_stock_price", S(Scope::MarketRead)),
    ("get_market_data", S(Scope::MarketRead)),
    ("get_crypto_prices", S(Scope::MarketRead)),
    ("get_options_chain", S(Scope::MarketRead)),
    ("calculate_indicators", S(Scope::Analysis)),
    ("find_patterns", S(Scope::Analysis)),
    ("screen_stocks", S(Scope::Analysis)),
    ("risk_analysis", S(Scope::Analysis)),
    ("run_backtest", S(Scope::Backtest)),
    ("analyze_strategy", S(Scope::Backtest)),
    ("optimize_parameters", S(Scope::Backtest)),
    ("generate_report", S(Scope::Backtest)),
    ("get_job", S(Scope::Backtest)),
    ("train_model", S(Scope::Backtest)),
    ("predict", S(Scope::Backtest)),
    ("place_order", Need::Trading),
    ("cancel_order", Need::Trading),
    ("get_positions", Need::Account),
    ("get_account_balance", Need::Account),
    ("get_orders", Need::Account),
    ("watch", S(Scope::MarketRead)),
    ("alerts", S(Scope::MarketRead)),
];

// The store setting saying orders go to a live account: the guard's own, so the gate and the
// guard can never disagree on which money moves.
use quantdesk_guard::LIVE_TRADING_SETTING;

/// How often an unusable key is looked at again (the keychain may have been locked).
const RETRY_UNUSABLE: Duration = Duration::from_secs(10);

pub fn need(tool: &str) -> Option<Need> {
    SCOPE_TABLE
        .iter()
        .find(|(name, _)| *name == tool)
        .map(|(_, need)| *need)
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Allow,
    /// Audit outcome `refused`; `scope` is the one missing, if that was the reason.
    Refuse {
        scope: Option<Scope>,
        message: String,
    },
    /// Audit outcome `throttled`.
    Throttle {
        family: Scope,
        retry_after: Duration,
        message: String,
    },
}

struct Loaded {
    /// The store's active key (id, hash) this state was loaded for; `None` for guest mode.
    active: Option<(String, String)>,
    state: KeyState,
    at: Instant,
}

/// The account key in force and the checks made with it.
pub struct Access {
    verifier: Verifier,
    keychain: Backend,
    loaded: Mutex<Loaded>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("keychain", &self.keychain)
            .finish_non_exhaustive()
    }
}

impl Access {
    /// Loads the installed key (if any) and logs which mode the sidecar runs in.
    pub async fn start(store: &Store, verifier: Verifier, keychain: Backend) -> Self {
        let loaded = load(store, &verifier, keychain).await;
        log_state(&loaded.state);
        Self {
            verifier,
            keychain,
            loaded: Mutex::new(loaded),
        }
    }

    /// The key state in force, reloaded when the store names another key than the one loaded
    /// (the app installed or removed one while this sidecar ran).
    async fn current(&self, store: &Store) -> Result<KeyState, String> {
        let active = store
            .active_account_key()
            .await
            .map_err(|e| format!("the installed API key could not be looked up: {e}"))?
            .map(|r| (r.key_id, r.key_sha256));
        let mut loaded = self.loaded.lock().await;
        let stale = loaded.active != active
            || (matches!(loaded.state, KeyState::Unusable { .. })
                && loaded.at.elapsed() >= RETRY_UNUSABLE);
        if stale {
            *loaded = load(store, &self.verifier, self.keychain).await;
            log_state(&loaded.state);
        }
        Ok(loaded.state.clone())
    }

    /// Decides whether `tool` may run now; takes a rate-limit token when it may.
    pub async fn check(&self, store: &Store, tool: &str) -> Verdict {
        let refuse = |scope, message| Verdict::Refuse { scope, message };
        let Some(need) = need(tool) else {
            return refuse(
                None,
                format!("{tool} declares no scope, so QuantDesk does not run it"),
            );
        };
        let state = match self.current(store).await {
            Ok(state) => state,
            Err(message) => return refuse(None, message),
        };
        let (granted, claims) = match &state {
            KeyState::Guest => (Scopes::guest(), None),
            KeyState::Active(claims) => (claims.scopes.clone(), Some(claims)),
            KeyState::Unusable { reason, .. } => {
                return refuse(
                    None,
                    format!(
                        "QuantDesk's API key cannot be used: {reason}. Every tool is refused until \
                         the key is replaced in QuantDesk (or removed, for guest mode)."
                    ),
                );
            }
        };
        if let Some(claims) = claims
            && account::now() >= claims.exp
        {
            let expired = KeyError::Expired {
                key_id: claims.key_id.clone(),
                at: show_time(claims.exp),
            };
            return refuse(
                None,
                format!("QuantDesk's API key cannot be used: {expired}"),
            );
        }
        let narrowed = match account::narrowed_scopes(store).await {
            Ok(narrowed) => narrowed,
            Err(e) => return refuse(None, format!("the scope settings could not be read: {e}")),
        };
        let in_force = narrowed
            .as_ref()
            .map_or_else(|| granted.clone(), |n| granted.narrow(n));
        let live = match need {
            Need::Scope(_) => false,
            Need::Trading | Need::Account => {
                match store.setting::<bool>(LIVE_TRADING_SETTING).await {
                    Ok(live) => live == Some(true),
                    Err(e) => {
                        return refuse(None, format!("the trading mode could not be read: {e}"));
                    }
                }
            }
        };
        let scope = match need {
            Need::Scope(scope) => scope,
            Need::Trading if live => Scope::TradeLive,
            Need::Trading => Scope::TradePaper,
            Need::Account
                if !live
                    && !in_force.contains(Scope::AccountRead)
                    && in_force.contains(Scope::TradePaper) =>
            {
                Scope::TradePaper
            }
            Need::Account => Scope::AccountRead,
        };
        if !in_force.contains(scope) {
            let why = if !granted.contains(scope) {
                match claims {
                    None => "guest mode does not include it; install a QuantDesk API key that \
                             grants it"
                        .to_string(),
                    Some(c) => format!(
                        "the API key {} does not grant it (the key grants {granted})",
                        c.key_id
                    ),
                }
            } else {
                format!("it is turned off in QuantDesk's settings (scopes in use: {in_force})")
            };
            return refuse(
                Some(scope),
                format!("{tool} needs the '{scope}' scope: {why}."),
            );
        }
        let Some(claims) = claims else {
            return Verdict::Allow;
        };
        let Some(limit) = claims.rate_limit(scope.as_str()) else {
            return Verdict::Allow;
        };
        let bucket = BucketLimit {
            capacity: limit.calls,
            period: limit.period(),
        };
        match store
            .take_token(&claims.key_id, scope.as_str(), bucket)
            .await
        {
            Ok(Take::Allowed { .. }) => Verdict::Allow,
            Ok(Take::Throttled { retry_after }) => {
                let secs = retry_after.as_secs_f64().ceil().max(1.0);
                let retry_after = Duration::from_secs_f64(secs);
                let at = Utc::now()
                    + chrono::Duration::from_std(retry_after).unwrap_or(chrono::Duration::zero());
                Verdict::Throttle {
                    family: scope,
                    retry_after,
                    message: format!(
                        "rate limit reached: this API key allows {} for '{scope}' tools. Retry in \
                         {secs} s (at {} UTC).",
                        limit.describe(),
                        at.format("%H:%M:%S")
                    ),
                }
            }
            Err(e) => refuse(None, format!("the rate limit could not be checked: {e}")),
        }
    }
}

async fn load(store: &Store, verifier: &Verifier, keychain: Backend) -> Loaded {
    let active = store
        .active_account_key()
        .await
        .ok()
        .flatten()
        .map(|r| (r.key_id, r.key_sha256));
    let state = account::load(
        store,
        move || SecretStore::open(keychain),
        verifier,
        account::now(),
    )
    .await;
    Loaded {
        active,
        state,
        at: Instant::now(),
    }
}

fn log_state(state: &KeyState) {
    match state {
        KeyState::Guest => tracing::info!(
            scopes = %Scopes::guest(),
            "no API key installed: guest mode"
        ),
        KeyState::Active(c) => tracing::info!(
            key_id = %c.key_id,
            account = %c.account_id,
            scopes = %c.scopes,
            expires = %show_time(c.exp),
            "API key in force"
        ),
        KeyState::Unusable { key_id, reason } => tracing::error!(
            key_id = key_id.as_deref().unwrap_or("?"),
            %reason,
            "the installed API key cannot be used: every tool call will be refused until it is replaced or removed"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every tool in the catalogue has a scope; the table names each tool once.
    #[test]
    fn every_catalogued_tool_has_a_scope() {
        for tool in crate::tools::catalog() {
            assert!(need(&tool.name).is_some(), "{} has no scope", tool.name);
        }
        let names: BTreeSet<&str> = SCOPE_TABLE.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), SCOPE_TABLE.len(), "a tool is listed twice");
    }

    #[test]
    fn the_table_matches_the_issue() {
        assert_eq!(need("get_stock_price"), Some(S(Scope::MarketRead)));
        assert_eq!(need("calculate_indicators"), Some(S(Scope::Analysis)));
        assert_eq!(need("get_job"), Some(S(Scope::Backtest)));
        assert_eq!(need("train_model"), Some(S(Scope::Backtest)));
        assert_eq!(need("predict"), Some(S(Scope::Backtest)));
        assert_eq!(need("place_order"), Some(Need::Trading));
        assert_eq!(need("cancel_order"), Some(Need::Trading));
        assert_eq!(need("get_orders"), Some(Need::Account));
        assert_eq!(need("approve_order"), None, "there is no such tool, ever");
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn guests_get_market_data_and_their_paper_account_but_not_live_trading() {
        let (_dir, store) = store().await;
        let verifier = Verifier::new(quantdesk_keys::Issuer::generate().unwrap().public_key());
        let access = Access::start(&store, verifier, Backend::KernelKeyring).await;
        assert_eq!(
            access.check(&store, "get_stock_price").await,
            Verdict::Allow
        );
        // Paper trading is a guest's, and with it the paper account it trades.
        assert_eq!(access.check(&store, "place_order").await, Verdict::Allow);
        for tool in ["get_positions", "get_account_balance", "get_orders"] {
            assert_eq!(access.check(&store, tool).await, Verdict::Allow, "{tool}");
        }
        // A live account is not: neither its orders nor what it holds.
        store
            .set_setting(LIVE_TRADING_SETTING, &true)
            .await
            .unwrap();
        let Verdict::Refuse { scope, message } = access.check(&store, "get_positions").await else {
            panic!("guest read a live account");
        };
        assert_eq!(scope, Some(Scope::AccountRead));
        assert!(
            message.contains("'account:read'") && message.contains("guest mode"),
            "{message}"
        );
        assert!(matches!(
            access.check(&store, "place_order").await,
            Verdict::Refuse {
                scope: Some(Scope::TradeLive),
                ..
            }
        ));
        // Narrowing applies to guests too.
        account::set_narrowed_scopes(&store, Some(&Scopes::new([Scope::Analysis])))
            .await
            .unwrap();
        let Verdict::Refuse { message, .. } = access.check(&store, "get_stock_price").await else {
            panic!("narrowed away, yet allowed");
        };
        assert!(message.contains("turned off"), "{message}");
        assert!(matches!(
            access.check(&store, "no_such_tool").await,
            Verdict::Refuse { scope: None, .. }
        ));
    }
}
