//! Settings: limits and approval policy (validated, each change written to the audit log with
//! its old and new value), scopes narrowing, the live-trading switch (off by default; turning it
//! on needs an explicit confirmation), the kill switch, and the brokers.

use quantdesk_domain::{Decimal, Symbol};
use quantdesk_guard::{ApprovalPolicy, LIVE_TRADING_SETTING, Limits};
use quantdesk_keys::account;
use quantdesk_keys::{Scope, Scopes};
use serde_json::{Value, json};

use crate::fmt::{dec, parse_optional};
use crate::views::{ApprovalForm, LimitsForm, LinkedBroker, ScopeOption, Settings};
use crate::{Desktop, DesktopError};

/// What each scope lets Claude do, in the person's words.
fn scope_label(scope: Scope) -> &'static str {
    match scope {
        Scope::MarketRead => "Read market data (quotes, bars, option chains)",
        Scope::Analysis => "Analyse (indicators, patterns, screens, risk)",
        Scope::Backtest => "Run backtests and optimisations",
        Scope::TradePaper => "Trade the paper account",
        Scope::TradeLive => "Trade a live account",
        Scope::AccountRead => "Read positions, balances and orders",
    }
}

fn opt(d: Option<Decimal>) -> String {
    d.map(dec).unwrap_or_default()
}

fn symbols_text(list: &[Symbol]) -> String {
    list.iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl LimitsForm {
    pub fn from_limits(l: &Limits) -> Self {
        LimitsForm {
            max_order_value: opt(l.max_order_value),
            max_position_value: opt(l.max_position_value),
            max_position_pct_of_equity: opt(l.max_position_pct_of_equity),
            max_daily_loss: opt(l.max_daily_loss),
            max_orders_per_minute: l
                .max_orders_per_minute
                .map(|n| n.to_string())
                .unwrap_or_default(),
            price_collar_pct: opt(l.price_collar_pct),
            market_hours_only: l.market_hours_only,
            allow_short_selling: l.allow_short_selling,
            allowed_symbols: symbols_text(&l.allowed_symbols),
            blocked_symbols: symbols_text(&l.blocked_symbols),
        }
    }

    /// The form applied to `base` (fields the form does not show are kept). Each field is
    /// checked; the first problem names its field.
    pub fn apply_to(&self, base: &Limits) -> Result<Limits, DesktopError> {
        let pct = |field: &str, text: &str| -> Result<Option<Decimal>, DesktopError> {
            let v = parse_optional(field, text)?;
            if v.is_some_and(|v| v > Decimal::ONE_HUNDRED) {
                return Err(DesktopError::invalid(field, "a percentage of at most 100"));
            }
            Ok(v)
        };
        let per_minute = match self.max_orders_per_minute.trim() {
            "" => None,
            t => Some(t.parse::<u32>().map_err(|_| {
                DesktopError::invalid("max_orders_per_minute", "a whole number of orders")
            })?),
        };
        let symbols = |field: &str, text: &str| -> Result<Vec<Symbol>, DesktopError> {
            text.split([',', ' ', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<Symbol>().map_err(|e| {
                        DesktopError::invalid(field, format!("'{s}' is not a symbol: {e}"))
                    })
                })
                .collect()
        };
        Ok(Limits {
            max_order_value: parse_optional("max_order_value", &self.max_order_value)?,
            max_position_value: parse_optional("max_position_value", &self.max_position_value)?,
            max_position_pct_of_equity: pct(
                "max_position_pct_of_equity",
                &self.max_position_pct_of_equity,
            )?,
            max_daily_loss: parse_optional("max_daily_loss", &self.max_daily_loss)?,
            max_orders_per_minute: per_minute,
            price_collar_pct: pct("price_collar_pct", &self.price_collar_pct)?,
            market_hours_only: self.market_hours_only,
            allow_short_selling: self.allow_short_selling,
            allowed_symbols: symbols("allowed_symbols", &self.allowed_symbols)?,
            blocked_symbols: symbols("blocked_symbols", &self.blocked_symbols)?,
            ..base.clone()
        })
    }
}

impl ApprovalForm {
    pub fn from_policy(p: &ApprovalPolicy) -> Self {
        let (policy, value) = match p {
            ApprovalPolicy::Never => ("never", String::new()),
            ApprovalPolicy::Always => ("always", String::new()),
            ApprovalPolicy::AboveValue { value } => ("above_value", dec(*value)),
            ApprovalPolicy::LiveOnly => ("live_only", String::new()),
        };
        ApprovalForm {
            policy: policy.into(),
            value,
        }
    }

    pub fn to_policy(&self) -> Result<ApprovalPolicy, DesktopError> {
        Ok(match self.policy.as_str() {
            "never" => ApprovalPolicy::Never,
            "always" => ApprovalPolicy::Always,
            "live_only" => ApprovalPolicy::LiveOnly,
            "above_value" => match parse_optional("approval_value", &self.value)? {
                Some(value) => ApprovalPolicy::AboveValue { value },
                None => {
                    return Err(DesktopError::invalid(
                        "approval_value",
                        "say above which order value an approval is needed",
                    ));
                }
            },
            other => {
                return Err(DesktopError::invalid(
                    "approval_policy",
                    format!("unknown approval policy '{other}'"),
                ));
            }
        })
    }
}

/// The fields that differ between two JSON objects, as `{field, from, to}`.
fn changes(before: &Value, after: &Value) -> Vec<Value> {
    let (Value::Object(b), Value::Object(a)) = (before, after) else {
        return vec![json!({ "field": "value", "from": before, "to": after })];
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, v)| json!({ "field": k, "from": b.get(k).cloned().unwrap_or(Value::Null), "to": v }))
        .collect()
}

impl Desktop {
    pub async fn settings(&self) -> Result<Settings, DesktopError> {
        let limits = quantdesk_guard::limits(&self.store).await?;
        let policy = quantdesk_guard::approval_policy(&self.store).await?;
        let identity = self.identity().await?;
        let granted = if identity.guest {
            Scopes::guest()
        } else {
            match account::load(
                &self.store,
                quantdesk_secrets::SecretStore::from_env,
                &quantdesk_keys::Verifier::from_env()?,
                account::now(),
            )
            .await
            {
                account::KeyState::Active(c) => c.scopes,
                _ => Scopes::new([]),
            }
        };
        let scopes = Scope::ALL
            .into_iter()
            .map(|s| ScopeOption {
                name: s.as_str().into(),
                label: scope_label(s).into(),
                granted: granted.contains(s),
                enabled: identity.scopes.iter().any(|n| n == s.as_str()),
            })
            .collect();
        Ok(Settings {
            identity,
            limits: LimitsForm::from_limits(&limits),
            approval: ApprovalForm::from_policy(&policy),
            live_trading: self.live_trading().await?,
            kill_switch: limits.kill_switch,
            scopes,
            brokers: self.brokers().await?,
            data_dir: self.data_dir.display().to_string(),
            data_provider: "bundled".into(),
        })
    }

    /// Saves the limits form; every changed field is logged with its old and new value.
    pub async fn save_limits(&self, form: &LimitsForm) -> Result<Settings, DesktopError> {
        let before = quantdesk_guard::limits(&self.store).await?;
        let after = form.apply_to(&before)?;
        let diff = changes(&json!(before), &json!(after));
        if !diff.is_empty() {
            self.write_sealed(quantdesk_guard::LIMITS_SETTING, &after)
                .await?;
            self.audit(
                "settings",
                "ok",
                None,
                json!({ "setting": "limits", "changes": diff }),
            )
            .await?;
        }
        self.settings().await
    }

    pub async fn save_approval_policy(
        &self,
        form: &ApprovalForm,
    ) -> Result<Settings, DesktopError> {
        let before = quantdesk_guard::approval_policy(&self.store).await?;
        let after = form.to_policy()?;
        if before != after {
            self.write_sealed(quantdesk_guard::APPROVAL_SETTING, &after)
                .await?;
            self.audit(
                "settings",
                "ok",
                None,
                json!({ "setting": "approval_policy", "from": before, "to": after }),
            )
            .await?;
        }
        self.settings().await
    }

    /// The kill switch: on refuses every new order and cancels every open and pending one.
    pub async fn set_kill_switch(&self, on: bool) -> Result<Settings, DesktopError> {
        let mut limits = quantdesk_guard::limits(&self.store).await?;
        if limits.kill_switch != on {
            limits.kill_switch = on;
            self.write_sealed(quantdesk_guard::LIMITS_SETTING, &limits)
                .await?;
            let cancelled = if on {
                self.desk().cancel_all().await?.len()
            } else {
                0
            };
            self.audit(
                "settings",
                "ok",
                None,
                json!({ "setting": "kill_switch", "to": on, "orders_cancelled": cancelled }),
            )
            .await?;
        }
        self.settings().await
    }

    /// Live trading is off until the person turns it on, confirming that real money moves.
    pub async fn set_live_trading(
        &self,
        on: bool,
        confirmed: bool,
    ) -> Result<Settings, DesktopError> {
        if on && !confirmed {
            return Err(DesktopError::Refused(
                "Turning live trading on needs your confirmation: orders would then move real money."
                    .into(),
            ));
        }
        if self.live_trading().await? != on {
            self.write_sealed(LIVE_TRADING_SETTING, &on).await?;
            self.audit(
                "settings",
                "ok",
                None,
                json!({ "setting": "live_trading", "to": on }),
            )
            .await?;
        }
        self.settings().await
    }

    /// Narrows the scopes in use to `names` (only ever removes what the key grants).
    pub async fn set_scopes(&self, names: &[String]) -> Result<Settings, DesktopError> {
        for n in names {
            if !Scope::ALL.iter().any(|s| s.as_str() == n) {
                return Err(DesktopError::invalid(
                    "scopes",
                    format!("unknown scope '{n}'"),
                ));
            }
        }
        let wanted = Scopes::from_names(names);
        account::set_narrowed_scopes(&self.store, Some(&wanted)).await?;
        self.audit(
            "settings",
            "ok",
            None,
            json!({ "setting": "scopes", "to": wanted.names() }),
        )
        .await?;
        self.settings().await
    }

    pub async fn brokers(&self) -> Result<Vec<LinkedBroker>, DesktopError> {
        let mut out = vec![LinkedBroker {
            name: "paper".into(),
            label: "QuantDesk paper account".into(),
            mode: "paper".into(),
            active: self.desk().broker().name() == "paper",
            account: None,
        }];
        if let Some(alpaca) = self.alpaca_link().await? {
            out.push(alpaca);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limits_round_trip_through_the_form() {
        let l = Limits::default();
        let back = LimitsForm::from_limits(&l).apply_to(&l).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn a_bad_field_is_named() {
        let l = Limits::default();
        let mut form = LimitsForm::from_limits(&l);
        form.price_collar_pct = "150".into();
        match form.apply_to(&l) {
            Err(DesktopError::Invalid { field, .. }) => assert_eq!(field, "price_collar_pct"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn above_value_needs_a_value() {
        let form = ApprovalForm {
            policy: "above_value".into(),
            value: "".into(),
        };
        assert!(form.to_policy().is_err());
        let form = ApprovalForm {
            policy: "above_value".into(),
            value: "500".into(),
        };
        assert_eq!(
            form.to_policy().unwrap(),
            ApprovalPolicy::AboveValue {
                value: Decimal::from(500)
            }
        );
    }
}
